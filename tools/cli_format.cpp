#include "cli_format.hpp"

#include "cli_options.hpp"

#include <coromqtt/protocol/utf8.hpp>

#include <array>
#include <cstdio>
#include <ctime>

namespace coromqtt::tools {

namespace {

using std::chrono::system_clock;

// The conversions that take a maximum width (precision), and those that may be zero-padded, as mosquitto_sub
// has them.
// -v's payload: not reachable from a -F format, where every conversion is a printable character.
constexpr char verbose_payload = '\x01';

bool takes_precision(char c) noexcept { return c == 'C' || c == 'I' || c == 'R' || c == 't'; }
bool takes_zero_padding(char c) noexcept {
  return c == 'E' || c == 'F' || c == 'l' || c == 'S' || c == 'x' || c == 'X';
}

std::string format_error(std::string_view what) { return "-F: " + std::string{what}; }

struct split_time {
  std::tm local{};
  long nanoseconds = 0;
  long long seconds = 0;
};

split_time split(system_clock::time_point when) {
  split_time t;
  const auto since_epoch = when.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  t.seconds = seconds.count();
  t.nanoseconds =
      static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds).count());
  const std::time_t as_time_t = static_cast<std::time_t>(t.seconds);
  ::localtime_r(&as_time_t, &t.local);
  return t;
}

// The specification comes from the user's -F (@X), so it cannot be a literal; strftime writes at most
// buffer.size() bytes whatever it holds.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void append_strftime(const std::tm& local, const char* spec, std::string& out) {
  std::array<char, 128> buffer{};
  const auto n = std::strftime(buffer.data(), buffer.size(), spec, &local);
  out.append(buffer.data(), n);
}
#pragma GCC diagnostic pop

void append_number(unsigned long long value, std::string& out) { out += std::to_string(value); }

void append_hex(std::string_view bytes, bool upper, std::string& out) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (const unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0x0F];
  }
}

// "2016-08-10T09:47:38+0100"; with microseconds for JSON: "2016-08-10T09:47:38.123456+0100".
void append_iso8601(const split_time& t, bool microseconds, std::string& out) {
  append_strftime(t.local, "%Y-%m-%dT%H:%M:%S", out);
  if (microseconds) {
    std::array<char, 32> fraction{};
    std::snprintf(fraction.data(), fraction.size(), ".%06ld", t.nanoseconds / 1000);
    out += fraction.data();
  }
  append_strftime(t.local, "%z", out);
}

void append_user_properties(const user_properties& properties, std::string& out) {
  bool first = true;
  for (const auto& [key, value] : properties) {
    if (!first) out += ' ';
    first = false;
    out += key;
    out += ':';
    out += value;
  }
}

void append_subscription_identifiers(const std::vector<std::uint32_t>& ids, std::string& out) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) out += ',';
    append_number(ids[i], out);
  }
}

void append_json(const message& m, const split_time& t, std::string& out) {
  out += "{\"tst\":\"";
  append_iso8601(t, true, out);
  out += "\",\"topic\":";
  append_json_string(m.topic, out);
  out += ",\"qos\":";
  append_number(static_cast<unsigned>(m.qos), out);
  out += ",\"retain\":";
  out += m.retain ? '1' : '0';
  out += ",\"payloadlen\":";
  append_number(m.payload.size(), out);
  const auto& p = m.properties;
  if (!p.empty()) {
    out += ",\"properties\":{";
    bool first = true;
    const auto key = [&](std::string_view name) {
      if (!first) out += ',';
      first = false;
      out += '"';
      out += name;
      out += "\":";
    };
    if (p.payload_format_indicator) {
      key("payload-format-indicator");
      append_number(*p.payload_format_indicator, out);
    }
    if (p.message_expiry_interval) {
      key("message-expiry-interval");
      append_number(*p.message_expiry_interval, out);
    }
    if (p.content_type) {
      key("content-type");
      append_json_string(*p.content_type, out);
    }
    if (p.response_topic) {
      key("response-topic");
      append_json_string(*p.response_topic, out);
    }
    if (p.correlation_data) {
      key("correlation-data");
      append_json_string(*p.correlation_data, out);
    }
    if (!p.subscription_identifiers.empty()) {
      key("subscription-identifiers");
      out += '[';
      append_subscription_identifiers(p.subscription_identifiers, out);
      out += ']';
    }
    if (!p.user_properties.empty()) {
      key("user-properties");
      out += '[';
      for (std::size_t i = 0; i < p.user_properties.size(); ++i) {
        if (i != 0) out += ',';
        out += '{';
        append_json_string(p.user_properties[i].first, out);
        out += ':';
        append_json_string(p.user_properties[i].second, out);
        out += '}';
      }
      out += ']';
    }
    out += '}';
  }
  out += ",\"payload\":";
  append_json_string(m.payload, out);
  out += '}';
}

// The length of the UTF-8 sequence that starts with `lead`, or 0 when `lead` cannot start one.
std::size_t utf8_sequence_length(unsigned char lead) noexcept {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

void append_json_string(std::string_view bytes, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto escape_byte = [&](unsigned char b) {
    out += "\\u00";
    out += hex[b >> 4];
    out += hex[b & 0x0F];
  };
  out += '"';
  for (std::size_t i = 0; i < bytes.size();) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      switch (b) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (b < 0x20)
            escape_byte(b);
          else
            out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    const auto n = utf8_sequence_length(b);
    if (n != 0 && i + n <= bytes.size() && !protocol::validate_utf8(bytes.substr(i, n))) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      escape_byte(b);
      ++i;
    }
  }
  out += '"';
}

void message_format::append_literal(char c) {
  if (fields_.empty() || fields_.back().conversion != 0) fields_.emplace_back();
  fields_.back().literal += c;
}

message_format message_format::payload_only() {
  message_format f;
  f.fields_.emplace_back().conversion = 'p';
  return f;
}

message_format message_format::topic_and_payload() {
  message_format f;
  f.fields_.emplace_back().conversion = 't';
  f.append_literal(' ');
  // mosquitto_sub -v prints "(null)" for an empty payload, and scripts may look for it.
  f.fields_.emplace_back().conversion = verbose_payload;
  return f;
}

message_format message_format::parse(std::string_view format) {
  message_format result;
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c == '\\') {
      if (++i == format.size()) throw usage_error(format_error("the format ends with a lone '\\'"));
      switch (format[i]) {
        case '\\': result.append_literal('\\'); break;
        case '0': result.append_literal('\0'); break;
        case 'a': result.append_literal('\a'); break;
        case 'e': result.append_literal('\x1b'); break;
        case 'n': result.append_literal('\n'); break;
        case 'r': result.append_literal('\r'); break;
        case 't': result.append_literal('\t'); break;
        case 'v': result.append_literal('\v'); break;
        default: throw usage_error(format_error("unknown escape '\\" + std::string(1, format[i]) + "'"));
      }
    } else if (c == '@') {
      if (++i == format.size()) throw usage_error(format_error("the format ends with a lone '@'"));
      if (format[i] == '@') {
        result.append_literal('@');
        continue;
      }
      field f;
      f.conversion = '@';
      f.strftime_char = format[i];
      result.fields_.push_back(f);
      result.uses_time_ = true;
    } else if (c == '%') {
      field f;
      // Flags, width and precision, as printf has them: %-10.5t
      while (++i < format.size() && (format[i] == '-' || format[i] == '0')) {
        if (format[i] == '-') f.left_align = true;
        if (format[i] == '0') f.zero_pad = true;
      }
      const auto read_number = [&]() -> std::optional<std::size_t> {
        if (i >= format.size() || format[i] < '0' || format[i] > '9') return std::nullopt;
        std::size_t value = 0;
        for (; i < format.size() && format[i] >= '0' && format[i] <= '9'; ++i) {
          value = value * 10 + static_cast<std::size_t>(format[i] - '0');
          if (value > 10'000) throw usage_error(format_error("field width too large"));
        }
        return value;
      };
      f.width = read_number();
      if (i < format.size() && format[i] == '.') {
        ++i;
        f.precision = read_number().value_or(0);
      }
      if (i >= format.size()) throw usage_error(format_error("the format ends inside a '%' sequence"));
      const char conversion = format[i];
      switch (conversion) {
        case '%': result.append_literal('%'); continue;
        case 't':
        case 'p':
        case 'q':
        case 'r':
        case 'l':
        case 'x':
        case 'X':
        case 'C':
        case 'D':
        case 'E':
        case 'F':
        case 'P':
        case 'R':
        case 'S': break;
        case 'I':
        case 'U':
        case 'j': result.uses_time_ = true; break;
        case 'm':
          throw usage_error(
              format_error("%m (message id) is not available: coromqtt keeps packet identifiers "
                           "inside the client"));
        case 'A':
          throw usage_error(
              format_error("%A (topic alias) is not available: coromqtt resolves topic aliases "
                           "inside the client"));
        case 'J':
          throw usage_error(format_error("%J is not supported; %j prints the payload as a JSON string"));
        default: throw usage_error(format_error("unknown sequence '%" + std::string(1, conversion) + "'"));
      }
      f.conversion = conversion;
      result.fields_.push_back(f);
    } else {
      result.append_literal(c);
    }
  }
  return result;
}

void message_format::render(const message& m, system_clock::time_point when, std::string& out) const {
  for (const auto& f : fields_) {
    if (f.conversion == 0) {
      out += f.literal;
    } else if (!f.width && !f.precision) {
      render_field(f, m, when, out);  // the common case: straight into the output
    } else {
      std::string value;
      render_field(f, m, when, value);
      if (f.precision && takes_precision(f.conversion) && value.size() > *f.precision)
        value.resize(*f.precision);
      const std::size_t width = f.width.value_or(0);
      if (value.size() >= width) {
        out += value;
      } else if (f.left_align) {
        out += value;
        out.append(width - value.size(), ' ');
      } else {
        out.append(width - value.size(), f.zero_pad && takes_zero_padding(f.conversion) ? '0' : ' ');
        out += value;
      }
    }
  }
}

void message_format::render_field(const field& f, const message& m, system_clock::time_point when,
                                  std::string& out) const {
  const auto& p = m.properties;
  switch (f.conversion) {
    case 't': out += m.topic; break;
    case 'p': out += m.payload; break;
    case verbose_payload:
      out += m.payload.empty() ? std::string_view{"(null)"} : std::string_view{m.payload};
      break;
    case 'q': append_number(static_cast<unsigned>(m.qos), out); break;
    case 'r': out += m.retain ? '1' : '0'; break;
    case 'l': append_number(m.payload.size(), out); break;
    case 'x': append_hex(m.payload, false, out); break;
    case 'X': append_hex(m.payload, true, out); break;
    case 'C':
      if (p.content_type) out += *p.content_type;
      break;
    case 'D':
      if (p.correlation_data) out += *p.correlation_data;
      break;
    case 'E':
      if (p.message_expiry_interval) append_number(*p.message_expiry_interval, out);
      break;
    case 'F':
      if (p.payload_format_indicator) append_number(*p.payload_format_indicator, out);
      break;
    case 'P': append_user_properties(p.user_properties, out); break;
    case 'R':
      if (p.response_topic) out += *p.response_topic;
      break;
    case 'S': append_subscription_identifiers(p.subscription_identifiers, out); break;
    case 'I': append_iso8601(split(when), false, out); break;
    case 'U': {
      const auto t = split(when);
      std::array<char, 48> text{};
      std::snprintf(text.data(), text.size(), "%lld.%09ld", t.seconds, t.nanoseconds);
      out += text.data();
      break;
    }
    case 'j': append_json(m, split(when), out); break;
    case '@': {
      const auto t = split(when);
      if (f.strftime_char == 'N') {
        std::array<char, 32> text{};
        std::snprintf(text.data(), text.size(), "%09ld", t.nanoseconds);
        out += text.data();
      } else {
        const std::array<char, 3> spec{'%', f.strftime_char, '\0'};
        append_strftime(t.local, spec.data(), out);
      }
      break;
    }
    default: break;  // parse() admits no other conversion
  }
}

}  // namespace coromqtt::tools

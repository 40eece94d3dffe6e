#include "cli_options.hpp"

#include "cli_format.hpp"

#include <coromqtt/protocol/topic.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <system_error>

#include <unistd.h>

namespace coromqtt::tools {

namespace {

constexpr std::uint32_t session_never_expires = 0xFFFF'FFFF;
constexpr std::uint32_t max_subscription_identifier = 268'435'455;  // a Variable Byte Integer's range

std::string in_quotes(std::string_view s) { return "'" + std::string{s} + "'"; }

std::string lowercase(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The arguments, consumed left to right.
class argument_cursor {
 public:
  explicit argument_cursor(std::span<const std::string_view> args) : args_{args} {}

  bool done() const noexcept { return next_ >= args_.size(); }
  std::string_view take() noexcept { return args_[next_++]; }

  // The argument after `flag`, which must be there.
  std::string_view value(std::string_view flag, std::string_view what) {
    if (done()) throw usage_error(std::string{flag} + " needs " + std::string{what});
    return take();
  }

 private:
  std::span<const std::string_view> args_;
  std::size_t next_ = 0;
};

template <class Integer>
Integer parse_integer(std::string_view flag, std::string_view text, Integer min, Integer max) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end || value < static_cast<std::uint64_t>(min) ||
      value > static_cast<std::uint64_t>(max)) {
    throw usage_error(std::string{flag} + ": " + in_quotes(text) + " is not a whole number from " +
                      std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<Integer>(value);
}

// Seconds as the user writes them ("2", "0.25"), as a duration. Zero allowed only where `allow_zero` says.
std::chrono::nanoseconds parse_seconds(std::string_view flag, std::string_view text, bool allow_zero) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  // A day in nanoseconds still fits comfortably; more than that is surely a typo.
  constexpr double max_seconds = 86'400.0 * 365;
  if (text.empty() || ec != std::errc{} || stop != end || !std::isfinite(value) || value < 0 ||
      (value == 0 && !allow_zero) || value > max_seconds) {
    throw usage_error(std::string{flag} + ": " + in_quotes(text) + " is not a number of seconds" +
                      (allow_zero ? "" : " greater than 0"));
  }
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(value * 1e9))};
}

coromqtt::qos parse_qos(std::string_view flag, std::string_view text) {
  return static_cast<coromqtt::qos>(parse_integer<std::uint8_t>(flag, text, 0, 2));
}

std::string check_topic_name(std::string_view flag, std::string_view topic) {
  if (const auto ec = protocol::validate_topic_name(topic))
    throw usage_error(std::string{flag} + ": " + in_quotes(topic) + " is not a valid topic name (" +
                      ec.message() + ")");
  return std::string{topic};
}

std::string check_topic_filter(std::string_view flag, std::string_view filter) {
  if (const auto ec = protocol::validate_topic_filter(filter))
    throw usage_error(std::string{flag} + ": " + in_quotes(filter) + " is not a valid topic filter (" +
                      ec.message() + ")");
  return std::string{filter};
}

// %XX escapes in the user information of -L, so that ':' and '@' can be part of a password.
std::string percent_decode(std::string_view flag, std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    const auto* first = text.data() + i + 1;
    const auto [stop, ec] = i + 2 < text.size() ? std::from_chars(first, first + 2, value, 16)
                                                : std::from_chars_result{first, std::errc::invalid_argument};
    if (ec != std::errc{} || stop != first + 2)
      throw usage_error(std::string{flag} + ": bad %-escape in the URL");
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

// What parsing remembers beyond the flags themselves, to check combinations at the end.
struct parse_state {
  std::optional<protocol_version> explicit_version;
  std::string needs_v5;  // the first flag that only MQTT 5 can honour
  bool will_detail_given = false;
  std::optional<std::uint32_t> property_session_expiry;

  void require_v5(std::string_view flag) {
    if (needs_v5.empty()) needs_v5 = flag;
  }
};

// -L mqtt(s)://[user[:password]@]host[:port][/topic] and ws(s)://[user[:password]@]host[:port]/path[/topic].
void parse_url(std::string_view flag, std::string_view url, common_flags& f) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    throw usage_error(std::string{flag} + ": " + in_quotes(url) + " is not a URL (mqtt://host[:port]/topic)");
  const auto scheme = lowercase(url.substr(0, scheme_end));
  if (scheme == "mqtt")
    f.url_kind = transport_kind::tcp;
  else if (scheme == "mqtts")
    f.url_kind = transport_kind::tls;
  else if (scheme == "ws")
    f.url_kind = transport_kind::websocket;
  else if (scheme == "wss")
    f.url_kind = transport_kind::secure_websocket;
  else
    throw usage_error(std::string{flag} + ": unsupported scheme " + in_quotes(scheme) +
                      " (mqtt, mqtts, ws or wss)");

  auto rest = url.substr(scheme_end + 3);
  const auto path_start = rest.find('/');
  auto authority = rest.substr(0, path_start);
  const auto path = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);

  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const auto user_info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = user_info.find(':');
    f.username = percent_decode(flag, user_info.substr(0, colon));
    if (colon != std::string_view::npos) f.password = percent_decode(flag, user_info.substr(colon + 1));
  }

  std::string_view port_text;
  if (authority.starts_with('[')) {  // an IPv6 literal
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw usage_error(std::string{flag} + ": unclosed '[' in the host");
    f.host = std::string{authority.substr(1, close - 1)};
    const auto after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':'))
      throw usage_error(std::string{flag} + ": unexpected characters after the host");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const auto colon = authority.find(':');
    f.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (f.host.empty()) throw usage_error(std::string{flag} + ": the URL has no host");
  if (!port_text.empty()) f.port = parse_integer<std::uint16_t>(flag, port_text, 1, 65535);

  // The path: for mqtt(s) all of it is the topic. For ws(s) the first segment is the WebSocket path and the
  // rest the topic, unless --ws-path names the WebSocket path, and then all of it is the topic (see
  // docs/cli.md).
  std::string_view topic = path.empty() ? path : path.substr(1);
  if (*f.url_kind == transport_kind::websocket || *f.url_kind == transport_kind::secure_websocket) {
    if (!f.websocket_path_given) {  // take the first segment
      const auto slash = topic.find('/');
      const auto segment = topic.substr(0, slash);
      f.websocket_path = "/" + std::string{segment};
      topic = slash == std::string_view::npos ? std::string_view{} : topic.substr(slash + 1);
    }
  }
  f.url_has_topic = !topic.empty();
  f.url_topic = std::string{topic};
  f.url_given = true;
}

// The value types of the -D properties.
std::uint32_t property_u32(std::string_view flag, std::string_view value) {
  return parse_integer<std::uint32_t>(flag, value, 0, std::numeric_limits<std::uint32_t>::max());
}

// Message properties, for -D publish and -D will. Returns false for a name that is not one of them.
bool add_message_property(std::string_view name, std::string_view flag, argument_cursor& args,
                          message_properties& p) {
  if (name == "payload-format-indicator") {
    p.payload_format_indicator = parse_integer<std::uint8_t>(flag, args.value(flag, "0 or 1"), 0, 1);
  } else if (name == "message-expiry-interval") {
    p.message_expiry_interval = property_u32(flag, args.value(flag, "a number of seconds"));
  } else if (name == "content-type") {
    p.content_type = std::string{args.value(flag, "a content type")};
  } else if (name == "response-topic") {
    p.response_topic = check_topic_name(flag, args.value(flag, "a topic"));
  } else if (name == "correlation-data") {
    p.correlation_data = std::string{args.value(flag, "the correlation data")};
  } else if (name == "user-property") {
    const auto key = args.value(flag, "a name and a value");
    const auto value = args.value(flag, "a name and a value");
    p.user_properties.emplace_back(std::string{key}, std::string{value});
  } else {
    return false;
  }
  return true;
}

constexpr std::string_view message_property_names =
    "payload-format-indicator, message-expiry-interval, content-type, response-topic, correlation-data, "
    "user-property";

[[noreturn]] void unsupported_property(std::string_view packet, std::string_view name,
                                       std::string_view supported) {
  throw usage_error("-D " + std::string{packet} + " " + std::string{name} + ": not a " + std::string{packet} +
                    " property coromqtt can send (it can: " + std::string{supported} + ")");
}

// -D command identifier value, or -D command user-property name value.
void parse_property(argument_cursor& args, common_flags& f, parse_state& state, command which) {
  const auto packet = lowercase(args.value("-D", "a command, a property name and a value"));
  const auto name = lowercase(args.value("-D", "a command, a property name and a value"));
  const std::string flag = "-D " + packet + " " + name;
  auto& p = f.properties;
  state.require_v5("-D");

  if (packet == "connect") {
    constexpr std::string_view supported =
        "user-property, session-expiry-interval, receive-maximum, maximum-packet-size, topic-alias-maximum, "
        "request-problem-information";
    if (name == "user-property") {
      const auto key = args.value(flag, "a name and a value");
      const auto value = args.value(flag, "a name and a value");
      p.connect_user_properties.emplace_back(std::string{key}, std::string{value});
    } else if (name == "session-expiry-interval") {
      state.property_session_expiry = property_u32(flag, args.value(flag, "a number of seconds"));
    } else if (name == "receive-maximum") {
      p.connect_receive_maximum = parse_integer<std::uint16_t>(flag, args.value(flag, "a number"), 1, 65535);
    } else if (name == "maximum-packet-size") {
      p.connect_maximum_packet_size = parse_integer<std::uint32_t>(
          flag, args.value(flag, "a number of bytes"), 1, protocol::max_packet_size);
    } else if (name == "topic-alias-maximum") {
      p.connect_topic_alias_maximum =
          parse_integer<std::uint16_t>(flag, args.value(flag, "a number"), 0, 65535);
    } else if (name == "request-problem-information") {
      p.connect_request_problem_information =
          parse_integer<std::uint8_t>(flag, args.value(flag, "0 or 1"), 0, 1) == 1;
    } else {
      unsupported_property("connect", name, supported);
    }
  } else if (packet == "publish" && which == command::pub) {
    if (!add_message_property(name, flag, args, p.publish))
      unsupported_property("publish", name, message_property_names);
  } else if (packet == "will") {
    if (name == "will-delay-interval") {
      p.will_delay_interval = property_u32(flag, args.value(flag, "a number of seconds"));
    } else if (!add_message_property(name, flag, args, p.will)) {
      unsupported_property("will", name, std::string{message_property_names} + ", will-delay-interval");
    }
  } else if (packet == "subscribe" && which == command::sub) {
    if (name == "subscription-identifier") {
      p.subscribe.subscription_identifier =
          parse_integer<std::uint32_t>(flag, args.value(flag, "a number"), 1, max_subscription_identifier);
    } else if (name == "user-property") {
      const auto key = args.value(flag, "a name and a value");
      const auto value = args.value(flag, "a name and a value");
      p.subscribe.user_properties.emplace_back(std::string{key}, std::string{value});
    } else {
      unsupported_property("subscribe", name, "subscription-identifier, user-property");
    }
  } else if (packet == "disconnect") {
    if (name == "session-expiry-interval")
      p.disconnect_session_expiry = property_u32(flag, args.value(flag, "a number of seconds"));
    else
      unsupported_property("disconnect", name, "session-expiry-interval");
  } else {
    const std::string_view commands =
        which == command::pub ? "connect, publish, will, disconnect" : "connect, subscribe, will, disconnect";
    throw usage_error("-D " + packet + ": coromqtt " + (which == command::pub ? "pub" : "sub") +
                      " cannot send properties in that packet (it can in: " + std::string{commands} + ")");
  }
}

protocol_version parse_version(std::string_view flag, std::string_view text) {
  if (text == "5" || text == "mqttv5") return protocol_version::v5;
  if (text == "311" || text == "mqttv311") return protocol_version::v3_1_1;
  if (text == "31" || text == "mqttv31")
    throw usage_error(std::string{flag} + ": MQTT 3.1 is not supported by coromqtt; use -V 311 or -V 5");
  throw usage_error(std::string{flag} + ": unknown protocol version " + in_quotes(text) +
                    " (5, 311, mqttv5 or mqttv311)");
}

// mosquitto flags coromqtt does not implement, each with the reason given to the user.
struct unsupported_flag {
  std::string_view flag;
  std::string_view why;
};
constexpr std::array unsupported_flags{
    unsupported_flag{"--psk", "TLS-PSK is not supported"},
    unsupported_flag{"--psk-identity", "TLS-PSK is not supported"},
    unsupported_flag{"--ciphers", "cipher lists are not configurable"},
    unsupported_flag{"--tls-engine", "OpenSSL engines are not supported"},
    unsupported_flag{"--tls-engine-kpass-sha1", "OpenSSL engines are not supported"},
    unsupported_flag{"--proxy", "SOCKS proxies are not supported"},
    unsupported_flag{"-S", "DNS SRV look-ups are not supported"},
    unsupported_flag{"--random-filter", "not supported"},
    unsupported_flag{"--pretty", "not supported (%j prints compact JSON)"},
};

// The flags both commands share. Returns false when `flag` is not one of them.
bool parse_common_flag(std::string_view flag, argument_cursor& args, common_flags& f, parse_state& state,
                       command which) {
  if (flag == "-h" || flag == "--host") {
    f.host = std::string{args.value(flag, "a host name")};
    if (f.host.empty()) throw usage_error(std::string{flag} + " needs a host name");
    f.host_given = true;
  } else if (flag == "-p" || flag == "--port") {
    f.port = parse_integer<std::uint16_t>(flag, args.value(flag, "a port number"), 1, 65535);
  } else if (flag == "-L" || flag == "--url") {
    parse_url(flag, args.value(flag, "a URL"), f);
  } else if (flag == "--ws-path") {
    const auto path = args.value(flag, "a path");
    if (!path.starts_with('/')) throw usage_error(std::string{flag} + ": the path must start with '/'");
    if (f.url_given) throw usage_error(std::string{flag} + " must come before -L");
    f.websocket_path = std::string{path};
    f.websocket_path_given = true;
  } else if (flag == "--unix") {
    f.unix_socket = std::string{args.value(flag, "a socket path")};
    if (f.unix_socket.empty()) throw usage_error(std::string{flag} + " needs a socket path");
  } else if (flag == "-A") {
    f.bind_address = std::string{args.value(flag, "a local address")};
  } else if (flag == "-i" || flag == "--id") {
    f.client_id = std::string{args.value(flag, "a client id")};
    if (f.client_id.empty()) throw usage_error(std::string{flag} + " needs a client id");
  } else if (flag == "-I" || flag == "--id-prefix") {
    f.client_id_prefix = std::string{args.value(flag, "a client id prefix")};
    if (f.client_id_prefix.empty()) throw usage_error(std::string{flag} + " needs a client id prefix");
  } else if (flag == "-k" || flag == "--keepalive") {
    f.keep_alive = parse_integer<std::uint16_t>(flag, args.value(flag, "a number of seconds"), 0, 65535);
  } else if (flag == "-u" || flag == "--username") {
    f.username = std::string{args.value(flag, "a user name")};
  } else if (flag == "-P" || flag == "--pw") {
    f.password = std::string{args.value(flag, "a password")};
  } else if (flag == "-V" || flag == "--protocol-version") {
    state.explicit_version = parse_version(flag, args.value(flag, "a protocol version"));
  } else if (flag == "-q" || flag == "--qos") {
    f.qos = parse_qos(flag, args.value(flag, "a QoS (0, 1 or 2)"));
  } else if (flag == "-c" || flag == "--disable-clean-session") {
    f.disable_clean_session = true;
  } else if (flag == "-x" || flag == "--session-expiry-interval") {
    const auto text = args.value(flag, "a number of seconds");
    if (text == "-1" || text == "\u221e")
      f.session_expiry = session_never_expires;
    else
      f.session_expiry = property_u32(flag, text);
    state.require_v5(flag);
  } else if (flag == "-d" || flag == "--debug") {
    f.debug = true;
  } else if (flag == "--quiet") {
    f.quiet = true;
  } else if (flag == "--nodelay") {
    // coromqtt always disables Nagle's algorithm.
  } else if (flag == "-D" || flag == "--property") {
    parse_property(args, f, state, which);
  } else if (flag == "--will-topic") {
    f.will_topic = check_topic_name(flag, args.value(flag, "a topic"));
  } else if (flag == "--will-payload") {
    f.will_payload = std::string{args.value(flag, "a payload")};
    state.will_detail_given = true;
  } else if (flag == "--will-qos") {
    f.will_qos = parse_qos(flag, args.value(flag, "a QoS (0, 1 or 2)"));
    state.will_detail_given = true;
  } else if (flag == "--will-retain") {
    f.will_retain = true;
    state.will_detail_given = true;
  } else if (flag == "--cafile") {
    f.tls.ca_file = std::string{args.value(flag, "a file")};
    f.tls_requested = true;
  } else if (flag == "--capath") {
    f.tls.ca_path = std::string{args.value(flag, "a directory")};
    f.tls_requested = true;
  } else if (flag == "--cert") {
    f.tls.cert_file = std::string{args.value(flag, "a file")};
    f.tls_requested = true;
  } else if (flag == "--key") {
    f.tls.key_file = std::string{args.value(flag, "a file")};
    f.tls_requested = true;
  } else if (flag == "--pass" || flag == "--key-password") {
    f.tls.key_password = std::string{args.value(flag, "the private key's password")};
    f.tls_requested = true;
  } else if (flag == "--keyform") {
    const auto form = lowercase(args.value(flag, "pem"));
    if (form != "pem") throw usage_error(std::string{flag} + ": only 'pem' keys are supported");
  } else if (flag == "--insecure") {
    f.tls.insecure_skip_verify = true;
    f.tls_requested = true;
  } else if (flag == "--tls-use-os-certs") {
    f.tls_requested = true;  // an empty ca_file and ca_path mean the system store
  } else if (flag == "--tls-version") {
    const auto version = lowercase(args.value(flag, "tlsv1.2 or tlsv1.3"));
    if (version == "tlsv1.2")
      f.tls.minimum_version = tls_options::version::tls1_2;
    else if (version == "tlsv1.3")
      f.tls.minimum_version = tls_options::version::tls1_3;
    else
      throw usage_error(std::string{flag} + ": " + in_quotes(version) +
                        " is not supported (tlsv1.2 or tlsv1.3)");
    f.tls_requested = true;
  } else if (flag == "--tls-alpn" || flag == "--alpn") {
    f.tls.alpn_protocols.emplace_back(args.value(flag, "a protocol name"));
    f.tls_requested = true;
  } else if (flag == "--retries") {
    const auto text = args.value(flag, "a number, or 'forever'");
    if (text == "forever") {
      f.retry_forever = true;
      f.retries.reset();
    } else {
      f.retries = parse_integer<unsigned>(flag, text, 0, 1'000'000);
      f.retry_forever = false;
    }
  } else {
    for (const auto& unsupported : unsupported_flags) {
      if (flag == unsupported.flag)
        throw usage_error(std::string{flag} +
                          " is not supported by coromqtt: " + std::string{unsupported.why});
    }
    return false;
  }
  return true;
}

// The checks that need every flag seen.
void finish_common(common_flags& f, parse_state& state) {
  if (!state.needs_v5.empty()) {
    if (state.explicit_version == protocol_version::v3_1_1)
      throw usage_error(state.needs_v5 + " needs MQTT 5 (-V 5), not -V 311");
    f.version = protocol_version::v5;
  } else if (state.explicit_version) {
    f.version = *state.explicit_version;
  }
  if (!f.session_expiry && state.property_session_expiry) f.session_expiry = state.property_session_expiry;

  if (!f.client_id.empty() && !f.client_id_prefix.empty())
    throw usage_error("-i and -I cannot be used together");
  if (f.disable_clean_session && f.client_id.empty())
    throw usage_error("-c needs a client id (-i): a persistent session is found again by its client id");
  if (f.session_expiry == session_never_expires && f.client_id.empty())
    throw usage_error("a session that never expires needs a client id (-i)");
  if (f.password && !f.username && f.version == protocol_version::v3_1_1)
    throw usage_error("-P needs -u with MQTT 3.1.1");
  if (state.will_detail_given && !f.will_topic)
    throw usage_error("--will-payload, --will-qos and --will-retain need --will-topic");
  if (f.tls.cert_file.empty() != f.tls.key_file.empty()) throw usage_error("--cert and --key go together");

  if (!f.unix_socket.empty() && (f.url_given || f.host_given || f.port))
    throw usage_error("--unix replaces -h, -p and -L: give only one of them");
  if (!f.unix_socket.empty() && f.tls_requested) throw usage_error("TLS is not available over --unix");
  if (f.url_given && f.host_given) throw usage_error("-L and -h both name the broker: give only one of them");
  if (f.websocket_path_given &&
      !(f.url_kind == transport_kind::websocket || f.url_kind == transport_kind::secure_websocket))
    throw usage_error("--ws-path needs a ws:// or wss:// URL (-L)");

  // What the flags add up to must be a URL the client accepts (a host name with a '/' in it would not be).
  boost::system::error_code ec;
  const auto url = broker_url(f);
  if (!endpoint::parse(url, ec))
    throw usage_error("the broker address " + in_quotes(url) + " is not usable (" + ec.message() + ")");
}

[[noreturn]] void unknown_flag(std::string_view flag) {
  if (flag.starts_with('-')) throw usage_error("unknown option " + in_quotes(flag));
  throw usage_error("unexpected argument " + in_quotes(flag));
}

}  // namespace

parsed_command_line<pub_flags> parse_pub_command_line(std::span<const std::string_view> arguments) {
  parsed_command_line<pub_flags> result;
  auto& f = result.flags;
  parse_state state;
  bool repeat_given = false;
  const auto set_source = [&](pub_flags::source s) {
    if (f.payload_source != pub_flags::source::none)
      throw usage_error("only one of -m, -f, -n, -l and -s can be given");
    f.payload_source = s;
  };

  argument_cursor args{arguments};
  while (!args.done()) {
    const auto flag = args.take();
    if (flag == "--help") {
      result.help = true;
      return result;
    }
    if (parse_common_flag(flag, args, f.common, state, command::pub)) continue;
    if (flag == "-t" || flag == "--topic") {
      f.topic = check_topic_name(flag, args.value(flag, "a topic"));
    } else if (flag == "-m" || flag == "--message") {
      set_source(pub_flags::source::message);
      f.message = std::string{args.value(flag, "a message")};
    } else if (flag == "-f" || flag == "--file") {
      set_source(pub_flags::source::file);
      f.file = std::string{args.value(flag, "a file name")};
    } else if (flag == "-n" || flag == "--null-message") {
      set_source(pub_flags::source::null_message);
    } else if (flag == "-l" || flag == "--stdin-line") {
      set_source(pub_flags::source::stdin_lines);
    } else if (flag == "-s" || flag == "--stdin-file") {
      set_source(pub_flags::source::stdin_whole);
    } else if (flag == "-r" || flag == "--retain") {
      f.retain = true;
    } else if (flag == "--repeat") {
      f.repeat = parse_integer<std::uint64_t>(flag, args.value(flag, "a count"), 1,
                                              std::numeric_limits<std::uint32_t>::max());
      repeat_given = true;
    } else if (flag == "--repeat-delay") {
      f.repeat_delay = parse_seconds(flag, args.value(flag, "a number of seconds"), true);
    } else {
      unknown_flag(flag);
    }
  }

  finish_common(f.common, state);
  if (f.common.url_has_topic) {
    if (!f.topic.empty()) throw usage_error("the topic is given twice, with -t and in the -L URL");
    f.topic = check_topic_name("-L", f.common.url_topic);
  }
  if (f.topic.empty()) throw usage_error("no topic: give -t (or a topic in the -L URL)");
  if (f.payload_source == pub_flags::source::none) throw usage_error("no message: give -m, -f, -n, -l or -s");
  if (repeat_given && f.payload_source == pub_flags::source::stdin_lines)
    throw usage_error("--repeat cannot be used with -l");
  return result;
}

parsed_command_line<sub_flags> parse_sub_command_line(std::span<const std::string_view> arguments) {
  parsed_command_line<sub_flags> result;
  auto& f = result.flags;
  parse_state state;

  argument_cursor args{arguments};
  while (!args.done()) {
    const auto flag = args.take();
    if (flag == "--help") {
      result.help = true;
      return result;
    }
    if (parse_common_flag(flag, args, f.common, state, command::sub)) continue;
    if (flag == "-t" || flag == "--topic") {
      f.topics.push_back(check_topic_filter(flag, args.value(flag, "a topic filter")));
    } else if (flag == "-T" || flag == "--filter-out") {
      f.filter_out.push_back(check_topic_filter(flag, args.value(flag, "a topic filter")));
    } else if (flag == "-U" || flag == "--unsubscribe") {
      f.unsubscribe.push_back(check_topic_filter(flag, args.value(flag, "a topic filter")));
    } else if (flag == "-C") {
      f.count = parse_integer<std::uint64_t>(flag, args.value(flag, "a message count"), 1,
                                             std::numeric_limits<std::uint32_t>::max());
    } else if (flag == "-W") {
      f.timeout = parse_seconds(flag, args.value(flag, "a number of seconds"), false);
    } else if (flag == "-v" || flag == "--verbose") {
      f.verbose = true;
    } else if (flag == "-N") {
      f.no_end_of_line = true;
    } else if (flag == "-E") {
      f.exit_once_subscribed = true;
    } else if (flag == "-R") {
      f.no_retained = true;
    } else if (flag == "--retained-only") {
      f.retained_only = true;
    } else if (flag == "--remove-retained") {
      f.remove_retained = true;
    } else if (flag == "--retain-as-published") {
      f.retain_as_published = true;
      state.require_v5(flag);
    } else if (flag == "-F") {
      const auto format = args.value(flag, "a format string");
      message_format::parse(format);  // reject a bad format now, as a usage error
      f.format = std::string{format};
    } else {
      unknown_flag(flag);
    }
  }

  finish_common(f.common, state);
  if (f.common.url_has_topic) f.topics.push_back(check_topic_filter("-L", f.common.url_topic));
  if (f.topics.empty() && f.unsubscribe.empty())
    throw usage_error("no topic: give -t (or a topic in the -L URL), or -U");
  if (f.no_retained && f.retained_only) throw usage_error("-R and --retained-only contradict each other");
  return result;
}

std::string broker_url(const common_flags& f) {
  if (!f.unix_socket.empty()) {
    std::error_code ec;
    auto path = std::filesystem::absolute(f.unix_socket, ec);
    return "unix://" + (ec ? f.unix_socket : path.string());
  }
  auto kind = f.url_kind.value_or(transport_kind::tcp);
  const bool tls = f.tls_requested || (!f.url_kind && f.port == 8883);
  if (tls && kind == transport_kind::tcp) kind = transport_kind::tls;
  if (tls && kind == transport_kind::websocket) kind = transport_kind::secure_websocket;

  std::string url;
  switch (kind) {
    case transport_kind::tcp: url = "mqtt://"; break;
    case transport_kind::tls: url = "mqtts://"; break;
    case transport_kind::websocket: url = "ws://"; break;
    case transport_kind::secure_websocket: url = "wss://"; break;
    case transport_kind::unix_socket: break;  // handled above
  }
  url += f.host.find(':') != std::string::npos ? "[" + f.host + "]" : f.host;
  url += ":" + std::to_string(f.port.value_or(default_port(kind)));
  if (kind == transport_kind::websocket || kind == transport_kind::secure_websocket) url += f.websocket_path;
  return url;
}

std::string client_id(const common_flags& f) {
  if (!f.client_id.empty()) return f.client_id;
  if (!f.client_id_prefix.empty()) return f.client_id_prefix + std::to_string(::getpid());
  if (f.version == protocol_version::v5) return {};  // the broker assigns one
  // MQTT 3.1.1 brokers must accept ids of 1 to 23 letters and digits [MQTT-3.1.3-5]: "coromqtt-" and 14 more.
  constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::random_device entropy;
  std::uniform_int_distribution<std::size_t> pick{0, alphabet.size() - 1};
  std::string id = "coromqtt-";
  for (int i = 0; i < 14; ++i) id += alphabet[pick(entropy)];
  return id;
}

client_options make_client_options(const common_flags& f) {
  client_options o;
  o.brokers = {broker_url(f)};
  o.version = f.version;
  o.client_id = client_id(f);
  if (f.username || f.password) {
    o.credentials = [username = f.username, password = f.password](const credential_request&) {
      credentials c;
      c.username = username;
      c.password = password;
      return c;
    };
  }
  o.keep_alive = std::chrono::seconds{f.keep_alive};
  o.clean_start = !f.disable_clean_session;
  if (f.version == protocol_version::v5) {
    o.session_expiry_interval =
        f.session_expiry.value_or(f.disable_clean_session ? session_never_expires : 0);
    const auto& p = f.properties;
    o.connect_user_properties = p.connect_user_properties;
    if (p.connect_receive_maximum) o.receive_maximum = *p.connect_receive_maximum;
    if (p.connect_maximum_packet_size) o.maximum_packet_size = *p.connect_maximum_packet_size;
    if (p.connect_topic_alias_maximum) o.topic_alias_maximum = *p.connect_topic_alias_maximum;
    if (p.connect_request_problem_information)
      o.request_problem_information = *p.connect_request_problem_information;
  }
  if (f.will_topic) {
    will_message will;
    will.topic = *f.will_topic;
    will.payload = f.will_payload;
    will.qos = f.will_qos;
    will.retain = f.will_retain;
    will.properties = f.properties.will;
    will.delay_interval = f.properties.will_delay_interval.value_or(0);
    o.will = std::move(will);
  }
  o.transport.tls = f.tls;
  o.transport.local_address = f.bind_address;
  return o;
}

std::string_view pub_usage() noexcept {
  return R"(coromqtt pub: publish MQTT messages (the options of mosquitto_pub)

usage: coromqtt pub {-t topic | -L URL} {-m message | -f file | -n | -l | -s} [options]

Message:
  -t, --topic TOPIC         topic to publish to
  -m, --message TEXT        the message
  -f, --file FILE           the whole file as one message
  -n, --null-message        a zero-length message
  -l, --stdin-line          each line of standard input as a message
  -s, --stdin-file          all of standard input as one message
  -q, --qos 0|1|2           quality of service (default 0)
  -r, --retain              retain the message
  --repeat N                publish the message N times (not with -l)
  --repeat-delay SECONDS    wait this long after each delivery before the next (fractions allowed)
)"
         R"(
Broker and session (shared with coromqtt sub):
  -h, --host HOST           broker host (default localhost)
  -p, --port PORT           broker port (default 1883, or 8883 with TLS)
  -L, --url URL             mqtt(s)://[user[:password]@]host[:port]/topic or ws(s)://host[:port]/path/topic
  --ws-path PATH            WebSocket path for a ws(s):// URL; all of the URL's path is then the topic
  --unix PATH               connect to a Unix domain socket instead
  -A ADDRESS                local address to bind to
  -V, --protocol-version V  5, 311, mqttv5 or mqttv311 (default 311; -D and -x imply 5)
  -i, --id ID               client id        -I, --id-prefix PREFIX   client id = PREFIX + process id
  -k, --keepalive SECONDS   keep alive (default 60; 0 = off)
  -u, --username USER       user name        -P, --pw PASSWORD        password
  -c                        persistent session (needs -i)
  -x SECONDS                MQTT 5 session expiry interval (-1 = never)
  -D COMMAND NAME VALUE     MQTT 5 property: connect, publish, will or disconnect (see docs/cli.md)
  --will-topic TOPIC  --will-payload TEXT  --will-qos Q  --will-retain
  --retries N|forever       reconnect attempts after a failure (default 0)
  -d, --debug               print connection events and packets on stderr
  --quiet                   print no runtime errors
)"
         R"(
TLS:
  --cafile FILE  --capath DIR  --cert FILE  --key FILE  --pass KEY-PASSWORD  --tls-use-os-certs
  --tls-version tlsv1.2|tlsv1.3 (minimum)  --tls-alpn PROTOCOL  --insecure (no certificate verification)

Exit status: 0 when every message was published (QoS 1 and 2: acknowledged); 1 for a usage error or any
failure; the CONNACK reason code when the broker refused the connection.
)";
}

std::string_view sub_usage() noexcept {
  return R"(coromqtt sub: subscribe and print MQTT messages (the options of mosquitto_sub)

usage: coromqtt sub {-t filter... | -L URL | -U filter...} [options]

Subscribing:
  -t, --topic FILTER        topic filter to subscribe to (repeatable)
  -T, --filter-out FILTER   do not print messages whose topic matches (repeatable)
  -U, --unsubscribe FILTER  unsubscribe from this filter after subscribing (repeatable)
  -q, --qos 0|1|2           maximum QoS of the subscriptions (default 0)
  -C COUNT                  exit after COUNT messages were printed
  -W SECONDS                exit with status 27 if still running this long after connecting
  -E                        exit once subscribed
  -R                        do not print retained (stale) messages
  --retained-only           print only retained messages; exit at the first other one
  --remove-retained         clear each retained message received (publishes an empty retained message)
  --retain-as-published     MQTT 5 subscription option
)"
         R"(
Output:
  -v, --verbose             print "topic payload"
  -N                        no end of line after each message
  -F FORMAT                 %t topic, %p payload, %q QoS, %r retain, %l length, %x/%X hex payload,
                            %I ISO-8601 time, %U Unix time, %j JSON, %C %D %E %F %P %R %S MQTT 5
                            properties, @X strftime, \n \t \\ ... (see docs/cli.md)
)"
         R"(
Broker and session (shared with coromqtt pub):
  -h, --host HOST           broker host (default localhost)
  -p, --port PORT           broker port (default 1883, or 8883 with TLS)
  -L, --url URL             mqtt(s)://[user[:password]@]host[:port]/filter or ws(s)://host[:port]/path/filter
  --ws-path PATH            WebSocket path for a ws(s):// URL; all of the URL's path is then the filter
  --unix PATH               connect to a Unix domain socket instead
  -A ADDRESS                local address to bind to
  -V, --protocol-version V  5, 311, mqttv5 or mqttv311 (default 311; -D and -x imply 5)
  -i, --id ID               client id        -I, --id-prefix PREFIX   client id = PREFIX + process id
  -k, --keepalive SECONDS   keep alive (default 60; 0 = off)
  -u, --username USER       user name        -P, --pw PASSWORD        password
  -c                        persistent session (needs -i)
  -x SECONDS                MQTT 5 session expiry interval (-1 = never)
  -D COMMAND NAME VALUE     MQTT 5 property: connect, subscribe, will or disconnect (see docs/cli.md)
  --will-topic TOPIC  --will-payload TEXT  --will-qos Q  --will-retain
  --retries N|forever       reconnect attempts after a failure (default: none before the first connection,
                            forever after it)
  -d, --debug               print connection events and packets on stderr
  --quiet                   print no runtime errors
)"
         R"(
TLS:
  --cafile FILE  --capath DIR  --cert FILE  --key FILE  --pass KEY-PASSWORD  --tls-use-os-certs
  --tls-version tlsv1.2|tlsv1.3 (minimum)  --tls-alpn PROTOCOL  --insecure (no certificate verification)

Exit status: 0 on success (and on SIGINT or SIGTERM); 27 when -W expired; 1 for a usage error or any
failure; the CONNACK reason code when the broker refused the connection.
)";
}

}  // namespace coromqtt::tools

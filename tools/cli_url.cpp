// Where the broker is: the -L URL of pub and sub, and the broker URL all the flags add up to.
#include "cli_parsing.hpp"

#include <charconv>
#include <filesystem>
#include <system_error>

namespace coromqtt::tools {

namespace cli_parsing {

namespace {

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

}  // namespace

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
      f.websocket_path.assign(1, '/').append(segment);  // (g++ 12 -O3 warns wrongly about "/" + ...)
      topic = slash == std::string_view::npos ? std::string_view{} : topic.substr(slash + 1);
    }
  }
  f.url_has_topic = !topic.empty();
  f.url_topic = std::string{topic};
  f.url_given = true;
}

}  // namespace cli_parsing

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
  // Appended piece by piece: g++ 12 at -O3 sees a false overlap (-Wrestrict) in "[" + host + "]".
  const bool ipv6 = f.host.find(':') != std::string::npos;
  if (ipv6) url += '[';
  url += f.host;
  if (ipv6) url += ']';
  url += ':';
  url += std::to_string(f.port.value_or(default_port(kind)));
  if (kind == transport_kind::websocket || kind == transport_kind::secure_websocket) url += f.websocket_path;
  return url;
}

}  // namespace coromqtt::tools

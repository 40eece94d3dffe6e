#include <coromqtt/endpoint.hpp>
#include <coromqtt/error.hpp>

#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <array>
#include <charconv>

namespace coromqtt {
namespace {

struct scheme_name {
  std::string_view name;
  transport_kind kind;
};

// The first name of each kind is the canonical one, used by to_string().
constexpr std::array schemes{
    scheme_name{"mqtt", transport_kind::tcp},
    scheme_name{"tcp", transport_kind::tcp},
    scheme_name{"mqtts", transport_kind::tls},
    scheme_name{"ssl", transport_kind::tls},
    scheme_name{"tls", transport_kind::tls},
    scheme_name{"ws", transport_kind::websocket},
    scheme_name{"wss", transport_kind::secure_websocket},
    scheme_name{"unix", transport_kind::unix_socket},
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

std::optional<transport_kind> kind_of_scheme(std::string_view scheme) {
  for (const auto& candidate : schemes) {
    if (equals_ignoring_case(candidate.name, scheme)) return candidate.kind;
  }
  return std::nullopt;
}

// A registered name or an IPv4 address. Deliberately narrower than RFC 3986's reg-name: the characters that
// DNS names and addresses use, so that nothing odd reaches the resolver or the Host header.
bool is_host_name(std::string_view host) {
  return !host.empty() && std::ranges::all_of(host, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
}

bool is_ipv6_literal(std::string_view text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address_v6(text, ec);
  return !ec;
}

std::optional<std::uint16_t> parse_port(std::string_view digits) {
  unsigned value = 0;
  auto [end, status] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || status != std::errc{} || end != digits.data() + digits.size() || value == 0 ||
      value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// Splits "host[:port]" or "[v6]:port" into the endpoint; false when malformed.
bool parse_authority(std::string_view authority, endpoint& result) {
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    auto literal = authority.substr(1, close - 1);
    if (!is_ipv6_literal(literal)) return false;
    result.host = std::string(literal);
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port_text = rest.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    auto host = authority.substr(0, colon);
    if (!is_host_name(host)) return false;
    result.host = std::string(host);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
  }
  if (has_port) {
    auto port = parse_port(port_text);
    if (!port) return false;
    result.port = *port;
  } else {
    result.port = default_port(result.kind);
  }
  return true;
}

std::optional<endpoint> parse_url(std::string_view url) {
  endpoint result;
  std::string_view rest = url;
  if (auto separator = url.find("://"); separator != std::string_view::npos) {
    auto kind = kind_of_scheme(url.substr(0, separator));
    if (!kind) return std::nullopt;
    result.kind = *kind;
    rest = url.substr(separator + 3);
  }
  if (rest.find('#') != std::string_view::npos) return std::nullopt;

  if (result.kind == transport_kind::unix_socket) {
    // unix:///run/mosquitto.sock: an empty authority, then the absolute path.
    if (rest.size() < 2 || rest.front() != '/' || rest.find('?') != std::string_view::npos)
      return std::nullopt;
    result.host = std::string(rest);
    return result;
  }

  auto authority_end = rest.find_first_of("/?");
  auto authority = rest.substr(0, authority_end);
  auto target = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  if (!parse_authority(authority, result)) return std::nullopt;

  bool websocket =
      result.kind == transport_kind::websocket || result.kind == transport_kind::secure_websocket;
  if (websocket) {
    if (target.empty()) target = "/";
    if (target.front() == '?') return std::nullopt;  // "ws://host?q": a query needs a path before it
    if (std::ranges::any_of(target, [](char c) { return c <= ' ' || c == 0x7f; })) return std::nullopt;
    result.path = std::string(target);
  } else if (!target.empty() && target != "/") {
    return std::nullopt;
  }
  return result;
}

}  // namespace

std::uint16_t default_port(transport_kind kind) noexcept {
  switch (kind) {
    case transport_kind::tcp:
      return 1883;
    case transport_kind::tls:
      return 8883;
    case transport_kind::websocket:
      return 80;
    case transport_kind::secure_websocket:
      return 443;
    case transport_kind::unix_socket:
      return 0;
  }
  return 0;
}

std::string_view to_string(transport_kind kind) noexcept {
  switch (kind) {
    case transport_kind::tcp:
      return "tcp";
    case transport_kind::tls:
      return "tls";
    case transport_kind::websocket:
      return "ws";
    case transport_kind::secure_websocket:
      return "wss";
    case transport_kind::unix_socket:
      return "unix";
  }
  return "unknown";
}

std::optional<endpoint> endpoint::parse(std::string_view url, boost::system::error_code& ec) {
  auto result = parse_url(url);
  if (result) {
    ec = {};
  } else {
    ec = error::invalid_url;
  }
  return result;
}

std::string endpoint::to_string() const {
  auto scheme = std::ranges::find(schemes, kind, &scheme_name::kind);
  std::string url(scheme->name);
  url += "://";
  if (kind == transport_kind::unix_socket) return url + host;
  bool bracketed = host.find(':') != std::string::npos;
  if (bracketed) url += '[';
  url += host;
  if (bracketed) url += ']';
  url += ':';
  url += std::to_string(effective_port());
  if (kind == transport_kind::websocket || kind == transport_kind::secure_websocket) url += path;
  return url;
}

}  // namespace coromqtt

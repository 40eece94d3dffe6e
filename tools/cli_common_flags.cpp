// The flags pub and sub share (broker, identity, session, will, TLS, behaviour), and the checks that need
// every flag seen before they can say whether the combination makes sense.
#include "cli_parsing.hpp"

#include <array>

namespace coromqtt::tools::cli_parsing {

namespace {

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

}  // namespace

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

}  // namespace coromqtt::tools::cli_parsing

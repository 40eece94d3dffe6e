// Where the broker is and how to reach it: a URL ("mqtt://host:1883", "mqtts://host:8883",
// "ws://host:80/mqtt", "wss://host:443/mqtt", "unix:///run/mosquitto.sock") and the options of each
// transport. Security defaults and how to reach managed brokers: docs/security.md.
#pragma once

#include <coromqtt/config.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coromqtt {

enum class transport_kind { tcp, tls, websocket, secure_websocket, unix_socket };

// The scheme's registered port: 1883 (tcp), 8883 (tls), 80 (websocket), 443 (secure_websocket); 0 for
// unix_socket.
std::uint16_t default_port(transport_kind kind) noexcept;

// "tcp", "tls", "ws", "wss", "unix": for descriptions and logs.
std::string_view to_string(transport_kind kind) noexcept;

struct endpoint {
  transport_kind kind = transport_kind::tcp;
  std::string host = {};   // name or address (IPv6 without brackets); for unix_socket, the socket path
  std::uint16_t port = 0;  // 0 = the scheme's default, see default_port()
  std::string path = "/";  // WebSocket request target, query included ("/mqtt?x-amz-..."); "/" otherwise

  // Parses a broker URL. Schemes (case-insensitive): "mqtt://" and "tcp://" (TCP), "mqtts://", "ssl://" and
  // "tls://" (TLS), "ws://", "wss://", "unix:///absolute/path"; a bare "host[:port]" means mqtt://. IPv6
  // literals go in brackets ("mqtt://[::1]:1883"). The port is filled in with the scheme's default when
  // absent. A WebSocket URL keeps its path and query as the request target; the other schemes take no path.
  // Rejected with error::invalid_url: an unknown scheme, an empty or malformed host, a port outside 1-65535,
  // user information ("user:pass@host": credentials belong in the connect options, not in a URL that ends up
  // in logs), a fragment, a path on a non-WebSocket URL, a relative unix socket path.
  static std::optional<endpoint> parse(std::string_view url, boost::system::error_code& ec);

  // The canonical URL: "mqtt://host:1883", "wss://[::1]:443/mqtt", "unix:///run/mosquitto.sock".
  std::string to_string() const;

  // port, or the scheme's default when port is 0.
  std::uint16_t effective_port() const noexcept { return port != 0 ? port : default_port(kind); }

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

struct tls_options {
  // Verification is on by default: the broker's chain must lead to a trusted CA, and its certificate must
  // name the host we connect to (DNS name or IP address, RFC 6125). SNI is sent for host names (not for
  // addresses). See docs/security.md.

  // Trusted CAs (PEM); when ca_file and ca_path are both empty, the system's default store is used.
  std::string ca_file = {};
  std::string ca_path = {};    // directory of hashed CA certificates (c_rehash / openssl rehash)
  std::string cert_file = {};  // client certificate chain (PEM), for mutual TLS
  std::string key_file = {};   // client private key (PEM); may be encrypted, then key_password decrypts it
  std::string key_password = {};
  std::string server_name = {};  // SNI and the name verified; empty = the endpoint's host
  // ALPN protocols offered, most preferred first: e.g. {"x-amzn-mqtt-ca"} for AWS IoT on port 443, {"mqtt"}
  // for brokers that share 443 with HTTPS. Empty = no ALPN extension.
  std::vector<std::string> alpn_protocols = {};
  enum class version { tls1_2, tls1_3 } minimum_version = version::tls1_2;
  // Skips certificate and host name verification. For tests against self-signed brokers only: anyone on the
  // path can impersonate the broker.
  bool insecure_skip_verify = false;
};

struct websocket_options {
  // Extra HTTP headers for the upgrade request (e.g. an Authorization header); replace any of the same name.
  std::vector<std::pair<std::string, std::string>> headers = {};
  // The subprotocol requested and required in the answer is always "mqtt" [MQTT-6.0.0-3]; frames are binary
  // [MQTT-6.0.0-1]; the Host header carries the port unless it is the scheme's default (RFC 6455 4.1).
};

struct transport_options {
  tls_options tls = {};
  websocket_options websocket = {};
  // Each step of a connection attempt has its own bound; a step that takes longer fails with its own error.
  std::chrono::steady_clock::duration resolve_timeout = std::chrono::seconds(10);  // error::resolve_timeout
  // For the whole connect step, every resolved address tried in turn. error::connect_timeout
  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(10);
  // For the TLS handshake and, separately, the WebSocket upgrade. error::handshake_timeout
  std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds(10);
  // Graceful close (TLS close_notify, WebSocket close frame, TCP FIN and draining); then the socket is
  // closed.
  std::chrono::steady_clock::duration close_timeout = std::chrono::seconds(2);
  std::size_t receive_buffer_size = 0;  // SO_RCVBUF, 0 = system default
  std::size_t send_buffer_size = 0;     // SO_SNDBUF, 0 = system default
  // Local IP address to bind before connecting (e.g. benchmarks spreading over many source addresses);
  // TCP-based transports only. Resolved addresses of the other IP family are skipped.
  std::optional<std::string> local_address = {};
};

}  // namespace coromqtt

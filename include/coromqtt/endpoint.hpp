// Where the broker is and how to reach it: a URL ("mqtt://host:1883", "mqtts://host:8883", "ws://host:80/mqtt",
// "wss://host:443/mqtt", "unix:///run/mosquitto.sock") and the options of each transport.
//
// DRAFT interface (to be completed by the transport work): names may still change.
#pragma once

#include <coromqtt/config.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coromqtt {

enum class transport_kind { tcp, tls, websocket, secure_websocket, unix_socket };

struct endpoint {
  transport_kind kind = transport_kind::tcp;
  std::string host;        // name or address; for unix_socket, the socket path
  std::uint16_t port = 0;  // 0 = the scheme's default (1883, 8883, 80, 443)
  std::string path = "/";  // WebSocket request target

  // Parses "mqtt://", "tcp://", "mqtts://", "ssl://", "tls://", "ws://", "wss://", "unix://" URLs; a bare
  // "host[:port]" means mqtt://. IPv6 literals in brackets. Returns an error for anything else.
  static std::optional<endpoint> parse(std::string_view url, boost::system::error_code& ec);
  std::string to_string() const;
};

struct tls_options {
  // Verification is on by default: chain against the CA store and host name (RFC 6125), SNI sent.
  std::string ca_file;    // PEM; empty = ca_path or the system store
  std::string ca_path;    // directory of hashed certificates
  std::string cert_file;  // client certificate chain (PEM), for mutual TLS
  std::string key_file;   // client private key (PEM), possibly encrypted
  std::string key_password;
  std::string server_name;  // SNI and verification name; empty = the endpoint host
  std::vector<std::string> alpn_protocols;  // e.g. {"mqtt"} for brokers sharing port 443
  enum class version { tls1_2, tls1_3 } minimum_version = version::tls1_2;
  // Skips certificate and host name verification. For tests against self-signed brokers only: anyone on the
  // path can impersonate the broker.
  bool insecure_skip_verify = false;
};

struct websocket_options {
  std::vector<std::pair<std::string, std::string>> headers;  // extra HTTP headers for the upgrade request
  // The subprotocol is always "mqtt" [MQTT-6.0.0-3]; frames are binary [MQTT-6.0.0-1].
};

struct transport_options {
  tls_options tls;
  websocket_options websocket;
  std::chrono::steady_clock::duration resolve_timeout = std::chrono::seconds(10);
  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(10);    // TCP connect
  std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds(10);  // TLS and WebSocket
  std::chrono::steady_clock::duration close_timeout = std::chrono::seconds(2);       // graceful close
  std::size_t receive_buffer_size = 0;  // SO_RCVBUF, 0 = system default
  std::size_t send_buffer_size = 0;     // SO_SNDBUF, 0 = system default
  std::optional<std::string> local_address;  // bind before connecting (bench: many source addresses)
};

}  // namespace coromqtt

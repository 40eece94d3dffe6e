// What the transport integration tests share: options that trust the test CA, connecting or failing the test,
// an MQTT session set up by hand.
#pragma once

#include "integration/mqtt_bytes.hpp"
#include "support/certs.hpp"
#include "support/mosquitto.hpp"
#include "transport/transport.hpp"

#include <coromqtt/error.hpp>

#include <boost/asio/this_coro.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace coromqtt::test {

namespace asio = boost::asio;
using boost::system::error_code;
using detail::transport;
using mqtt_bytes::bytes;
using mqtt_bytes::version;

// In coroutines, every argument of a co_await expression is a named object or a trivial value (string_view,
// buffer): g++ 12 destroys temporaries with destructors inside a co_await expression twice.

// Trusts the test CA; presents the client certificate to the mutual-TLS listener. Short timeouts: everything
// is on loopback.
inline transport_options options_for(listener kind) {
  transport_options options;
  options.resolve_timeout = std::chrono::seconds(5);
  options.connect_timeout = std::chrono::seconds(5);
  options.handshake_timeout = std::chrono::seconds(5);
  options.close_timeout = std::chrono::seconds(2);
  options.tls.ca_file = certificates().ca;
  if (kind == listener::mutual_tls) {
    options.tls.cert_file = certificates().client.certificate;
    options.tls.key_file = certificates().client.key;
  }
  return options;
}

inline const char* name_of(listener kind) {
  switch (kind) {
    case listener::tcp:
      return "tcp";
    case listener::tls:
      return "tls";
    case listener::mutual_tls:
      return "mutual_tls";
    case listener::websocket:
      return "websocket";
    case listener::secure_websocket:
      return "secure_websocket";
    case listener::unix_socket:
      return "unix_socket";
  }
  return "?";
}

struct attempt {
  std::unique_ptr<transport> connected;
  error_code ec;
  std::string diagnostic;
};

inline asio::awaitable<attempt> try_connect(const endpoint& where, const transport_options& options) {
  attempt result;
  auto executor = co_await asio::this_coro::executor;
  result.connected =
      co_await detail::connect_transport(executor, where, options, result.ec, &result.diagnostic);
  co_return result;
}

inline asio::awaitable<std::unique_ptr<transport>> connect_or_fail(const endpoint& where,
                                                                   const transport_options& options) {
  auto result = co_await try_connect(where, options);
  if (result.ec)
    FAIL("connecting to " << where.to_string() << ": " << result.ec.message() << " -- " << result.diagnostic);
  REQUIRE(result.connected != nullptr);
  co_return std::move(result.connected);
}

inline asio::awaitable<void> write_or_fail(transport& connection, const bytes& data) {
  error_code ec;
  co_await connection.write(asio::buffer(data), ec);
  if (ec) FAIL("write on " << connection.description() << ": " << ec.message());
}

inline asio::awaitable<mqtt_bytes::received_packet> read_or_fail(transport& connection, bytes& pending) {
  error_code ec;
  auto packet = co_await mqtt_bytes::read_packet(connection, pending, ec);
  if (ec) FAIL("read on " << connection.description() << ": " << ec.message());
  co_return packet;
}

// CONNECT, and the broker's CONNACK accepting it; returns the session present flag.
inline asio::awaitable<bool> mqtt_connect(transport& connection, version protocol, std::string_view client_id,
                                          bytes& pending, bool clean_start = true) {
  auto connect = mqtt_bytes::connect(protocol, client_id, clean_start);
  co_await write_or_fail(connection, connect);
  auto connack = co_await read_or_fail(connection, pending);
  REQUIRE(connack.type() == mqtt_bytes::connack_type);
  REQUIRE(connack.body.size() >= 2);
  CHECK(connack.body[1] == 0x00);  // accepted
  co_return (connack.body[0] & 0x01) != 0;
}

// SUBSCRIBE, and the SUBACK granting `qos`.
inline asio::awaitable<void> mqtt_subscribe(transport& connection, version protocol, std::string_view filter,
                                            bytes& pending, std::uint8_t qos = 0) {
  auto subscribe = mqtt_bytes::subscribe(protocol, 1, filter, qos);
  co_await write_or_fail(connection, subscribe);
  auto suback = co_await read_or_fail(connection, pending);
  REQUIRE(suback.type() == mqtt_bytes::suback_type);
  REQUIRE(suback.body.size() >= 3);
  CHECK(suback.body.back() == qos);
}

}  // namespace coromqtt::test

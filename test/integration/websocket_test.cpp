// The WebSocket upgrade and framing rules of MQTT 5.0 section 6. mosquitto always answers correctly, so the
// misbehaving servers here are small Beast servers on loopback; the real broker covers the rest.
#include "integration/transport_helpers.hpp"
#include "support/run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

using namespace coromqtt;
using namespace coromqtt::test;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

enum class server_behaviour {
  refuse,                      // answers 403
  accept_without_subprotocol,  // a 101 that does not select "mqtt"
  send_text_frame,             // selects "mqtt", then sends a text frame
  send_close_frame,            // selects "mqtt", then closes the WebSocket
};

// Accepts one connection on `acceptor`, records the upgrade request in `seen`, and misbehaves as told.
asio::awaitable<void> serve_once(tcp::acceptor& acceptor, server_behaviour behaviour,
                                 http::request<http::string_body>& seen) {
  auto [accept_ec, socket] = co_await acceptor.async_accept(nothrow);
  if (accept_ec) co_return;
  beast::flat_buffer buffer;
  auto [read_ec, n] = co_await http::async_read(socket, buffer, seen, nothrow);
  if (read_ec) co_return;
  if (behaviour == server_behaviour::refuse) {
    http::response<http::string_body> refusal(http::status::forbidden, 11);
    refusal.prepare_payload();
    co_await http::async_write(socket, refusal, nothrow);
    co_return;
  }
  websocket::stream<tcp::socket> ws(std::move(socket));
  if (behaviour != server_behaviour::accept_without_subprotocol) {
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::sec_websocket_protocol, "mqtt");
    }));
  }
  auto [upgrade_ec] = co_await ws.async_accept(seen, nothrow);
  if (upgrade_ec) co_return;
  if (behaviour == server_behaviour::send_text_frame) {
    ws.text(true);
    co_await ws.async_write(asio::buffer(std::string_view("not mqtt")), nothrow);
  } else if (behaviour == server_behaviour::send_close_frame) {
    co_await ws.async_close(websocket::close_code::going_away, nothrow);
  }
  // Hold the connection until the client is done with it.
  beast::flat_buffer discarded;
  co_await ws.async_read(discarded, nothrow);
}

struct local_websocket_server {
  local_websocket_server(asio::io_context& context, server_behaviour behaviour)
      : acceptor(context, {asio::ip::address_v4::loopback(), 0}) {
    asio::co_spawn(context, serve_once(acceptor, behaviour, seen), asio::detached);
  }
  endpoint where() const {
    return {.kind = transport_kind::websocket,
            .host = "127.0.0.1",
            .port = acceptor.local_endpoint().port(),
            .path = "/mqtt?token=abc"};
  }
  tcp::acceptor acceptor;
  http::request<http::string_body> seen;
};

}  // namespace

TEST_CASE(
    "The upgrade request asks for the mqtt subprotocol, with the Host port, path, query and extra headers",
    "[websocket][integration]") {
  asio::io_context context;
  local_websocket_server server(context, server_behaviour::send_close_frame);
  auto where = server.where();
  auto options = options_for(listener::websocket);
  options.websocket.headers = {{"Authorization", "Bearer token"}, {"X-Client", "coromqtt-test"}};
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(where, options);
    // The server's close frame is the peer closing: eof, like a FIN.
    std::array<std::uint8_t, 64> buffer;
    error_code ec;
    co_await connection->read_some(asio::buffer(buffer), ec);
    CHECK(ec == asio::error::eof);
  });
  CHECK(server.seen.target() == "/mqtt?token=abc");
  CHECK(server.seen[http::field::host] == "127.0.0.1:" + std::to_string(where.port));
  CHECK(server.seen[http::field::sec_websocket_protocol] == "mqtt");
  CHECK(server.seen[http::field::authorization] == "Bearer token");
  CHECK(server.seen["X-Client"] == "coromqtt-test");
}

TEST_CASE("A refused upgrade fails with websocket_upgrade_failed and the HTTP status",
          "[websocket][integration]") {
  asio::io_context context;
  local_websocket_server server(context, server_behaviour::refuse);
  auto where = server.where();
  auto options = options_for(listener::websocket);
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto result = co_await try_connect(where, options);
    CAPTURE(result.diagnostic);
    CHECK(result.ec == error::websocket_upgrade_failed);
    CHECK(result.diagnostic.find("HTTP 403 Forbidden") != std::string::npos);
  });
}

TEST_CASE("An upgrade without the mqtt subprotocol fails with websocket_upgrade_failed [MQTT-6.0.0-3]",
          "[websocket][integration]") {
  asio::io_context context;
  local_websocket_server server(context, server_behaviour::accept_without_subprotocol);
  auto where = server.where();
  auto options = options_for(listener::websocket);
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto result = co_await try_connect(where, options);
    CAPTURE(result.diagnostic);
    CHECK(result.ec == error::websocket_upgrade_failed);
    CHECK(result.connected == nullptr);
  });
}

TEST_CASE("A text frame from the server is a protocol violation [MQTT-6.0.0-1]", "[websocket][integration]") {
  asio::io_context context;
  local_websocket_server server(context, server_behaviour::send_text_frame);
  auto where = server.where();
  auto options = options_for(listener::websocket);
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(where, options);
    std::array<std::uint8_t, 64> buffer;
    error_code ec;
    co_await connection->read_some(asio::buffer(buffer), ec);
    CHECK(ec == error::protocol_violation);
  });
}

TEST_CASE("A WebSocket URL pointing at a plain MQTT port fails with websocket_upgrade_failed",
          "[websocket][integration]") {
  mosquitto broker;
  endpoint where{.kind = transport_kind::websocket, .host = "127.0.0.1", .port = broker.port(listener::tcp)};
  auto options = options_for(listener::websocket);
  run_coroutine([&]() -> asio::awaitable<void> {
    auto result = co_await try_connect(where, options);
    CAPTURE(result.diagnostic);
    CHECK(result.ec == error::websocket_upgrade_failed);
    CHECK(result.diagnostic.starts_with("WebSocket upgrade at 127.0.0.1:"));
  });
}

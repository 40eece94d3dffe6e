// MQTT over WebSocket and secure WebSocket (Boost.Beast), MQTT 5.0 section 6: binary frames, subprotocol
// "mqtt".
#include "transport/connectors.hpp"

#include <coromqtt/config.hpp>
#include <coromqtt/error.hpp>

#if COROMQTT_HAS_WEBSOCKET

#include "transport/stream_transport.hpp"

#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#if COROMQTT_HAS_TLS
#include "transport/tls.hpp"

#include <boost/beast/websocket/ssl.hpp>
#endif

namespace coromqtt::detail {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

// Client frames are masked by copying the payload through Beast's write buffer; a buffer the size of a full
// TLS record lets one large write become a few large socket writes rather than many 4 KiB ones.
constexpr std::size_t mask_buffer_size = 16 * 1024;

// The peer's close frame is the peer closing, like a FIN: the client sees eof for both.
error_code translate_websocket_read_error(error_code ec) {
  if (ec == websocket::error::closed) return asio::error::eof;
#if COROMQTT_HAS_TLS
  ec = translate_tls_read_error(ec);
#endif
  return ec;
}

template <class NextLayer>
void configure(websocket::stream<NextLayer>& ws, const websocket_options& options) {
  // One MQTT write is one binary message in one frame: no fragmentation beyond what the caller chose
  // [MQTT-6.0.0-1].
  ws.binary(true);
  ws.auto_fragment(false);
  ws.write_buffer_bytes(mask_buffer_size);
  // Reads are streamed with read_some, so Beast never holds a whole message; the MQTT reader enforces the
  // Maximum Packet Size.
  ws.read_message_max(0);
  ws.set_option(
      websocket::stream_base::decorator([headers = options.headers](websocket::request_type& request) {
        request.set(beast::http::field::sec_websocket_protocol, "mqtt");  // [MQTT-6.0.0-3]
        request.set(beast::http::field::user_agent, "coromqtt");
        for (const auto& [name, value] : headers) request.set(name, value);
      }));
}

// RFC 6455 4.1: the Host header carries the port unless it is the scheme's default.
std::string host_header(const endpoint& where) {
  if (where.effective_port() != default_port(where.kind))
    return host_and_port(where.host, where.effective_port());
  return where.host.find(':') == std::string::npos ? where.host : "[" + where.host + "]";
}

template <class NextLayer>
asio::awaitable<error_code> upgrade(websocket::stream<NextLayer>& ws, const std::string& host,
                                    const std::string& target, websocket::response_type& response) {
  auto [ec] = co_await ws.async_handshake(response, host, target, use_nothrow_awaitable);
  co_return ec;
}

// The HTTP upgrade within `limit`; a refusal, or an answer without the "mqtt" subprotocol, is
// error::websocket_upgrade_failed.
template <class NextLayer>
asio::awaitable<error_code> websocket_handshake(websocket::stream<NextLayer>& ws, const endpoint& where,
                                                steady_duration limit, std::string& diagnostic) {
  auto host = host_header(where);
  websocket::response_type response;
  auto upgrading = upgrade(ws, host, where.path, response);
  auto ec = co_await with_deadline(std::move(upgrading), limit, error::handshake_timeout);
  if (ec == asio::error::operation_aborted) co_return ec;
  diagnostic = "WebSocket upgrade at " + host + where.path + " failed: ";
  if (ec == error::handshake_timeout) {
    diagnostic += "no answer within " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) +
                  " ms";
    co_return ec;
  }
  if (ec) {
    diagnostic += ec.message();
    if (response.result_int() != 0) {
      diagnostic +=
          " (HTTP " + std::to_string(response.result_int()) + " " + std::string(response.reason()) + ")";
    }
    co_return error::websocket_upgrade_failed;
  }
  // [MQTT-6.0.0-3]: the server must have chosen "mqtt"; anything else may speak another protocol on the
  // frames.
  if (auto protocol = response[beast::http::field::sec_websocket_protocol]; protocol != "mqtt") {
    diagnostic += "the server did not select the \"mqtt\" subprotocol (Sec-WebSocket-Protocol: \"" +
                  std::string(protocol) + "\")";
    co_return error::websocket_upgrade_failed;
  }
  diagnostic.clear();
  co_return error_code{};
}

}  // namespace

template <class NextLayer>
struct stream_ops<websocket::stream<NextLayer>> {
  using stream_type = websocket::stream<NextLayer>;

  static asio::awaitable<error_code> read_some(stream_type& ws, asio::mutable_buffer buffer,
                                               std::size_t& bytes_read) {
    for (;;) {
      auto [ec, n] = co_await ws.async_read_some(buffer, use_nothrow_awaitable);
      if (ec) co_return translate_websocket_read_error(ec);
      // [MQTT-6.0.0-1]: MQTT travels in binary frames; any other data frame closes the connection.
      if (!ws.got_binary()) co_return error::protocol_violation;
      // An empty message carries nothing: read on.
      if (n != 0) {
        bytes_read = n;
        co_return error_code{};
      }
    }
  }

  static asio::awaitable<error_code> write(stream_type& ws, asio::const_buffer buffer) {
    auto [ec, n] = co_await ws.async_write(buffer, use_nothrow_awaitable);
    co_return ec;
  }

  // Our close frame, the peer's, then Beast's teardown of the layer below (TLS close_notify, TCP close).
  static asio::awaitable<void> graceful_close(stream_type& ws) {
    co_await ws.async_close(websocket::close_code::normal, use_nothrow_awaitable);
  }

  static void close(stream_type& ws) noexcept {
    error_code ignored;
    beast::get_lowest_layer(ws).close(ignored);
  }
};

asio::awaitable<std::unique_ptr<transport>> connect_websocket(const asio::any_io_executor& executor,
                                                              const endpoint& where,
                                                              const transport_options& options,
                                                              error_code& ec, std::string& diagnostic) {
  if (where.kind == transport_kind::websocket) {
    websocket::stream<tcp::socket> ws(executor);
    configure(ws, options.websocket);
    ec = co_await connect_tcp_socket(ws.next_layer(), where, options, diagnostic);
    if (ec) co_return nullptr;
    ec = co_await websocket_handshake(ws, where, options.handshake_timeout, diagnostic);
    if (ec) co_return nullptr;
    auto description = "ws " + describe_peer(where, ws.next_layer()) + where.path;
    co_return std::make_unique<stream_transport<websocket::stream<tcp::socket>>>(
        std::move(ws), std::move(description), options.close_timeout);
  }

#if COROMQTT_HAS_TLS
  auto context = make_tls_context(options.tls, ec, diagnostic);
  if (!context) co_return nullptr;
  websocket::stream<tls_stream> wss(executor, *context);
  configure(wss, options.websocket);
  ec = co_await connect_tcp_socket(wss.next_layer().next_layer(), where, options, diagnostic);
  if (ec) co_return nullptr;
  ec = co_await tls_handshake(wss.next_layer(), where.host, options.tls, options.handshake_timeout,
                              diagnostic);
  if (ec) co_return nullptr;
  ec = co_await websocket_handshake(wss, where, options.handshake_timeout, diagnostic);
  if (ec) co_return nullptr;
  auto description = "wss " + describe_peer(where, wss.next_layer().next_layer()) + where.path + ", " +
                     describe_tls_session(wss.next_layer());
  co_return std::make_unique<stream_transport<websocket::stream<tls_stream>>>(
      std::move(wss), std::move(description), options.close_timeout, std::move(context));
#else
  ec = error::transport_not_available;
  diagnostic = "this build of coromqtt has no TLS, so no secure WebSocket";
  co_return nullptr;
#endif
}

}  // namespace coromqtt::detail

#else  // !COROMQTT_HAS_WEBSOCKET

namespace coromqtt::detail {

asio::awaitable<std::unique_ptr<transport>> connect_websocket(const asio::any_io_executor&, const endpoint&,
                                                              const transport_options&, error_code& ec,
                                                              std::string& diagnostic) {
  ec = error::transport_not_available;
  diagnostic = "this build of coromqtt has no WebSocket (configured with -Dwebsocket=disabled)";
  co_return nullptr;
}

}  // namespace coromqtt::detail

#endif

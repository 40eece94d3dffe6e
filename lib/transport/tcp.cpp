// Plain TCP and Unix domain socket transports.
#include "transport/connectors.hpp"
#include "transport/stream_transport.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace coromqtt::detail {

using asio::ip::tcp;
using unix_socket = asio::local::stream_protocol::socket;

namespace {

// TCP's graceful close: our FIN, then read (and discard) until the peer's. Closing a socket with unread data
// sends a reset instead of a FIN, and a reset may destroy what we sent last (a DISCONNECT) before the peer
// reads it.
template <class Socket>
asio::awaitable<void> send_fin_and_drain(Socket& socket) {
  error_code ec;
  socket.shutdown(asio::socket_base::shutdown_send, ec);
  std::array<char, 512> discarded;
  while (!ec) {
    auto [read_ec, bytes_read] =
        co_await socket.async_read_some(asio::buffer(discarded), use_nothrow_awaitable);
    ec = read_ec;
  }
}

}  // namespace

// The operations of a plain socket stream, for TCP and Unix domain sockets alike.
template <class Socket>
struct socket_stream_ops {
  static asio::awaitable<error_code> read_some(Socket& socket, asio::mutable_buffer buffer,
                                               std::size_t& bytes_read) {
    auto [ec, n] = co_await socket.async_read_some(buffer, use_nothrow_awaitable);
    bytes_read = n;
    co_return ec;
  }

  static asio::awaitable<error_code> write(Socket& socket, asio::const_buffer buffer) {
    auto [ec, n] = co_await asio::async_write(socket, buffer, use_nothrow_awaitable);
    co_return ec;
  }

  static asio::awaitable<void> graceful_close(Socket& socket) { return send_fin_and_drain(socket); }

  static void close(Socket& socket) noexcept {
    error_code ignored;
    socket.close(ignored);
  }
};

template <>
struct stream_ops<tcp::socket> : socket_stream_ops<tcp::socket> {};

template <>
struct stream_ops<unix_socket> : socket_stream_ops<unix_socket> {};

asio::awaitable<std::unique_ptr<transport>> connect_tcp(const asio::any_io_executor& executor,
                                                        const endpoint& where,
                                                        const transport_options& options, error_code& ec,
                                                        std::string& diagnostic) {
  tcp::socket socket(executor);
  ec = co_await connect_tcp_socket(socket, where, options, diagnostic);
  if (ec) co_return nullptr;
  auto description = "tcp " + describe_peer(where, socket);
  co_return std::make_unique<stream_transport<tcp::socket>>(std::move(socket), std::move(description),
                                                            options.close_timeout);
}

namespace {

asio::awaitable<error_code> connect_unix_socket(unix_socket& socket,
                                                asio::local::stream_protocol::endpoint path) {
  auto [ec] = co_await socket.async_connect(path, use_nothrow_awaitable);
  co_return ec;
}

}  // namespace

asio::awaitable<std::unique_ptr<transport>> connect_unix(const asio::any_io_executor& executor,
                                                         const endpoint& where,
                                                         const transport_options& options, error_code& ec,
                                                         std::string& diagnostic) {
  // sockaddr_un holds a path of at most 107 bytes; asio would throw for a longer one.
  constexpr std::size_t max_path_length = sizeof(sockaddr_un::sun_path) - 1;
  if (where.host.size() > max_path_length) {
    ec = asio::error::name_too_long;
    diagnostic = "unix socket path longer than " + std::to_string(max_path_length) + " bytes: " + where.host;
    co_return nullptr;
  }
  unix_socket socket(executor);
  auto connecting = connect_unix_socket(socket, asio::local::stream_protocol::endpoint(where.host));
  ec = co_await with_deadline(std::move(connecting), options.connect_timeout, error::connect_timeout);
  if (ec) {
    diagnostic = "connecting to unix socket " + where.host + " failed: " + ec.message();
    co_return nullptr;
  }
  co_return std::make_unique<stream_transport<unix_socket>>(std::move(socket), "unix " + where.host,
                                                            options.close_timeout);
}

}  // namespace coromqtt::detail

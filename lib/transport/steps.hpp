// The steps a connection attempt is made of, shared by every transport: a deadline for each, name resolution,
// the TCP connect. Internal to lib/transport.
#pragma once

#include "transport/transport.hpp"

#include <coromqtt/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>

namespace coromqtt::detail {

using steady_duration = std::chrono::steady_clock::duration;

// For coroutines that handle errors as values: `auto [ec, n] = co_await op(..., use_nothrow_awaitable);`
inline constexpr auto use_nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

// Runs `operation` unless `limit` passes first: then the operation is cancelled (terminal cancellation, which
// sockets, the SSL stream and Beast's WebSocket stream honour), awaited, and `timeout` is returned. When the
// caller is cancelled, returns operation_aborted. Callers bind the operation to a named local first: g++ 12
// destroys a temporary with a destructor inside a co_await expression twice.
asio::awaitable<error_code> with_deadline(asio::awaitable<error_code> operation, steady_duration limit,
                                          error timeout);

// True when the calling coroutine has been cancelled. Bind the result to a variable before testing it: g++ 12
// miscompiles a co_await inside an if condition (the coroutine is later resumed at an invalid suspension
// point). Its next co_await of an asynchronous operation would throw (asio's throw_if_cancelled is on by
// default, and it belongs to the caller); we report an error instead.
asio::awaitable<bool> is_cancelled();

// Resolves the endpoint's host (unless it is an IP address) and connects `socket` to the first address that
// answers, each step within its timeout. The socket gets TCP_NODELAY, the buffer sizes and local address of
// `options`. Appends to `diagnostic` what went wrong.
asio::awaitable<error_code> connect_tcp_socket(asio::ip::tcp::socket& socket, const endpoint& where,
                                               const transport_options& options, std::string& diagnostic);

// "localhost:8883 (127.0.0.1:8883)": the name we were asked for and the address we reached.
std::string describe_peer(const endpoint& where, const asio::ip::tcp::socket& socket);

// "host:port" with brackets around IPv6 addresses.
std::string host_and_port(std::string_view host, std::uint16_t port);

}  // namespace coromqtt::detail

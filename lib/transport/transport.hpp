// One connection's byte stream, whatever carries it (TCP, TLS, WebSocket, secure WebSocket, Unix socket).
// A new transport is made for every connection attempt (a TLS stream cannot be reused after shutdown).
//
// DRAFT interface (to be completed by the transport work): the client's reader and writer use exactly this.
#pragma once

#include <coromqtt/endpoint.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>

namespace coromqtt::detail {

namespace asio = boost::asio;
using boost::system::error_code;

class transport {
 public:
  virtual ~transport() = default;

  // Reads at least one byte. Errors: the transport's own (eof = the peer closed; operation_aborted after
  // close()). Supports terminal cancellation.
  virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer, error_code& ec) = 0;

  // Writes the whole buffer: one TLS record sequence / one WebSocket binary message per call where possible.
  virtual asio::awaitable<void> write(asio::const_buffer, error_code& ec) = 0;

  // Graceful close (TLS close_notify, WebSocket close frame, TCP shutdown), bounded by close_timeout;
  // never fails: on timeout or error the socket is simply closed.
  virtual asio::awaitable<void> shutdown() = 0;

  // Closes at once; pending reads and writes complete with operation_aborted. Safe to call more than once.
  virtual void close() noexcept = 0;

  // "tcp 127.0.0.1:1883", for events and logs.
  virtual std::string description() const = 0;
};

// Resolves, connects and performs the TLS and WebSocket handshakes, each step bounded by its timeout in
// `options` (error: coromqtt::error::resolve_timeout, connect_timeout, handshake_timeout, or the step's own
// error, with TLS verification failures reported by their specific cause).
asio::awaitable<std::unique_ptr<transport>> connect_transport(asio::any_io_executor executor,
                                                              const endpoint& where,
                                                              const transport_options& options,
                                                              error_code& ec);

}  // namespace coromqtt::detail

// One connection's byte stream, whatever carries it (TCP, TLS, WebSocket, secure WebSocket, Unix socket).
// A new transport is made for every connection attempt (a TLS stream cannot be reused after shutdown).
//
// Threading: a transport lives on the executor given to connect_transport (the client's strand); call its
// functions from there. At most one read_some and one write may be in flight at a time (a WebSocket stream
// allows exactly that); shutdown() needs neither in flight; close() may be called at any time.
//
// Errors are reported through `ec`; nothing here throws except std::bad_alloc. A cancelled operation reports
// asio::error::operation_aborted.
#pragma once

#include <coromqtt/endpoint.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace coromqtt::detail {

namespace asio = boost::asio;
using boost::system::error_code;

class transport {
 public:
  virtual ~transport() = default;

  // Reads at least one byte: whatever has arrived, which may hold part of an MQTT packet or several (a packet
  // may span WebSocket frames [MQTT-6.0.0-2]; the reader reassembles).
  // Errors: asio::error::eof when the peer closed the connection, however it did (TCP FIN, TLS close_notify
  // or a TCP close without it, WebSocket close frame); operation_aborted after close() or cancellation;
  // error::tls_client_certificate_required when a TLS 1.3 broker rejects the missing client certificate after
  // the handshake (see docs/security.md); error::protocol_violation for a WebSocket text frame
  // [MQTT-6.0.0-1]; otherwise the transport's own error (connection_reset...). Cancellation: terminal; the
  // transport is then unusable (close it).
  virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) = 0;

  // Writes the whole buffer: one WebSocket binary message (one frame) per call, TLS records as large as TLS
  // allows. Coalesce packets into one buffer before calling: each call costs at least one system call.
  // Errors: the transport's own (broken_pipe, connection_reset...); operation_aborted after close() or
  // cancellation. Cancellation: terminal; the transport is then unusable (close it).
  virtual asio::awaitable<void> write(asio::const_buffer buffer, error_code& ec) = 0;

  // Graceful close, bounded by transport_options::close_timeout: TLS close_notify, WebSocket close frame, TCP
  // FIN; then it waits (within the bound) for the peer to close too, so that nothing sent just before (a
  // DISCONNECT) is lost to a reset. Never fails: on timeout or error the socket is simply closed.
  virtual asio::awaitable<void> shutdown() = 0;

  // Closes at once; pending reads and writes complete with operation_aborted. Safe to call more than once.
  virtual void close() noexcept = 0;

  // "tls localhost:8883 (127.0.0.1:8883, TLSv1.3)", for events and logs.
  virtual std::string description() const = 0;
};

// Resolves, connects (every resolved address in turn), then performs the TLS handshake and the WebSocket
// upgrade as the endpoint's kind asks, each step bounded by its timeout in `options`.
// On success returns the connected transport and clears `ec`; on failure returns nullptr and sets `ec`:
//   error::invalid_url (an endpoint without host), error::invalid_argument (a bad local_address),
//   error::transport_not_available (TLS or WebSocket not in this build);
//   the resolver's error, or error::resolve_timeout;
//   the last address's connect error (connection_refused...), or error::connect_timeout;
//   TLS: error::tls_unknown_ca, tls_host_name_mismatch, tls_certificate_expired,
//   tls_certificate_not_yet_valid,
//        tls_client_certificate_required (TLS 1.2; TLS 1.3 reports it on the first read), else
//        tls_handshake_failed;
//   WebSocket: error::websocket_upgrade_failed (refused, or not the "mqtt" subprotocol);
//   error::handshake_timeout for either handshake; operation_aborted when cancelled.
// When `diagnostic` is given it receives one line saying which step failed and why in the words of the
// library underneath (OpenSSL's verify error and the certificate's subject, the HTTP status of a refused
// upgrade...). Cancellation: terminal; every step stops at once.
asio::awaitable<std::unique_ptr<transport>> connect_transport(const asio::any_io_executor& executor,
                                                              const endpoint& where,
                                                              const transport_options& options,
                                                              error_code& ec,
                                                              std::string* diagnostic = nullptr);

}  // namespace coromqtt::detail

// The TLS steps, shared by the TLS and secure WebSocket transports. Internal to lib/transport; only for
// builds with TLS (COROMQTT_HAS_TLS).
#pragma once

#include "transport/steps.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <string>

namespace coromqtt::detail {

using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

// A client context for `options`: verification mode and trusted CAs, client certificate and key, minimum
// version, ALPN. Failing to load a file gives error::tls_configuration_failed, with the file and OpenSSL's
// reason in `diagnostic`.
std::shared_ptr<asio::ssl::context> make_tls_context(const tls_options& options, error_code& ec,
                                                     std::string& diagnostic);

// Performs the handshake on a connected stream made from make_tls_context's context: SNI, the name to verify
// (options.server_name or `host`), then the handshake within `limit`. A failure is classified
// (error::tls_unknown_ca, tls_host_name_mismatch...), with OpenSSL's own words and the failing certificate in
// `diagnostic`.
asio::awaitable<error_code> tls_handshake(tls_stream& stream, const std::string& host,
                                          const tls_options& options, steady_duration limit,
                                          std::string& diagnostic);

// What a read error on an established TLS stream means for the client: a TCP close without close_notify is
// the peer closing (eof): MQTT packets carry their length, so a truncated packet is noticed by the reader
// anyway; a TLS 1.3 server's certificate_required alert, which comes after our handshake finished, is
// error::tls_client_certificate_required.
error_code translate_tls_read_error(error_code ec);

// "TLSv1.3", with the ALPN protocol when one was agreed: "TLSv1.3, ALPN mqtt".
std::string describe_tls_session(tls_stream& stream);

}  // namespace coromqtt::detail

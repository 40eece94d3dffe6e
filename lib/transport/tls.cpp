// TLS over TCP (asio::ssl on OpenSSL): verification on by default, errors that say what failed.
#include "transport/connectors.hpp"

#include <coromqtt/config.hpp>

#if COROMQTT_HAS_TLS

#include "transport/stream_transport.hpp"
#include "transport/tls.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <optional>
#include <vector>

namespace coromqtt::detail {
namespace {

// --- What the server asked for
// -------------------------------------------------------------------------------

// When we have no client certificate, OpenSSL calls this if the server asks for one; we note it in the SSL
// object so that a failed handshake (TLS 1.2 servers answer with a bare handshake_failure alert) can say what
// happened.
int certificate_request_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int note_certificate_request(SSL* ssl, X509**, EVP_PKEY**) {
  SSL_set_ex_data(ssl, certificate_request_index(), ssl);  // any non-null value
  return 0;                                                // we have no certificate to send
}

bool certificate_requested_without_one(SSL* ssl) {
  return SSL_get_ex_data(ssl, certificate_request_index()) != nullptr;
}

// A TLS 1.3 server refuses a missing certificate only after the client's handshake has finished, with an alert
// that may be lost: our CONNECT, which it never reads, can make its close a reset. So until the first bytes
// arrive, a connection that ends after an unanswered certificate request was refused for that reason.
error_code blame_missing_certificate(SSL* ssl, error_code ec, std::size_t bytes_transferred) {
  if (!certificate_requested_without_one(ssl)) return ec;
  if (!ec && bytes_transferred > 0) {
    SSL_set_ex_data(ssl, certificate_request_index(), nullptr);  // the broker accepted us without one
    return ec;
  }
  if (ec == asio::error::connection_reset || ec == asio::error::eof || ec == asio::error::broken_pipe ||
      ec == asio::ssl::error::stream_truncated)
    return error::tls_client_certificate_required;
  return ec;
}

// --- Classifying failures
// ------------------------------------------------------------------------------------

bool is_openssl_reason(const error_code& ec, int reason) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == reason;
}

error from_verify_result(long verify_result) {
  switch (verify_result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return error::tls_unknown_ca;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return error::tls_host_name_mismatch;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return error::tls_certificate_expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return error::tls_certificate_not_yet_valid;
    default:
      return error::tls_handshake_failed;
  }
}

error classify_handshake_failure(SSL* ssl, const error_code& ec) {
  if (is_openssl_reason(ec, SSL_R_CERTIFICATE_VERIFY_FAILED))
    return from_verify_result(SSL_get_verify_result(ssl));
  if (is_openssl_reason(ec, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED))
    return error::tls_client_certificate_required;
  // A TLS 1.2 server that insists on a certificate ends the handshake with a handshake_failure alert (or just
  // closes): after it asked for a certificate we did not have, that is what it meant.
  if (certificate_requested_without_one(ssl)) return error::tls_client_certificate_required;
  return error::tls_handshake_failed;
}

// "depth 0 (CN=localhost): certificate has expired"
std::string describe_verify_failure(X509_STORE_CTX* store) {
  std::string text = "depth " + std::to_string(X509_STORE_CTX_get_error_depth(store));
  if (X509* certificate = X509_STORE_CTX_get_current_cert(store)) {
    std::array<char, 256> subject{};
    X509_NAME_oneline(X509_get_subject_name(certificate), subject.data(), static_cast<int>(subject.size()));
    text += " (";
    text += subject.data();
    text += ")";
  }
  return text + ": " + X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
}

// --- Context
// -------------------------------------------------------------------------------------------------

// ALPN's wire format: each protocol name preceded by its length (RFC 7301 3.1).
std::optional<std::string> alpn_wire_format(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& protocol : protocols) {
    if (protocol.empty() || protocol.size() > 255) return std::nullopt;
    wire += static_cast<char>(protocol.size());
    wire += protocol;
  }
  return wire;
}

// Loads one file into the context; on failure, says which in `diagnostic`.
template <class Load>
bool load(Load&& load_file, const char* what, const std::string& path, error_code& ec,
          std::string& diagnostic) {
  error_code load_ec;
  load_file(load_ec);
  if (!load_ec) return true;
  ec = error::tls_configuration_failed;
  diagnostic = std::string("cannot load ") + what + " \"" + path + "\": " + load_ec.message();
  return false;
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const tls_options& options, error_code& ec,
                                                     std::string& diagnostic) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(
      native, options.minimum_version == tls_options::version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (options.insecure_skip_verify) {
    context->set_verify_mode(asio::ssl::verify_none);
  } else {
    context->set_verify_mode(asio::ssl::verify_peer);
    if (!options.ca_file.empty() &&
        !load([&](error_code& e) { context->load_verify_file(options.ca_file, e); }, "ca_file",
              options.ca_file, ec, diagnostic)) {
      return nullptr;
    }
    if (!options.ca_path.empty() &&
        !load([&](error_code& e) { context->add_verify_path(options.ca_path, e); }, "ca_path",
              options.ca_path, ec, diagnostic)) {
      return nullptr;
    }
    if (options.ca_file.empty() && options.ca_path.empty() &&
        !load([&](error_code& e) { context->set_default_verify_paths(e); }, "the system CA store", "", ec,
              diagnostic)) {
      return nullptr;
    }
  }

  if (!options.cert_file.empty()) {
    // A PEM bundle may hold both: the key comes from cert_file when key_file is empty.
    const std::string& key_file = options.key_file.empty() ? options.cert_file : options.key_file;
    if (!options.key_password.empty()) {
      context->set_password_callback(
          [password = options.key_password](std::size_t, asio::ssl::context::password_purpose) {
            return password;
          });
    }
    if (!load([&](error_code& e) { context->use_certificate_chain_file(options.cert_file, e); }, "cert_file",
              options.cert_file, ec, diagnostic) ||
        !load([&](error_code& e) { context->use_private_key_file(key_file, asio::ssl::context::pem, e); },
              "key_file", key_file, ec, diagnostic)) {
      return nullptr;
    }
  } else {
    SSL_CTX_set_client_cert_cb(native, note_certificate_request);
  }

  if (!options.alpn_protocols.empty()) {
    auto wire = alpn_wire_format(options.alpn_protocols);
    // Unlike most of OpenSSL, SSL_CTX_set_alpn_protos returns 0 on success.
    if (!wire || SSL_CTX_set_alpn_protos(native, reinterpret_cast<const unsigned char*>(wire->data()),
                                         static_cast<unsigned>(wire->size())) != 0) {
      ec = error::invalid_argument;
      diagnostic = "an ALPN protocol name must be 1 to 255 bytes long";
      return nullptr;
    }
  }
  ec = {};
  return context;
}

namespace {

asio::awaitable<error_code> handshake(tls_stream& stream) {
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow_awaitable);
  co_return ec;
}

}  // namespace

asio::awaitable<error_code> tls_handshake(tls_stream& stream, const std::string& host,
                                          const tls_options& options, steady_duration limit,
                                          std::string& diagnostic) {
  SSL* ssl = stream.native_handle();
  const std::string& name = options.server_name.empty() ? host : options.server_name;
  error_code not_an_address;
  asio::ip::make_address(name, not_an_address);
  bool is_host_name = static_cast<bool>(not_an_address);

  // SNI carries host names only, never addresses (RFC 6066 3).
  if (is_host_name) SSL_set_tlsext_host_name(ssl, name.c_str());

  // The first certificate that fails verification, and why: shared with the callback, which the stream keeps.
  auto verify_failure = std::make_shared<std::string>();
  if (!options.insecure_skip_verify) {
    // OpenSSL checks the name itself, so that a mismatch is reported as X509_V_ERR_HOSTNAME_MISMATCH.
    if (is_host_name) {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    }
    error_code ignored;
    stream.set_verify_callback(
        [verify_failure](bool preverified, asio::ssl::verify_context& context) {
          if (!preverified && verify_failure->empty())
            *verify_failure = describe_verify_failure(context.native_handle());
          return preverified;
        },
        ignored);
  }

  auto handshaking = handshake(stream);
  auto ec = co_await with_deadline(std::move(handshaking), limit, error::handshake_timeout);
  if (!ec || ec == asio::error::operation_aborted) co_return ec;
  diagnostic = "TLS handshake with " + name + " failed: ";
  if (ec == error::handshake_timeout) {
    diagnostic += "no answer within " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) +
                  " ms";
    co_return ec;
  }
  diagnostic += ec.message();
  if (!verify_failure->empty()) diagnostic += ": certificate at " + *verify_failure;
  co_return classify_handshake_failure(ssl, ec);
}

error_code translate_tls_read_error(error_code ec) {
  if (ec == asio::ssl::error::stream_truncated) return asio::error::eof;
  if (is_openssl_reason(ec, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED))
    return error::tls_client_certificate_required;
  return ec;
}

std::string describe_tls_session(tls_stream& stream) {
  SSL* ssl = stream.native_handle();
  std::string text = SSL_get_version(ssl);
  const unsigned char* protocol = nullptr;
  unsigned length = 0;
  SSL_get0_alpn_selected(ssl, &protocol, &length);
  if (length != 0) text += ", ALPN " + std::string(reinterpret_cast<const char*>(protocol), length);
  return text;
}

template <>
struct stream_ops<tls_stream> {
  static asio::awaitable<error_code> read_some(tls_stream& stream, asio::mutable_buffer buffer,
                                               std::size_t& bytes_read) {
    auto [ec, n] = co_await stream.async_read_some(buffer, use_nothrow_awaitable);
    bytes_read = n;
    co_return translate_tls_read_error(blame_missing_certificate(stream.native_handle(), ec, n));
  }

  static asio::awaitable<error_code> write(tls_stream& stream, asio::const_buffer buffer) {
    auto [ec, n] = co_await asio::async_write(stream, buffer, use_nothrow_awaitable);
    if (ec) ec = blame_missing_certificate(stream.native_handle(), ec, 0);
    co_return ec;
  }

  // close_notify, then the peer's (or its TCP close).
  static asio::awaitable<void> graceful_close(tls_stream& stream) {
    co_await stream.async_shutdown(use_nothrow_awaitable);
  }

  static void close(tls_stream& stream) noexcept {
    error_code ignored;
    stream.lowest_layer().close(ignored);
  }
};

asio::awaitable<std::unique_ptr<transport>> connect_tls(const asio::any_io_executor& executor,
                                                        const endpoint& where,
                                                        const transport_options& options, error_code& ec,
                                                        std::string& diagnostic) {
  auto context = make_tls_context(options.tls, ec, diagnostic);
  if (!context) co_return nullptr;
  tls_stream stream(executor, *context);
  ec = co_await connect_tcp_socket(stream.next_layer(), where, options, diagnostic);
  if (ec) co_return nullptr;
  ec = co_await tls_handshake(stream, where.host, options.tls, options.handshake_timeout, diagnostic);
  if (ec) co_return nullptr;
  auto description = "tls " + describe_peer(where, stream.next_layer()) + ", " + describe_tls_session(stream);
  co_return std::make_unique<stream_transport<tls_stream>>(std::move(stream), std::move(description),
                                                           options.close_timeout, std::move(context));
}

}  // namespace coromqtt::detail

#else  // !COROMQTT_HAS_TLS

namespace coromqtt::detail {

asio::awaitable<std::unique_ptr<transport>> connect_tls(const asio::any_io_executor&, const endpoint&,
                                                        const transport_options&, error_code& ec,
                                                        std::string& diagnostic) {
  ec = error::transport_not_available;
  diagnostic = "this build of coromqtt has no TLS (configured with -Dtls=disabled or without OpenSSL)";
  co_return nullptr;
}

}  // namespace coromqtt::detail

#endif

// TLS against a real mosquitto: verification on by default, and each failure reported by its cause.
#include "integration/transport_helpers.hpp"
#include "support/run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/ssl.h>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

// Connecting must fail with `expected`; the diagnostic must carry OpenSSL's own words.
void expect_tls_failure(const mosquitto& broker, listener kind, const transport_options& options,
                        error expected, const std::string& openssl_words, endpoint where = {}) {
  if (where.host.empty()) where = broker.endpoint(kind);
  run_coroutine([&]() -> asio::awaitable<void> {
    auto result = co_await try_connect(where, options);
    CAPTURE(result.ec.message(), result.diagnostic);
    CHECK(result.connected == nullptr);
    CHECK(result.ec == expected);
    CHECK(result.diagnostic.find(openssl_words) != std::string::npos);
  });
}

// Connects, and proves the session works with a CONNECT/CONNACK.
void expect_mqtt_session(const endpoint& where, const transport_options& options) {
  run_coroutine([&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(where, options);
    bytes pending;
    co_await mqtt_connect(*connection, version::v5, "tls-test", pending);
    co_await connection->shutdown();
  });
}

}  // namespace

TEST_CASE("TLS verifies the broker against the system store by default: a private CA is not trusted",
          "[tls][integration]") {
  mosquitto broker({.listeners = {listener::tls}});
  transport_options options;  // nothing configured: the defaults
  // mosquitto sends its CA with its certificate: OpenSSL finds a self-signed root it does not trust.
  expect_tls_failure(broker, listener::tls, options, error::tls_unknown_ca,
                     "self-signed certificate in certificate chain");
}

TEST_CASE("TLS with a CA that did not sign the broker's certificate fails with tls_unknown_ca",
          "[tls][integration]") {
  auto kind = GENERATE(listener::tls, listener::secure_websocket);
  CAPTURE(name_of(kind));
  mosquitto broker({.listeners = {kind}});
  auto options = options_for(kind);
  options.tls.ca_file = certificates().other_ca;
  expect_tls_failure(broker, kind, options, error::tls_unknown_ca, "(/O=coromqtt tests/CN=coromqtt test CA)");
}

TEST_CASE("TLS to a broker whose certificate names another host fails with tls_host_name_mismatch",
          "[tls][integration]") {
  mosquitto broker(
      {.listeners = {listener::tls}, .server_certificate = certificates().server_for_other_host});
  auto options = options_for(listener::tls);

  SECTION("by host name") {
    expect_tls_failure(broker, listener::tls, options, error::tls_host_name_mismatch, "hostname mismatch");
  }
  SECTION("by IP address") {
    endpoint by_address{.kind = transport_kind::tls, .host = "127.0.0.1", .port = broker.port(listener::tls)};
    expect_tls_failure(broker, listener::tls, options, error::tls_host_name_mismatch, "IP address mismatch",
                       by_address);
  }
  SECTION("unless told which name to verify: server_name") {
    options.tls.server_name = "other-host.example";
    expect_mqtt_session(broker.endpoint(listener::tls), options);
  }
  SECTION("unless verification is off: insecure_skip_verify") {
    options.tls.insecure_skip_verify = true;
    options.tls.ca_file.clear();
    expect_mqtt_session(broker.endpoint(listener::tls), options);
  }
}

TEST_CASE("TLS checks the certificate's validity period", "[tls][integration]") {
  SECTION("expired: tls_certificate_expired") {
    mosquitto broker({.listeners = {listener::tls}, .server_certificate = certificates().server_expired});
    expect_tls_failure(broker, listener::tls, options_for(listener::tls), error::tls_certificate_expired,
                       "certificate has expired");
  }
  SECTION("not yet valid: tls_certificate_not_yet_valid") {
    mosquitto broker(
        {.listeners = {listener::tls}, .server_certificate = certificates().server_not_yet_valid});
    expect_tls_failure(broker, listener::tls, options_for(listener::tls),
                       error::tls_certificate_not_yet_valid, "certificate is not yet valid");
  }
}

TEST_CASE("TLS verifies an IP address endpoint against the certificate's IP addresses",
          "[tls][integration]") {
  mosquitto broker({.listeners = {listener::tls}});
  endpoint by_address{.kind = transport_kind::tls, .host = "127.0.0.1", .port = broker.port(listener::tls)};
  expect_mqtt_session(by_address, options_for(listener::tls));
}

TEST_CASE("TLS trusts the CAs of a hashed directory (ca_path)", "[tls][integration]") {
  mosquitto broker({.listeners = {listener::tls}});
  auto options = options_for(listener::tls);
  options.tls.ca_file.clear();
  options.tls.ca_path = certificates().ca_directory;
  expect_mqtt_session(broker.endpoint(listener::tls), options);
}

TEST_CASE("Mutual TLS: the client certificate, plain or with an encrypted key", "[tls][integration]") {
  mosquitto broker({.listeners = {listener::mutual_tls}});
  auto options = options_for(listener::mutual_tls);
  SECTION("plain key") {
    expect_mqtt_session(broker.endpoint(listener::mutual_tls), options);
  }
  SECTION("encrypted key and its password") {
    options.tls.key_file = certificates().client_encrypted_key.key;
    options.tls.key_password = certificates().client_key_password;
    expect_mqtt_session(broker.endpoint(listener::mutual_tls), options);
  }
  SECTION("encrypted key and a wrong password: tls_configuration_failed before any connection") {
    options.tls.key_file = certificates().client_encrypted_key.key;
    options.tls.key_password = "wrong";
    expect_tls_failure(broker, listener::mutual_tls, options, error::tls_configuration_failed,
                       "cannot load key_file");
  }
  SECTION("a missing CA file: tls_configuration_failed") {
    options.tls.ca_file = "/nonexistent/ca.pem";
    expect_tls_failure(broker, listener::mutual_tls, options, error::tls_configuration_failed,
                       "cannot load ca_file \"/nonexistent/ca.pem\"");
  }
}

TEST_CASE(
    "Mutual TLS 1.2 without a client certificate: the handshake fails with tls_client_certificate_required",
    "[tls][integration]") {
  mosquitto broker({.listeners = {listener::mutual_tls}, .tls_maximum_version = "TLSv1.2"});
  auto options = options_for(listener::tls);  // no client certificate
  expect_tls_failure(broker, listener::mutual_tls, options, error::tls_client_certificate_required,
                     "handshake failure");
}

TEST_CASE(
    "Mutual TLS 1.3 without a client certificate: the first read fails with tls_client_certificate_required",
    "[tls][integration]") {
  // In TLS 1.3 the client's handshake is over before the server has checked the client's certificate: the
  // server's certificate_required alert arrives afterwards, and the user sees it on the first read.
  mosquitto broker({.listeners = {listener::mutual_tls}});
  auto options = options_for(listener::tls);  // no client certificate
  run_coroutine([&]() -> asio::awaitable<void> {
    auto where = broker.endpoint(listener::mutual_tls);
    auto connection = co_await connect_or_fail(where, options);
    CHECK(connection->description().find("TLSv1.3") != std::string::npos);
    error_code ec;
    auto connect = mqtt_bytes::connect(version::v5, "no-certificate");
    co_await connection->write(asio::buffer(connect), ec);  // may succeed or not: the server is closing
    std::array<std::uint8_t, 64> buffer;
    co_await connection->read_some(asio::buffer(buffer), ec);
    CAPTURE(ec.message());
    CHECK(ec == error::tls_client_certificate_required);
  });
}

TEST_CASE(
    "Mutual TLS 1.2 with a client certificate from a CA the broker does not trust: tls_handshake_failed",
    "[tls][integration]") {
  mosquitto broker({.listeners = {listener::mutual_tls}, .tls_maximum_version = "TLSv1.2"});
  auto options = options_for(listener::mutual_tls);
  options.tls.cert_file = certificates().client_of_other_ca.certificate;
  options.tls.key_file = certificates().client_of_other_ca.key;
  expect_tls_failure(broker, listener::mutual_tls, options, error::tls_handshake_failed, "unknown ca");
}

TEST_CASE("A minimum TLS version above the broker's fails with tls_handshake_failed", "[tls][integration]") {
  mosquitto broker({.listeners = {listener::tls}, .tls_maximum_version = "TLSv1.2"});
  auto options = options_for(listener::tls);
  options.tls.minimum_version = tls_options::version::tls1_3;
  expect_tls_failure(broker, listener::tls, options, error::tls_handshake_failed, "protocol version");
}

TEST_CASE("TLS to a port that does not speak TLS fails with tls_handshake_failed", "[tls][integration]") {
  mosquitto broker({.listeners = {listener::tcp}});
  endpoint plain_port{.kind = transport_kind::tls, .host = "localhost", .port = broker.port(listener::tcp)};
  expect_tls_failure(broker, listener::tcp, options_for(listener::tls), error::tls_handshake_failed,
                     "TLS handshake with localhost failed", plain_port);
}

namespace {

// What a TLS server saw of our ClientHello. mosquitto 2.0.11 cannot show SNI or select an ALPN protocol, so
// this is a small asio::ssl server on loopback with OpenSSL's callbacks.
struct client_hello {
  std::string server_name;  // SNI; empty when none was sent
  std::string alpn_offer;   // the protocols offered, in ALPN wire format
};

int record_server_name(SSL* ssl, int*, void* seen) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  static_cast<client_hello*>(seen)->server_name = name != nullptr ? name : "";
  return SSL_TLSEXT_ERR_OK;
}

int select_mqtt(SSL*, const unsigned char** selected, unsigned char* selected_length,
                const unsigned char* offered, unsigned offered_length, void* seen) {
  static_cast<client_hello*>(seen)->alpn_offer.assign(reinterpret_cast<const char*>(offered), offered_length);
  static const unsigned char mqtt[] = {4, 'm', 'q', 't', 't'};
  unsigned char* choice = nullptr;
  if (SSL_select_next_proto(&choice, selected_length, mqtt, sizeof mqtt, offered, offered_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *selected = choice;
  return SSL_TLSEXT_ERR_OK;
}

asio::awaitable<void> accept_tls_once(asio::ip::tcp::acceptor& acceptor, asio::ssl::context& context) {
  constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
  auto [accept_ec, socket] = co_await acceptor.async_accept(nothrow);
  if (accept_ec) co_return;
  asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), context);
  auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
  if (handshake_ec) co_return;
  std::array<char, 16> discarded;
  co_await stream.async_read_some(asio::buffer(discarded), nothrow);  // hold until the client is done
}

}  // namespace

TEST_CASE("SNI names the host (never an address) and ALPN offers the configured protocols",
          "[tls][integration]") {
  asio::io_context context;
  client_hello seen;
  asio::ssl::context server_context(asio::ssl::context::tls_server);
  server_context.use_certificate_chain_file(certificates().server.certificate);
  server_context.use_private_key_file(certificates().server.key, asio::ssl::context::pem);
  SSL_CTX_set_tlsext_servername_callback(server_context.native_handle(), record_server_name);
  SSL_CTX_set_tlsext_servername_arg(server_context.native_handle(), &seen);
  SSL_CTX_set_alpn_select_cb(server_context.native_handle(), select_mqtt, &seen);
  asio::ip::tcp::acceptor acceptor(context, {asio::ip::address_v4::loopback(), 0});
  asio::co_spawn(context, accept_tls_once(acceptor, server_context), asio::detached);

  auto options = options_for(listener::tls);
  options.tls.alpn_protocols = {"x-amzn-mqtt-ca", "mqtt"};
  auto host = GENERATE(as<std::string>{}, "localhost", "127.0.0.1");
  endpoint where{.kind = transport_kind::tls, .host = host, .port = acceptor.local_endpoint().port()};
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(where, options);
    CHECK(connection->description().ends_with(", ALPN mqtt"));
  });
  CHECK(seen.server_name == (host == "localhost" ? "localhost" : ""));  // RFC 6066 3: no IP literals in SNI
  CHECK(seen.alpn_offer == std::string("\x0ex-amzn-mqtt-ca\x04mqtt"));
}

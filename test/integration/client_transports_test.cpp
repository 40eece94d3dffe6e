// The client over every transport against a real mosquitto: TCP, TLS, mutual TLS, WebSocket, secure WebSocket
// and Unix sockets, in both protocol versions; and TLS failures seen the way a user sees them: co_connect's
// error, the connection events, and the reconnect policy's view of the failure.
#include "client_test_support.hpp"

#include "support/certs.hpp"

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

std::string name_of(listener l) {
  switch (l) {
    case listener::tcp: return "tcp";
    case listener::tls: return "tls";
    case listener::mutual_tls: return "mutual tls";
    case listener::websocket: return "websocket";
    case listener::secure_websocket: return "secure websocket";
    case listener::unix_socket: return "unix";
  }
  return "?";
}

client_options options_over(const mosquitto& broker, listener l, protocol_version version, std::string id) {
  client_options o;
  o.brokers = {broker.url(l)};
  o.version = version;
  o.client_id = std::move(id);
  o.transport.tls.ca_file = certificates().ca;
  if (l == listener::mutual_tls) {
    o.transport.tls.cert_file = certificates().client.certificate;
    o.transport.tls.key_file = certificates().client.key;
  }
  o.reconnect.initial_delay = 50ms;
  return o;
}

}  // namespace

TEST_CASE("publish and subscribe over every transport, both versions", "[integration][client][transports]") {
  mosquitto broker{{.listeners = {listener::tcp, listener::tls, listener::mutual_tls, listener::websocket,
                                  listener::secure_websocket, listener::unix_socket}}};
  for (const auto l : {listener::tcp, listener::tls, listener::mutual_tls, listener::websocket,
                       listener::secure_websocket, listener::unix_socket}) {
    for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
      DYNAMIC_SECTION(name_of(l) << (version == protocol_version::v5 ? " v5" : " v311")) {
        run_async([&](asio::io_context& io) -> asio::awaitable<void> {
          client c{io, options_over(broker, l, version, "over-" + std::to_string(static_cast<int>(l)))};
          co_await c.co_connect();
          const std::string topic = "transports/" + name_of(l);
          co_await c.co_subscribe(topic, qos::exactly_once);
          // Many small messages (coalesced into few writes, so TLS records and WebSocket frames carry many
          // packets each) and one larger than a TLS record (16 KiB), so packets span records and frames.
          for (int i = 0; i < 200; ++i)
            co_await c.co_publish(topic, "m" + std::to_string(i), static_cast<qos>(i % 3));
          const std::string large(60 * 1024, 'x');
          co_await c.co_publish(topic, large, qos::at_least_once);
          for (int i = 0; i < 200; ++i) {
            const auto m = co_await c.co_receive();
            CHECK(m.payload == "m" + std::to_string(i));
          }
          const auto big = co_await c.co_receive();
          CHECK(big.payload == large);
          co_await c.co_disconnect();
        });
      }
    }
  }
}

TEST_CASE("TLS failures reach co_connect, the events and the reconnect policy with their own errors",
          "[integration][client][transports][tls]") {
  struct tls_case {
    const char* name;
    std::optional<certificate_files> server;
    bool trust_other_ca;
    error expected;
  };
  const auto c = GENERATE(tls_case{"unknown CA", std::nullopt, true, error::tls_unknown_ca},
                          tls_case{"host name mismatch", certificates().server_for_other_host, false,
                                   error::tls_host_name_mismatch},
                          tls_case{"expired", certificates().server_expired, false, error::tls_certificate_expired});
  SECTION(c.name) {
    mosquitto broker{{.listeners = {listener::tcp, listener::tls}, .server_certificate = c.server}};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      auto o = options_over(broker, listener::tls, protocol_version::v5, "tls-failure");
      if (c.trust_other_ca) o.transport.tls.ca_file = certificates().other_ca;
      std::vector<connection_failure> seen;
      o.reconnect.decide = [&](const connection_failure& f) -> reconnect_decision {
        seen.push_back(f);
        return std::nullopt;  // stop after the first failure
      };
      client cl{io, o};
      try {
        co_await cl.co_connect();
        FAIL("connected despite " << c.name);
      } catch (const mqtt_error& e) {
        CHECK(e.code() == c.expected);
      }
      const bool decided = co_await eventually([&] { return !seen.empty(); }, 5s);
      REQUIRE(decided);
      CHECK(seen.front().error == c.expected);
      CHECK_FALSE(seen.front().was_connected);
      // The events tell the same story: connecting, connect failed (with the error), stopped.
      const auto connecting = co_await cl.co_next_event();
      const auto failed = co_await cl.co_next_event();
      const auto stopped = co_await cl.co_next_event();
      CHECK(connecting.kind == event_kind::connecting);
      CHECK(failed.kind == event_kind::connect_failed);
      CHECK(failed.error == c.expected);
      CHECK(stopped.kind == event_kind::stopped);
    });
  }
}

TEST_CASE("a missing client certificate on a mutual-TLS listener fails with its own error",
          "[integration][client][transports][tls]") {
  mosquitto broker{{.listeners = {listener::tcp, listener::mutual_tls}}};
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto o = options_over(broker, listener::mutual_tls, protocol_version::v5, "no-cert");
    o.transport.tls.cert_file.clear();
    o.transport.tls.key_file.clear();
    o.reconnect.enabled = false;
    client cl{io, o};
    try {
      co_await cl.co_connect();
      FAIL("connected without a client certificate");
    } catch (const mqtt_error& e) {
      // TLS 1.3 reports the refusal on the first read after the handshake, which is when CONNACK is awaited.
      CHECK(e.code() == error::tls_client_certificate_required);
    }
  });
}

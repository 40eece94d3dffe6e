// The fixture every integration test relies on: its options reach the broker, kill/restart keep what
// persistence promises, and nothing is left running.
#include "integration/transport_helpers.hpp"
#include "support/run.hpp"

#include <cerrno>
#include <signal.h>

using namespace coromqtt;
using namespace coromqtt::test;

TEST_CASE("A broker with every listener is reachable on each, and its process is gone after destruction",
          "[fixture][integration]") {
  pid_t pid = -1;
  std::filesystem::path directory;
  {
    mosquitto broker({.listeners = {listener::tcp, listener::tls, listener::mutual_tls, listener::websocket,
                                    listener::secure_websocket, listener::unix_socket}});
    pid = broker.pid();
    directory = broker.directory();
    REQUIRE(pid > 0);
    for (listener kind : {listener::tcp, listener::tls, listener::mutual_tls, listener::websocket,
                          listener::secure_websocket, listener::unix_socket}) {
      CAPTURE(name_of(kind));
      auto where = broker.endpoint(kind);
      auto options = options_for(kind);
      run_coroutine([&]() -> asio::awaitable<void> {
        auto connection = co_await connect_or_fail(where, options);
        bytes pending;
        co_await mqtt_connect(*connection, version::v5, name_of(kind), pending);
      });
    }
  }
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH);
  CHECK_FALSE(std::filesystem::exists(directory));
}

TEST_CASE("With a password file, anonymous clients are refused and known users accepted",
          "[fixture][integration]") {
  mosquitto broker({.allow_anonymous = false, .users = {{"alice", "secret-a"}, {"bob", "secret-b"}}});
  auto where = broker.endpoint(listener::tcp);
  auto options = options_for(listener::tcp);
  auto connack_code = [&](const bytes& connect) {
    int code = -1;
    run_coroutine([&]() -> asio::awaitable<void> {
      auto connection = co_await connect_or_fail(where, options);
      co_await write_or_fail(*connection, connect);
      bytes pending;
      auto connack = co_await read_or_fail(*connection, pending);
      REQUIRE(connack.type() == mqtt_bytes::connack_type);
      code = connack.body.at(1);
    });
    return code;
  };
  CHECK(connack_code(mqtt_bytes::connect(version::v3_1_1, "anonymous")) == 5);  // not authorised
  CHECK(connack_code(mqtt_bytes::connect_with_credentials(version::v3_1_1, "a", "alice", "secret-a")) == 0);
  CHECK(connack_code(mqtt_bytes::connect_with_credentials(version::v3_1_1, "b", "bob", "secret-b")) == 0);
  CHECK(connack_code(mqtt_bytes::connect_with_credentials(version::v3_1_1, "c", "bob", "wrong")) == 5);
  // mosquitto 2.0.11 answers a wrong password with Not authorized (0x87), not Bad user name or password.
  CHECK(connack_code(mqtt_bytes::connect_with_credentials(version::v5, "d", "bob", "wrong")) == 0x87);
}

TEST_CASE("kill() and restart() keep ports and persisted sessions: a queued QoS 1 message survives the crash",
          "[fixture][integration]") {
  mosquitto broker({.persistence = true});
  auto where = broker.endpoint(listener::tcp);
  auto options = options_for(listener::tcp);
  const bytes payload{'k', 'e', 'p', 't'};
  std::uint64_t saved_before_publish = 0;

  // A persistent session subscribed at QoS 1, then gone.
  run_coroutine([&]() -> asio::awaitable<void> {
    auto keeper = co_await connect_or_fail(where, options);
    bytes pending;
    co_await mqtt_connect(*keeper, version::v3_1_1, "keeper", pending, /*clean_start=*/false);
    co_await mqtt_subscribe(*keeper, version::v3_1_1, "coromqtt/persisted", pending, 1);
    auto disconnect = mqtt_bytes::disconnect();
    co_await write_or_fail(*keeper, disconnect);
    co_await keeper->shutdown();
  });
  // A QoS 1 message for it, acknowledged by the broker: the broker owns it now.
  run_coroutine([&]() -> asio::awaitable<void> {
    auto publisher = co_await connect_or_fail(where, options);
    bytes pending;
    co_await mqtt_connect(*publisher, version::v3_1_1, "publisher", pending);
    auto publish = mqtt_bytes::publish(version::v3_1_1, "coromqtt/persisted", payload, 7);
    saved_before_publish = broker.database_version();
    co_await write_or_fail(*publisher, publish);
    auto puback = co_await read_or_fail(*publisher, pending);
    CHECK(puback.type() == mqtt_bytes::puback_type);
  });

  // mosquitto writes its database on the pass of its main loop after a change, not before acknowledging it.
  CHECK(broker.wait_for_database_save(saved_before_publish));
  auto port = broker.port(listener::tcp);
  broker.kill();
  CHECK_FALSE(broker.running());
  broker.restart();
  CHECK(broker.port(listener::tcp) == port);

  run_coroutine([&]() -> asio::awaitable<void> {
    auto keeper = co_await connect_or_fail(where, options);
    bytes pending;
    bool session_present = co_await mqtt_connect(*keeper, version::v3_1_1, "keeper", pending, false);
    CHECK(session_present);
    auto delivered = co_await read_or_fail(*keeper, pending);
    REQUIRE(delivered.type() == mqtt_bytes::publish_type);
    CHECK(mqtt_bytes::publish_payload(version::v3_1_1, delivered) == payload);
  });
}

// Every transport against a real mosquitto: sessions both ways in MQTT 3.1.1 and 5.0, packets spanning TLS
// records and WebSocket frames, and the graceful close.
#include "integration/transport_helpers.hpp"
#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <random>

using namespace coromqtt;
using namespace coromqtt::test;
using namespace std::chrono_literals;

namespace {

const auto all_listeners = {listener::tcp,
                            listener::tls,
                            listener::mutual_tls,
                            listener::websocket,
                            listener::secure_websocket,
                            listener::unix_socket};

bytes random_bytes(std::size_t size) {
  std::mt19937 generator(size);
  std::uniform_int_distribution<int> byte(0, 255);
  bytes data(size);
  for (auto& b : data) b = static_cast<std::uint8_t>(byte(generator));
  return data;
}

}  // namespace

TEST_CASE("Every transport carries an MQTT session both ways, in 3.1.1 and 5.0", "[transport][integration]") {
  auto kind = GENERATE(values(all_listeners));
  auto protocol = GENERATE(version::v3_1_1, version::v5);
  CAPTURE(name_of(kind), static_cast<int>(protocol));
  mosquitto broker({.listeners = {kind}});

  run_coroutine([&]() -> asio::awaitable<void> {
    auto where = broker.endpoint(kind);
    auto options = options_for(kind);
    auto connection = co_await connect_or_fail(where, options);
    bytes pending;
    bool session_present = co_await mqtt_connect(*connection, protocol, "round-trip", pending);
    CHECK_FALSE(session_present);

    std::string topic = std::string("coromqtt/transport/") + name_of(kind);
    co_await mqtt_subscribe(*connection, protocol, topic, pending);
    const bytes payload{'h', 'e', 'l', 'l', 'o'};
    auto publish = mqtt_bytes::publish(protocol, topic, payload);
    co_await write_or_fail(*connection, publish);
    auto echoed = co_await read_or_fail(*connection, pending);
    REQUIRE(echoed.type() == mqtt_bytes::publish_type);
    CHECK(mqtt_bytes::publish_payload(protocol, echoed) == payload);

    auto disconnect = mqtt_bytes::disconnect();
    co_await write_or_fail(*connection, disconnect);
    co_await connection->shutdown();
  });
  // The broker saw a DISCONNECT, not a dropped connection: what we wrote last arrived before our close.
  CHECK(broker.wait_for_log("Client round-trip disconnected."));
}

TEST_CASE("A large packet written in pieces crosses every transport and is reassembled from what arrives",
          "[transport][integration]") {
  // 1.5 MB (100 kB over websockets). Our PUBLISH goes out in three writes (three WebSocket messages, many TLS
  // records): a packet may span frames [MQTT-6.0.0-2]. The broker sends it back cut as it likes; read_packet
  // reassembles it from read_some.
  auto kind = GENERATE(values(all_listeners));
  CAPTURE(name_of(kind));
  mosquitto broker({.listeners = {kind}});

  run_coroutine([&]() -> asio::awaitable<void> {
    auto where = broker.endpoint(kind);
    auto options = options_for(kind);
    auto connection = co_await connect_or_fail(where, options);
    bytes pending;
    co_await mqtt_connect(*connection, version::v5, "large", pending);
    co_await mqtt_subscribe(*connection, version::v5, "coromqtt/large", pending);

    // mosquitto 2.0.11 sends to websockets clients one 4 KiB frame per 100 ms pass of its main loop: 100 kB
    // still spans 25 frames and takes 2.5 s.
    bool websocket = kind == listener::websocket || kind == listener::secure_websocket;
    const bytes payload = random_bytes(websocket ? 100'000 : 1'500'000);
    const bytes publish = mqtt_bytes::publish(version::v5, "coromqtt/large", payload);
    std::size_t third = publish.size() / 3;
    for (std::size_t offset = 0; offset < publish.size(); offset += third) {
      error_code ec;
      co_await connection->write(
          asio::buffer(publish.data() + offset, std::min(third, publish.size() - offset)), ec);
      REQUIRE_FALSE(ec);
    }

    auto echoed = co_await read_or_fail(*connection, pending);
    REQUIRE(echoed.type() == mqtt_bytes::publish_type);
    auto received = mqtt_bytes::publish_payload(version::v5, echoed);
    CHECK(received.size() == payload.size());
    CHECK(received == payload);
    co_await connection->shutdown();
  });
}

TEST_CASE("A transport describes itself: kind, host, address, TLS version", "[transport][integration]") {
  mosquitto broker(
      {.listeners = {listener::tcp, listener::tls, listener::secure_websocket, listener::unix_socket}});
  const auto options = options_for(listener::tls);
  const auto tcp_endpoint = broker.endpoint(listener::tcp);
  const auto tls_endpoint = broker.endpoint(listener::tls);
  const auto wss_endpoint = broker.endpoint(listener::secure_websocket);
  const auto unix_endpoint = broker.endpoint(listener::unix_socket);
  run_coroutine([&]() -> asio::awaitable<void> {
    auto tcp = co_await connect_or_fail(tcp_endpoint, options);
    CHECK(tcp->description() == "tcp 127.0.0.1:" + std::to_string(broker.port(listener::tcp)));

    auto tls = co_await connect_or_fail(tls_endpoint, options);
    CHECK(tls->description() == "tls localhost:" + std::to_string(broker.port(listener::tls)) +
                                    " (127.0.0.1:" + std::to_string(broker.port(listener::tls)) +
                                    "), TLSv1.3");

    auto wss = co_await connect_or_fail(wss_endpoint, options);
    auto port = std::to_string(broker.port(listener::secure_websocket));
    CHECK(wss->description() == "wss localhost:" + port + " (127.0.0.1:" + port + ")/mqtt, TLSv1.3");

    auto unix_socket = co_await connect_or_fail(unix_endpoint, options);
    CHECK(unix_socket->description() == "unix " + unix_endpoint.host);
  });
}

TEST_CASE("close() ends a pending read at once, on every transport", "[transport][integration]") {
  auto kind = GENERATE(values(all_listeners));
  CAPTURE(name_of(kind));
  mosquitto broker({.listeners = {kind}});
  run_coroutine([&]() -> asio::awaitable<void> {
    auto where = broker.endpoint(kind);
    auto options = options_for(kind);
    auto connection = co_await connect_or_fail(where, options);
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer in_a_moment(executor, 50ms);
    in_a_moment.async_wait([&](error_code) { connection->close(); });

    // Nothing will come: the broker waits for our CONNECT.
    std::array<std::uint8_t, 64> buffer;
    error_code ec;
    auto started = std::chrono::steady_clock::now();
    co_await connection->read_some(asio::buffer(buffer), ec);
    CHECK(ec == asio::error::operation_aborted);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    connection->close();  // twice is harmless
  });
}

TEST_CASE("A read cancelled by its caller (terminal cancellation) ends with operation_aborted",
          "[transport][integration]") {
  using namespace asio::experimental::awaitable_operators;
  auto kind = GENERATE(listener::tcp, listener::tls, listener::websocket, listener::secure_websocket);
  CAPTURE(name_of(kind));
  mosquitto broker({.listeners = {kind}});
  run_coroutine([&]() -> asio::awaitable<void> {
    auto where = broker.endpoint(kind);
    auto options = options_for(kind);
    auto connection = co_await connect_or_fail(where, options);
    std::array<std::uint8_t, 64> buffer;
    error_code ec;
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer deadline(executor, 50ms);
    auto reading = connection->read_some(asio::buffer(buffer), ec);
    auto waiting = deadline.async_wait(asio::use_awaitable);
    auto race = std::move(reading) || std::move(waiting);
    auto winner = co_await std::move(race);
    CHECK(winner.index() == 1);
    CHECK(ec == asio::error::operation_aborted);
  });
}

TEST_CASE("One reader and one writer at once, on a strand of a two-thread io_context",
          "[transport][integration]") {
  // How the client uses a transport: its reader and writer run concurrently on one strand, while the
  // io_context has several threads. (Run under TSan in CI.)
  using namespace asio::experimental::awaitable_operators;
  auto kind = GENERATE(listener::tcp, listener::tls, listener::websocket, listener::secure_websocket);
  CAPTURE(name_of(kind));
  mosquitto broker({.listeners = {kind}});
  auto where = broker.endpoint(kind);
  auto options = options_for(kind);
  constexpr int message_count = 200;

  asio::io_context context;
  auto strand = asio::make_strand(context);
  int received = 0;
  auto session = [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(where, options);
    bytes pending;
    co_await mqtt_connect(*connection, version::v5, "strand", pending);
    co_await mqtt_subscribe(*connection, version::v5, "coromqtt/strand", pending);

    auto writer = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < message_count; ++i) {
        const bytes payload{static_cast<std::uint8_t>(i)};
        auto publish = mqtt_bytes::publish(version::v5, "coromqtt/strand", payload);
        co_await write_or_fail(*connection, publish);
      }
    };
    auto reader = [&]() -> asio::awaitable<void> {
      while (received < message_count) {
        auto packet = co_await read_or_fail(*connection, pending);
        REQUIRE(packet.type() == mqtt_bytes::publish_type);
        CHECK(mqtt_bytes::publish_payload(version::v5, packet) == bytes{static_cast<std::uint8_t>(received)});
        ++received;
      }
    };
    auto writing = writer();
    auto reading = reader();
    auto both = std::move(writing) && std::move(reading);
    co_await std::move(both);
    co_await connection->shutdown();
  };
  run_coroutine(
      context,
      [&]() -> asio::awaitable<void> {
        auto on_strand = asio::co_spawn(strand, session(), asio::use_awaitable);
        co_await std::move(on_strand);
      },
      std::chrono::seconds(30), 1);
  CHECK(received == message_count);
}

// The fault proxy between a loopback client and a loopback server (no broker): that it forwards, and that
// each fault does what it says. Time bounds are lower bounds, or upper bounds of seconds: machines are noisy.
#include "loopback_peers.hpp"
#include "proxy.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

using namespace std::chrono_literals;
using coromqtt::fault::close_style;
using coromqtt::fault::direction;
using coromqtt::fault::proxy;
using coromqtt::fault::proxy_counters;
using coromqtt::fault::refusal;
using coromqtt::fault::test::loopback_client;
using coromqtt::fault::test::loopback_server;
namespace asio = boost::asio;
using steady_clock = std::chrono::steady_clock;

// Long enough that "nothing happened" means nothing will, short enough to keep each test well under seconds.
constexpr auto quiet_period = 300ms;
// For things that must happen: generous, only spent when a test is about to fail.
constexpr auto patience = 5s;

loopback_server echo_server() {
  return loopback_server({loopback_server::echo, {}, {}});
}

std::string pattern(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>('a' + i % 26);
  }
  return data;
}

bool is_closed_by_peer(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

}  // namespace

TEST_CASE("data passes both ways, and the counters count connections and bytes", "[proxy]") {
  loopback_server server = echo_server();
  proxy proxy("127.0.0.1", server.port());
  loopback_client client(proxy.port());
  REQUIRE_FALSE(client.connect_error());

  const std::string data = pattern(100'000);
  client.send(data);
  const auto echoed = client.read_exactly(data.size(), patience);
  REQUIRE_FALSE(echoed.ec);
  CHECK(echoed.data == data);
  CHECK(server.connections().at(0).received == data);

  REQUIRE(proxy.wait_until(
      [](const proxy_counters& c) {
        return c.bytes_client_to_server == 100'000 && c.bytes_server_to_client == 100'000;
      },
      patience));
  CHECK(proxy.counters().connections_accepted == 1);
  CHECK(proxy.counters().connections_open == 1);

  client.close();
  CHECK(proxy.wait_until([](const proxy_counters& c) { return c.connections_open == 0; }, patience));
  CHECK(server.wait_until([](const auto& records) { return records.at(0).ended; }, patience));
  CHECK(proxy.counters().connections_accepted == 1);
}

TEST_CASE("a half-close is passed on, and the other direction keeps flowing", "[proxy]") {
  loopback_server server({nullptr, {}, "farewell"});
  proxy proxy("127.0.0.1", server.port());
  loopback_client client(proxy.port());
  client.send("last words");
  client.shutdown_send();
  const auto rest = client.read_until_closed(patience);
  CHECK(rest.ec == asio::error::eof);
  CHECK(rest.data == "farewell");
  const auto records = server.connections();
  REQUIRE(records.size() == 1);
  CHECK(records[0].received == "last words");
  CHECK(records[0].end_error == asio::error::eof);
}

TEST_CASE("cut_all closes both sides of every connection", "[proxy][cut]") {
  loopback_server server = echo_server();
  proxy proxy("127.0.0.1", server.port());
  loopback_client first(proxy.port());
  loopback_client second(proxy.port());
  first.send("1");
  second.send("2");
  REQUIRE(first.read_exactly(1, patience).data == "1");
  REQUIRE(second.read_exactly(1, patience).data == "2");

  SECTION("with FIN: both ends read end of stream") {
    proxy.cut_all(close_style::fin);
    CHECK(first.read_until_closed(patience).ec == asio::error::eof);
    CHECK(second.read_until_closed(patience).ec == asio::error::eof);
    REQUIRE(
        server.wait_until([](const auto& r) { return r.size() == 2 && r[0].ended && r[1].ended; }, patience));
    CHECK(server.connections()[0].end_error == asio::error::eof);
    CHECK(server.connections()[1].end_error == asio::error::eof);
  }
  SECTION("with RST: both ends see the connection reset") {
    proxy.cut_all(close_style::reset);
    CHECK(first.read_until_closed(patience).ec == asio::error::connection_reset);
    CHECK(second.read_until_closed(patience).ec == asio::error::connection_reset);
    REQUIRE(
        server.wait_until([](const auto& r) { return r.size() == 2 && r[0].ended && r[1].ended; }, patience));
    CHECK(server.connections()[0].end_error == asio::error::connection_reset);
    CHECK(server.connections()[1].end_error == asio::error::connection_reset);
  }
  CHECK(proxy.counters().connections_open == 0);
  CHECK(proxy.counters().connections_accepted == 2);
}

TEST_CASE("cut_after lets exactly N more bytes through client to server, then closes", "[proxy][cut]") {
  loopback_server server({nullptr, {}, {}});
  proxy proxy("127.0.0.1", server.port());
  loopback_client client(proxy.port());
  client.send("0123456789");
  REQUIRE(
      server.wait_until([](const auto& r) { return r.size() == 1 && r[0].received.size() == 10; }, patience));

  proxy.cut_after(7, direction::client_to_server);
  client.send(pattern(100));  // a "packet" that will be cut after its 7th byte
  REQUIRE(server.wait_until([](const auto& r) { return r.at(0).ended; }, patience));
  const auto record = server.connections().at(0);
  CHECK(record.received == "0123456789" + pattern(7));
  CHECK(record.end_error == asio::error::eof);  // FIN right after the 7th byte
  CHECK(is_closed_by_peer(client.read_until_closed(patience).ec));
  CHECK(proxy.counters().bytes_client_to_server == 17);
  CHECK(proxy.wait_until([](const proxy_counters& c) { return c.connections_open == 0; }, patience));
}

TEST_CASE("cut_after armed with no connection open cuts the next one, once", "[proxy][cut]") {
  loopback_server server({nullptr, pattern(100), {}});  // the server speaks first, like a CONNACK would
  proxy proxy("127.0.0.1", server.port());
  proxy.cut_after(37, direction::server_to_client);

  loopback_client cut(proxy.port());
  const auto received = cut.read_until_closed(patience);
  CHECK(received.data == pattern(37));
  CHECK(received.ec == asio::error::eof);

  loopback_client next(proxy.port());  // the cut was one-shot
  CHECK(next.read_exactly(100, patience).data == pattern(100));
}

TEST_CASE("cut_after 0 closes the connection when it would forward its next byte", "[proxy][cut]") {
  loopback_server server({nullptr, {}, {}});
  proxy proxy("127.0.0.1", server.port());
  loopback_client client(proxy.port());
  REQUIRE(server.wait_until([](const auto& r) { return r.size() == 1; }, patience));

  proxy.cut_after(0, direction::client_to_server, close_style::reset);
  client.send("x");
  CHECK(client.read_until_closed(patience).ec == asio::error::connection_reset);
  REQUIRE(server.wait_until([](const auto& r) { return r.at(0).ended; }, patience));
  CHECK(server.connections().at(0).received.empty());
  CHECK(server.connections().at(0).end_error == asio::error::connection_reset);
}

TEST_CASE("blackhole stalls both directions without closing, and loses nothing when lifted",
          "[proxy][blackhole]") {
  loopback_server server = echo_server();
  proxy proxy("127.0.0.1", server.port());
  loopback_client client(proxy.port());
  client.send("before");
  REQUIRE(client.read_exactly(6, patience).data == "before");

  proxy.blackhole(true);
  client.send("during");
  server.send_to_all("news");
  const auto stalled = client.read_exactly(1, quiet_period);
  CHECK(stalled.timed_out());  // not eof, not reset: the connection looks alive but silent
  CHECK(server.connections().at(0).received == "before");
  CHECK_FALSE(server.connections().at(0).ended);
  CHECK(proxy.counters().connections_open == 1);
  CHECK(proxy.counters().bytes_client_to_server == 6);

  proxy.blackhole(false);
  // "news" was held on the way to the client, "during" on the way to the server and then echoed.
  const auto released = client.read_exactly(10, patience);
  REQUIRE_FALSE(released.ec);
  CHECK((released.data == "newsduring" || released.data == "duringnews"));
  CHECK(server.connections().at(0).received == "beforeduring");
}

TEST_CASE("blackhole: a keepalive PINGREQ gets no PINGRESP, and the connection stays open",
          "[proxy][blackhole]") {
  const std::string pingreq("\xC0\x00", 2);
  const std::string pingresp("\xD0\x00", 2);
  // A stand-in broker that answers PINGREQ [MQTT-3.12.4-1].
  loopback_server broker(
      {[&](std::string_view received) { return received == pingreq ? pingresp : ""; }, {}, {}});
  proxy proxy("127.0.0.1", broker.port());
  loopback_client client(proxy.port());

  client.send(pingreq);
  CHECK(client.read_exactly(2, patience).data == pingresp);

  proxy.blackhole(true);
  client.send(pingreq);
  const auto answer = client.read_exactly(2, quiet_period);
  CHECK(answer.timed_out());
  CHECK(answer.data.empty());
  CHECK(broker.connections().at(0).received == pingreq);  // the second one never reached the broker
  CHECK_FALSE(broker.connections().at(0).ended);
}

TEST_CASE("latency delays each direction and keeps the order", "[proxy][latency]") {
  constexpr auto latency = 150ms;
  loopback_server server = echo_server();
  proxy proxy("127.0.0.1", server.port());
  proxy.set_latency(latency);
  loopback_client client(proxy.port());

  const auto sent_at = steady_clock::now();
  client.send("ping");
  const auto echoed = client.read_exactly(4, patience);
  const auto round_trip = steady_clock::now() - sent_at;
  CHECK(echoed.data == "ping");
  CHECK(round_trip >= 2 * latency);  // once each way
  CHECK(round_trip < patience);

  // Chunks sent in a burst arrive in order and intact, and delayed.
  const auto burst_at = steady_clock::now();
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    const std::string chunk = "chunk" + std::to_string(i) + ";";
    client.send(chunk);
    expected += chunk;
  }
  const auto burst = client.read_exactly(expected.size(), patience);
  CHECK(burst.data == expected);
  CHECK(steady_clock::now() - burst_at >= 2 * latency);
}

TEST_CASE("bandwidth limits each direction to the order of the given rate", "[proxy][bandwidth]") {
  constexpr std::size_t rate = 32 * 1024;  // bytes per second
  constexpr std::size_t size = 16 * 1024;  // about half a second's worth
  SECTION("client to server") {
    loopback_server server({nullptr, {}, {}});
    proxy proxy("127.0.0.1", server.port());
    proxy.set_bandwidth(rate);
    loopback_client client(proxy.port());
    const auto started = steady_clock::now();
    client.send(pattern(size));
    REQUIRE(server.wait_until([](const auto& r) { return r.size() == 1 && r[0].received.size() == size; },
                              patience));
    const auto elapsed = steady_clock::now() - started;
    CHECK(elapsed >= 300ms);  // 500 ms in theory, less the first 20 ms slice
    CHECK(elapsed < patience);
  }
  SECTION("server to client") {
    loopback_server server({nullptr, pattern(size), {}});
    proxy proxy("127.0.0.1", server.port());
    proxy.set_bandwidth(rate);
    const auto started = steady_clock::now();
    loopback_client client(proxy.port());
    CHECK(client.read_exactly(size, patience).data == pattern(size));
    const auto elapsed = steady_clock::now() - started;
    CHECK(elapsed >= 300ms);
    CHECK(elapsed < patience);
  }
}

TEST_CASE("refuse turns new connections away in the chosen way and counts the attempts", "[proxy][refuse]") {
  loopback_server server = echo_server();
  proxy proxy("127.0.0.1", server.port());
  const auto port = proxy.port();

  SECTION("reset after accept: every attempt is counted, none reaches the server") {
    proxy.refuse(true, refusal::reset_after_accept);
    for (int attempt = 0; attempt < 5; ++attempt) {
      loopback_client client(port);
      REQUIRE_FALSE(client.connect_error());                                          // TCP accepted...
      CHECK(client.read_until_closed(patience).ec == asio::error::connection_reset);  // ...then reset
    }
    CHECK(proxy.counters().connections_accepted == 5);
  }
  SECTION("close after accept: the client reads end of stream") {
    proxy.refuse(true, refusal::close_after_accept);
    loopback_client client(port);
    REQUIRE_FALSE(client.connect_error());
    CHECK(client.read_until_closed(patience).ec == asio::error::eof);
    CHECK(proxy.counters().connections_accepted == 1);
  }
  SECTION("not listening: connect fails with connection refused") {
    proxy.refuse(true, refusal::not_listening);
    loopback_client client(port);
    CHECK(client.connect_error() == asio::error::connection_refused);
    CHECK(proxy.counters().connections_accepted == 0);
  }
  CHECK(proxy.counters().connections_open == 0);
  CHECK(server.connections().empty());

  proxy.refuse(false);
  CHECK(proxy.port() == port);
  loopback_client welcome(port);
  REQUIRE_FALSE(welcome.connect_error());
  welcome.send("hello");
  CHECK(welcome.read_exactly(5, patience).data == "hello");
  CHECK(server.connections().size() == 1);
}

TEST_CASE("refuse leaves the connections already open alone", "[proxy][refuse]") {
  loopback_server server = echo_server();
  proxy proxy("127.0.0.1", server.port());
  loopback_client open(proxy.port());
  open.send("a");
  REQUIRE(open.read_exactly(1, patience).data == "a");
  proxy.refuse(true, refusal::not_listening);
  open.send("b");
  CHECK(open.read_exactly(1, patience).data == "b");
}

TEST_CASE("set_target sends new connections to another server; current ones stay", "[proxy][target]") {
  loopback_server server_a({[](std::string_view r) { return "A:" + std::string(r); }, {}, {}});
  loopback_server server_b({[](std::string_view r) { return "B:" + std::string(r); }, {}, {}});
  proxy proxy("127.0.0.1", server_a.port());
  loopback_client before(proxy.port());
  before.send("1");
  CHECK(before.read_exactly(3, patience).data == "A:1");

  proxy.set_target("127.0.0.1", server_b.port());
  loopback_client after(proxy.port());
  after.send("2");
  CHECK(after.read_exactly(3, patience).data == "B:2");
  before.send("3");
  CHECK(before.read_exactly(3, patience).data == "A:3");
  CHECK(server_a.connections().size() == 1);
  CHECK(server_b.connections().size() == 1);
}

TEST_CASE("an unreachable target resets the client and is counted", "[proxy][target]") {
  std::uint16_t closed_port = 0;
  {
    // A port that was free a moment ago and that nothing listens on now.
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::address_v4::loopback(), 0});
    closed_port = probe.local_endpoint().port();
  }
  proxy proxy("127.0.0.1", closed_port);
  loopback_client client(proxy.port());
  REQUIRE_FALSE(client.connect_error());
  CHECK(client.read_until_closed(patience).ec == asio::error::connection_reset);
  CHECK(proxy.wait_until(
      [](const proxy_counters& c) { return c.target_connect_failures == 1 && c.connections_open == 0; },
      patience));
  CHECK(proxy.counters().connections_accepted == 1);
}

TEST_CASE("destroying the proxy closes what is open and returns promptly", "[proxy]") {
  loopback_server server = echo_server();
  auto client = [&] {
    auto p = std::make_unique<proxy>("127.0.0.1", server.port());
    auto c = std::make_unique<loopback_client>(p->port());
    c->send("x");
    REQUIRE(c->read_exactly(1, patience).data == "x");
    p->blackhole(true);
    p->set_latency(10s);  // pending timers must not hold the destructor up
    c->send("held");
    const auto destroying = steady_clock::now();
    p.reset();
    CHECK(steady_clock::now() - destroying < patience);
    return c;
  }();
  CHECK(client->read_until_closed(patience).ec == asio::error::connection_reset);
  CHECK(server.wait_until([](const auto& r) { return r.at(0).ended; }, patience));
}

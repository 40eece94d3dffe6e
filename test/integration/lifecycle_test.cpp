// The client's lifecycle as its user drives it (issues 12.1, 12.2, 13.5): stop(), the destructor and
// co_disconnect() end a connection attempt at once, whatever step it is in; a user callback that throws ends
// an attempt or the run with an error, never silently; the run loop reports `stopped` on every path; and what
// waits for the broker (co_receive, co_next_event) completes when the client stops, so io_context::run()
// returns.
#include "integration/black_holes.hpp"
#include "integration/client_test_support.hpp"
#include "integration/scripted_broker.hpp"

#include <coromqtt/authenticator.hpp>
#include <coromqtt/config.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coromqtt;
using namespace coromqtt::test;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

// Far longer than any test waits: an attempt that ends must have been ended, not timed out.
constexpr auto step_timeout = 20s;
// What "at once" means here, with room for a loaded machine and a sanitizer build.
constexpr auto promptly = 3s;

client_options black_hole_options(const std::string& url) {
  client_options o;
  o.brokers = {url};
  o.version = protocol_version::v5;
  o.transport.resolve_timeout = step_timeout;
  o.transport.connect_timeout = step_timeout;
  o.transport.handshake_timeout = step_timeout;
  o.connack_timeout = step_timeout;
  return o;
}

struct hang {
  std::string step;  // where the attempt hangs
  std::string url;
};

// Every step of an attempt that can hang, on listeners of `io`.
std::vector<hang> hangs(const full_backlog_listener& no_connect, const unaccepted_listener& no_answer) {
  const auto at = [](const char* scheme, std::uint16_t port) {
    return std::string{scheme} + "://127.0.0.1:" + std::to_string(port);
  };
  std::vector<hang> all{{"TCP connect", at("mqtt", no_connect.port())}, {"CONNACK", at("mqtt", no_answer.port())}};
#if COROMQTT_HAS_TLS
  all.push_back({"TLS handshake", at("mqtts", no_answer.port())});
#endif
#if COROMQTT_HAS_WEBSOCKET
  all.push_back({"WebSocket upgrade", at("ws", no_answer.port())});
#endif
  return all;
}

// Reads the client's events until it says there are no more (client_stopped, or operation_aborted once the
// client is destroyed). `c` is looked at before every call: the destructor may have run in between.
asio::awaitable<void> record_events(std::optional<client>& c, std::vector<event>& events) {
  while (c) {
    auto [ec, ev] = co_await c->async_next_event(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    events.push_back(std::move(ev));
  }
}

// Keeps `depth` waits for events outstanding: the events a client reports after its destructor ran
// (connect_failed, stopped) are still seen, by waits made before it, though no new one can be made then.
void arm_event_wait(std::optional<client>& c, std::vector<event>& events) {
  c->async_next_event([&c, &events](error_code ec, event ev) {
    if (ec) return;
    events.push_back(std::move(ev));
    if (c) arm_event_wait(c, events);
  });
}
void read_events(std::optional<client>& c, std::vector<event>& events, int depth = 3) {
  for (int i = 0; i < depth; ++i) arm_event_wait(c, events);
}

std::string story(const std::vector<event>& events) {
  std::string out;
  for (const auto& e : events) {
    out += std::string{to_string(e.kind)};
    if (e.error) out += "(" + e.error.message() + ")";
    out += ", ";
  }
  return out;
}

std::size_t count(const std::vector<event>& events, event_kind kind) {
  return static_cast<std::size_t>(std::ranges::count_if(events, [kind](const event& e) { return e.kind == kind; }));
}

// The last `stopped` event: there must be exactly one.
event the_stop(const std::vector<event>& events) {
  INFO("events: " << story(events));
  REQUIRE(count(events, event_kind::stopped) == 1);
  return *std::ranges::find_if(events, [](const event& e) { return e.kind == event_kind::stopped; });
}

enum class ender { stop, destroy, disconnect };

std::string name_of(ender e) {
  switch (e) {
    case ender::stop: return "stop()";
    case ender::destroy: return "the destructor";
    case ender::disconnect: return "co_disconnect()";
  }
  return "?";
}

// Ends the client's run the way `how` says; `disconnected` is co_disconnect()'s handler.
void end_with(ender how, std::optional<client>& c, std::function<void(error_code)> disconnected = [](error_code) {}) {
  switch (how) {
    case ender::stop: c->stop(); break;
    case ender::destroy: c.reset(); break;
    case ender::disconnect: c->async_disconnect(std::move(disconnected)); break;
  }
}

}  // namespace

TEST_CASE("stop(), the destructor and co_disconnect() end a connection attempt at once, in every step",
          "[integration][lifecycle]") {
  asio::io_context io;
  full_backlog_listener no_connect{io};
  unaccepted_listener no_answer{io};
  for (const auto& where : hangs(no_connect, no_answer)) {
    for (const auto how : {ender::stop, ender::destroy, ender::disconnect}) {
      DYNAMIC_SECTION(name_of(how) << " during the " << where.step) {
        io.restart();
        std::optional<client> c;
        c.emplace(io, black_hole_options(where.url));
        std::vector<event> events;
        std::optional<error_code> connect_result;
        std::optional<error_code> disconnect_result;
        steady::time_point asked{};
        steady::time_point disconnected_at{};

        c->async_connect([&](error_code ec, connection_info) { connect_result = ec; });
        read_events(c, events);
        // Give the attempt time to reach the step where it hangs.
        asio::steady_timer later{io, 300ms};
        later.async_wait([&](error_code) {
          asked = steady::now();
          end_with(how, c, [&](error_code ec) {
            disconnect_result = ec;
            disconnected_at = steady::now();
          });
        });
        // io_context::run() returns once nothing is left to do: the run loop ended, and with it the waits.
        io.run_for(step_timeout / 2);
        const auto took = steady::now() - asked;
        INFO("events: " << story(events));
        CHECK(io.stopped());
        CHECK(took < promptly);

        REQUIRE(connect_result.has_value());
        CHECK(*connect_result == (how == ender::destroy ? error_code{asio::error::operation_aborted}
                                                        : make_error_code(error::client_stopped)));
        if (how == ender::disconnect) {
          REQUIRE(disconnect_result.has_value());
          CHECK_FALSE(*disconnect_result);
          CHECK(disconnected_at - asked < promptly);
        }
        REQUIRE(events.size() >= 2);
        CHECK(events.front().kind == event_kind::connecting);
        CHECK(count(events, event_kind::connect_failed) == 1);
        CHECK(count(events, event_kind::reconnect_scheduled) == 0);
        const auto stopped = the_stop(events);
        CHECK(stopped.error == error::client_stopped);
        CHECK(stopped.broker.starts_with(where.url));  // as the endpoint spells it: "ws://...:port/"
        CHECK(stopped.broker == events.front().broker);
        CHECK(events.back().kind == event_kind::stopped);
      }
    }
  }
}

TEST_CASE("start() right after stop() restarts the attempt that stop() ended, without the policy's delay",
          "[integration][lifecycle]") {
  asio::io_context io;
  unaccepted_listener no_answer{io};
  auto o = black_hole_options("mqtt://127.0.0.1:" + std::to_string(no_answer.port()));
  o.reconnect.initial_delay = 10s;  // a backoff would show as a missing second attempt
  std::optional<client> c;
  c.emplace(io, o);
  std::vector<event> events;
  c->start();
  asio::co_spawn(io, record_events(c, events), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(200ms);
        c->stop();
        c->start();
        const bool again = co_await eventually([&] { return count(events, event_kind::connecting) == 2; }, 2s);
        CHECK(again);
        c->stop();
      },
      asio::detached);
  io.run_for(step_timeout / 2);
  INFO("events: " << story(events));
  CHECK(io.stopped());
  CHECK(count(events, event_kind::connecting) == 2);
  CHECK(count(events, event_kind::reconnect_scheduled) == 0);
  CHECK(the_stop(events).error == error::client_stopped);
}

TEST_CASE("stop() during the backoff ends the wait and reports stopped", "[integration][lifecycle]") {
  asio::io_context io;
  // A port nobody listens on: every attempt is refused at once, then the policy waits.
  std::uint16_t closed_port = 0;
  {
    asio::ip::tcp::acceptor probe{io, {asio::ip::address_v4::loopback(), 0}};
    closed_port = probe.local_endpoint().port();
  }
  auto o = black_hole_options("mqtt://127.0.0.1:" + std::to_string(closed_port));
  o.reconnect.initial_delay = 30s;
  o.reconnect.jitter = 0;
  std::optional<client> c;
  c.emplace(io, o);
  std::vector<event> events;
  c->start();
  asio::co_spawn(io, record_events(c, events), asio::detached);
  steady::time_point asked{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const bool waiting =
            co_await eventually([&] { return count(events, event_kind::reconnect_scheduled) == 1; }, 5s);
        CHECK(waiting);
        asked = steady::now();
        c->stop();
      },
      asio::detached);
  io.run_for(step_timeout / 2);
  INFO("events: " << story(events));
  CHECK(io.stopped());
  CHECK(steady::now() - asked < promptly);
  CHECK(the_stop(events).error == error::client_stopped);
}

// --- Shutdown with a broker (issue 13.5) -------------------------------------------------------------------

TEST_CASE("co_disconnect() and stop() complete a waiting co_receive and co_next_event, so io_context::run() returns",
          "[integration][lifecycle][shutdown]") {
  mosquitto broker;
  for (const bool graceful : {true, false}) {
    DYNAMIC_SECTION((graceful ? "co_disconnect()" : "stop()")) {
      asio::io_context io;
      client c{io, options_for(broker, protocol_version::v5)};
      std::optional<error_code> receiving_ended;
      std::optional<error_code> events_ended;
      std::vector<event> events;
      // What an application runs beside its work: loops that end when the client has nothing more to give.
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            for (;;) {
              auto [ec, m] = co_await c.async_receive(asio::as_tuple(asio::use_awaitable));
              if (ec) {
                receiving_ended = ec;
                co_return;
              }
            }
          },
          asio::detached);
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            for (;;) {
              auto [ec, ev] = co_await c.async_next_event(asio::as_tuple(asio::use_awaitable));
              if (ec) {
                events_ended = ec;
                co_return;
              }
              events.push_back(std::move(ev));
            }
          },
          asio::detached);
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            co_await c.co_connect();
            co_await c.co_subscribe("lifecycle/nothing", qos::at_least_once);
            co_await sleep_for(50ms);  // both loops wait now
            if (graceful)
              co_await c.co_disconnect();
            else
              c.stop();
          },
          asio::detached);
      io.run_for(10s);
      INFO("events: " << story(events));
      CHECK(io.stopped());  // nothing waits any more
      REQUIRE(receiving_ended.has_value());
      CHECK(*receiving_ended == error::client_stopped);
      REQUIRE(events_ended.has_value());
      CHECK(*events_ended == error::client_stopped);

      const auto stopped = the_stop(events);
      CHECK(events.back().kind == event_kind::stopped);
      CHECK(stopped.error == error::client_stopped);
      CHECK(stopped.broker == broker.url(listener::tcp));
      REQUIRE(count(events, event_kind::disconnected) == 1);
      const auto gone =
          *std::ranges::find_if(events, [](const event& e) { return e.kind == event_kind::disconnected; });
      if (graceful)
        CHECK_FALSE(gone.error);  // asked for and done: not operation_aborted
      else
        CHECK(gone.error == error::client_stopped);

      // start() brings the client back: receivers wait again rather than failing.
      io.restart();
      std::optional<message> got;
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            co_await c.co_connect();
            co_await c.co_subscribe("lifecycle/again", qos::at_least_once);
            auto receiving = c.async_receive(asio::as_tuple(asio::use_awaitable));
            co_await c.co_publish("lifecycle/again", "back", qos::at_least_once);
            auto [ec, m] = co_await std::move(receiving);
            CHECK_FALSE(ec);
            got = std::move(m);
            co_await c.co_disconnect();
          },
          asio::detached);
      io.run_for(10s);
      CHECK(io.stopped());
      REQUIRE(got.has_value());
      CHECK(got->payload == "back");
    }
  }
}

TEST_CASE("a graceful disconnect is reported as disconnected without an error, then stopped with the broker",
          "[integration][lifecycle][shutdown]") {
  mosquitto broker;
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    DYNAMIC_SECTION((version == protocol_version::v5 ? "MQTT 5" : "MQTT 3.1.1")) {
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        client c{io, options_for(broker, version)};
        co_await c.co_connect();
        co_await c.co_disconnect();
        std::vector<event> events;
        for (;;) {
          auto [ec, ev] = co_await c.async_next_event(asio::as_tuple(asio::use_awaitable));
          if (ec) break;
          events.push_back(std::move(ev));
        }
        INFO("events: " << story(events));
        REQUIRE(events.size() == 4);
        CHECK(events[2].kind == event_kind::disconnected);
        CHECK_FALSE(events[2].error);
        CHECK(events[3].kind == event_kind::stopped);
        CHECK(events[3].error == error::client_stopped);
        CHECK(events[3].broker == broker.url(listener::tcp));
        CHECK(c.statistics().connection_attempts == 1);
      });
    }
  }
}

TEST_CASE("statistics count transport connection attempts, also those that never get to CONNECT",
          "[integration][lifecycle][statistics]") {
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    std::uint16_t closed_port = 0;
    {
      asio::ip::tcp::acceptor probe{io, {asio::ip::address_v4::loopback(), 0}};
      closed_port = probe.local_endpoint().port();
    }
    auto o = black_hole_options("mqtt://127.0.0.1:" + std::to_string(closed_port));
    o.reconnect.decide = [](const connection_failure& f) -> reconnect_decision {
      if (f.attempt >= 3) return std::nullopt;
      return std::chrono::milliseconds{10};
    };
    client c{io, o};
    c.start();
    std::vector<event> events;
    for (;;) {
      auto [ec, ev] = co_await c.async_next_event(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      events.push_back(std::move(ev));
    }
    INFO("events: " << story(events));
    CHECK(count(events, event_kind::connect_failed) == 3);
    CHECK(c.statistics().connection_attempts == 3);  // none sent CONNECT
    CHECK(c.statistics().connects == 0);
  });
}

// --- User callbacks that throw (issue 12.2) ----------------------------------------------------------------

namespace {

// Runs one client until it stops and returns its events; `c`'s co_connect outcome goes to `connect_error`.
asio::awaitable<std::vector<event>> events_until_stopped(client& c) {
  std::vector<event> events;
  for (;;) {
    auto [ec, ev] = co_await c.async_next_event(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    events.push_back(std::move(ev));
  }
  co_return events;
}

reconnect_decision never_again(const connection_failure&) { return std::nullopt; }

// An authenticator that throws from the call it is told to. The scripted broker below drives the exchange.
class throwing_authenticator final : public authenticator {
 public:
  enum class call { initial_data, challenge, succeeded, reauthentication };
  explicit throwing_authenticator(call c) : throws_in{c} {}
  std::string method() const override { return "TOY-1"; }
  std::optional<std::string> initial_data() override {
    ++starts;
    if (throws_in == call::initial_data || (throws_in == call::reauthentication && starts > 1))
      throw std::runtime_error{"initial data"};
    return "hello";
  }
  authentication_step challenge(std::string_view) override {
    if (throws_in == call::challenge) throw std::runtime_error{"challenge"};
    return {"response", false};
  }
  void succeeded(std::string_view) override {
    if (throws_in == call::succeeded) throw std::runtime_error{"succeeded"};
  }
  call throws_in;
  int starts = 0;
};

// MQTT 5 AUTH 0x18 (Continue authentication), method "TOY-1", data "n".
bytes auth_challenge() { return hex("F0 0E 18 0C 15 00 05 'TOY-1' 16 00 01 'n'"); }
// CONNACK success with the method "TOY-1".
bytes connack_with_method() { return hex("20 0B 00 00 08 15 00 05 'TOY-1'"); }

}  // namespace

TEST_CASE("a credentials provider that throws fails the attempt with authentication_failed", "[integration][lifecycle][callbacks]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto o = options_for(broker, protocol_version::v5);
    o.credentials = [](const credential_request&) -> boost::system::result<credentials> {
      throw std::runtime_error{"no token today"};
    };
    o.reconnect.decide = never_again;
    client c{io, o};
    auto [ec, info] = co_await c.async_connect(asio::as_tuple(asio::use_awaitable));
    CHECK(ec == error::authentication_failed);
    const auto events = co_await events_until_stopped(c);
    INFO("events: " << story(events));
    REQUIRE(count(events, event_kind::connect_failed) == 1);
    CHECK(events[1].error == error::authentication_failed);
    CHECK(the_stop(events).error == error::authentication_failed);
    CHECK_FALSE(c.statistics().connected);
  });
}

TEST_CASE("a reconnect policy that throws stops the client with callback_failed", "[integration][lifecycle][callbacks]") {
  asio::io_context io;
  std::uint16_t closed_port = 0;
  {
    asio::ip::tcp::acceptor probe{io, {asio::ip::address_v4::loopback(), 0}};
    closed_port = probe.local_endpoint().port();
  }
  auto o = black_hole_options("mqtt://127.0.0.1:" + std::to_string(closed_port));
  o.reconnect.decide = [](const connection_failure&) -> reconnect_decision { throw std::logic_error{"oops"}; };
  std::optional<client> c;
  c.emplace(io, o);
  std::vector<event> events;
  std::optional<error_code> connect_result;
  c->async_connect([&](error_code ec, connection_info) { connect_result = ec; });
  asio::co_spawn(io, record_events(c, events), asio::detached);
  io.run_for(10s);
  INFO("events: " << story(events));
  CHECK(io.stopped());  // the loop ended, and told the event reader
  REQUIRE(connect_result.has_value());
  CHECK(*connect_result == asio::error::connection_refused);
  const auto stopped = the_stop(events);
  CHECK(stopped.error == error::callback_failed);
  // The client still works: the user may start it again.
  CHECK(c->statistics().connection_attempts == 1);
}

TEST_CASE("an authenticator that throws ends the attempt or the connection with authentication_failed",
          "[integration][lifecycle][callbacks]") {
  using call = throwing_authenticator::call;
  const auto which = GENERATE(call::initial_data, call::challenge, call::succeeded, call::reauthentication);
  scripted_broker broker{[which](scripted_connection& c) -> asio::awaitable<void> {
    auto connect = co_await c.receive();
    if (!connect) co_return;
    if (which == call::challenge) {
      co_await c.send(auth_challenge());
      co_await c.drain_until_closed(5s);
      co_return;
    }
    co_await c.send(connack_with_method());
    co_await c.drain_until_closed(5s);
  }};
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client_options o;
    o.brokers = {broker.url()};
    o.version = protocol_version::v5;
    o.authenticator = std::make_shared<throwing_authenticator>(which);
    o.reconnect.decide = never_again;
    client c{io, o};
    auto [ec, info] = co_await c.async_connect(asio::as_tuple(asio::use_awaitable));
    if (which == call::reauthentication) {
      REQUIRE_FALSE(ec);
      c.reauthenticate();
    } else {
      CHECK(ec == error::authentication_failed);
    }
    const auto events = co_await events_until_stopped(c);
    INFO("events: " << story(events));
    const auto ended = which == call::reauthentication ? event_kind::disconnected : event_kind::connect_failed;
    REQUIRE(count(events, ended) == 1);
    CHECK(std::ranges::find_if(events, [&](const event& e) { return e.kind == ended; })->error ==
          error::authentication_failed);
    CHECK(the_stop(events).error == error::authentication_failed);
    // The connection is closed and the session back at rest: the broker saw the client go.
    CHECK_FALSE(c.statistics().connected);
    CHECK(c.statistics().inflight == 0);
    const bool closed = broker.wait_until(
        [](const std::vector<connection_log>& logs) { return !logs.empty() && logs[0].closed_by_client; }, 5s);
    CHECK(closed);
  });
}

// Issue 12.3: what ends an attempt does not lose what the user handed over. A QoS 1 publish accepted while the
// attempt hangs is abandoned by the destructor (operation_aborted), and kept queued by stop() and
// co_disconnect() for a later connection: its handler is not called, and it still holds its work on the
// io_context, until the client is destroyed. Under ASan this also checks that no step frees it twice.
TEST_CASE("a QoS 1 publish outstanding when an attempt is ended: kept by stop() and co_disconnect(), abandoned by "
          "the destructor",
          "[integration][lifecycle]") {
  asio::io_context io;
  full_backlog_listener no_connect{io};
  unaccepted_listener no_answer{io};
  for (const auto& where : hangs(no_connect, no_answer)) {
    for (const auto how : {ender::stop, ender::destroy, ender::disconnect}) {
      DYNAMIC_SECTION(name_of(how) << " during the " << where.step) {
        io.restart();
        std::optional<client> c;
        c.emplace(io, black_hole_options(where.url));
        std::vector<event> events;
        std::optional<error_code> published;
        read_events(c, events);
        c->start();
        message m{"coromqtt/test/lifecycle", "kept", qos::at_least_once};
        c->async_publish(std::move(m), [&](error_code ec, publish_result) { published = ec; });

        asio::steady_timer later{io, 300ms};
        later.async_wait([&](error_code) {
          end_with(how, c);
        });
        const auto deadline = steady::now() + step_timeout / 2;
        while (count(events, event_kind::stopped) == 0 && steady::now() < deadline) io.run_one_for(100ms);
        io.run_for(200ms);  // a completion that should not come has had its chance
        INFO("events: " << story(events));
        CHECK(the_stop(events).error == error::client_stopped);

        if (how == ender::destroy) {
          REQUIRE(published.has_value());
          CHECK(*published == asio::error::operation_aborted);
          CHECK(io.stopped());
        } else {
          CHECK_FALSE(published.has_value());
          CHECK_FALSE(io.stopped());  // the publish's handler keeps its work
          const auto kept = c->statistics();
          CHECK(kept.queued_messages == 1);
          CHECK(kept.messages_sent == 0);
          c.reset();
          io.run_for(step_timeout / 2);
          REQUIRE(published.has_value());
          CHECK(*published == asio::error::operation_aborted);
          CHECK(io.stopped());
        }
      }
    }
  }
}

// Issue 12.3: reconnect() asks for a connection now. An attempt hanging in its TCP connect or its CONNACK
// wait ends at once, is reported as connect_failed with operation_aborted (not a failure for the policy, so
// no backoff), and the next attempt starts at once; co_connect() waits through the cut attempt for the next.
TEST_CASE("reconnect() during an attempt cuts it short and tries again at once", "[integration][lifecycle]") {
  SECTION("hanging in the TCP connect") {
    asio::io_context io;
    full_backlog_listener no_connect{io};
    std::optional<client> c;
    auto o = black_hole_options("mqtt://127.0.0.1:" + std::to_string(no_connect.port()));
    o.reconnect.initial_delay = 30s;  // a backoff would show as a missing second attempt
    c.emplace(io, o);
    std::vector<event> events;
    std::optional<error_code> connect_result;
    c->async_connect([&](error_code ec, connection_info) { connect_result = ec; });
    asio::co_spawn(io, record_events(c, events), asio::detached);
    steady::time_point asked{};
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await sleep_for(300ms);
          asked = steady::now();
          c->reconnect();
          const bool again = co_await eventually([&] { return count(events, event_kind::connecting) == 2; }, 5s);
          CHECK(again);
          CHECK(steady::now() - asked < promptly);
          CHECK_FALSE(connect_result.has_value());  // the cut attempt is no outcome for co_connect
          c->stop();
        },
        asio::detached);
    io.run_for(step_timeout / 2);
    INFO("events: " << story(events));
    CHECK(io.stopped());
    REQUIRE(count(events, event_kind::connect_failed) == 2);
    const auto cut = *std::ranges::find_if(events, [](const event& e) { return e.kind == event_kind::connect_failed; });
    CHECK(cut.error == asio::error::operation_aborted);
    CHECK(count(events, event_kind::reconnect_scheduled) == 0);
    REQUIRE(connect_result.has_value());
    CHECK(*connect_result == error::client_stopped);  // the second attempt's outcome: stop() ended it
    CHECK(the_stop(events).error == error::client_stopped);
  }

  SECTION("waiting for CONNACK: the next attempt connects") {
    std::atomic<int> accepted{0};
    scripted_broker broker{[&accepted](scripted_connection& conn) -> asio::awaitable<void> {
      const int number = ++accepted;
      auto connect = co_await conn.receive();
      if (!connect) co_return;
      if (number == 1) {  // the first attempt never hears back
        co_await conn.drain_until_closed(step_timeout);
        co_return;
      }
      co_await conn.send(hex("20 03 00 00 00"));  // CONNACK, MQTT 5, success
      co_await conn.drain_until_closed(5s);
    }};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      auto o = black_hole_options(broker.url());
      o.reconnect.initial_delay = 30s;
      client c{io, o};
      std::vector<event> events;
      std::optional<error_code> connect_result;
      c.async_connect([&](error_code ec, connection_info) { connect_result = ec; });
      const bool waiting = co_await eventually([&] { return accepted.load() == 1; }, 5s);
      REQUIRE(waiting);
      co_await sleep_for(200ms);  // the CONNECT is read, the client waits for CONNACK
      const auto asked = steady::now();
      c.reconnect();
      const bool connected = co_await eventually([&] { return connect_result.has_value(); }, 5s);
      REQUIRE(connected);
      CHECK_FALSE(*connect_result);
      CHECK(steady::now() - asked < promptly);
      CHECK(c.statistics().connection_attempts == 2);
      co_await c.co_disconnect();
      events = co_await events_until_stopped(c);
      INFO("events: " << story(events));
      REQUIRE(events.size() >= 4);
      CHECK(events[0].kind == event_kind::connecting);
      CHECK(events[1].kind == event_kind::connect_failed);
      CHECK(events[1].error == asio::error::operation_aborted);
      CHECK(events[2].kind == event_kind::connecting);
      CHECK(events[3].kind == event_kind::connected);
      CHECK(count(events, event_kind::reconnect_scheduled) == 0);
    });
  }
}

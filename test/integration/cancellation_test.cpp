// The cancellation contract and the handler associations (issue 12.4), as Asio defines them:
//  - total cancellation promises no side effects: honoured while a request is not yet written, ignored once
//    the broker may have it (the request then completes as usual);
//  - terminal and partial cancellation abandon a written request: operation_aborted at once, its protocol
//    flow goes on in the background;
//  - an outstanding request keeps outstanding work on its handler's associated executor, and takes its memory
//    from the handler's associated allocator;
//  - cancellation is emitted on the handler's side, from another thread than the client's: the suite `threads`
//    runs that case under TSan.
// The broker that holds its PUBACK back until the test lets it go is a scripted one (scripted_broker.hpp): no
// real broker can be told to wait. The other cases run against a real mosquitto.
#include "integration/client_test_support.hpp"
#include "integration/scripted_broker.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <thread>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

const error_code pending = make_error_code(error::not_connected);  // "the handler has not run yet"

// A broker that answers CONNACK, then holds each QoS 1 PUBLISH's PUBACK until `acks_released` allows it.
// Later connections get a CONNACK and are recorded.
struct withholding_broker {
  std::atomic<int> publishes_received{0};
  std::atomic<int> acks_released{0};
  scripted_broker broker{[this](scripted_connection& c) -> asio::awaitable<void> {
    const auto connect = co_await c.receive();
    if (!connect || connect->type() != mqtt_bytes::connect_type) co_return;
    co_await c.send(connack(mqtt_bytes::version::v5));
    while (!c.closed() && !c.stopping()) {
      const auto packet = co_await c.receive(10s);
      if (!packet) co_return;
      if (packet->type() != 3) continue;  // PUBLISH
      const auto& body = packet->body;
      const std::size_t topic_length = (static_cast<std::size_t>(body.at(0)) << 8) | body.at(1);
      const auto id = static_cast<std::uint16_t>((body.at(2 + topic_length) << 8) | body.at(3 + topic_length));
      const int number = ++publishes_received;
      while (acks_released < number && !c.stopping()) co_await c.sleep(5ms);
      co_await c.send(mqtt_bytes::puback(id));
    }
  }};
};

// An allocator that counts what goes through it, to see that the client takes its requests' memory there.
struct allocation_counts {
  std::atomic<std::size_t> allocations{0};
  std::atomic<std::size_t> live{0};
  std::atomic<std::size_t> largest{0};
};

template <class T>
struct counting_allocator {
  using value_type = T;
  allocation_counts* counts;
  explicit counting_allocator(allocation_counts* c) noexcept : counts{c} {}
  template <class U>
  counting_allocator(const counting_allocator<U>& other) noexcept : counts{other.counts} {}
  T* allocate(std::size_t n) {
    ++counts->allocations;
    ++counts->live;
    auto size = n * sizeof(T);
    for (auto seen = counts->largest.load(); seen < size && !counts->largest.compare_exchange_weak(seen, size);) {
    }
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    --counts->live;
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const counting_allocator<U>& other) const noexcept {
    return counts == other.counts;
  }
};

}  // namespace

TEST_CASE("total cancellation leaves a written publish alone; terminal abandons it; unsent ones are withdrawn",
          "[integration][cancel]") {
  withholding_broker script;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client_options o;
    o.brokers = {script.broker.url()};
    o.client_id = "cancellation";
    o.reconnect.initial_delay = 20ms;
    o.reconnect.jitter = 0;
    client c{io, o};
    co_await c.co_connect();

    // Written, then total cancellation: nothing is undone, the publish completes on its PUBACK.
    asio::cancellation_signal total;
    error_code first = pending;
    const message one{"cancel/one", "1", qos::at_least_once};
    c.async_publish(one, asio::bind_cancellation_slot(total.slot(), [&](error_code ec, publish_result) { first = ec; }));
    REQUIRE(co_await eventually([&] { return script.publishes_received == 1; }, 5s));
    total.emit(asio::cancellation_type::total);
    co_await sleep_for(100ms);
    CHECK(first == pending);  // still waiting for its PUBACK
    script.acks_released = 1;
    REQUIRE(co_await eventually([&] { return first != pending; }, 5s));
    CHECK_FALSE(first);

    // Written, then terminal cancellation: operation_aborted at once; the flow ends in the background.
    asio::cancellation_signal terminal;
    error_code second = pending;
    const message two{"cancel/two", "2", qos::at_least_once};
    c.async_publish(two,
                    asio::bind_cancellation_slot(terminal.slot(), [&](error_code ec, publish_result) { second = ec; }));
    REQUIRE(co_await eventually([&] { return script.publishes_received == 2; }, 5s));
    terminal.emit(asio::cancellation_type::terminal);
    REQUIRE(co_await eventually([&] { return second != pending; }, 2s));
    CHECK(second == asio::error::operation_aborted);
    CHECK(c.statistics().window_in_use == 1);  // its slot is held until the broker answers
    script.acks_released = 2;
    CHECK(co_await eventually([&] { return c.statistics().window_in_use == 0; }, 5s));

    // Not written (offline), then total cancellation: withdrawn, never sent after the reconnection.
    c.stop();
    REQUIRE(co_await eventually([&] { return !c.statistics().connected; }, 5s));
    asio::cancellation_signal unsent;
    error_code third = pending;
    const message three{"cancel/three", "3", qos::at_least_once};
    c.async_publish(three,
                    asio::bind_cancellation_slot(unsent.slot(), [&](error_code ec, publish_result) { third = ec; }));
    co_await sleep_for(20ms);
    unsent.emit(asio::cancellation_type::total);
    REQUIRE(co_await eventually([&] { return third != pending; }, 2s));
    CHECK(third == asio::error::operation_aborted);
    CHECK(c.statistics().queued_messages == 0);
    c.start();
    REQUIRE(co_await eventually([&] { return c.statistics().connected; }, 5s));
    co_await sleep_for(200ms);
    CHECK(script.publishes_received == 2);
    co_await c.co_disconnect();
  });
}

TEST_CASE("an outstanding request keeps work on its handler's executor", "[integration][cancel][executor]") {
  mosquitto broker;
  asio::io_context client_io;
  auto client_work = asio::make_work_guard(client_io);
  std::thread client_thread{[&] { client_io.run(); }};
  {
    client c{client_io, options_for(broker, protocol_version::v5, "work-tracking")};
    c.async_connect(asio::use_future).get();

    // An io_context with nothing to do but run this handler: run() returns only once it has run.
    asio::io_context user_io;
    bool ran = false;
    error_code outcome = pending;
    const message m{"work/t", "x", qos::at_least_once};
    c.async_publish(m, asio::bind_executor(user_io, [&](error_code ec, publish_result) {
                      ran = true;
                      outcome = ec;
                    }));
    user_io.run();
    CHECK(ran);
    CHECK_FALSE(outcome);
    c.async_disconnect(disconnect_options{}, asio::use_future).get();
  }
  client_work.reset();
  client_thread.join();
}

TEST_CASE("requests take their memory from the handler's associated allocator", "[integration][cancel][allocator]") {
  mosquitto broker;
  allocation_counts counts;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client c{io, options_for(broker, protocol_version::v5, "allocator")};
    co_await c.co_connect();
    error_code outcome = pending;
    const message m{"alloc/t", "x", qos::at_least_once};
    c.async_publish(m, asio::bind_allocator(counting_allocator<void>{&counts},
                                            [&](error_code ec, publish_result) { outcome = ec; }));
    REQUIRE(co_await eventually([&] { return outcome != pending; }, 5s));
    CHECK_FALSE(outcome);
    co_await c.co_disconnect();
  });
  // The request itself (it holds the message) came from the allocator, not only the type-erased handler...
  CHECK(counts.largest >= sizeof(message));
  // ...and everything was given back before the handler ran or since.
  CHECK(counts.live == 0);
}

TEST_CASE("cancellation emitted on the handler's thread while the client completes on its own",
          "[integration][cancel][threads]") {
  using namespace asio::experimental::awaitable_operators;
  mosquitto broker;
  asio::io_context client_io;
  auto client_work = asio::make_work_guard(client_io);
  std::thread client_thread{[&] { client_io.run(); }};
  std::size_t received = 0, timed_out = 0;
  {
    client subscriber{client_io, options_for(broker, protocol_version::v5, "cancel-threads-sub")};
    client publisher{client_io, options_for(broker, protocol_version::v5, "cancel-threads-pub")};
    subscriber.async_connect(asio::use_future).get();
    publisher.async_connect(asio::use_future).get();
    subscriber.async_subscribe(subscription{"race/#", qos::at_most_once}, asio::use_future).get();

    std::atomic<bool> publishing{true};
    std::thread publisher_thread{[&] {
      const message m{"race/t", "x"};
      while (publishing) {
        publisher.async_publish(m, asio::use_future).get();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }};

    // The user's coroutine runs on a context of its own: each receive races a short timer, and `||` emits
    // the cancellation of the loser from this thread while the client's thread may be completing it.
    asio::io_context user_io;
    asio::co_spawn(
        user_io,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer timer{user_io};
          for (int i = 0; i < 2000; ++i) {
            timer.expires_after(std::chrono::microseconds(100 + (i % 7) * 150));
            auto outcome = co_await (subscriber.async_receive(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
            if (outcome.index() == 0)
              ++received;
            else
              ++timed_out;
          }
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    user_io.run();
    publishing = false;
    publisher_thread.join();
    subscriber.async_disconnect(disconnect_options{}, asio::use_future).get();
    publisher.async_disconnect(disconnect_options{}, asio::use_future).get();
  }
  client_work.reset();
  client_thread.join();
  CHECK(received + timed_out == 2000);
  CHECK(received > 0);
  CHECK(timed_out > 0);
}

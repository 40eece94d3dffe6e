// The client against a real mosquitto: publish/subscribe at every QoS in both protocol versions, retained
// messages, the will, backpressure through the inflight window and the receive queue, cancellation, the
// async_* forms with several completion tokens, and a multi-threaded io_context.
#include "client_test_support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <set>
#include <thread>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

const auto both_versions = {protocol_version::v3_1_1, protocol_version::v5};

std::string name_of(protocol_version v) { return v == protocol_version::v5 ? "v5" : "v311"; }

// Resident set size of this process in KiB (Linux).
std::size_t resident_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("publish and subscribe at every QoS, both versions", "[integration][client]") {
  mosquitto broker;
  for (const auto version : both_versions) {
    for (const auto q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
      DYNAMIC_SECTION(name_of(version) << " qos " << int(q)) {
        run_async([&](asio::io_context& io) -> asio::awaitable<void> {
          client subscriber{io, options_for(broker, version, "sub-" + name_of(version))};
          client publisher{io, options_for(broker, version, "pub-" + name_of(version))};
          co_await subscriber.co_connect();
          co_await publisher.co_connect();
          const auto granted = co_await subscriber.co_subscribe("test/qos/#", q);
          REQUIRE(granted.reasons.size() == 1);
          CHECK(static_cast<int>(granted.reasons[0]) == static_cast<int>(q));
          for (int i = 0; i < 50; ++i) {
            const auto r = co_await publisher.co_publish("test/qos/" + std::to_string(i), "payload " + std::to_string(i), q);
            CHECK(r.reason == reason_code::success);
          }
          for (int i = 0; i < 50; ++i) {
            auto m = co_await subscriber.co_receive();
            CHECK(m.topic == "test/qos/" + std::to_string(i));  // per-topic order is kept at every QoS here
            CHECK(m.payload == "payload " + std::to_string(i));
            CHECK(m.qos == q);
          }
          const auto stats = publisher.statistics();
          CHECK(stats.messages_sent >= 50);
          if (q != qos::at_most_once) CHECK(stats.publishes_acked == 50);
          CHECK(stats.inflight == 0);
          co_await subscriber.co_disconnect();
          co_await publisher.co_disconnect();
        });
      }
    }
  }
}

TEST_CASE("binary payloads, empty payloads and large payloads arrive intact", "[integration][client]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client c{io, options_for(broker, protocol_version::v5)};
    co_await c.co_connect();
    co_await c.co_subscribe("bin/#", qos::at_least_once);
    std::string binary;
    for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
    const std::string large(3 * 1024 * 1024 + 17, 'L');
    co_await c.co_publish("bin/a", binary, qos::at_least_once);
    co_await c.co_publish("bin/b", "", qos::at_least_once);
    co_await c.co_publish("bin/c", large, qos::at_least_once);
    // Never co_await inside a Catch2 assertion: the macro also expands its argument where g++ cannot suspend.
    const auto first = co_await c.co_receive();
    const auto second = co_await c.co_receive();
    const auto third = co_await c.co_receive();
    CHECK(first.payload == binary);
    CHECK(second.payload.empty());
    CHECK(third.payload == large);
  });
}

TEST_CASE("MQTT 5 properties travel with the message", "[integration][client]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client c{io, options_for(broker, protocol_version::v5)};
    co_await c.co_connect();
    subscribe_properties sub_props;
    sub_props.subscription_identifier = 42;
    std::vector<subscription> filters{{"props/#", {qos::at_least_once}}};  // named: see CONTRIBUTING.md
    co_await c.co_subscribe(std::move(filters), sub_props);
    message m{"props/x", "{}", qos::at_least_once, false, {}};
    m.properties.content_type = "application/json";
    m.properties.response_topic = "reply/here";
    m.properties.correlation_data = std::string("\x01\x02", 2);
    m.properties.payload_format_indicator = 1;
    m.properties.message_expiry_interval = 60;
    m.properties.user_properties = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
    co_await c.co_publish(m);
    const auto got = co_await c.co_receive();
    CHECK(got.properties.content_type == m.properties.content_type);
    CHECK(got.properties.response_topic == m.properties.response_topic);
    CHECK(got.properties.correlation_data == m.properties.correlation_data);
    CHECK(got.properties.payload_format_indicator == 1);
    CHECK(got.properties.user_properties == m.properties.user_properties);  // order kept [MQTT-3.3.2-18]
    CHECK(got.properties.subscription_identifiers == std::vector<std::uint32_t>{42});
  });
}

TEST_CASE("retained messages are delivered to new subscribers", "[integration][client]") {
  mosquitto broker;
  for (const auto version : both_versions) {
    DYNAMIC_SECTION(name_of(version)) {
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        client publisher{io, options_for(broker, version, "retainer")};
        co_await publisher.co_connect();
        co_await publisher.co_publish("retained/" + name_of(version), "kept", qos::at_least_once, true);
        client late{io, options_for(broker, version, "late")};
        co_await late.co_connect();
        co_await late.co_subscribe("retained/" + name_of(version), qos::at_least_once);
        const auto m = co_await late.co_receive();
        CHECK(m.payload == "kept");
        CHECK(m.retain);
        // An empty retained message removes it.
        co_await publisher.co_publish("retained/" + name_of(version), "", qos::at_least_once, true);
      });
    }
  }
}

TEST_CASE("the will is published on abnormal close, not on a normal disconnect", "[integration][client][will]") {
  mosquitto broker;
  for (const auto version : both_versions) {
    DYNAMIC_SECTION(name_of(version)) {
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        client watcher{io, options_for(broker, version, "watcher")};
        co_await watcher.co_connect();
        co_await watcher.co_subscribe("will/#", qos::at_least_once);

        auto with_will = [&](std::string id) {
          auto o = options_for(broker, version, id);
          o.will = will_message{"will/" + id, "gone", qos::at_least_once, false, {}, 0};
          return o;
        };
        {
          client polite{io, with_will("polite")};
          co_await polite.co_connect();
          co_await polite.co_disconnect();  // normal: the will is discarded [MQTT-3.14.4-3]
        }
        {
          client rude{io, with_will("rude")};
          co_await rude.co_connect();
          rude.stop();  // closes without DISCONNECT: the broker publishes the will [MQTT-3.1.2-8]
        }
        {
          client keeper{io, with_will("keeper")};
          co_await keeper.co_connect();
          disconnect_options keep;
          keep.publish_will = true;  // MQTT 5: reason 0x04; 3.1.1: close without DISCONNECT
          co_await keeper.co_disconnect(keep);
        }
        std::set<std::string> wills;
        for (int i = 0; i < 2; ++i) {
          auto m = co_await receive_within(watcher, 5s);
          REQUIRE(m);
          wills.insert(m->topic);
        }
        CHECK(wills == std::set<std::string>{"will/rude", "will/keeper"});
        const auto from_polite = co_await receive_within(watcher, 300ms);
        CHECK_FALSE(from_polite);  // nothing from "polite"
      });
    }
  }
}

TEST_CASE("100,000 QoS 1 publishes through an inflight window of 16", "[integration][client][window]") {
  // The broker allows 10 unacknowledged messages per client (its Receive Maximum in MQTT 5), our window is 16:
  // the smaller one must hold, observed through the client's own statistics.
  mosquitto broker{{.max_inflight_messages = 10}};
  for (const auto version : both_versions) {
    DYNAMIC_SECTION(name_of(version)) {
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            auto o = options_for(broker, version, "window");
            o.inflight_window = 16;
            client c{io, o};
            const auto info = co_await c.co_connect();
            const std::size_t limit = version == protocol_version::v5 ? std::min<std::size_t>(16, info.receive_maximum) : 16;
            if (version == protocol_version::v5) CHECK(info.receive_maximum == 10);

            constexpr int total = 100'000;
            int completed = 0;
            std::size_t max_inflight = 0, max_window = 0;
            // Publishers that do not wait for each other: the window is what holds them back.
            std::exception_ptr failure;
            for (int p = 0; p < 64; ++p) {
              asio::co_spawn(
                  c.get_executor(),
                  [&, p]() -> asio::awaitable<void> {
                    for (int i = p; i < total; i += 64) {
                      co_await c.co_publish("window/t", std::to_string(i), qos::at_least_once);
                      ++completed;
                      const auto s = c.statistics();
                      max_inflight = std::max(max_inflight, s.inflight);
                      max_window = std::max(max_window, s.window_in_use);
                    }
                  },
                  [&](std::exception_ptr e) {
                    if (e) failure = e;
                  });
            }
            const bool all_done = co_await eventually([&] { return completed == total || failure; }, 120s);
            REQUIRE(all_done);
            if (failure) std::rethrow_exception(failure);
            CHECK(max_inflight <= limit);
            CHECK(max_window <= limit);
            CHECK(max_inflight >= 2);  // and it was actually used
            CHECK(c.statistics().publishes_acked == static_cast<std::uint64_t>(total));
          },
          180s);
    }
  }
}

TEST_CASE("a slow consumer stops the socket: memory stays bounded", "[integration][client][backpressure]") {
  mosquitto broker{{.max_queued_messages = 1'000'000}};
  run_async(
      [&](asio::io_context& io) -> asio::awaitable<void> {
        auto consumer_options = options_for(broker, protocol_version::v5, "slow");
        consumer_options.receive_queue_capacity = 100;
        client consumer{io, consumer_options};
        client producer{io, options_for(broker, protocol_version::v5, "fast")};
        co_await consumer.co_connect();
        co_await consumer.co_subscribe("flood", qos::at_most_once);
        co_await producer.co_connect();

        bool producing = true;
        std::uint64_t produced = 0;
        asio::co_spawn(
            producer.get_executor(),
            [&]() -> asio::awaitable<void> {
              const std::string payload(1024, 'p');
              while (producing) {
                co_await producer.co_publish("flood", payload);
                ++produced;
                if (produced % 256 == 0) co_await sleep_for(0ms);  // let the consumer side run too
              }
            },
            asio::detached);

        const auto start = std::chrono::steady_clock::now();
        std::size_t consumed = 0, max_queue = 0, rss_after_warmup = 0, max_rss = 0;
        while (std::chrono::steady_clock::now() - start < 10s) {
          co_await consumer.co_receive();
          ++consumed;
          max_queue = std::max(max_queue, consumer.statistics().receive_queue);
          if (consumed % 50 == 0) co_await sleep_for(5ms);  // slow: about 10,000 messages a second at most
          const auto elapsed = std::chrono::steady_clock::now() - start;
          if (rss_after_warmup == 0 && elapsed > 2s) rss_after_warmup = resident_kib();
          if (elapsed > 2s) max_rss = std::max(max_rss, resident_kib());
        }
        producing = false;
        INFO("produced " << produced << ", consumed " << consumed << ", RSS after warm-up " << rss_after_warmup
                         << " KiB, max " << max_rss << " KiB");
        CHECK(produced > consumed);  // the producer really was faster
        CHECK(max_queue <= 100);
        // Flat memory: the backlog waits in the broker (and TCP), not in this process.
        if (rss_tracks_live_memory) CHECK(max_rss < rss_after_warmup + 8 * 1024);
      },
      60s);
}

TEST_CASE("a connection refused for bad credentials fails co_connect with the reason code", "[integration][client]") {
  mosquitto broker{{.allow_anonymous = false, .users = {{"alice", "secret"}}}};
  for (const auto version : both_versions) {
    DYNAMIC_SECTION(name_of(version)) {
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto o = options_for(broker, version, "intruder");
        o.credentials = [](const credential_request&) { return credentials{"alice", "wrong", {}, {}}; };
        client c{io, o};
        try {
          co_await c.co_connect();
          FAIL("connected with a wrong password");
        } catch (const mqtt_error& e) {
          CHECK(e.code() == error::connection_refused);
          CHECK((e.reason() == reason_code::bad_user_name_or_password || e.reason() == reason_code::not_authorized));
        }
        CHECK(c.statistics().connection_attempts == 1);  // the default policy does not retry a refusal

        auto good = options_for(broker, version, "alice");
        good.credentials = [](const credential_request&) { return credentials{"alice", "secret", {}, {}}; };
        client ok{io, good};
        co_await ok.co_connect();
      });
    }
  }
}

TEST_CASE("connection events tell the story", "[integration][client][events]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client c{io, options_for(broker, protocol_version::v5)};
    co_await c.co_connect();
    auto first = co_await c.co_next_event();
    CHECK(first.kind == event_kind::connecting);
    CHECK(first.broker == broker.url(listener::tcp));
    auto second = co_await c.co_next_event();
    CHECK(second.kind == event_kind::connected);
    CHECK_FALSE(second.info.session_present);
    co_await c.co_disconnect();
    auto third = co_await c.co_next_event();
    CHECK(third.kind == event_kind::disconnected);
    auto fourth = co_await c.co_next_event();
    CHECK(fourth.kind == event_kind::stopped);
    CHECK(fourth.error == error::client_stopped);
  });
}

TEST_CASE("cancellation withdraws a waiting receive and a waiting publish", "[integration][client][cancel]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client c{io, options_for(broker, protocol_version::v5)};
    co_await c.co_connect();
    // A receive that times out is cancelled through its slot...
    const auto nothing = co_await receive_within(c, 100ms);
    CHECK_FALSE(nothing);
    // ...and does not swallow the next message.
    co_await c.co_subscribe("cancel/t", qos::at_least_once);
    co_await c.co_publish("cancel/t", "after", qos::at_least_once);
    const auto m = co_await receive_within(c, 5s);
    REQUIRE(m);
    CHECK(m->payload == "after");

    // A QoS 1 publish waiting for a window slot is withdrawn with operation_aborted.
    asio::cancellation_signal cancel;
    error_code outcome = make_error_code(error::not_connected);
    c.stop();  // offline: nothing is acknowledged, the publish waits in the offline queue
    const bool offline = co_await eventually([&] { return !c.statistics().connected; }, 5s);
    REQUIRE(offline);
    message m1{"cancel/t", "1", qos::at_least_once, false, {}};
    c.async_publish(m1, asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, publish_result) { outcome = ec; }));
    co_await sleep_for(20ms);
    cancel.emit(asio::cancellation_type::terminal);
    const bool completed = co_await eventually([&] { return outcome != error::not_connected; }, 2s);
    CHECK(completed);
    CHECK(outcome == asio::error::operation_aborted);
    CHECK(c.statistics().window_in_use == 0);
  });
}

TEST_CASE("async forms work with callbacks, use_future and deferred", "[integration][client][tokens]") {
  mosquitto broker;
  asio::io_context io;
  client c{io, options_for(broker, protocol_version::v5)};
  std::thread runner{[&] {
    auto guard = asio::make_work_guard(io);
    io.run();
  }};
  try {
    auto connected = c.async_connect(asio::use_future);
    CHECK_FALSE(connected.get().session_present);

    auto granted = c.async_subscribe({{"tokens/#", {qos::at_least_once}}}, asio::use_future);
    CHECK(granted.get().reasons.size() == 1);

    std::promise<error_code> callback_result;
    c.async_publish(message{"tokens/cb", "x", qos::at_least_once, false, {}},
                    [&](error_code ec, publish_result) { callback_result.set_value(ec); });
    CHECK_FALSE(callback_result.get_future().get());

    auto deferred_op = c.async_publish(message{"tokens/deferred", "y", qos::exactly_once, false, {}}, asio::deferred);
    std::promise<error_code> deferred_result;
    std::move(deferred_op)([&](error_code ec, publish_result) { deferred_result.set_value(ec); });
    CHECK_FALSE(deferred_result.get_future().get());

    auto first = c.async_receive(asio::use_future).get();
    auto second = c.async_receive(asio::use_future).get();
    CHECK(first.topic == "tokens/cb");
    CHECK(second.topic == "tokens/deferred");

    c.async_disconnect({}, asio::use_future).get();
  } catch (...) {
    io.stop();
    runner.join();
    throw;
  }
  io.stop();
  runner.join();
}

TEST_CASE("four threads on one io_context publish concurrently", "[integration][client][threads]") {
  // The subscriber reads only after the publishers are done: the broker must queue everything for it.
  mosquitto broker{{.max_queued_messages = 100'000}};
  asio::thread_pool pool{4};
  client publisher{pool.get_executor(), options_for(broker, protocol_version::v5, "mt-pub")};
  client subscriber{pool.get_executor(), options_for(broker, protocol_version::v5, "mt-sub")};
  constexpr int per_thread = 2'000;
  {
    auto f1 = subscriber.async_connect(asio::use_future);
    auto f2 = publisher.async_connect(asio::use_future);
    f1.get();
    f2.get();
    subscriber.async_subscribe({{"mt/#", {qos::at_least_once}}}, asio::use_future).get();
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        // Mixed: callbacks from foreign threads, every QoS.
        message m{"mt/" + std::to_string(t), std::to_string(i), static_cast<qos>(1 + i % 2), false, {}};
        try {
          publisher.async_publish(std::move(m), asio::use_future).get();
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  // Everything arrives, in order per publishing thread (one topic each).
  std::map<std::string, int> next;
  for (int i = 0; i < 4 * per_thread; ++i) {
    auto m = subscriber.async_receive(asio::use_future).get();
    CHECK(std::stoi(m.payload) == next[m.topic]++);
  }
  CHECK(publisher.statistics().publishes_acked == 4 * per_thread);
  publisher.async_disconnect({}, asio::use_future).get();
  subscriber.async_disconnect({}, asio::use_future).get();
  pool.join();
}

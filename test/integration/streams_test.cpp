// Subscription streams against a real mosquitto: overlapping filters in both versions, a full stream holding
// the connection up without losing anything, unsubscribing and destroying, the callback form, and the
// identifiers kept when the broker loses the session.
#include "client_test_support.hpp"

#include <map>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

const auto both_versions = {protocol_version::v3_1_1, protocol_version::v5};
std::string name_of(protocol_version v) { return v == protocol_version::v5 ? "v5" : "v311"; }

// Receives one message from a stream, or nothing within `deadline`.
asio::awaitable<std::optional<message>> stream_receive_within(const subscription_stream& s,
                                                              std::chrono::steady_clock::duration deadline) {
  asio::steady_timer timer{co_await asio::this_coro::executor, deadline};
  auto [order, receive_error, received, timer_error] =
      co_await asio::experimental::make_parallel_group(s.async_receive(asio::deferred), timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)order;
  (void)timer_error;
  if (!receive_error) co_return std::move(received);
  co_return std::nullopt;
}

// Every payload that arrives on `s` within `quiet` of the previous one.
asio::awaitable<std::vector<std::string>> drain(const subscription_stream& s, std::chrono::milliseconds quiet = 300ms) {
  std::vector<std::string> payloads;
  for (;;) {
    auto m = co_await stream_receive_within(s, quiet);
    if (!m) co_return payloads;
    payloads.push_back(m->payload);
  }
}

asio::awaitable<std::vector<std::string>> drain(client& c, std::chrono::milliseconds quiet = 300ms) {
  std::vector<std::string> payloads;
  for (;;) {
    auto m = co_await receive_within(c, quiet);
    if (!m) co_return payloads;
    payloads.push_back(m->payload);
  }
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("streams: overlapping filters, each stream gets what its subscription matched; the rest goes to "
          "co_receive, both versions",
          "[integration][streams]") {
  mosquitto broker;
  for (const auto version : both_versions) {
    DYNAMIC_SECTION(name_of(version)) {
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        client subscriber{io, options_for(broker, version, "streams-" + name_of(version))};
        client publisher{io, options_for(broker, version, "streams-pub-" + name_of(version))};
        co_await subscriber.co_connect();
        co_await publisher.co_connect();
        auto wide = co_await subscriber.co_subscribe_stream("house/#", qos::at_least_once);
        auto kitchen = co_await subscriber.co_subscribe_stream("house/kitchen/+", qos::at_least_once);
        REQUIRE(wide.valid());
        REQUIRE(kitchen.valid());
        CHECK(wide.result().reasons == std::vector<reason_code>{reason_code::granted_qos_1});
        co_await subscriber.co_subscribe("garden/#", qos::at_least_once);

        co_await publisher.co_publish("house/kitchen/light", "kitchen", qos::at_least_once);
        co_await publisher.co_publish("house/hall", "hall", qos::at_least_once);
        co_await publisher.co_publish("garden/pond", "pond", qos::at_least_once);
        const auto wide_got = co_await drain(wide);
        const auto kitchen_got = co_await drain(kitchen);
        const auto plain_got = co_await drain(subscriber);
        CHECK(wide_got == strings{"kitchen", "hall"});
        CHECK(kitchen_got == strings{"kitchen"});  // both streams got the overlapping message, once each
        CHECK(plain_got == strings{"pond"});
        co_await subscriber.co_disconnect();
        co_await publisher.co_disconnect();
      });
    }
  }
}

TEST_CASE("streams: a full stream stops the socket until it is read, and nothing is lost",
          "[integration][streams][backpressure]") {
  mosquitto broker;
  for (const auto version : both_versions) {
    DYNAMIC_SECTION(name_of(version)) {
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        client subscriber{io, options_for(broker, version, "full-" + name_of(version))};
        client publisher{io, options_for(broker, version, "full-pub-" + name_of(version))};
        co_await subscriber.co_connect();
        co_await publisher.co_connect();
        std::vector<subscription> slow_filter{{"slow/#", {qos::at_least_once}}};
        stream_options small;
        small.capacity = 3;
        subscribe_properties no_properties;
        auto slow = co_await subscriber.co_subscribe_stream(std::move(slow_filter), no_properties, small);
        auto fast = co_await subscriber.co_subscribe_stream("fast/#", qos::at_least_once);
        for (int i = 0; i < 20; ++i)
          co_await publisher.co_publish("slow/" + std::to_string(i), std::to_string(i), qos::at_least_once);
        co_await publisher.co_publish("fast/1", "fast", qos::at_least_once);
        // The slow stream is full: the socket read stopped, so the fast stream's message, behind the slow
        // ones on the wire, does not arrive either.
        const auto blocked = co_await stream_receive_within(fast, 500ms);
        CHECK_FALSE(blocked);
        const bool is_blocked = co_await eventually([&] { return subscriber.statistics().messages_delivered == 3; }, 2s);
        CHECK(is_blocked);
        // Reading the slow stream lets everything through, in order, nothing dropped.
        auto slow_got = co_await drain(slow);
        strings expected;
        for (int i = 0; i < 20; ++i) expected.push_back(std::to_string(i));
        CHECK(slow_got == expected);
        const auto fast_got = co_await drain(fast);
        CHECK(fast_got == strings{"fast"});
        co_await subscriber.co_disconnect();
        co_await publisher.co_disconnect();
      });
    }
  }
}

TEST_CASE("streams: unsubscribing ends the stream after what it holds; destroying unsubscribes",
          "[integration][streams]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client subscriber{io, options_for(broker, protocol_version::v5, "ending")};
    client publisher{io, options_for(broker, protocol_version::v5, "ending-pub")};
    co_await subscriber.co_connect();
    co_await publisher.co_connect();
    auto stream = co_await subscriber.co_subscribe_stream("end/#", qos::at_least_once);
    co_await publisher.co_publish("end/1", "kept", qos::at_least_once);
    const bool arrived = co_await eventually([&] { return subscriber.statistics().messages_delivered == 1; });
    REQUIRE(arrived);
    const auto unsubscribed = co_await stream.co_unsubscribe();
    CHECK(unsubscribed.reasons == std::vector<reason_code>{reason_code::success});
    const auto kept = co_await stream.co_receive();
    CHECK(kept.payload == "kept");  // queued before the unsubscription: still readable
    auto [ec, none] = co_await stream.async_receive(asio::as_tuple(asio::use_awaitable));
    CHECK(ec == error::stream_closed);
    (void)none;
    co_await publisher.co_publish("end/2", "gone", qos::at_least_once);
    const auto nothing = co_await receive_within(subscriber, 300ms);
    CHECK_FALSE(nothing);  // the broker no longer sends it

    {
      auto scoped = co_await subscriber.co_subscribe_stream("scoped/#", qos::at_least_once);
      CHECK(scoped.valid());
    }  // destroyed: UNSUBSCRIBE in the background
    const bool gone = co_await eventually([&] { return subscriber.statistics().messages_delivered == 1; }, 1s);
    CHECK(gone);
    co_await sleep_for(200ms);
    co_await publisher.co_publish("scoped/1", "after", qos::at_least_once);
    const auto after = co_await receive_within(subscriber, 300ms);
    CHECK_FALSE(after);
    CHECK(subscriber.statistics().messages_delivered == 1);

    // A moved-from object holds no stream; the moved-to one works.
    auto first = co_await subscriber.co_subscribe_stream("moved/#", qos::at_least_once);
    subscription_stream second = std::move(first);
    CHECK_FALSE(first.valid());
    CHECK(second.valid());
    auto [moved_error, moved_message] = co_await first.async_receive(asio::as_tuple(asio::use_awaitable));
    CHECK(moved_error == error::invalid_argument);
    (void)moved_message;
    co_await publisher.co_publish("moved/1", "moved", qos::at_least_once);
    const auto moved = co_await second.co_receive();
    CHECK(moved.payload == "moved");
  });
}

TEST_CASE("streams: the callback form delivers one message at a time, then tells the end",
          "[integration][streams][callbacks]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client subscriber{io, options_for(broker, protocol_version::v5, "callbacks")};
    client publisher{io, options_for(broker, protocol_version::v5, "callbacks-pub")};
    co_await subscriber.co_connect();
    co_await publisher.co_connect();
    auto stream = co_await subscriber.co_subscribe_stream("cb/#", qos::exactly_once);
    std::vector<std::string> got;
    std::optional<error_code> ended;
    stream.consume([&](message m) { got.push_back(std::move(m.payload)); }, [&](error_code ec) { ended = ec; });
    for (int i = 0; i < 10; ++i) co_await publisher.co_publish("cb/x", std::to_string(i), qos::exactly_once);
    const bool all = co_await eventually([&] { return got.size() == 10; });
    CHECK(all);
    CHECK(got.front() == "0");
    CHECK(got.back() == "9");
    co_await stream.co_unsubscribe();
    const bool told = co_await eventually([&] { return ended.has_value(); });
    REQUIRE(told);
    CHECK(*ended == error::stream_closed);
  });
}

TEST_CASE("streams: a lost session is restored with the same identifiers and the stream keeps receiving",
          "[integration][streams][resume]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto o = options_for(broker, protocol_version::v5, "restored");  // session expiry 0: every connection new
    client subscriber{io, o};
    client publisher{io, options_for(broker, protocol_version::v5, "restored-pub")};
    co_await subscriber.co_connect();
    co_await publisher.co_connect();
    auto a = co_await subscriber.co_subscribe_stream("ra/#", qos::at_least_once);
    auto b = co_await subscriber.co_subscribe_stream("rb/#", qos::at_least_once);
    subscriber.reconnect();  // a new connection: the broker has no session
    const bool again = co_await eventually([&] { return subscriber.statistics().resubscribed == 2; });
    REQUIRE(again);
    co_await sleep_for(200ms);
    co_await publisher.co_publish("ra/1", "to a", qos::at_least_once);
    co_await publisher.co_publish("rb/1", "to b", qos::at_least_once);
    const auto got_a = co_await a.co_receive();
    const auto got_b = co_await b.co_receive();
    CHECK(got_a.payload == "to a");
    CHECK(got_b.payload == "to b");
    CHECK(got_a.properties.subscription_identifiers.size() == 1);
    CHECK(got_a.properties.subscription_identifiers != got_b.properties.subscription_identifiers);
  });
}

TEST_CASE("streams: the client chooses the Subscription Identifier; one given is refused, nothing is sent",
          "[integration][streams]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client subscriber{io, options_for(broker, protocol_version::v5, "own-id")};
    co_await subscriber.co_connect();
    std::vector<subscription> filters{{"own/#", {qos::at_least_once}}};
    subscribe_properties with_id;
    with_id.subscription_identifier = 7;
    stream_options defaults;
    auto [ec, stream] = co_await subscriber.async_subscribe_stream(std::move(filters), with_id, defaults,
                                                                   asio::as_tuple(asio::use_awaitable));
    CHECK(ec == error::invalid_argument);
    CHECK_FALSE(stream.valid());
    const auto before = broker.log().size();
    co_await sleep_for(100ms);
    CHECK(broker.log().find("Received SUBSCRIBE", before) == std::string::npos);
  });
}

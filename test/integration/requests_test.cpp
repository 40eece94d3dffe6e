// Request/response, manual acknowledgement and least-recently-used topic aliases against a real mosquitto.
#include "client_test_support.hpp"

#include "client/request_tracker.hpp"

#include <coromqtt/protocol/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>

#include <set>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

// A responder: answers every request on `filter` with "re:" + its payload, until it is destroyed.
// Answers until its receive fails or `stop` is emitted (before the test's clients go: a coroutine left waiting
// in a client that is destroyed after the io_context stopped is not freed; see the stop's closing note).
asio::awaitable<void> respond(client& responder, asio::cancellation_slot stop) {
  for (;;) {
    auto [ec, request] =
        co_await responder.async_receive(asio::bind_cancellation_slot(stop, asio::as_tuple(asio::use_awaitable)));
    if (ec) co_return;
    auto reply = make_response(request, "re:" + request.payload);
    if (!reply) continue;
    auto [publish_error, result] = co_await responder.async_publish(std::move(*reply), asio::as_tuple(asio::use_awaitable));
    (void)result;
    if (publish_error) co_return;
  }
}

}  // namespace

TEST_CASE("the response topic: configured, else from Response Information, else unique to the client",
          "[requests]") {
  CHECK(detail::choose_response_topic("mine/replies", "broker/a", 1) == "mine/replies");
  CHECK(detail::choose_response_topic("", "broker/client-7", 1) == "broker/client-7/responses");
  CHECK(detail::choose_response_topic("", "broker/client-7/", 1) == "broker/client-7/responses");
  CHECK(detail::choose_response_topic("", "", 0xabc) == "coromqtt/responses/0000000000000abc");
}

TEST_CASE("make_response copies the correlation data and answers on the response topic [MQTT-4.10]",
          "[requests]") {
  message request{"svc/x", "q", qos::at_least_once, false, {}};
  CHECK_FALSE(make_response(request, "a"));  // no Response Topic: nobody waits
  request.properties.response_topic = "reply/here";
  request.properties.correlation_data = std::string("\0\1\2", 3);
  const auto reply = make_response(request, "a");
  REQUIRE(reply);
  CHECK(reply->topic == "reply/here");
  CHECK(reply->payload == "a");
  CHECK(reply->qos == qos::at_least_once);
  CHECK(reply->properties.correlation_data == request.properties.correlation_data);
  CHECK_FALSE(reply->properties.response_topic);
}

TEST_CASE("request/response between two clients: many requests in flight, each gets its own response "
          "[MQTT-3.3.2-15] [MQTT-3.3.2-16]",
          "[integration][requests]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client responder{io, options_for(broker, protocol_version::v5, "responder")};
    client requester{io, options_for(broker, protocol_version::v5, "requester")};
    co_await responder.co_connect();
    co_await requester.co_connect();
    co_await responder.co_subscribe("svc/echo", qos::at_least_once);
    asio::cancellation_signal stop_responding;
    asio::co_spawn(io, respond(responder, stop_responding.slot()), asio::detached);

    const auto single = co_await requester.co_request("svc/echo", "ping", 5s);
    CHECK(single.payload == "re:ping");
    CHECK(single.topic.rfind("coromqtt/responses/", 0) == 0);

    // 50 at once, with callbacks: every response matches its request.
    std::map<std::string, std::string> answers;
    int completed = 0;
    for (int i = 0; i < 50; ++i) {
      message m{"svc/echo", std::to_string(i), qos::at_least_once, false, {}};
      requester.async_request(std::move(m), 5s, [&, i](error_code ec, message response) {
        ++completed;
        if (!ec) answers[std::to_string(i)] = response.payload;
      });
    }
    const bool all = co_await eventually([&] { return completed == 50; });
    REQUIRE(all);
    REQUIRE(answers.size() == 50);
    for (const auto& [request, response] : answers) CHECK(response == "re:" + request);
    // The response topic was subscribed once, and responses never reached co_receive().
    const auto stray = co_await receive_within(requester, 200ms);
    CHECK_FALSE(stray);
    co_await responder.co_disconnect();
    stop_responding.emit(asio::cancellation_type::terminal);
    co_await sleep_for(50ms);  // the receive completes (operation_aborted) and respond() ends
  });
}

TEST_CASE("request/response: a configured response topic; timeout; cancellation; a wildcard response topic and MQTT 3.1.1 "
          "refused",
          "[integration][requests]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto o = options_for(broker, protocol_version::v5, "configured");
    o.response_topic = "replies/configured";
    client requester{io, o};
    client responder{io, options_for(broker, protocol_version::v5, "configured-responder")};
    co_await requester.co_connect();
    co_await responder.co_connect();
    co_await responder.co_subscribe("svc/#", qos::at_least_once);
    asio::cancellation_signal stop_responding;
    asio::co_spawn(io, respond(responder, stop_responding.slot()), asio::detached);
    const auto answer = co_await requester.co_request("svc/a", "x", 5s);
    CHECK(answer.topic == "replies/configured");

    // Nobody answers "void/x": the request times out.
    const auto before = std::chrono::steady_clock::now();
    message unanswered{"void/x", "?", qos::at_most_once, false, {}};
    auto [timeout_error, none] = co_await requester.async_request(unanswered, 300ms, asio::as_tuple(asio::use_awaitable));
    CHECK(timeout_error == error::request_timeout);
    CHECK(std::chrono::steady_clock::now() - before >= 300ms);
    (void)none;

    // Cancelled through its slot.
    asio::cancellation_signal signal;
    std::optional<error_code> cancelled;
    requester.async_request(unanswered, 10s, asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, message) {
                              cancelled = ec;
                            }));
    co_await sleep_for(50ms);
    signal.emit(asio::cancellation_type::terminal);
    const bool done = co_await eventually([&] { return cancelled.has_value(); }, 2s);
    REQUIRE(done);
    CHECK(*cancelled == asio::error::operation_aborted);

    auto wild = options_for(broker, protocol_version::v5, "wildcard-response");
    wild.response_topic = "replies/#";  // a filter, not a topic name
    client wrong{io, wild};
    co_await wrong.co_connect();
    auto [wild_error, wild_none] = co_await wrong.async_request(unanswered, 1s, asio::as_tuple(asio::use_awaitable));
    CHECK(wild_error == protocol::error::invalid_topic_name);  // [MQTT-3.3.2-14]
    (void)wild_none;

    client old{io, options_for(broker, protocol_version::v3_1_1, "old")};
    co_await old.co_connect();
    auto [v3_error, v3_none] = co_await old.async_request(unanswered, 1s, asio::as_tuple(asio::use_awaitable));
    CHECK(v3_error == error::mqtt5_required);
    (void)v3_none;
    co_await responder.co_disconnect();
    stop_responding.emit(asio::cancellation_type::terminal);
    co_await sleep_for(50ms);  // the receive completes (operation_aborted) and respond() ends
  });
}

TEST_CASE("manual acknowledgement: a slow consumer throttles the broker to our Receive Maximum, in order",
          "[integration][manual-ack]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto o = options_for(broker, protocol_version::v5, "slow-consumer");
    o.manual_acknowledgement = true;
    o.receive_maximum = 5;
    client consumer{io, o};
    client producer{io, options_for(broker, protocol_version::v5, "fast-producer")};
    co_await consumer.co_connect();
    co_await producer.co_connect();
    co_await consumer.co_subscribe("work/#", qos::at_least_once);
    for (int i = 0; i < 40; ++i) {
      // QoS 1 only: mosquitto 2.0.11 sends more than our Receive Maximum once messages queue up for us (after
      // each PUBACK it sends up to the maximum again); the client then stops reading until the application
      // acknowledges, but for QoS 2 the excess is a protocol violation (0x93), which ends the connection.
      message m{"work/" + std::to_string(i % 2), std::to_string(i), qos::at_least_once, false, {}};
      asio::co_spawn(io, producer.co_publish(std::move(m)), asio::detached);
    }
    std::vector<message> held;
    int received = 0;
    int next_of_topic[2] = {0, 1};  // per topic (and QoS) the order is kept [MQTT-4.6.0-5]
    std::size_t most_unacknowledged = 0;
    while (received < 40) {
      auto m = co_await receive_within(consumer, 3s);
      REQUIRE(m);
      const int topic = m->topic == "work/1" ? 1 : 0;
      CHECK(m->payload == std::to_string(next_of_topic[topic]));
      next_of_topic[topic] += 2;
      CHECK(m->acknowledgement_id != 0);
      ++received;
      held.push_back(std::move(*m));
      most_unacknowledged = std::max(most_unacknowledged, held.size());
      // Acknowledge in batches of three, the newest first: they still leave in arrival order.
      if (held.size() == 3 || received == 40) {
        co_await sleep_for(20ms);  // the slow part
        for (auto it = held.rbegin(); it != held.rend(); ++it) CHECK_FALSE(consumer.acknowledge(*it));
        held.clear();
      }
    }
    CHECK(most_unacknowledged <= 5);  // never more than our Receive Maximum ahead of the application
    const bool settled = co_await eventually([&] { return producer.statistics().publishes_acked == 40; });
    CHECK(settled);
    message m{"t", "x", qos::at_least_once, false, {}};
    CHECK(consumer.acknowledge(m, reason_code::success) == error_code{});             // 0: nothing to do
    CHECK(consumer.acknowledge(m, reason_code::keep_alive_timeout) == error::invalid_argument);  // not a PUBACK code
    CHECK(producer.acknowledge(m) == error::invalid_argument);  // no manual acknowledgement there
  });
}

TEST_CASE("manual acknowledgement: what was not acknowledged before the connection dropped comes again with DUP",
          "[integration][manual-ack][resume]") {
  mosquitto broker;
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    DYNAMIC_SECTION((version == protocol_version::v5 ? "v5" : "v311")) {
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto o = options_for(broker, version, "redelivered");
        o.manual_acknowledgement = true;
        o.clean_start = true;
        if (version == protocol_version::v5) o.session_expiry_interval = 600;
        else o.clean_start = false;
        client consumer{io, o};
        client producer{io, options_for(broker, version, "redelivery-producer")};
        co_await consumer.co_connect();
        co_await producer.co_connect();
        co_await consumer.co_subscribe("redo/#", qos::exactly_once);
        co_await producer.co_publish("redo/1", "one", qos::at_least_once);
        co_await producer.co_publish("redo/2", "two", qos::exactly_once);
        const auto one = co_await consumer.co_receive();
        const auto two = co_await consumer.co_receive();
        CHECK_FALSE(one.dup);
        CHECK(consumer.acknowledge(one) == error_code{});  // only the first
        co_await sleep_for(100ms);
        consumer.reconnect();  // the connection drops before "two" is acknowledged
        const auto again = co_await consumer.co_receive();
        CHECK(again.payload == "two");
        CHECK(again.dup);  // the application can tell [MQTT-3.3.1-1]
        CHECK(consumer.acknowledge(two) == error_code{});  // the old connection's: ignored
        CHECK(consumer.acknowledge(again) == error_code{});
        const auto nothing_more = co_await receive_within(consumer, 500ms);
        CHECK_FALSE(nothing_more);  // "one" was acknowledged: not sent again
        co_await consumer.co_disconnect();
      });
    }
  }
}

TEST_CASE("topic aliases, least recently used, with more topics than the broker allows aliases",
          "[integration][alias]") {
  mosquitto broker;  // mosquitto's Topic Alias Maximum: 10
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client subscriber{io, options_for(broker, protocol_version::v5, "alias-sub")};
    auto aliasing = options_for(broker, protocol_version::v5, "alias-pub");
    aliasing.auto_topic_alias = true;
    client with_aliases{io, aliasing};
    client without{io, options_for(broker, protocol_version::v5, "plain-pub")};
    co_await subscriber.co_connect();
    const auto info = co_await with_aliases.co_connect();
    CHECK(info.topic_alias_maximum == 10);
    co_await without.co_connect();
    co_await subscriber.co_subscribe("fleet/#", qos::at_least_once);
    // 30 topics in phases of 6 hot ones: aliases must be reassigned, and the broker must resolve each right.
    std::vector<std::string> sequence;
    for (int phase = 0; phase < 5; ++phase)
      for (int round = 0; round < 8; ++round)
        for (int t = 0; t < 6; ++t) sequence.push_back("fleet/vehicle-" + std::to_string(phase * 6 + t) + "/position");
    std::uint64_t bytes[2] = {};
    client* publishers[2] = {&with_aliases, &without};
    for (int p = 0; p < 2; ++p) {
      const auto before = publishers[p]->statistics().bytes_sent;
      for (std::size_t i = 0; i < sequence.size(); ++i)
        co_await publishers[p]->co_publish(sequence[i], std::to_string(i), qos::at_least_once);
      bytes[p] = publishers[p]->statistics().bytes_sent - before;
      for (std::size_t i = 0; i < sequence.size(); ++i) {
        const auto m = co_await subscriber.co_receive();
        CHECK(m.topic == sequence[i]);  // the broker resolved every alias to the right topic
        CHECK(m.payload == std::to_string(i));
      }
    }
    INFO("bytes with LRU aliases: " << bytes[0] << ", without: " << bytes[1]);
    CHECK(bytes[0] * 10 < bytes[1] * 7);  // the topic (~27 bytes) of most of the 240 messages is saved
  });
}

// MQTT 5 application features under faults, against a real mosquitto behind the fault proxy: manual
// acknowledgement with the connection cut between receiving and acknowledging, and message expiry across a
// 3 s outage of the publisher.
#include "fault_support.hpp"

#include <set>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

client_options quick_options(const mosquitto& broker, protocol_version version, std::string id, std::string url) {
  auto o = options_for(broker, version, std::move(id));
  o.brokers = {std::move(url)};
  o.reconnect.initial_delay = 20ms;
  o.reconnect.maximum_delay = 100ms;
  return o;
}

}  // namespace

TEST_CASE("Manual acknowledgement, connection cut between receive and acknowledge: the unacknowledged messages "
          "come again with DUP set, the acknowledged ones do not (v5 and 3.1.1, [MQTT-3.3.1-1], [MQTT-4.4.0-1])",
          "[fault][manual-ack-cut]") {
  mosquitto broker;
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    DYNAMIC_SECTION(name_of(version)) {
      fault::proxy link{"127.0.0.1", broker.port(listener::tcp)};
      const std::string tag = "ackcut-" + name_of(version);
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            auto o = quick_options(broker, version, "sub-" + tag, url_of(link));
            make_session_persistent(o);
            o.manual_acknowledgement = true;
            client consumer{io, o};
            client producer{io, quick_options(broker, version, "pub-" + tag, broker.url(listener::tcp))};
            co_await consumer.co_connect();
            co_await producer.co_connect();
            std::vector<subscription> filters{{tag + "/q1", {qos::at_least_once}}, {tag + "/q2", {qos::exactly_once}}};
            co_await consumer.co_subscribe(std::move(filters));
            constexpr std::uint32_t per_topic = 10;
            for (std::uint32_t i = 0; i < per_topic; ++i) {
              co_await producer.co_publish(make_message(tag + "/q1", numbered_payload(i), qos::at_least_once));
              co_await producer.co_publish(make_message(tag + "/q2", numbered_payload(i), qos::exactly_once));
            }
            // Receive everything, acknowledge the first half of each topic only, and let those acks reach the
            // broker.
            std::set<std::string> acknowledged, held;
            for (std::uint32_t i = 0; i < 2 * per_topic; ++i) {
              auto m = co_await receive_within(consumer, 5s);
              REQUIRE(m);
              CHECK_FALSE(m->dup);
              const auto key = m->topic + "#" + std::to_string(sequence_of(m->payload));
              if (sequence_of(m->payload) < per_topic / 2) {
                CHECK_FALSE(consumer.acknowledge(*m));
                acknowledged.insert(key);
              } else {
                held.insert(key);
              }
            }
            const bool settled = co_await eventually([&] { return consumer.statistics().write_buffer_bytes == 0; });
            REQUIRE(settled);
            co_await sleep_for(200ms);

            link.cut_all(fault::close_style::reset);  // before the rest is acknowledged
            const bool back = co_await eventually([&] { return consumer.statistics().connects >= 2; }, 5s);
            REQUIRE(back);

            // The broker sends the unacknowledged ones again, DUP set; they are acknowledged now.
            std::set<std::string> redelivered;
            while (redelivered.size() < held.size()) {
              auto m = co_await receive_within(consumer, 5s);
              REQUIRE(m);
              const auto key = m->topic + "#" + std::to_string(sequence_of(m->payload));
              CHECK(m->dup);
              CHECK(held.count(key) == 1);  // never one acknowledged before the cut
              redelivered.insert(key);
              CHECK_FALSE(consumer.acknowledge(*m));
            }
            CHECK(redelivered == held);
            const auto more = co_await receive_within(consumer, 500ms);
            CHECK_FALSE(more);
            co_await consumer.co_disconnect();
          },
          40s);
    }
  }
}

TEST_CASE("Message expiry across a 3 s outage: a queued message is sent with its expiry less the wait, one that "
          "expired is dropped, counted and reported ([MQTT-3.3.2-6] for the client's queue)",
          "[fault][expiry-outage]") {
  mosquitto broker;
  fault::proxy link{"127.0.0.1", broker.port(listener::tcp)};
  run_async(
      [&](asio::io_context& io) -> asio::awaitable<void> {
        client publisher{io, quick_options(broker, protocol_version::v5, "expiring-pub", url_of(link))};
        client subscriber{io, quick_options(broker, protocol_version::v5, "expiring-sub", broker.url(listener::tcp))};
        event_log events{publisher};
        asio::co_spawn(io, events.run(), asio::detached);
        co_await publisher.co_connect();
        co_await subscriber.co_connect();
        co_await subscriber.co_subscribe("expiry/#", qos::at_least_once);

        link.refuse(true, fault::refusal::not_listening);
        link.cut_all(fault::close_style::reset);
        const bool down = co_await eventually([&] { return !publisher.statistics().connected; }, 5s);
        REQUIRE(down);
        std::optional<error_code> short_lived_result, long_lived_result, unlimited_result;
        auto short_lived = make_message("expiry/short", "1 s", qos::at_least_once);
        short_lived.properties.message_expiry_interval = 1;
        auto long_lived = make_message("expiry/long", "30 s", qos::at_least_once);
        long_lived.properties.message_expiry_interval = 30;
        publisher.async_publish(short_lived, [&](error_code ec, publish_result) { short_lived_result = ec; });
        publisher.async_publish(long_lived, [&](error_code ec, publish_result) { long_lived_result = ec; });
        publisher.async_publish(make_message("expiry/none", "no expiry", qos::at_least_once),
                                [&](error_code ec, publish_result) { unlimited_result = ec; });
        co_await sleep_for(3s);  // the outage
        link.refuse(false);

        const bool all_done = co_await eventually(
            [&] { return short_lived_result && long_lived_result && unlimited_result; }, 10s);
        REQUIRE(all_done);
        CHECK(*short_lived_result == error::message_expired);
        CHECK_FALSE(*long_lived_result);
        CHECK_FALSE(*unlimited_result);
        CHECK(publisher.statistics().messages_expired == 1);

        std::map<std::string, message> received;
        for (int i = 0; i < 2; ++i) {
          auto m = co_await receive_within(subscriber, 5s);
          REQUIRE(m);
          received[m->topic] = std::move(*m);
        }
        const auto nothing = co_await receive_within(subscriber, 300ms);
        CHECK_FALSE(nothing);  // the expired one never reached the broker
        REQUIRE(received.count("expiry/long"));
        REQUIRE(received.count("expiry/none"));
        // 30 s less at least the 3 s it waited (the broker takes off its own, sub-second, wait too).
        const auto left = received["expiry/long"].properties.message_expiry_interval;
        REQUIRE(left);
        CHECK(*left <= 27u);
        CHECK(*left >= 24u);
        CHECK_FALSE(received["expiry/none"].properties.message_expiry_interval);

        const auto expired = events.of_kind(event_kind::messages_expired);
        REQUIRE(expired.size() == 1);
        CHECK(expired[0].event.messages == 1);
        CHECK(expired[0].event.topic == "expiry/short");
        co_await events.stop();
      },
      30s);
}

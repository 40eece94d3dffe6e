// Message expiry of outgoing messages (MQTT 5): a message that waited in the offline queue is sent with its
// Message Expiry Interval less the time it waited, and dropped if it expired first.
#include "session_harness.hpp"

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

void publish_expiring(harness& h, recorded_publish& op, std::string payload, qos q, std::uint32_t expiry) {
  op.message.topic = "t";
  op.message.payload = std::move(payload);
  op.message.qos = q;
  op.message.properties.message_expiry_interval = expiry;
  h.session->publish(op, h.now);
}

}  // namespace

TEST_CASE("a message that waited offline is sent with its expiry less the wait [MQTT-3.3.2-6]",
          "[session][expiry]") {
  harness h;
  recorded_publish op;
  publish_expiring(h, op, "a", qos::at_least_once, 10);
  h.advance(3200ms);
  h.connect();
  const auto w = h.take_one();
  // 10 s less 3.2 s waited: 6.8 s, rounded up to whole seconds.
  CHECK(w.as<proto::publish>().properties.message_expiry_interval == 7u);
  CHECK(h.stats.messages_expired.get() == 0);
}

TEST_CASE("a message whose expiry passed in the offline queue is dropped, its publisher told, the drop counted",
          "[session][expiry]") {
  client_options o;
  o.inflight_window = 1;
  harness h{o};
  recorded_publish stale, fresh, plain;
  publish_expiring(h, stale, "stale", qos::at_least_once, 2);
  publish_expiring(h, fresh, "fresh", qos::at_least_once, 60);  // waits for the window slot held by `stale`
  h.publish(plain, "t", qos::at_most_once, "plain");                // QoS 0: completes once queued
  CHECK(h.stats.window_in_use.get() == 1);
  h.advance(3s);
  h.connect();
  REQUIRE(stale.done());
  CHECK(*stale.error == error::message_expired);
  CHECK(h.stats.messages_expired.get() == 1);
  std::string topic;
  CHECK(h.session->take_expired(topic) == 1);
  CHECK(topic == "t");
  CHECK(h.session->take_expired(topic) == 0);  // reported once
  // The expired message gave its window slot to the next one, which was sent with 57 s left.
  auto written = h.take_written();
  REQUIRE(written.size() == 2);
  CHECK(payload_of(written[0].as<proto::publish>()) == "fresh");
  CHECK(written[0].as<proto::publish>().properties.message_expiry_interval == 57u);
  CHECK(payload_of(written[1].as<proto::publish>()) == "plain");
  CHECK_FALSE(written[1].as<proto::publish>().properties.message_expiry_interval);
  CHECK(h.stats.queued_messages.get() == 0);
}

TEST_CASE("an expired QoS 0 message in the offline queue is dropped and counted", "[session][expiry]") {
  harness h;
  recorded_publish op;
  publish_expiring(h, op, "zero", qos::at_most_once, 1);
  REQUIRE(op.done());  // QoS 0 completes once queued
  CHECK_FALSE(*op.error);
  h.advance(1s);  // exactly the interval: expired
  h.connect();
  CHECK(h.take_written().empty());
  CHECK(h.stats.messages_expired.get() == 1);
}

TEST_CASE("a retransmission counts its expiry down from the first hand-over and is never dropped",
          "[session][expiry][resume]") {
  client_options o;
  o.session_expiry_interval = 3600;
  harness h{o};
  h.connect();
  recorded_publish a, b;
  publish_expiring(h, a, "a", qos::at_least_once, 10);
  publish_expiring(h, b, "b", qos::exactly_once, 2);
  auto first = h.take_written();
  REQUIRE(first.size() == 2);
  CHECK(first[0].as<proto::publish>().properties.message_expiry_interval == 10u);  // sent at once: as given
  h.session->end_connection(h.now);
  h.advance(4s);
  proto::connack resumed;
  resumed.session_present = true;
  h.connect(resumed);
  auto again = h.take_written();
  REQUIRE(again.size() == 2);
  CHECK(again[0].as<proto::publish>().dup);
  CHECK(again[0].as<proto::publish>().properties.message_expiry_interval == 6u);
  // Past its expiry, but the broker may hold its QoS 2 state: sent again with the least it can carry.
  CHECK(again[1].as<proto::publish>().dup);
  CHECK(again[1].as<proto::publish>().properties.message_expiry_interval == 1u);
  CHECK(h.stats.messages_expired.get() == 0);
}

TEST_CASE("without an expiry, or on MQTT 3.1.1, waiting changes nothing", "[session][expiry]") {
  SECTION("no Message Expiry Interval") {
    harness h;
    recorded_publish op;
    h.publish(op, "t", qos::at_least_once, "x");
    h.advance(1h);
    h.connect();
    CHECK_FALSE(h.take_one().as<proto::publish>().properties.message_expiry_interval);
  }
  SECTION("MQTT 3.1.1 has no expiry: the message is sent however long it waited") {
    client_options o;
    o.version = protocol_version::v3_1_1;
    o.client_id = "c";
    harness h{o};
    recorded_publish op;
    publish_expiring(h, op, "x", qos::at_least_once, 1);
    h.advance(1h);
    h.connect();
    CHECK(h.take_one().type() == proto::packet_type::publish);
    CHECK(h.stats.messages_expired.get() == 0);
  }
}

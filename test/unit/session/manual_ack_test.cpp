// Manual acknowledgement: PUBACK / PUBREC only when the application says so, in arrival order, counted against
// our Receive Maximum; and the DUP flag of a redelivery visible on the message.
#include "session_harness.hpp"

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

client_options manual(std::uint16_t receive_maximum = 1000, protocol_version version = protocol_version::v5) {
  client_options o;
  o.version = version;
  if (version == protocol_version::v3_1_1) o.client_id.assign(1, 'c');  // not = "c": GCC 12 -Wrestrict false positive
  o.manual_acknowledgement = true;
  o.receive_maximum = receive_maximum;
  o.session_expiry_interval = 3600;
  return o;
}

// The packet identifiers of the acknowledgements written, in order ("PUBACK 3" -> 3).
std::vector<std::uint16_t> acknowledged(harness& h) {
  std::vector<std::uint16_t> ids;
  for (const auto& w : h.take_written()) {
    if (w.type() == proto::packet_type::puback) ids.push_back(w.as<proto::puback>().packet_id);
    if (w.type() == proto::packet_type::pubrec) ids.push_back(w.as<proto::pubrec>().packet_id);
  }
  return ids;
}

}  // namespace

TEST_CASE("manual acknowledgement: nothing is acknowledged until the application says so", "[session][manual-ack]") {
  harness h{manual()};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 5, "one")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 6, "two")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_most_once, 0, "three")));
  CHECK(h.take_written().empty());
  const auto one = h.session->pop_message();
  const auto two = h.session->pop_message();
  const auto three = h.session->pop_message();
  CHECK(one.acknowledgement_id != 0);
  CHECK(two.acknowledgement_id == one.acknowledgement_id + 1);
  CHECK(three.acknowledgement_id == 0);  // QoS 0: nothing to acknowledge
  CHECK(h.session->unacknowledged() == 2);
  h.session->acknowledge(one.acknowledgement_id, reason_code::success);
  auto w = h.take_one();
  CHECK(w.bytes == std::vector<std::uint8_t>{0x40, 0x02, 0x00, 0x05});  // PUBACK 5, the short form
  h.session->acknowledge(two.acknowledgement_id, reason_code::success);
  w = h.take_one();
  CHECK(w.bytes == std::vector<std::uint8_t>{0x50, 0x02, 0x00, 0x06});  // PUBREC 6
  CHECK(h.session->unacknowledged() == 0);
  // The QoS 2 flow then completes as usual.
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrel>(6)));
  CHECK(h.take_one().as<proto::pubcomp>().reason == reason_code::success);
}

TEST_CASE("manual acknowledgement: acknowledgements go out in arrival order [MQTT-4.6.0-2] [MQTT-4.6.0-3]",
          "[session][manual-ack]") {
  harness h{manual()};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 1, "a")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 2, "b")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 3, "c")));
  const auto a = h.session->pop_message();
  const auto b = h.session->pop_message();
  const auto c = h.session->pop_message();
  h.session->acknowledge(c.acknowledgement_id, reason_code::success);
  h.session->acknowledge(b.acknowledgement_id, reason_code::success);
  CHECK(acknowledged(h).empty());  // both wait for the first
  h.session->acknowledge(b.acknowledgement_id, reason_code::success);  // twice: ignored
  h.session->acknowledge(a.acknowledgement_id, reason_code::success);
  CHECK(acknowledged(h) == std::vector<std::uint16_t>{1, 2, 3});
  CHECK(h.session->unacknowledged() == 0);
}

TEST_CASE("manual acknowledgement: the application's reason code goes into PUBACK / PUBREC (MQTT 5)",
          "[session][manual-ack]") {
  harness h{manual()};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 1, "a")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 2, "b")));
  const auto a = h.session->pop_message();
  const auto b = h.session->pop_message();
  h.session->acknowledge(a.acknowledgement_id, reason_code::implementation_specific_error);
  h.session->acknowledge(b.acknowledgement_id, reason_code::not_authorized);
  const auto written = h.take_written();
  REQUIRE(written.size() == 2);
  CHECK(written[0].as<proto::puback>().reason == reason_code::implementation_specific_error);
  CHECK(written[1].as<proto::pubrec>().reason == reason_code::not_authorized);
  // A refused QoS 2 message is not in the PUBREC-sent state: the same identifier is a new message
  // [MQTT-4.3.3].
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 2, "b again")));
  CHECK(h.session->has_message());
}

TEST_CASE("manual acknowledgement: held messages count against our Receive Maximum; a broker that sends more "
          "waits [MQTT-3.3.4-9]",
          "[session][manual-ack]") {
  harness h{manual(2)};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 1, "a")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 2, "b")));
  CHECK(h.session->unacknowledged() == 2);
  SECTION("a third while two are held is not taken until one is acknowledged") {
    REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 3, "c")));
    CHECK(h.session->input_blocked());
    CHECK(h.session->message_count() == 2);
    const auto first = h.session->pop_message();
    // The receive queue has room, but what blocks the input is the held acknowledgements.
    CHECK_FALSE(h.session->input_resumable());
    h.session->acknowledge(first.acknowledgement_id, reason_code::success);
    CHECK(h.session->input_resumable());
    REQUIRE_FALSE(h.session->resume_input(h.now));
    CHECK_FALSE(h.session->input_blocked());
    CHECK(h.session->message_count() == 2);
  }
  SECTION("QoS 0 does not count") {
    CHECK_FALSE(h.feed(incoming_publish("t", qos::at_most_once, 0, "c")));
    CHECK_FALSE(h.session->input_blocked());
  }
  SECTION("QoS 2 receipts waiting for PUBREL do not block what follows") {
    for (int i = 0; i < 2; ++i) h.session->acknowledge(h.session->pop_message().acknowledgement_id, reason_code::success);
    h.take_written();  // PUBACK 1, PUBREC 2: 2 awaits PUBREL
    REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 3, "c")));
    REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 4, "d")));
    CHECK_FALSE(h.session->input_blocked());
  }
}

TEST_CASE("manual acknowledgement: a QoS 2 duplicate is answered in its turn, never before held ones",
          "[session][manual-ack]") {
  harness h{manual()};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 7, "x")));
  h.session->acknowledge(h.session->pop_message().acknowledgement_id, reason_code::success);
  CHECK(acknowledged(h) == std::vector<std::uint16_t>{7});  // PUBREC 7: now in the PUBREC-sent state
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 8, "held")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 7, "x", true)));  // duplicate of 7
  CHECK(h.session->message_count() == 1);  // not delivered again
  CHECK(acknowledged(h).empty());          // its PUBREC waits behind PUBACK 8
  h.session->acknowledge(h.session->pop_message().acknowledgement_id, reason_code::success);
  CHECK(acknowledged(h) == std::vector<std::uint16_t>{8, 7});
}

TEST_CASE("manual acknowledgement: unacknowledged when the connection drops, redelivered with DUP, the old "
          "acknowledgement ignored [MQTT-3.3.1-1]",
          "[session][manual-ack][resume]") {
  harness h{manual()};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 4, "q1")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 5, "q2")));
  const auto first_q1 = h.session->pop_message();
  const auto first_q2 = h.session->pop_message();
  CHECK_FALSE(first_q1.dup);
  h.session->end_connection(h.now);
  proto::connack resumed;
  resumed.session_present = true;
  h.connect(resumed);
  h.session->acknowledge(first_q1.acknowledgement_id, reason_code::success);  // of the old connection
  CHECK(h.take_written().empty());
  // The broker sends both again, DUP set; the QoS 2 one was never PUBREC'd, so it is delivered again.
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 4, "q1", true)));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 5, "q2", true)));
  REQUIRE(h.session->message_count() == 2);
  const auto again_q1 = h.session->pop_message();
  const auto again_q2 = h.session->pop_message();
  CHECK(again_q1.dup);
  CHECK(again_q2.dup);
  CHECK(again_q1.payload == "q1");
  CHECK(again_q1.acknowledgement_id > first_q2.acknowledgement_id);  // ids are never reused
  h.session->acknowledge(again_q1.acknowledgement_id, reason_code::success);
  h.session->acknowledge(again_q2.acknowledgement_id, reason_code::success);
  CHECK(acknowledged(h) == std::vector<std::uint16_t>{4, 5});
}

TEST_CASE("automatic acknowledgement: the DUP flag is visible too, and no acknowledgement id is given",
          "[session][receive]") {
  harness h;
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 4, "q1", true)));
  const auto m = h.session->pop_message();
  CHECK(m.dup);
  CHECK(m.acknowledgement_id == 0);
  CHECK(h.take_one().as<proto::puback>().packet_id == 4);
}

TEST_CASE("manual acknowledgement on MQTT 3.1.1: held and in order, without reason codes", "[session][manual-ack]") {
  harness h{manual(1000, protocol_version::v3_1_1)};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 1, "a")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 2, "b")));
  const auto a = h.session->pop_message();
  const auto b = h.session->pop_message();
  h.session->acknowledge(b.acknowledgement_id, reason_code::success);
  CHECK(acknowledged(h).empty());
  h.session->acknowledge(a.acknowledgement_id, reason_code::unspecified_error);  // 3.1.1 cannot refuse
  const auto written = h.take_written();
  REQUIRE(written.size() == 2);
  CHECK(written[0].bytes == std::vector<std::uint8_t>{0x40, 0x02, 0x00, 0x01});
  CHECK(written[1].bytes == std::vector<std::uint8_t>{0x40, 0x02, 0x00, 0x02});
}

// The session, driven by hand: exact packets in and out, a fake clock, no sockets.
#include "session_harness.hpp"

#include <coromqtt/protocol/error.hpp>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <random>
#include <set>

using namespace coromqtt;
using namespace coromqtt::test;

TEST_CASE("CONNECT carries the options [MQTT-3.1.2]", "[session][connect]") {
  client_options o;
  o.client_id = "sensor-7";
  o.keep_alive = 30s;
  o.session_expiry_interval = 600;
  o.receive_maximum = 50;
  o.maximum_packet_size = 4096;
  o.topic_alias_maximum = 10;
  o.will = will_message{"status/sensor-7", "offline", qos::at_least_once, true, {}, 5};
  harness h{o};
  h.session->begin_connection({"user", "secret", std::nullopt, std::nullopt}, h.now);
  const auto w = h.take_one();
  const auto& c = w.as<proto::connect>();
  CHECK(c.version == protocol_version::v5);
  CHECK(c.clean_start);
  CHECK(c.keep_alive == 30);
  CHECK(c.client_id == "sensor-7");
  CHECK(c.username == std::optional<std::string_view>{"user"});
  REQUIRE(c.password);
  CHECK(std::string(c.password->begin(), c.password->end()) == "secret");
  CHECK(c.properties.session_expiry_interval == 600u);
  CHECK(c.properties.receive_maximum == 50);
  CHECK(c.properties.maximum_packet_size == 4096u);
  CHECK(c.properties.topic_alias_maximum == 10);
  REQUIRE(c.will);
  CHECK(c.will->topic == "status/sensor-7");
  CHECK(c.will->qos == qos::at_least_once);
  CHECK(c.will->retain);
  CHECK(c.will->properties.will_delay_interval == 5u);
}

TEST_CASE("a refused CONNACK ends the attempt with its reason code", "[session][connect]") {
  harness h;
  h.session->begin_connection({}, h.now);
  h.take_written();
  proto::connack refused;
  refused.reason = reason_code::not_authorized;
  const auto ec = h.feed(refused);
  CHECK(ec == error::connection_refused);
  CHECK(h.session->last_error().reason == reason_code::not_authorized);
  CHECK(h.session->state() == detail::session_state::awaiting_connack);
}

TEST_CASE("a packet other than CONNACK first is a protocol violation [MQTT-3.2.0-1]", "[session][connect]") {
  harness h;
  h.session->begin_connection({}, h.now);
  h.take_written();
  const auto ec = h.feed(proto::pingresp{});
  CHECK(ec == error::protocol_violation);
  CHECK(h.session->last_error().we_should_disconnect);
}

TEST_CASE("session present after a clean start is a protocol violation [MQTT-3.2.2-2]", "[session][connect]") {
  harness h;
  h.session->begin_connection({}, h.now);
  h.take_written();
  proto::connack ack;
  ack.session_present = true;
  CHECK(h.feed(ack) == error::protocol_violation);
}

TEST_CASE("later connections resume the session when it outlives the connection", "[session][connect]") {
  SECTION("MQTT 5 with a session expiry: Clean Start only the first time") {
    client_options o;
    o.session_expiry_interval = 60;
    harness h{o};
    CHECK(h.connect().as<proto::connect>().clean_start);
    h.session->end_connection(h.now);
    CHECK_FALSE(h.connect().as<proto::connect>().clean_start);
  }
  SECTION("MQTT 5 without a session expiry: every connection is clean") {
    harness h;
    h.connect();
    h.session->end_connection(h.now);
    CHECK(h.connect().as<proto::connect>().clean_start);
  }
  SECTION("MQTT 3.1.1 keeps the user's Clean Session") {
    client_options o;
    o.version = protocol_version::v3_1_1;
    o.clean_start = false;
    o.client_id = "c";
    harness h{o};
    CHECK_FALSE(h.connect().as<proto::connect>().clean_start);
    h.session->end_connection(h.now);
    CHECK_FALSE(h.connect().as<proto::connect>().clean_start);
  }
}

TEST_CASE("an assigned client identifier is used on the next connection [MQTT-3.2.2.3.7]", "[session][connect]") {
  harness h;
  proto::connack ack;
  ack.properties.assigned_client_identifier = "auto-123";
  h.connect(ack);
  CHECK(h.session->client_id() == "auto-123");
  h.session->end_connection(h.now);
  CHECK(h.connect().as<proto::connect>().client_id == "auto-123");
}

TEST_CASE("QoS 0 goes straight to the write buffer", "[session][publish]") {
  harness h;
  h.connect();
  message m{"a/b", "hello", qos::at_most_once, false, {}};
  error_code ec;
  REQUIRE(h.session->try_publish_now(m, h.now, ec));
  CHECK_FALSE(ec);
  const auto w = h.take_one();
  // 0x30 PUBLISH QoS 0, remaining length 11: topic length 3, "a/b", property length 0, "hello".
  const std::vector<std::uint8_t> expected{0x30, 0x0b, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'e', 'l', 'l', 'o'};
  CHECK(w.bytes == expected);
  CHECK(h.stats.messages_sent.get() == 1);
}

TEST_CASE("QoS 0 fast path refuses when disconnected, queued behind others, or invalid", "[session][publish]") {
  harness h;
  message m{"a/b", "x", qos::at_most_once, false, {}};
  error_code ec;
  CHECK_FALSE(h.session->try_publish_now(m, h.now, ec));  // not connected
  h.connect();
  m.topic = "a/+";
  CHECK(h.session->try_publish_now(m, h.now, ec));
  CHECK(ec == proto::error::invalid_topic_name);  // [MQTT-3.3.2-2]
}

TEST_CASE("QoS 1 completes on PUBACK with its reason code [MQTT-4.3.2]", "[session][publish]") {
  harness h;
  h.connect();
  recorded_publish op;
  h.publish(op, "t", qos::at_least_once, "payload");
  const auto w = h.take_one();
  const auto& p = w.as<proto::publish>();
  CHECK(p.qos == qos::at_least_once);
  CHECK(p.packet_id != 0);
  CHECK_FALSE(p.dup);
  CHECK_FALSE(op.done());
  CHECK(h.stats.inflight.get() == 1);

  SECTION("success") {
    REQUIRE_FALSE(h.feed(ack_for<proto::puback>(p.packet_id)));
    REQUIRE(op.done());
    CHECK_FALSE(*op.error);
    CHECK(op.result.reason == reason_code::success);
  }
  SECTION("an error reason code") {
    REQUIRE_FALSE(h.feed(ack_for<proto::puback>(p.packet_id, reason_code::not_authorized)));
    REQUIRE(op.done());
    CHECK(*op.error == error::rejected_by_broker);
    CHECK(op.result.reason == reason_code::not_authorized);
  }
  CHECK(h.stats.inflight.get() == 0);
  CHECK(h.stats.window_in_use.get() == 0);
}

TEST_CASE("QoS 2 outgoing: PUBLISH, PUBREC, PUBREL, PUBCOMP [MQTT-4.3.3]", "[session][publish]") {
  harness h;
  h.connect();
  recorded_publish op;
  h.publish(op, "t", qos::exactly_once);
  const auto id = h.take_one().as<proto::publish>().packet_id;
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrec>(id)));
  const auto rel = h.take_one();
  CHECK(rel.as<proto::pubrel>().packet_id == id);
  CHECK(rel.bytes.front() == 0x62);  // PUBREL fixed header flags 0010 [MQTT-3.6.1-1]
  CHECK_FALSE(op.done());
  REQUIRE_FALSE(h.feed(ack_for<proto::pubcomp>(id)));
  REQUIRE(op.done());
  CHECK_FALSE(*op.error);
}

TEST_CASE("a PUBREC with an error ends the QoS 2 flow", "[session][publish]") {
  harness h;
  h.connect();
  recorded_publish op;
  h.publish(op, "t", qos::exactly_once);
  const auto id = h.take_one().as<proto::publish>().packet_id;
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrec>(id, reason_code::quota_exceeded)));
  CHECK(h.take_written().empty());  // no PUBREL
  REQUIRE(op.done());
  CHECK(*op.error == error::rejected_by_broker);
  CHECK(op.result.reason == reason_code::quota_exceeded);
}

TEST_CASE("the inflight window suspends publishers in order and resumes them as acks arrive", "[session][window]") {
  client_options o;
  o.inflight_window = 4;
  harness h{o};
  h.connect();
  std::vector<recorded_publish> ops(6);
  for (std::size_t i = 0; i < ops.size(); ++i) h.publish(ops[i], "t", qos::at_least_once, std::to_string(i));
  auto sent = h.take_written();
  REQUIRE(sent.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(payload_of(sent[i].as<proto::publish>()) == std::to_string(i));
  CHECK(h.stats.window_in_use.get() == 4);

  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(sent[2].as<proto::publish>().packet_id)));
  CHECK(ops[2].done());
  auto next = h.take_one();
  CHECK(payload_of(next.as<proto::publish>()) == "4");  // FIFO: the 5th publisher goes first
  CHECK_FALSE(ops[5].done());
  CHECK(h.stats.window_in_use.get() == 4);
}

TEST_CASE("the automatic inflight window: 100 on MQTT 5, 20 on MQTT 3.1.1", "[session][window]") {
  for (const auto version : {protocol_version::v5, protocol_version::v3_1_1}) {
    client_options o;
    o.version = version;
    o.client_id = "c";
    harness h{o};
    h.connect();
    std::vector<recorded_publish> ops(150);
    for (auto& op : ops) h.publish(op, "t", qos::exactly_once);
    CHECK(h.take_written().size() == (version == protocol_version::v5 ? 100u : 20u));
  }
}

TEST_CASE("the broker's Receive Maximum bounds what is on the wire [MQTT-4.9.0-2]", "[session][window]") {
  client_options o;
  o.inflight_window = 10;
  harness h{o};
  proto::connack ack;
  ack.properties.receive_maximum = 2;
  h.connect(ack);
  std::vector<recorded_publish> ops(5);
  for (auto& op : ops) h.publish(op, "t", qos::at_least_once);
  auto sent = h.take_written();
  CHECK(sent.size() == 2);
  CHECK(h.stats.inflight.get() == 2);
  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(sent[0].as<proto::publish>().packet_id)));
  CHECK(h.take_written().size() == 1);
  CHECK(h.stats.inflight.get() == 2);
}

TEST_CASE("packet identifiers are never reused while in use [MQTT-2.2.1-3]", "[session][window]") {
  client_options o;
  o.inflight_window = 200;
  harness h{o};
  h.connect();
  std::mt19937 random{12345};
  std::vector<std::unique_ptr<recorded_publish>> ops;
  std::set<std::uint16_t> in_use;
  for (int round = 0; round < 2000; ++round) {
    if (in_use.size() < 150 && (random() % 3 != 0 || in_use.empty())) {
      ops.push_back(std::make_unique<recorded_publish>());
      h.publish(*ops.back(), "t", qos::at_least_once);
      const auto id = h.take_one().as<proto::publish>().packet_id;
      REQUIRE(id != 0);
      REQUIRE(in_use.insert(id).second);  // not already in use
    } else {
      auto it = in_use.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(random() % in_use.size()));
      REQUIRE_FALSE(h.feed(ack_for<proto::puback>(*it)));
      in_use.erase(it);
    }
  }
}

// Acknowledgements for identifiers not in use at all are ignored: hostile_test.cpp.
TEST_CASE("an acknowledgement of the wrong kind for an identifier in use is a protocol violation",
          "[session][violation]") {
  harness h;
  h.connect();
  SECTION("PUBACK for a QoS 2 flow") {
    recorded_publish op;
    h.publish(op, "t", qos::exactly_once);
    const auto id = h.take_one().as<proto::publish>().packet_id;
    CHECK(h.feed(ack_for<proto::puback>(id)) == error::protocol_violation);
  }
  SECTION("PUBCOMP before PUBREC") {
    recorded_publish op;
    h.publish(op, "t", qos::exactly_once);
    const auto id = h.take_one().as<proto::publish>().packet_id;
    CHECK(h.feed(ack_for<proto::pubcomp>(id)) == error::protocol_violation);
  }
  SECTION("PUBREC for a QoS 1 flow") {
    recorded_publish op;
    h.publish(op, "t", qos::at_least_once);
    const auto id = h.take_one().as<proto::publish>().packet_id;
    CHECK(h.feed(ack_for<proto::pubrec>(id)) == error::protocol_violation);
  }
  CHECK(h.session->last_error().reason == reason_code::protocol_error);
  CHECK(h.session->last_error().we_should_disconnect);
}

TEST_CASE("malformed bytes from the broker end the connection with Malformed Packet", "[session][violation]") {
  harness h;
  h.connect();
  const std::vector<std::uint8_t> bad{0x40, 0x01, 0x00};  // PUBACK with a truncated packet identifier
  const auto ec = h.feed_bytes(bad);
  CHECK(ec);
  CHECK(h.session->last_error().reason == reason_code::malformed_packet);
}

TEST_CASE("incoming QoS 1 is delivered and acknowledged", "[session][receive]") {
  harness h;
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("a/b", qos::at_least_once, 9, "hi")));
  REQUIRE(h.session->has_message());
  const auto m = h.session->pop_message();
  CHECK(m.topic == "a/b");
  CHECK(m.payload == "hi");
  CHECK(m.qos == qos::at_least_once);
  CHECK(h.take_one().as<proto::puback>().packet_id == 9);
}

TEST_CASE("incoming QoS 2 is delivered exactly once [MQTT-4.3.3-10]", "[session][receive]") {
  harness h;
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 7, "one")));
  CHECK(h.take_one().as<proto::pubrec>().packet_id == 7);
  // The broker did not see our PUBREC and sends the PUBLISH again with DUP.
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 7, "one", true)));
  CHECK(h.take_one().as<proto::pubrec>().packet_id == 7);
  CHECK(h.session->message_count() == 1);
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrel>(7)));
  const auto comp = h.take_one();
  CHECK(comp.as<proto::pubcomp>().packet_id == 7);
  CHECK(comp.as<proto::pubcomp>().reason == reason_code::success);
  // After PUBREL the identifier is free: the same identifier now carries a new message.
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 7, "two")));
  h.take_written();
  CHECK(h.session->message_count() == 2);
  CHECK(h.stats.messages_received.get() == 3);
  CHECK(h.stats.messages_delivered.get() == 2);
}

TEST_CASE("a PUBREL for an unknown identifier is answered with Packet Identifier not found", "[session][receive]") {
  harness h;
  h.connect();
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrel>(99)));
  const auto comp = h.take_one();
  CHECK(comp.as<proto::pubcomp>().reason == reason_code::packet_identifier_not_found);
}

TEST_CASE("a full receive queue stops input until the consumer makes room", "[session][receive]") {
  client_options o;
  o.receive_queue_capacity = 2;
  harness h{o};
  h.connect();
  std::vector<std::uint8_t> bytes;
  const std::string payloads[] = {"0", "1", "2", "3"};
  for (int i = 0; i < 4; ++i) {
    auto p = incoming_publish("t", qos::at_least_once, static_cast<std::uint16_t>(i + 1), payloads[i]);
    const auto sized = proto::encoded_size(proto::packet{p}, protocol_version::v5);
    const auto at = bytes.size();
    bytes.resize(at + sized.size);
    proto::encode(proto::packet{p}, protocol_version::v5, std::span{bytes}.subspan(at));
  }
  REQUIRE_FALSE(h.feed_bytes(bytes));
  CHECK(h.session->input_blocked());
  CHECK(h.session->message_count() == 2);
  CHECK(h.take_written().size() == 2);  // only delivered messages are acknowledged
  CHECK(h.session->pop_message().payload == "0");
  REQUIRE_FALSE(h.session->resume_input(h.now));
  CHECK(h.session->input_blocked());  // room for one more only
  CHECK(h.session->message_count() == 2);
  h.session->pop_message();
  h.session->pop_message();
  REQUIRE_FALSE(h.session->resume_input(h.now));
  CHECK_FALSE(h.session->input_blocked());
  CHECK(h.session->pop_message().payload == "3");
}

TEST_CASE("packets split across reads are reassembled, large ones included", "[session][receive]") {
  harness h;
  h.connect();
  const std::string large(300 * 1024, 'L');  // far beyond the initial read buffer
  std::vector<std::uint8_t> stream;
  for (const auto& payload : {std::string("small"), large, std::string("after")}) {
    const auto bytes = harness::bytes_of(incoming_publish("t", qos::at_most_once, 0, payload), protocol_version::v5);
    stream.insert(stream.end(), bytes.begin(), bytes.end());
  }
  const auto chunk = GENERATE(as<std::size_t>{}, 1, 7, 1000, 4096, 65536);
  REQUIRE_FALSE(h.feed_bytes(stream, chunk));
  REQUIRE(h.session->message_count() == 3);
  CHECK(h.session->pop_message().payload == "small");
  CHECK(h.session->pop_message().payload == large);
  CHECK(h.session->pop_message().payload == "after");
}

TEST_CASE("an incoming packet over our Maximum Packet Size is refused before it is buffered (MQTT 5, 3.1.2.11.4)",
          "[session][receive]") {
  client_options o;
  o.maximum_packet_size = 1000;
  harness h{o};
  h.connect();
  // Only the fixed header arrives: the size is known, and refused, before any payload is read.
  const std::vector<std::uint8_t> header{0x30, 0x80, 0x80, 0x04};  // PUBLISH, remaining length 65,536
  CHECK(h.feed_bytes(header));
  CHECK(h.session->last_error().reason == reason_code::packet_too_large);
}

TEST_CASE("a Maximum Packet Size of 0 means no limit of our own", "[session][receive]") {
  client_options o;
  o.maximum_packet_size = 0;
  harness h{o};
  const auto connect = h.connect();
  CHECK_FALSE(connect.as<proto::connect>().properties.maximum_packet_size.has_value());
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_most_once, 0, std::string(100'000, 'x'))));
  CHECK(h.session->message_count() == 1);
}

TEST_CASE("incoming topic aliases [MQTT-3.3.2.3.4]", "[session][receive]") {
  client_options o;
  o.topic_alias_maximum = 5;
  harness h{o};
  h.connect();
  auto first = incoming_publish("long/topic/name", qos::at_most_once, 0, "1");
  first.properties.topic_alias = 3;
  REQUIRE_FALSE(h.feed(first));
  auto second = incoming_publish("", qos::at_most_once, 0, "2");
  second.properties.topic_alias = 3;
  REQUIRE_FALSE(h.feed(second));
  CHECK(h.session->pop_message().topic == "long/topic/name");
  CHECK(h.session->pop_message().topic == "long/topic/name");

  SECTION("an alias above our maximum") {
    auto bad = incoming_publish("x", qos::at_most_once, 0, "3");
    bad.properties.topic_alias = 6;
    CHECK(h.feed(bad) == error::protocol_violation);
    CHECK(h.session->last_error().reason == reason_code::topic_alias_invalid);
  }
  SECTION("an alias never set") {
    auto bad = incoming_publish("", qos::at_most_once, 0, "3");
    bad.properties.topic_alias = 4;
    CHECK(h.feed(bad) == error::protocol_violation);
    CHECK(h.session->last_error().reason == reason_code::protocol_error);
  }
}

TEST_CASE("keep alive: PINGREQ when idle, dead after 1.5 x keep alive [MQTT-3.1.2-22]", "[session][keepalive]") {
  client_options o;
  o.keep_alive = 10s;
  harness h{o};
  h.connect();
  CHECK(h.session->next_timer() == h.now + 10s);
  h.advance(9s);
  REQUIRE_FALSE(h.session->on_timer(h.now));
  CHECK(h.take_written().empty());
  h.advance(1s);
  REQUIRE_FALSE(h.session->on_timer(h.now));
  CHECK(h.take_one().type() == proto::packet_type::pingreq);
  CHECK(h.stats.pings_sent.get() == 1);

  SECTION("PINGRESP keeps it alive") {
    h.advance(1s);
    REQUIRE_FALSE(h.feed(proto::pingresp{}));
    h.advance(8s);
    CHECK_FALSE(h.session->on_timer(h.now));
  }
  SECTION("silence after the PINGREQ kills it at 1.5 x keep alive") {
    CHECK(h.session->next_timer() == h.now + 5s);
    h.advance(4s);
    CHECK_FALSE(h.session->on_timer(h.now));
    h.advance(1s);
    CHECK(h.session->on_timer(h.now) == error::keep_alive_timeout);
  }
}

TEST_CASE("keep alive pings a silent broker even while we publish", "[session][keepalive]") {
  client_options o;
  o.keep_alive = 10s;
  harness h{o};
  h.connect();
  for (int i = 0; i < 10; ++i) {
    h.advance(1s);
    message m{"t", "x", qos::at_most_once, false, {}};
    error_code ec;
    REQUIRE(h.session->try_publish_now(m, h.now, ec));
    h.take_written();
  }
  REQUIRE_FALSE(h.session->on_timer(h.now));
  CHECK(h.take_one().type() == proto::packet_type::pingreq);
}

TEST_CASE("the broker's Server Keep Alive replaces ours [MQTT-3.2.2-21]", "[session][keepalive]") {
  client_options o;
  o.keep_alive = 60s;
  harness h{o};
  proto::connack ack;
  ack.properties.server_keep_alive = 5;
  h.connect(ack);
  CHECK(h.session->next_timer() == h.now + 5s);
}

TEST_CASE("a resumed session retransmits in order, DUP set, PUBREL again, before new messages [MQTT-4.4.0-1]",
          "[session][resume]") {
  client_options o;
  o.session_expiry_interval = 3600;
  harness h{o};
  h.connect();
  recorded_publish a, b, c;
  h.publish(a, "t", qos::at_least_once, "a");
  h.publish(b, "t", qos::exactly_once, "b");
  h.publish(c, "t", qos::exactly_once, "c");
  auto first = h.take_written();
  REQUIRE(first.size() == 3);
  const auto id_a = first[0].as<proto::publish>().packet_id;
  const auto id_b = first[1].as<proto::publish>().packet_id;
  const auto id_c = first[2].as<proto::publish>().packet_id;
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrec>(id_b)));  // b reaches PUBREL
  CHECK(h.take_one().type() == proto::packet_type::pubrel);
  h.session->end_connection(h.now);

  recorded_publish d;
  h.publish(d, "t", qos::at_least_once, "d");  // queued while offline

  proto::connack resumed;
  resumed.session_present = true;
  h.connect(resumed);
  auto again = h.take_written();
  REQUIRE(again.size() == 4);
  CHECK(again[0].as<proto::publish>().packet_id == id_a);
  CHECK(again[0].as<proto::publish>().dup);
  CHECK(again[1].as<proto::pubrel>().packet_id == id_b);
  CHECK(again[2].as<proto::publish>().packet_id == id_c);
  CHECK(again[2].as<proto::publish>().dup);
  CHECK(payload_of(again[3].as<proto::publish>()) == "d");
  CHECK_FALSE(again[3].as<proto::publish>().dup);
  CHECK(h.stats.retransmitted.get() == 3);
  CHECK_FALSE(a.done());
  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(id_a)));
  CHECK(a.done());
}

TEST_CASE("a lost session re-sends as new and restores subscriptions first", "[session][resume]") {
  client_options o;
  o.session_expiry_interval = 3600;
  harness h{o};
  h.connect();
  recorded_subscribe sub;
  sub.request.subscriptions = {{"a/#", {qos::at_least_once}}, {"b", {qos::exactly_once}}};
  h.session->subscribe(sub, h.now);
  const auto sub_id = h.take_one().as<proto::subscribe>().packet_id;
  proto::suback granted;
  granted.packet_id = sub_id;
  const std::vector<reason_code> codes{reason_code::granted_qos_1, reason_code::granted_qos_2};
  granted.reasons = std::span<const reason_code>{codes};
  REQUIRE_FALSE(h.feed(granted));
  REQUIRE(sub.error);
  CHECK_FALSE(*sub.error);
  CHECK(h.session->subscription_count() == 2);

  recorded_publish a;
  h.publish(a, "t", qos::at_least_once, "a");
  h.take_written();
  h.session->end_connection(h.now);

  h.connect();  // session_present = 0
  auto again = h.take_written();
  REQUIRE(again.size() == 2);
  const auto& resubscribe = again[0].as<proto::subscribe>();
  REQUIRE(resubscribe.subscriptions.size() == 2);
  CHECK((*resubscribe.subscriptions.begin()).filter == "a/#");
  const auto& resent = again[1].as<proto::publish>();
  CHECK_FALSE(resent.dup);
  CHECK(payload_of(resent) == "a");
  CHECK(h.stats.resent.get() == 1);
  CHECK(h.stats.resubscribed.get() == 2);
}

TEST_CASE("a lost session forgets incoming QoS 2 state", "[session][resume]") {
  harness h;
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 3, "x")));
  h.take_written();
  h.session->pop_message();
  h.session->end_connection(h.now);
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 3, "y")));
  CHECK(h.session->message_count() == 1);  // a new message, not a duplicate
}

TEST_CASE("offline publishes queue within their bounds", "[session][queue]") {
  client_options o;
  o.max_queued_messages = 3;
  SECTION("wait policy: the fourth publisher waits") {
    harness h{o};
    std::vector<recorded_publish> ops(4);
    for (auto& op : ops) h.publish(op, "t", qos::at_most_once);
    CHECK(ops[2].done());  // QoS 0 completes once queued
    CHECK_FALSE(ops[3].done());
    CHECK(h.stats.queued_messages.get() == 3);
    h.connect();
    CHECK(ops[3].done());
    CHECK(h.take_written().size() == 4);
  }
  SECTION("fail policy: the fourth publisher fails with queue_full") {
    o.when_queue_full = queue_full_policy::fail;
    harness h{o};
    std::vector<recorded_publish> ops(4);
    for (auto& op : ops) h.publish(op, "t", qos::at_most_once);
    REQUIRE(ops[3].done());
    CHECK(*ops[3].error == error::queue_full);
  }
}

TEST_CASE("the rate limit paces publishes, retransmissions included", "[session][throttle]") {
  client_options o;
  o.rate_limit = rate_limit{10, 0, 1, 0};  // 10 messages per second, no burst
  harness h{o};
  h.connect();
  std::vector<recorded_publish> ops(3);
  for (auto& op : ops) h.publish(op, "t", qos::at_least_once);
  CHECK(h.take_written().size() == 1);
  CHECK(h.session->next_timer() <= h.now + 100ms);
  h.advance(100ms);
  REQUIRE_FALSE(h.session->on_timer(h.now));
  CHECK(h.take_written().size() == 1);
  h.advance(100ms);
  REQUIRE_FALSE(h.session->on_timer(h.now));
  CHECK(h.take_written().size() == 1);
}

TEST_CASE("the broker's limits are honoured", "[session][limits]") {
  harness h;
  proto::connack ack;
  ack.properties.maximum_qos = 1;
  ack.properties.retain_available = false;
  ack.properties.maximum_packet_size = 100;
  h.connect(ack);
  recorded_publish qos2, retained, big;
  h.publish(qos2, "t", qos::exactly_once);
  CHECK(*qos2.error == error::qos_not_supported);
  retained.message.retain = true;
  h.publish(retained, "t", qos::at_most_once);
  CHECK(*retained.error == error::retain_not_supported);
  h.publish(big, "t", qos::at_least_once, std::string(200, 'x'));
  REQUIRE(big.done());
  CHECK(*big.error == error::packet_too_large);
  CHECK(h.stats.window_in_use.get() == 0);
}

TEST_CASE("cancellation: waiting publishers are withdrawn, written ones complete in the background",
          "[session][cancel]") {
  using outcome = detail::session::cancel_outcome;
  client_options o;
  o.inflight_window = 1;
  harness h{o};
  h.connect();
  recorded_publish written, waiting;
  written.serial = 1;
  waiting.serial = 2;
  h.publish(written, "t", qos::at_least_once);
  h.publish(waiting, "t", qos::at_least_once);
  const auto id = h.take_one().as<proto::publish>().packet_id;
  REQUIRE(h.session->cancel(2) == outcome::cancelled);
  CHECK(*waiting.error == boost::asio::error::operation_aborted);
  REQUIRE(h.session->cancel(1) == outcome::cancelled);
  CHECK(*written.error == boost::asio::error::operation_aborted);
  CHECK(h.stats.window_in_use.get() == 1);  // still in flight
  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(id)));
  CHECK(h.stats.window_in_use.get() == 0);
  CHECK(h.session->cancel(1) == outcome::not_found);
}

TEST_CASE("total cancellation (no side effects) withdraws what is unsent and keeps what is written",
          "[session][cancel]") {
  using outcome = detail::session::cancel_outcome;
  using scope = detail::session::cancel_scope;
  client_options o;
  o.inflight_window = 1;
  harness h{o};
  h.connect();
  recorded_publish written, waiting;
  written.serial = 1;
  waiting.serial = 2;
  h.publish(written, "t", qos::at_least_once);
  h.publish(waiting, "t", qos::at_least_once);
  const auto id = h.take_one().as<proto::publish>().packet_id;
  REQUIRE(h.session->cancel(2, scope::unsent_only) == outcome::cancelled);
  CHECK(*waiting.error == boost::asio::error::operation_aborted);
  REQUIRE(h.session->cancel(1, scope::unsent_only) == outcome::kept);
  CHECK_FALSE(written.done());  // the broker may have it: the publish goes on
  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(id)));
  REQUIRE(written.done());
  CHECK_FALSE(*written.error);
  CHECK(h.stats.window_in_use.get() == 0);
}

TEST_CASE("SUBSCRIBE and UNSUBSCRIBE complete with one code per filter", "[session][subscribe]") {
  harness h;
  h.connect();
  recorded_subscribe sub;
  sub.request.subscriptions = {{"a", {}}, {"b", {}}};
  h.session->subscribe(sub, h.now);
  const auto id = h.take_one().as<proto::subscribe>().packet_id;
  proto::suback answer;
  answer.packet_id = id;
  const std::vector<reason_code> codes{reason_code::success, reason_code::not_authorized};
  answer.reasons = std::span<const reason_code>{codes};
  REQUIRE_FALSE(h.feed(answer));
  CHECK(*sub.error == error::subscription_refused);
  CHECK(sub.result.reasons == codes);
  CHECK(h.session->subscription_count() == 1);

  recorded_unsubscribe unsub;
  unsub.request.filters = {"a"};
  h.session->unsubscribe(unsub, h.now);
  const auto uid = h.take_one().as<proto::unsubscribe>().packet_id;
  proto::unsuback done;
  done.packet_id = uid;
  const std::vector<reason_code> ok{reason_code::success};
  done.reasons = std::span<const reason_code>{ok};
  REQUIRE_FALSE(h.feed(done));
  CHECK_FALSE(*unsub.error);
  CHECK(h.session->subscription_count() == 0);

  SECTION("a SUBACK with the wrong number of codes is a violation [MQTT-3.8.4-6]") {
    recorded_subscribe two;
    two.request.subscriptions = {{"x", {}}, {"y", {}}};
    h.session->subscribe(two, h.now);
    proto::suback wrong;
    wrong.packet_id = h.take_one().as<proto::subscribe>().packet_id;
    wrong.reasons = std::span<const reason_code>{ok};
    CHECK(h.feed(wrong) == error::protocol_violation);
  }
}

TEST_CASE("DISCONNECT from the broker reports its reason and server reference", "[session][disconnect]") {
  harness h;
  h.connect();
  proto::disconnect d;
  d.reason = reason_code::server_moved;
  d.properties.server_reference = "other:1883";
  CHECK(h.feed(d) == error::disconnected_by_broker);
  CHECK(h.session->last_error().reason == reason_code::server_moved);
  CHECK(h.session->last_error().server_reference == "other:1883");
  CHECK_FALSE(h.session->last_error().we_should_disconnect);
}

TEST_CASE("our DISCONNECT carries the reason, session expiry and properties (MQTT 5)", "[session][disconnect]") {
  client_options o;
  o.session_expiry_interval = 60;
  harness h{o};
  h.connect();
  h.session->begin_disconnect(reason_code::disconnect_with_will_message, 0, "bye", {{"k", "v"}});
  const auto w = h.take_one();
  const auto& d = w.as<proto::disconnect>();
  CHECK(d.reason == reason_code::disconnect_with_will_message);
  CHECK(d.properties.session_expiry_interval == 0u);
  CHECK(d.properties.reason_string == std::optional<std::string_view>{"bye"});
  REQUIRE(d.properties.user_properties.size() == 1);
  CHECK(h.session->state() == detail::session_state::disconnecting);
  // Nothing is written after DISCONNECT [MQTT-3.14.4-1].
  message m{"t", "x", qos::at_most_once, false, {}};
  error_code ec;
  CHECK_FALSE(h.session->try_publish_now(m, h.now, ec));
}

TEST_CASE("MQTT 3.1.1 exchanges", "[session][v311]") {
  client_options o;
  o.version = protocol_version::v3_1_1;
  harness h{o};
  const auto c = h.connect();
  CHECK(c.bytes[0] == 0x10);
  CHECK(c.as<proto::connect>().version == protocol_version::v3_1_1);
  recorded_publish op;
  h.publish(op, "t", qos::at_least_once);
  const auto w = h.take_one();
  // 0x32 PUBLISH QoS 1, remaining length 6: topic "t", identifier, payload "x"; no properties in 3.1.1.
  CHECK(w.bytes.size() == 8);
  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(w.as<proto::publish>().packet_id)));
  CHECK(op.done());
}

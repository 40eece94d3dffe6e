// Subscription streams in the session: automatic Subscription Identifiers, routing by identifier and by topic
// filter, a message for several streams, backpressure of a full stream, unsubscribing, resubscription.
#include "session_harness.hpp"

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

client_options v311() {
  client_options o;
  o.version = protocol_version::v3_1_1;
  o.client_id.assign(1, 'c');  // not = "c": GCC 12 -Wrestrict false positive
  return o;
}

// SUBSCRIBE `filters` (for `stream`, or plain when 0), granted at QoS 1. Returns the SUBSCRIBE written.
written_packet subscribe(harness& h, std::uint64_t stream, std::vector<std::string> filters,
                         reason_code grant = reason_code::granted_qos_1) {
  recorded_subscribe op;
  for (auto& f : filters) op.request.subscriptions.push_back({std::move(f), {qos::at_least_once}});
  op.request.stream = stream;
  h.session->subscribe(op, h.now);
  auto w = h.take_one();
  const auto& s = w.as<proto::subscribe>();
  proto::suback ack;
  ack.packet_id = s.packet_id;
  const std::vector<reason_code> codes(s.subscriptions.size(), grant);
  ack.reasons = std::span<const reason_code>{codes};
  REQUIRE_FALSE(h.feed(ack));
  REQUIRE(op.error);
  return w;
}

proto::publish with_ids(proto::publish p, const std::vector<std::uint32_t>& ids) {
  p.properties.subscription_identifiers = std::span<const std::uint32_t>{ids};
  return p;
}

std::vector<std::string> drain(harness& h, std::uint64_t stream) {
  std::vector<std::string> payloads;
  while (h.session->stream_has_message(stream)) payloads.push_back(h.session->pop_stream_message(stream).payload);
  return payloads;
}

std::vector<std::string> drain_default(harness& h) {
  std::vector<std::string> payloads;
  while (h.session->has_message()) payloads.push_back(h.session->pop_message().payload);
  return payloads;
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("streams, MQTT 5: each stream's SUBSCRIBE gets an identifier, and messages go by identifier "
          "[MQTT-3.3.4-3] [MQTT-3.3.4-4]",
          "[session][streams]") {
  harness h;
  h.connect();
  const auto wide = h.session->open_stream(10);
  const auto narrow = h.session->open_stream(10);
  const auto wide_id = subscribe(h, wide, {"a/#"}).as<proto::subscribe>().properties.subscription_identifier;
  const auto narrow_id = subscribe(h, narrow, {"a/b"}).as<proto::subscribe>().properties.subscription_identifier;
  REQUIRE(wide_id);
  REQUIRE(narrow_id);
  CHECK(*wide_id != *narrow_id);
  subscribe(h, 0, {"plain/#"});

  // Both matched: one copy each, none for the receive queue.
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("a/b", qos::at_most_once, 0, "both"), {*wide_id, *narrow_id})));
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("a/c", qos::at_most_once, 0, "wide"), {*wide_id})));
  REQUIRE_FALSE(h.feed(incoming_publish("plain/x", qos::at_most_once, 0, "plain")));  // no identifier
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("u", qos::at_most_once, 0, "user id"), {4242})));
  CHECK(drain(h, wide) == strings{"both", "wide"});
  CHECK(drain(h, narrow) == strings{"both"});
  CHECK(drain_default(h) == strings{"plain", "user id"});
}

TEST_CASE("streams, MQTT 3.1.1: messages go by topic filter, '$' topics and shared subscriptions included "
          "[MQTT-4.7.2-1] [MQTT-4.8.2-1]",
          "[session][streams]") {
  harness h{v311()};
  h.connect();
  const auto everything = h.session->open_stream(10);
  const auto narrow = h.session->open_stream(10);
  const auto shared = h.session->open_stream(10);
  subscribe(h, everything, {"#"});
  subscribe(h, narrow, {"a/b", "a/+"});  // two filters of one stream matching the same topic: one copy
  subscribe(h, shared, {"$share/group/jobs/#"});
  subscribe(h, 0, {"a/b"});
  subscribe(h, 0, {"$SYS/#"});
  for (auto [topic, payload] : {std::pair{"a/b", "ab"}, {"a/c", "ac"}, {"jobs/1", "job"}, {"$SYS/load", "sys"}})
    REQUIRE_FALSE(h.feed(incoming_publish(topic, qos::at_most_once, 0, payload)));
  CHECK(drain(h, everything) == strings{"ab", "ac", "job"});  // not "$SYS/load": '#' does not match '$' topics
  CHECK(drain(h, narrow) == strings{"ab", "ac"});
  CHECK(drain(h, shared) == strings{"job"});
  // "a/b" also matched the plain subscription; "$SYS/load" matched no stream.
  CHECK(drain_default(h) == strings{"ab", "sys"});
}

TEST_CASE("streams: a broker without Subscription Identifiers gets none, and topic filters route", "[session][streams]") {
  harness h;
  proto::connack ack;
  ack.properties.subscription_identifier_available = false;
  h.connect(ack);
  const auto stream = h.session->open_stream(10);
  CHECK_FALSE(subscribe(h, stream, {"s/#"}).as<proto::subscribe>().properties.subscription_identifier);
  REQUIRE_FALSE(h.feed(incoming_publish("s/1", qos::at_most_once, 0, "one")));
  REQUIRE_FALSE(h.feed(incoming_publish("t/1", qos::at_most_once, 0, "other")));
  CHECK(drain(h, stream) == strings{"one"});
  CHECK(drain_default(h) == strings{"other"});
}

TEST_CASE("streams: a full stream stops input until it is read; nothing is dropped", "[session][streams]") {
  harness h;
  h.connect();
  const auto slow = h.session->open_stream(2);
  const auto id = *subscribe(h, slow, {"s/#"}).as<proto::subscribe>().properties.subscription_identifier;
  std::vector<std::uint8_t> wire;
  for (int i = 0; i < 4; ++i) {
    const auto bytes = harness::bytes_of(
        with_ids(incoming_publish("s/x", qos::at_least_once, static_cast<std::uint16_t>(i + 1), std::to_string(i)),
                 {id}),
        protocol_version::v5);
    wire.insert(wire.end(), bytes.begin(), bytes.end());
  }
  REQUIRE_FALSE(h.feed_bytes(wire));
  CHECK(h.session->input_blocked());
  CHECK_FALSE(h.session->input_resumable());  // the receive queue is empty: the stream is what is full
  CHECK(h.take_written().size() == 2);  // PUBACK only for what was taken
  CHECK(h.session->pop_stream_message(slow).payload == "0");
  CHECK(h.session->input_resumable());
  REQUIRE_FALSE(h.session->resume_input(h.now));
  CHECK(h.session->input_blocked());  // room for one: the fourth still waits
  CHECK(drain(h, slow) == strings{"1", "2"});
  REQUIRE_FALSE(h.session->resume_input(h.now));
  CHECK_FALSE(h.session->input_blocked());
  CHECK(drain(h, slow) == strings{"3"});
  CHECK(h.stats.messages_delivered.get() == 4);
}

TEST_CASE("streams: unsubscribing sends UNSUBSCRIBE only for filters no other stream receives; what is queued "
          "stays readable",
          "[session][streams]") {
  harness h;
  h.connect();
  const auto first = h.session->open_stream(10);
  const auto second = h.session->open_stream(10);
  subscribe(h, first, {"shared/#", "own/#"});
  const auto shared_id = *subscribe(h, second, {"shared/#"}).as<proto::subscribe>().properties.subscription_identifier;
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("shared/1", qos::at_most_once, 0, "before"), {shared_id})));

  recorded_unsubscribe unsub;
  h.session->close_stream(first, &unsub, h.now);
  const auto w = h.take_one();
  const auto& u = w.as<proto::unsubscribe>();
  REQUIRE(u.filters.size() == 1);
  CHECK(*u.filters.begin() == "own/#");
  CHECK(h.session->stream_state(first) == detail::session::stream_status::closed);
  CHECK(drain(h, first) == strings{"before"});
  // Before UNSUBACK: a message for "own/#" only has nowhere to go and is counted.
  const auto own_id = shared_id - 1;  // "own/#" was subscribed with the first stream's identifier
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("own/1", qos::at_most_once, 0, "late"), {own_id})));
  CHECK(h.stats.messages_dropped_unsubscribed.get() == 1);
  CHECK_FALSE(h.session->has_message());
  // "shared/#" still reaches the second stream.
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("shared/2", qos::at_most_once, 0, "after"), {shared_id})));
  CHECK(drain(h, second) == strings{"before", "after"});
  proto::unsuback done;
  done.packet_id = u.packet_id;
  const std::vector<reason_code> removed{reason_code::success};
  done.reasons = std::span<const reason_code>{removed};
  REQUIRE_FALSE(h.feed(done));
  CHECK(unsub.error);
  CHECK(h.session->subscription_count() == 1);  // "shared/#"
}

TEST_CASE("streams: a destroyed stream's queued messages are acknowledged (manual acknowledgement)",
          "[session][streams][manual-ack]") {
  client_options o;
  o.manual_acknowledgement = true;
  harness h{o};
  h.connect();
  const auto a = h.session->open_stream(10);
  const auto b = h.session->open_stream(10);
  const auto id_a = *subscribe(h, a, {"x/#"}).as<proto::subscribe>().properties.subscription_identifier;
  const auto id_b = *subscribe(h, b, {"x/1"}).as<proto::subscribe>().properties.subscription_identifier;
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("x/1", qos::at_least_once, 9, "m"), {id_a, id_b})));
  const auto copy_a = h.session->pop_stream_message(a);
  CHECK(h.take_written().empty());
  h.session->acknowledge(copy_a.acknowledgement_id, reason_code::success);
  CHECK(h.take_written().empty());  // the copy in stream b is not acknowledged yet
  h.session->destroy_stream(b, h.now);
  const auto written = h.take_written();
  REQUIRE(written.size() == 2);
  CHECK(written[0].as<proto::unsubscribe>().packet_id != 0);
  CHECK(written[1].as<proto::puback>().packet_id == 9);
  CHECK(h.session->stream_state(b) == detail::session::stream_status::gone);
}

TEST_CASE("streams: after a lost session the subscriptions are restored with their identifiers",
          "[session][streams][resume]") {
  client_options o;
  o.session_expiry_interval = 3600;
  harness h{o};
  h.connect();
  const auto stream = h.session->open_stream(10);
  const auto id = subscribe(h, stream, {"r/#"}).as<proto::subscribe>().properties.subscription_identifier;
  subscribe(h, 0, {"plain"});
  h.session->end_connection(h.now);
  h.connect();  // session present 0
  const auto again = h.take_written();
  REQUIRE(again.size() == 2);
  CHECK(again[0].as<proto::subscribe>().properties.subscription_identifier == id);
  CHECK_FALSE(again[1].as<proto::subscribe>().properties.subscription_identifier);
  proto::suback ack;
  ack.packet_id = again[0].as<proto::subscribe>().packet_id;
  const std::vector<reason_code> codes{reason_code::granted_qos_1};
  ack.reasons = std::span<const reason_code>{codes};
  REQUIRE_FALSE(h.feed(ack));
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("r/1", qos::at_most_once, 0, "back"), {*id})));
  CHECK(drain(h, stream) == strings{"back"});
}

TEST_CASE("streams: a refused subscription takes the stream with it, and a granted part is given back",
          "[session][streams]") {
  harness h;
  h.connect();
  const auto stream = h.session->open_stream(10);
  recorded_subscribe op;
  op.request.subscriptions = {{"ok/#", {qos::at_least_once}}, {"no/#", {qos::at_least_once}}};
  op.request.stream = stream;
  h.session->subscribe(op, h.now);
  const auto s = h.take_one();
  proto::suback ack;
  ack.packet_id = s.as<proto::subscribe>().packet_id;
  const std::vector<reason_code> codes{reason_code::granted_qos_1, reason_code::not_authorized};
  ack.reasons = std::span<const reason_code>{codes};
  REQUIRE_FALSE(h.feed(ack));
  REQUIRE(op.error);
  CHECK(*op.error == error::subscription_refused);
  CHECK(h.session->stream_state(stream) == detail::session::stream_status::gone);
  const auto w = h.take_one();
  CHECK(*w.as<proto::unsubscribe>().filters.begin() == "ok/#");
}

TEST_CASE("streams: a stream cannot bring its own Subscription Identifier", "[session][streams]") {
  harness h;
  h.connect();
  const auto stream = h.session->open_stream(10);
  recorded_subscribe op;
  op.request.subscriptions = {{"s", {}}};
  op.request.stream = stream;
  op.request.subscription_identifier = 7;
  h.session->subscribe(op, h.now);
  REQUIRE(op.error);
  CHECK(*op.error == error::invalid_argument);
  CHECK(h.session->stream_state(stream) == detail::session::stream_status::gone);
  CHECK(h.take_written().empty());
}

TEST_CASE("streams: a plain SUBSCRIBE of a stream's filter takes it over", "[session][streams]") {
  harness h{v311()};
  h.connect();
  const auto stream = h.session->open_stream(10);
  subscribe(h, stream, {"t"});
  subscribe(h, 0, {"t"});
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_most_once, 0, "x")));
  CHECK_FALSE(h.session->stream_has_message(stream));
  CHECK(drain_default(h) == strings{"x"});
}

TEST_CASE("streams: a client that discards incoming messages drops only what would reach the receive queue",
          "[session][streams][discard]") {
  client_options o;
  o.discard_incoming_messages = true;
  harness h{o};
  h.connect();
  const auto stream = h.session->open_stream(10);
  const auto id = *subscribe(h, stream, {"s/#"}).as<proto::subscribe>().properties.subscription_identifier;
  REQUIRE_FALSE(h.feed(with_ids(incoming_publish("s/1", qos::at_least_once, 1, "kept"), {id})));
  REQUIRE_FALSE(h.feed(incoming_publish("other", qos::at_least_once, 2, "dropped")));  // no stream's
  CHECK(drain(h, stream) == strings{"kept"});
  CHECK_FALSE(h.session->has_message());
  CHECK(h.stats.messages_discarded.get() == 1);
  CHECK(h.take_written().size() == 2);  // both acknowledged
}

// The session with a session store attached: the records it makes, the gates that hold bytes and received
// messages until their records are durable, restoring a recovered session, and a backlog beyond the memory
// queue read back in order. No store object here: the test plays the client that carries records to a store.
#include "session_harness.hpp"

#include <algorithm>

using namespace coromqtt;
using namespace coromqtt::test;
using type = store_record::type;

namespace {

std::vector<type> types_of(const std::vector<store_record>& batch) {
  std::vector<type> t;
  for (const auto& r : batch) t.push_back(r.what);
  return t;
}

// The client's part: hands the records to the "store" and reports them durable.
std::vector<store_record> make_durable(harness& h) {
  std::vector<store_record> batch;
  h.session->take_store_records(batch);
  h.session->on_store_written(h.now);
  return batch;
}

struct stored_harness : harness {
  explicit stored_harness(client_options o = {}, recovered_session r = {}, store_limits limits = {})
      : harness{std::move(o)} {
    session->attach_store(limits, r);
  }
};

}  // namespace

TEST_CASE("with a store, a QoS 1 PUBLISH is written only once its records are durable", "[session][store]") {
  stored_harness h;
  h.connect();
  CHECK(types_of(make_durable(h)) == std::vector<type>{type::session_cleared});
  recorded_publish op;
  h.publish(op, "t", qos::at_least_once);
  CHECK_FALSE(h.session->has_output());  // held: the store does not know the identifier yet
  CHECK(h.session->output_held());
  const auto batch = make_durable(h);
  REQUIRE(types_of(batch) == std::vector<type>{type::message_added, type::message_sent});
  CHECK(batch[0].message.topic == "t");
  CHECK(batch[0].seq == 1);
  const auto w = h.take_one();
  CHECK(w.as<proto::publish>().packet_id == batch[1].packet_id);
  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(batch[1].packet_id)));
  CHECK(op.done());
  const auto after = make_durable(h);
  REQUIRE(types_of(after) == std::vector<type>{type::message_done});
  CHECK(after[0].seq == 1);
}

TEST_CASE("with a store, an incoming QoS 2 message and its PUBREC wait for the record [MQTT-4.3.3-10]",
          "[session][store]") {
  stored_harness h;
  h.connect();
  make_durable(h);
  REQUIRE_FALSE(h.feed(incoming_publish("in", qos::exactly_once, 42, "once")));
  CHECK_FALSE(h.session->has_message());
  CHECK_FALSE(h.session->has_output());
  const auto batch = make_durable(h);
  REQUIRE(types_of(batch) == std::vector<type>{type::incoming_received});
  CHECK(batch[0].packet_id == 42);
  REQUIRE(h.session->has_message());
  CHECK(h.session->pop_message().payload == "once");
  CHECK(h.take_one().type() == proto::packet_type::pubrec);
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrel>(42)));
  CHECK(types_of(make_durable(h)) == std::vector<type>{type::incoming_released});
  CHECK(h.take_one().type() == proto::packet_type::pubcomp);
}

TEST_CASE("a restored session resumes: stored client id, Clean Start = 0, DUP retransmissions in order, PUBREL, "
          "then the queue [MQTT-4.4.0-1]",
          "[session][store]") {
  recovered_session r;
  r.session_established = true;
  r.client_id = "assigned-by-broker";
  r.incoming = {9};
  r.flights = {{1, 5, stored_phase::sent}, {2, 6, stored_phase::released}, {3, 7, stored_phase::sent}};
  r.last_seq = 4;
  r.messages = 4;
  client_options o;
  o.session_expiry_interval = 600;
  stored_harness h{o, r};
  CHECK_FALSE(h.session->store_ready());
  auto load = h.session->take_store_load();
  REQUIRE(load);
  CHECK(load->after == 0);
  CHECK(load->upto == 4);
  std::vector<stored_message> loaded{{1, {"a", "1", qos::at_least_once, false, {}}},
                                     {2, {"b", "2", qos::exactly_once, false, {}}},
                                     {3, {"c", "3", qos::exactly_once, false, {}}},
                                     {4, {"d", "4", qos::at_least_once, false, {}}}};
  h.session->on_store_loaded(loaded, *load, h.now);
  CHECK(h.session->store_ready());

  h.session->begin_connection({}, h.now);
  const auto connect = h.take_one();
  CHECK_FALSE(connect.as<proto::connect>().clean_start);
  CHECK(connect.as<proto::connect>().client_id == "assigned-by-broker");
  proto::connack ack;
  ack.session_present = true;
  REQUIRE_FALSE(h.feed(ack));
  make_durable(h);
  const auto w = h.take_written();
  REQUIRE(w.size() == 4);
  CHECK(w[0].as<proto::publish>().packet_id == 5);
  CHECK(w[0].as<proto::publish>().dup);
  CHECK(w[1].as<proto::pubrel>().packet_id == 6);
  CHECK(w[2].as<proto::publish>().packet_id == 7);
  CHECK(w[2].as<proto::publish>().dup);
  CHECK(w[2].as<proto::publish>().qos == qos::exactly_once);
  CHECK(payload_of(w[3].as<proto::publish>()) == "4");  // the queued one, as new
  CHECK_FALSE(w[3].as<proto::publish>().dup);
  // The incoming identifier survived: the broker's retransmission is acknowledged, not delivered again.
  REQUIRE_FALSE(h.feed(incoming_publish("in", qos::exactly_once, 9, "dup", true)));
  make_durable(h);
  CHECK_FALSE(h.session->has_message());
}

TEST_CASE("a stored publish completes when durable and takes no slot of the inflight window", "[session][store]") {
  client_options o;
  o.inflight_window = 1;
  stored_harness h{o};
  h.connect();
  make_durable(h);
  std::vector<recorded_publish> ops(3);
  for (auto& op : ops) {
    op.complete_when_stored = true;
    h.publish(op, "t", qos::at_least_once);
  }
  CHECK(std::none_of(ops.begin(), ops.end(), [](const auto& op) { return op.done(); }));
  make_durable(h);
  CHECK(std::all_of(ops.begin(), ops.end(), [](const auto& op) { return op.done() && !*op.error; }));
  CHECK(h.take_written().size() == 1);  // the window (the broker's quota) still paces the wire
}

TEST_CASE("a backlog beyond the memory queue stays in the store and is read back in order", "[session][store]") {
  client_options o;
  o.max_queued_messages = 4;
  stored_harness h{o};
  std::vector<recorded_publish> ops(10);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ops[i].complete_when_stored = true;
    h.publish(ops[i], "t", qos::at_least_once, std::to_string(i + 1));
  }
  CHECK(h.statistics_queued() == 4);
  CHECK_FALSE(h.session->take_store_load());  // nothing handed to the store yet
  auto batch = make_durable(h);
  CHECK(batch.size() == 10);
  CHECK(std::all_of(ops.begin(), ops.end(), [](const auto& op) { return op.done(); }));
  h.connect();
  std::vector<std::string> sent;
  for (int round = 0; round < 10 && sent.size() < 10; ++round) {
    make_durable(h);
    for (const auto& w : h.take_written())
      if (w.type() == proto::packet_type::publish) sent.push_back(payload_of(w.as<proto::publish>()));
    if (auto load = h.session->take_store_load()) {
      std::vector<stored_message> loaded;
      for (const auto& r : batch)
        if (r.seq > load->after && r.seq <= load->upto && loaded.size() < load->max_count)
          loaded.push_back({r.seq, r.message});
      h.session->on_store_loaded(loaded, *load, h.now);
    }
  }
  CHECK(sent == std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"});
}

TEST_CASE("a full store: fail, or drop the oldest queued message", "[session][store]") {
  store_limits limits;
  limits.max_messages = 2;
  SECTION("fail") {
    limits.when_full = store_full_policy::fail;
    stored_harness h{{}, {}, limits};
    std::vector<recorded_publish> ops(3);
    for (auto& op : ops) {
      op.complete_when_stored = true;
      h.publish(op, "t", qos::at_least_once);
    }
    make_durable(h);
    CHECK_FALSE(*ops[0].error);
    CHECK_FALSE(*ops[1].error);
    CHECK(*ops[2].error == error::queue_full);
  }
  SECTION("drop oldest") {
    limits.when_full = store_full_policy::drop_oldest;
    stored_harness h{{}, {}, limits};
    std::vector<recorded_publish> ops(3);
    for (std::size_t i = 0; i < ops.size(); ++i) h.publish(ops[i], "t", qos::at_least_once, std::to_string(i));
    CHECK(*ops[0].error == error::message_dropped);
    const auto batch = make_durable(h);
    CHECK(std::count_if(batch.begin(), batch.end(), [](const auto& r) { return r.what == type::message_done; }) == 1);
    h.connect();
    make_durable(h);
    const auto w = h.take_written();
    REQUIRE(w.size() == 2);
    CHECK(payload_of(w[0].as<proto::publish>()) == "1");
    CHECK(payload_of(w[1].as<proto::publish>()) == "2");
  }
}

TEST_CASE("with a store, a QoS 2 message for a subscription stream waits for its record too [MQTT-4.3.3-10]",
          "[session][store][streams]") {
  stored_harness h;
  h.connect();
  make_durable(h);
  const auto stream = h.session->open_stream(10);
  recorded_subscribe op;
  op.request.subscriptions.push_back({"s/#", {qos::exactly_once}});
  op.request.stream = stream;
  h.session->subscribe(op, h.now);
  make_durable(h);
  const auto w = h.take_one();
  const auto& s = w.as<proto::subscribe>();
  REQUIRE(s.properties.subscription_identifier);
  proto::suback ack;
  ack.packet_id = s.packet_id;
  const std::vector<reason_code> codes{reason_code::granted_qos_2};
  ack.reasons = std::span<const reason_code>{codes};
  REQUIRE_FALSE(h.feed(ack));
  make_durable(h);  // the granted subscription
  std::vector<std::uint64_t> fed;
  h.session->take_fed_streams(fed);

  auto p = incoming_publish("s/1", qos::exactly_once, 7, "once");
  const std::vector<std::uint32_t> ids{*s.properties.subscription_identifier};
  p.properties.subscription_identifiers = std::span<const std::uint32_t>{ids};
  REQUIRE_FALSE(h.feed(p));
  CHECK_FALSE(h.session->stream_has_message(stream));  // a crash now must not have shown it to the user
  CHECK_FALSE(h.session->has_output());
  h.session->take_fed_streams(fed);
  const auto batch = make_durable(h);
  REQUIRE(types_of(batch) == std::vector<type>{type::incoming_received});
  h.session->take_fed_streams(fed);
  CHECK(fed == std::vector<std::uint64_t>{stream});  // the client serves the stream's waiters again
  REQUIRE(h.session->stream_has_message(stream));
  CHECK(h.session->pop_stream_message(stream).payload == "once");
  CHECK(h.take_one().type() == proto::packet_type::pubrec);
}

TEST_CASE("with a store, a stream's subscription is kept without the identifier a broker without them never got",
          "[session][store][streams]") {
  stored_harness h;
  proto::connack connack;
  connack.properties.subscription_identifier_available = false;
  h.connect(connack);
  make_durable(h);
  const auto stream = h.session->open_stream(10);
  recorded_subscribe op;
  op.request.subscriptions.push_back({"s/#", {qos::at_least_once}});
  op.request.stream = stream;
  h.session->subscribe(op, h.now);
  make_durable(h);
  const auto w = h.take_one();
  CHECK_FALSE(w.as<proto::subscribe>().properties.subscription_identifier);
  proto::suback ack;
  ack.packet_id = w.as<proto::subscribe>().packet_id;
  const std::vector<reason_code> codes{reason_code::granted_qos_1};
  ack.reasons = std::span<const reason_code>{codes};
  REQUIRE_FALSE(h.feed(ack));
  const auto batch = make_durable(h);
  REQUIRE(types_of(batch) == std::vector<type>{type::subscriptions});
  REQUIRE(batch[0].subscriptions.size() == 1);
  CHECK(batch[0].subscriptions[0].subscription.filter == "s/#");
  CHECK_FALSE(batch[0].subscriptions[0].subscription_identifier);
}

TEST_CASE("a backlog read back from the store keeps counting its Message Expiry Interval from the publish "
          "[MQTT-3.3.2-5] [MQTT-3.3.2-6]",
          "[session][store][expiry]") {
  client_options o;
  o.max_queued_messages = 1;
  stored_harness h{o};
  std::vector<recorded_publish> ops(3);
  const std::uint32_t expiry[] = {60, 10, 2};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ops[i].complete_when_stored = true;
    ops[i].message.properties.message_expiry_interval = expiry[i];
    h.publish(ops[i], "t", qos::at_least_once, std::to_string(i + 1));
  }
  CHECK(h.statistics_queued() == 1);  // "2" and "3" are in the store only
  auto batch = make_durable(h);
  h.advance(5s);
  h.connect();
  std::vector<std::pair<std::string, std::uint32_t>> sent;
  for (int round = 0; round < 10; ++round) {
    make_durable(h);
    for (const auto& w : h.take_written())
      if (w.type() == proto::packet_type::publish)
        sent.emplace_back(payload_of(w.as<proto::publish>()),
                          w.as<proto::publish>().properties.message_expiry_interval.value_or(0));
    if (auto load = h.session->take_store_load()) {
      std::vector<stored_message> loaded;
      for (const auto& r : batch)
        if (r.what == type::message_added && r.seq > load->after && r.seq <= load->upto &&
            loaded.size() < load->max_count)
          loaded.push_back({r.seq, r.message});
      h.session->on_store_loaded(loaded, *load, h.now);
    }
  }
  // 5 s waited: "1" has 55 s left, "2" 5 s, "3" expired in the store and is dropped.
  CHECK(sent == std::vector<std::pair<std::string, std::uint32_t>>{{"1", 55}, {"2", 5}});
  CHECK(h.stats.messages_expired.get() == 1);
}

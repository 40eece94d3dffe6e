// The session against a broker that misbehaves: floods without reading, announces huge packets, trickles
// bytes, acknowledges what we never sent. Sans-I/O with a fake clock; the same cases over a socket, with
// exact bytes, are in test/integration/hostile_broker_test.cpp.
#include "session_harness.hpp"

#include <coromqtt/protocol/error.hpp>

#include <array>
#include <cstdint>
#include <vector>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

using bytes = std::vector<std::uint8_t>;

// The size of the read buffer a session grows to while streaming (session_internal.hpp).
constexpr std::size_t one_read_buffer = 256 * 1024;

bytes concatenated(const std::vector<proto::packet>& packets, protocol_version v) {
  bytes out;
  for (const auto& p : packets) {
    const auto b = harness::bytes_of(p, v);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

client_options options_for(protocol_version v) {
  client_options o;
  o.version = v;
  o.client_id = "hostile";
  return o;
}

// Reads `stream` into the session the way the client's reader does: `chunk` bytes at most per read, and no
// read while input_blocked(). Returns how far it got; stops when blocked and not resumable.
std::size_t read_while_allowed(harness& h, const bytes& stream, std::size_t offset, std::size_t chunk) {
  while (offset < stream.size()) {
    if (h.session->input_blocked()) {
      if (!h.session->input_resumable()) break;
      REQUIRE_FALSE(h.session->resume_input(h.now));
      continue;
    }
    auto space = h.session->read_space();
    const auto n = std::min({space.size(), stream.size() - offset, chunk});
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(offset), n, space.begin());
    offset += n;
    REQUIRE_FALSE(h.session->on_read(n, h.now));
  }
  return offset;
}

}  // namespace

TEST_CASE("a broker that floods PUBREL and never reads meets backpressure: the session's bytes stay bounded",
          "[session][hostile][backpressure]") {
  const auto version = GENERATE(protocol_version::v5, protocol_version::v3_1_1);
  CAPTURE(version);
  auto o = options_for(version);
  o.write_buffer_limit = 4096;
  harness h{o};
  h.connect();
  // 2.6 MB of PUBREL for identifiers we never saw: each owes a PUBCOMP (0x92 Packet Identifier not found in
  // MQTT 5). 650 times the write buffer limit.
  std::vector<proto::packet> flood;
  for (std::uint32_t i = 0; i < 650'000; ++i)
    flood.emplace_back(ack_for<proto::pubrel>(static_cast<std::uint16_t>(i % 65535 + 1)));
  const auto stream = concatenated(flood, version);
  const std::size_t pubcomp_size = version == protocol_version::v5 ? 5 : 4;
  // The bound of docs/reliability.md: what waits for the writer within write_buffer_limit plus one packet,
  // the batch being written no more than that, and one read buffer.
  const std::size_t waiting_bound = o.write_buffer_limit + pubcomp_size;
  const std::size_t bound = 2 * waiting_bound + one_read_buffer;

  // Reading goes on until the acknowledgements owed reach the bound, then stops (the reader sees
  // input_blocked() and reads no more: TCP tells the broker).
  auto offset = read_while_allowed(h, stream, 0, 1000);
  REQUIRE(h.session->input_blocked());
  CHECK_FALSE(h.session->input_resumable());
  CHECK(offset < stream.size());
  CHECK(h.stats.write_buffer_bytes.get() >= o.write_buffer_limit);
  CHECK(h.stats.write_buffer_bytes.get() <= waiting_bound);

  // The writer takes the batch and its write never completes (the broker does not read): once more up to the
  // bound, then nothing, however long the broker keeps sending.
  const auto batch = h.session->prepare_write();
  const bytes first_batch(batch.begin(), batch.end());
  CHECK(h.session->input_resumable());
  offset = read_while_allowed(h, stream, offset, 1000);
  REQUIRE(h.session->input_blocked());
  CHECK(offset < stream.size());
  for (int attempt = 0; attempt < 10; ++attempt) {
    CHECK_FALSE(h.session->input_resumable());
    CHECK(read_while_allowed(h, stream, offset, 1000) == offset);
  }
  CHECK(h.stats.write_buffer_bytes.get() <= waiting_bound);
  CHECK(h.session->buffered_bytes() <= bound);
  CHECK(h.session->buffer_capacity() <= 2 * bound);  // buffers double as they grow

  // Exact bytes: the PUBCOMPs answer the PUBRELs in order [MQTT-4.6.0-2], [MQTT-4.3.3-11].
  const bytes expected_first =
      version == protocol_version::v5 ? bytes{0x70, 0x03, 0x00, 0x01, 0x92} : bytes{0x70, 0x02, 0x00, 0x01};
  REQUIRE(first_batch.size() >= expected_first.size());
  CHECK(bytes(first_batch.begin(), first_batch.begin() + static_cast<std::ptrdiff_t>(pubcomp_size)) ==
        expected_first);

  // The broker reads again: everything is answered, one PUBCOMP per PUBREL, within the same bounds
  // throughout.
  h.session->commit_write(h.now);
  std::size_t written = first_batch.size();
  while (offset < stream.size() || h.session->has_output()) {
    offset = read_while_allowed(h, stream, offset, 64 * 1024);
    CHECK(h.session->buffered_bytes() <= bound);
    if (h.session->has_output()) {
      written += h.session->prepare_write().size();
      h.session->commit_write(h.now);
    }
  }
  CHECK_FALSE(h.session->input_blocked());
  CHECK(written == flood.size() * pubcomp_size);
  CHECK(h.session->state() == detail::session_state::connected);
}

TEST_CASE("a QoS 1 flood to a client that discards incoming messages is acknowledged within the same bound",
          "[session][hostile][backpressure]") {
  auto o = options_for(protocol_version::v5);
  o.write_buffer_limit = 2048;
  o.discard_incoming_messages = true;
  harness h{o};
  h.connect();
  std::vector<proto::packet> flood;
  for (std::uint16_t i = 1; i <= 20'000; ++i)
    flood.emplace_back(incoming_publish("t", qos::at_least_once, i, "x"));
  const auto stream = concatenated(flood, protocol_version::v5);
  auto offset = read_while_allowed(h, stream, 0, 4096);
  REQUIRE(h.session->input_blocked());  // the write buffer, not the receive queue: nothing is queued
  CHECK(h.session->message_count() == 0);
  (void)h.session->prepare_write();  // the write that never completes
  offset = read_while_allowed(h, stream, offset, 4096);
  CHECK(offset < stream.size());
  CHECK(h.stats.write_buffer_bytes.get() <= o.write_buffer_limit + 4);
  CHECK(h.session->buffered_bytes() <= 2 * (o.write_buffer_limit + 4) + one_read_buffer);
  h.session->commit_write(h.now);
  while (offset < stream.size() || h.session->has_output()) {
    offset = read_while_allowed(h, stream, offset, 4096);
    if (h.session->has_output()) {
      (void)h.session->prepare_write();
      h.session->commit_write(h.now);
    }
  }
  CHECK(h.stats.messages_discarded.get() == 20'000);
  CHECK(h.stats.messages_delivered.get() == 0);
  CHECK(h.session->message_count() == 0);
}

TEST_CASE(
    "a client that discards incoming messages still acknowledges each, QoS 2 exactly once [MQTT-4.3.3-10]",
    "[session][hostile][discard]") {
  auto o = options_for(protocol_version::v5);
  o.discard_incoming_messages = true;
  o.receive_queue_capacity = 1;
  harness h{o};
  h.connect();
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_most_once, 0, "a")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::at_least_once, 1, "b")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 2, "c")));
  REQUIRE_FALSE(h.feed(incoming_publish("t", qos::exactly_once, 2, "c", true)));  // retransmitted
  REQUIRE_FALSE(h.feed(ack_for<proto::pubrel>(2)));
  const auto written = h.take_written();
  REQUIRE(written.size() == 4);
  CHECK(written[0].as<proto::puback>().packet_id == 1);
  CHECK(written[1].as<proto::pubrec>().packet_id == 2);
  CHECK(written[2].as<proto::pubrec>().packet_id == 2);
  CHECK(written[3].as<proto::pubcomp>().reason == reason_code::success);  // the flow was known
  CHECK_FALSE(h.session->input_blocked());  // capacity 1, three messages: none of them queued
  CHECK(h.session->message_count() == 0);
  CHECK(h.stats.messages_discarded.get() == 3);
  CHECK(h.stats.messages_received.get() == 4);
}

TEST_CASE("a length header announcing 200 MB costs nothing until the bytes arrive",
          "[session][hostile][memory]") {
  // 30 80 80 80 64: PUBLISH, remaining length 100 x 2^21 = 209,715,200.
  const bytes header{0x30, 0x80, 0x80, 0x80, 0x64};
  SECTION("over our Maximum Packet Size (the default, 16 MiB): refused from the header [MQTT-3.1.2-24]") {
    harness h;
    h.connect();
    CHECK(h.feed_bytes(header) == proto::error::packet_too_large);
    CHECK(h.session->last_error().reason == reason_code::packet_too_large);
    CHECK(h.session->last_error().we_should_disconnect);
    CHECK(h.session->buffer_capacity() < 64 * 1024);
  }
  SECTION("without a maximum of our own: the buffer grows with what arrives, not with what is announced") {
    auto o = options_for(protocol_version::v5);
    o.maximum_packet_size = 0;
    harness h{o};
    h.connect();
    REQUIRE_FALSE(h.feed_bytes(header));
    for (int i = 0; i < 5; ++i) (void)h.session->read_space();  // asked again and again: no growth
    CHECK(h.session->buffer_capacity() <= 2 * one_read_buffer);
    const bytes body(1024 * 1024, 0);
    REQUIRE_FALSE(h.feed_bytes(body, 64 * 1024));
    CHECK(h.session->buffered_bytes() == header.size() + body.size());
    CHECK(h.session->buffer_capacity() <= 3 * body.size());
  }
}

TEST_CASE("bytes trickled without completing a packet do not keep a broker alive [MQTT-3.1.2-22]",
          "[session][hostile][keepalive]") {
  const auto version = GENERATE(protocol_version::v5, protocol_version::v3_1_1);
  CAPTURE(version);
  auto o = options_for(version);
  o.keep_alive = 10s;
  harness h{o};
  h.connect();
  // A PUBLISH that announces 1,000 bytes and gets one every 100 ms.
  auto trickle = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h.advance(100ms);
      const bytes one{static_cast<std::uint8_t>(i == 0 ? 0x30 : i == 1 ? 0xe8 : i == 2 ? 0x07 : 'x')};
      REQUIRE_FALSE(h.feed_bytes(one));
      if (auto ec = h.session->on_timer(h.now)) return ec;
    }
    return error_code{};
  };
  CHECK_FALSE(trickle(100));  // 10 s: a PINGREQ is due, nothing complete came
  CHECK(h.take_one().type() == proto::packet_type::pingreq);
  CHECK(trickle(60) ==
        error::keep_alive_timeout);  // 1.5 x keep alive after CONNACK, the last complete packet
  CHECK(h.now == clock::time_point{} + 1000h + 15s);
  CHECK_FALSE(h.session->last_error().we_should_disconnect);  // 0x8D is the server's code (Table 3-10)
}

TEST_CASE("a complete packet is a sign of life however it was cut", "[session][hostile][keepalive]") {
  auto o = options_for(protocol_version::v5);
  o.keep_alive = 10s;
  harness h{o};
  h.connect();
  const auto publish =
      harness::bytes_of(incoming_publish("t", qos::at_most_once, 0, "x"), protocol_version::v5);
  for (std::size_t i = 0; i < publish.size(); ++i) {
    h.advance(1s);
    REQUIRE_FALSE(h.feed_bytes(std::span{publish}.subspan(i, 1)));
  }
  h.advance(14s);  // 14 s after the last byte, which completed the packet
  CHECK_FALSE(h.session->on_timer(h.now));
  h.advance(1s);
  CHECK(h.session->on_timer(h.now) == error::keep_alive_timeout);
}

TEST_CASE("while our own receive queue holds the input back, the broker's silence is not held against it",
          "[session][hostile][keepalive]") {
  auto o = options_for(protocol_version::v5);
  o.keep_alive = 10s;
  o.receive_queue_capacity = 1;
  harness h{o};
  h.connect();
  const auto two = concatenated(
      {incoming_publish("t", qos::at_most_once, 0, "1"), incoming_publish("t", qos::at_most_once, 0, "2")},
      protocol_version::v5);
  REQUIRE_FALSE(h.feed_bytes(two));
  REQUIRE(h.session->input_blocked());
  unsigned pings = 0;
  for (int second = 0; second < 100; ++second) {
    h.advance(1s);
    REQUIRE_FALSE(h.session->on_timer(h.now));
    for (const auto& w : h.take_written()) pings += w.type() == proto::packet_type::pingreq;
  }
  CHECK(pings >= 9);  // the broker's own keep alive is still served
  h.session->pop_message();
  REQUIRE(h.session->input_resumable());
  REQUIRE_FALSE(h.session->resume_input(h.now));
  CHECK_FALSE(h.session->input_blocked());
  // Listening again: now silence counts.
  h.advance(15s);
  CHECK(h.session->on_timer(h.now) == error::keep_alive_timeout);
}

TEST_CASE("acknowledgements for packet identifiers not in use are ignored; a PUBREC is answered",
          "[session][hostile][unknown-ack]") {
  const auto version = GENERATE(protocol_version::v5, protocol_version::v3_1_1);
  CAPTURE(version);
  harness h{options_for(version)};
  h.connect();
  recorded_publish op;  // one flow in progress, which none of these may touch
  h.publish(op, "t", qos::at_least_once);
  const auto in_use = h.take_one().as<proto::publish>().packet_id;
  const std::uint16_t unknown = 42;
  REQUIRE(in_use != unknown);

  SECTION("PUBACK, PUBCOMP, SUBACK, UNSUBACK: nothing is done") {
    proto::suback suback;
    suback.packet_id = unknown;
    const std::array granted{reason_code::granted_qos_1};
    suback.reasons = std::span<const reason_code>{granted};
    proto::unsuback unsuback;
    unsuback.packet_id = unknown;
    const std::array removed{reason_code::success};
    if (version == protocol_version::v5) unsuback.reasons = std::span<const reason_code>{removed};
    REQUIRE_FALSE(h.feed(ack_for<proto::puback>(unknown)));
    REQUIRE_FALSE(h.feed(ack_for<proto::pubcomp>(unknown)));
    REQUIRE_FALSE(h.feed(suback));
    REQUIRE_FALSE(h.feed(unsuback));
    CHECK(h.take_written().empty());
    CHECK(h.stats.unexpected_acks.get() == 4);
  }
  SECTION("PUBREC: PUBREL, with 0x92 Packet Identifier not found in MQTT 5, so the broker's flow can end") {
    REQUIRE_FALSE(h.feed(ack_for<proto::pubrec>(unknown)));
    const auto rel = h.take_one();
    const bytes expected =
        version == protocol_version::v5 ? bytes{0x62, 0x03, 0x00, 0x2a, 0x92} : bytes{0x62, 0x02, 0x00, 0x2a};
    CHECK(rel.bytes == expected);
    CHECK(h.stats.unexpected_acks.get() == 1);
  }
  if (version == protocol_version::v5) {  // 3.1.1 has no reason codes
    SECTION(
        "PUBREC with an error code: the broker ended that flow itself, nothing to answer [MQTT-4.3.3-4]") {
      REQUIRE_FALSE(h.feed(ack_for<proto::pubrec>(unknown, reason_code::quota_exceeded)));
      CHECK(h.take_written().empty());
    }
  }
  CHECK(h.session->state() == detail::session_state::connected);
  CHECK_FALSE(op.done());
  REQUIRE_FALSE(h.feed(ack_for<proto::puback>(in_use)));
  REQUIRE(op.done());
  CHECK_FALSE(*op.error);
}

TEST_CASE("an Assigned Client Identifier replaces only an empty one [MQTT-3.2.2-16]",
          "[session][hostile][connect]") {
  auto o = options_for(protocol_version::v5);
  o.client_id = "configured";
  harness h{o};
  proto::connack ack;
  ack.properties.assigned_client_identifier = "broker-chose-this";
  h.connect(ack);
  CHECK(h.session->connack().assigned_client_identifier == "broker-chose-this");  // reported, not adopted
  CHECK(h.session->client_id() == "configured");
  h.session->end_connection(h.now);
  CHECK(h.connect(ack).as<proto::connect>().client_id == "configured");

  SECTION("an empty one is replaced, and the assigned one kept even if the broker assigns again") {
    o.client_id.clear();
    harness e{o};
    e.connect(ack);
    CHECK(e.session->client_id() == "broker-chose-this");
    e.session->end_connection(e.now);
    proto::connack again;
    again.properties.assigned_client_identifier = "another";
    CHECK(e.connect(again).as<proto::connect>().client_id == "broker-chose-this");
    CHECK(e.session->client_id() == "broker-chose-this");
  }
}

TEST_CASE("a Server Keep Alive of 5 s is obeyed: PINGREQ after 5 s, not after ours [MQTT-3.2.2-21]",
          "[session][hostile][limits]") {
  auto o = options_for(protocol_version::v5);
  o.keep_alive = 60s;
  harness h{o};
  proto::connack ack;
  ack.properties.server_keep_alive = 5;
  h.connect(ack);
  h.advance(4900ms);
  REQUIRE_FALSE(h.session->on_timer(h.now));
  CHECK(h.take_written().empty());
  h.advance(100ms);
  REQUIRE_FALSE(h.session->on_timer(h.now));
  CHECK(h.take_one().type() == proto::packet_type::pingreq);
  h.advance(2500ms);  // half the broker's keep alive without an answer
  CHECK(h.session->on_timer(h.now) == error::keep_alive_timeout);
}

// The hostile-broker table: a scripted broker accepts the connection, then misbehaves with exact bytes, in
// both MQTT versions. The client must neither crash, hang, leak (ASan runs this) nor deliver anything
// wrongly; a protocol violation ends the connection with the reason code the standard names and the reconnect
// policy takes over; what the standard lets a client ignore is ignored and the connection goes on.
//
// Tests tagged [close-path] check what reaches the wire as the client closes (MQTT 5: DISCONNECT with the
// reason code before the close, [MQTT-4.13.1-1] and 3.14.2.1; a bounded graceful close). They wait for the
// close path of issue 14 points 2-4 and run as their own meson test, expected to fail until it lands.
#include "integration/hostile_support.hpp"

#include <functional>
#include <optional>
#include <vector>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

constexpr auto v5 = protocol_version::v5;
constexpr auto v3 = protocol_version::v3_1_1;

// A violation: the bytes for each version (empty: not applicable), what the client reports, and the reason
// code it sends in MQTT 5.
struct violation_row {
  const char* what;
  bytes bytes_v5;
  bytes bytes_v3;
  error_code error;
  reason_code reason;
  std::function<void(client_options&)> adjust = {};
  std::uint64_t delivered = 0;  // messages before the violation, delivered as they should be
};

error_code codec(protocol::error e) {
  return std::error_code{e};
}
const error_code violation = make_error_code(error::protocol_violation);

std::vector<violation_row> violation_rows() {
  using enum reason_code;
  using protocol::error;
  const bytes big_payload(2000, 'x');
  auto big_publish = [&](mqtt_bytes::version v) { return mqtt_bytes::publish(v, "t", big_payload); };
  return {
      // Framing [MQTT-1.5.5-1], [MQTT-2.1.3-1]
      {"remaining length of 5 bytes [MQTT-1.5.5-1]", hex("30 ff ff ff ff 7f"), hex("30 ff ff ff ff 7f"),
       codec(error::malformed_variable_byte_integer), malformed_packet},
      {"remaining length not minimal (82 00) [MQTT-1.5.5-1]", hex("40 82 00 00 01"), hex("40 82 00 00 01"),
       codec(error::malformed_variable_byte_integer), malformed_packet},
      {"remaining length shorter than the fields: topic runs past it", hex("30 03 00 05 'a'"),
       hex("30 03 00 05 'a'"), codec(error::truncated_field), malformed_packet},
      {"remaining length longer than the fields (3.1.1 PUBACK of 3 bytes)",
       {},
       hex("40 03 00 01 00"),
       codec(error::remaining_length_mismatch),
       malformed_packet},
      {"reserved packet type 0", hex("00 00"), hex("00 00"), codec(error::reserved_packet_type),
       malformed_packet},
      {"packet type 15 does not exist in 3.1.1",
       {},
       hex("f0 00"),
       codec(error::reserved_packet_type),
       malformed_packet},
      {"PUBACK reserved flags 0010 [MQTT-2.1.3-1]", hex("42 02 00 01"), hex("42 02 00 01"),
       codec(error::invalid_fixed_header_flags), malformed_packet},
      {"PUBREL flags 0000 [MQTT-3.6.1-1]", hex("60 02 00 01"), hex("60 02 00 01"),
       codec(error::invalid_fixed_header_flags), malformed_packet},
      {"PINGRESP flags 0001 [MQTT-2.1.3-1]", hex("d1 00"), hex("d1 00"),
       codec(error::invalid_fixed_header_flags), malformed_packet},
      {"PUBLISH QoS 3 [MQTT-3.3.1-4]", hex("36 06 00 01 't' 00 01 00"), hex("36 05 00 01 't' 00 01"),
       codec(error::invalid_qos), malformed_packet},
      {"PUBLISH DUP at QoS 0 [MQTT-3.3.1-2]", hex("38 04 00 01 't' 00"), hex("38 03 00 01 't'"),
       codec(error::dup_with_qos_0), malformed_packet},
      {"PUBACK packet identifier 0 [MQTT-2.2.1-5]", hex("40 02 00 00"), hex("40 02 00 00"),
       codec(error::zero_packet_identifier), protocol_error},
      {"PUBACK with an unknown property (2.2.2.2)",
       hex("40 06 00 01 00 02 7f 00"),
       {},
       codec(error::unknown_property),
       malformed_packet},
      {"PUBLISH with Session Expiry Interval, a property it may not carry (2.2.2.2)",
       hex("30 09 00 01 't' 05 11 00 00 00 01"),
       {},
       codec(error::property_not_allowed),
       malformed_packet},
      {"DISCONNECT with reason code 0x01, not in Table 3-10 [MQTT-3.14.2-1]",
       hex("e0 01 01"),
       {},
       codec(error::invalid_reason_code),
       malformed_packet},
      // Packets a broker must not send, or not now
      {"a second CONNACK (3.2: sent once, first)", hex("20 03 00 00 00"), hex("20 02 00 00"), violation,
       protocol_error},
      {"CONNECT from the broker (3.1: client to server only)",
       mqtt_bytes::connect(mqtt_bytes::version::v5, "x"),
       mqtt_bytes::connect(mqtt_bytes::version::v3_1_1, "x"), violation, protocol_error},
      {"SUBSCRIBE from the broker", hex("82 07 00 01 00 00 01 't' 00"), hex("82 06 00 01 00 01 't' 00"),
       violation, protocol_error},
      {"UNSUBSCRIBE from the broker", hex("a2 06 00 01 00 00 01 't'"), hex("a2 05 00 01 00 01 't'"),
       violation, protocol_error},
      {"PINGREQ from the broker", hex("c0 00"), hex("c0 00"), violation, protocol_error},
      {"AUTH outside an exchange the client began [MQTT-4.12.0-2]",
       hex("f0 00"),
       {},
       violation,
       protocol_error},
      // Topics [MQTT-3.3.2-1], [MQTT-3.3.2-2], [MQTT-1.5.4-1], [MQTT-1.5.4-2]
      {"PUBLISH topic with + [MQTT-3.3.2-2]", hex("30 06 00 03 'a/+' 00"), hex("30 05 00 03 'a/+'"),
       codec(error::invalid_topic_name), topic_name_invalid},
      {"PUBLISH topic # [MQTT-3.3.2-2]", hex("30 04 00 01 '#' 00"), hex("30 03 00 01 '#'"),
       codec(error::invalid_topic_name), topic_name_invalid},
      {"PUBLISH topic ill-formed UTF-8 (c3 28) [MQTT-1.5.4-1]", hex("30 05 00 02 c3 28 00"),
       hex("30 04 00 02 c3 28"), codec(error::invalid_utf8), malformed_packet},
      {"PUBLISH topic with a surrogate (U+D800) [MQTT-1.5.4-1]", hex("30 06 00 03 ed a0 80 00"),
       hex("30 05 00 03 ed a0 80"), codec(error::invalid_utf8), malformed_packet},
      {"PUBLISH topic with U+0000 [MQTT-1.5.4-2]", hex("30 04 00 01 00 00"), hex("30 03 00 01 00"),
       codec(error::utf8_null_character), malformed_packet},
      {"PUBLISH empty topic without a Topic Alias: a Protocol Error (3.3.2.1)",
       hex("30 03 00 00 00"),
       {},
       codec(error::topic_name_missing),
       protocol_error},
      {"PUBLISH empty topic [MQTT-4.7.3-1]",
       {},
       hex("30 02 00 00"),
       codec(error::invalid_topic_name),
       topic_name_invalid},
      // Topic aliases (MQTT 5)
      {"Topic Alias 0 [MQTT-3.3.2-8]",
       hex("30 07 00 01 't' 03 23 00 00"),
       {},
       codec(error::invalid_topic_alias),
       topic_alias_invalid},
      {"Topic Alias above our Topic Alias Maximum (5) [MQTT-3.3.2-11]",
       hex("30 07 00 01 't' 03 23 00 06"),
       {},
       violation,
       topic_alias_invalid,
       [](client_options& o) { o.topic_alias_maximum = 5; }},
      {"Topic Alias never set, with an empty topic (3.3.2.3.4)",
       hex("30 06 00 00 03 23 00 01"),
       {},
       violation,
       protocol_error},
      // Limits we announced
      {"PUBLISH over our Maximum Packet Size (1024) [MQTT-3.1.2-24]", big_publish(mqtt_bytes::version::v5),
       big_publish(mqtt_bytes::version::v3_1_1), codec(error::packet_too_large), packet_too_large,
       [](client_options& o) { o.maximum_packet_size = 1024; }},
      {"a third QoS 2 PUBLISH beyond our Receive Maximum (2) [MQTT-3.3.4-9]",
       hex("34 06 00 01 't' 00 01 00  34 06 00 01 't' 00 02 00  34 06 00 01 't' 00 03 00"),
       {},
       violation,
       receive_maximum_exceeded,
       [](client_options& o) { o.receive_maximum = 2; },
       2},
  };
}

// Connects to a broker that sends the row's bytes after CONNACK; checks what the client reported, that it
// delivered nothing of it and reconnected, and (check_wire) what it wrote before closing.
asio::awaitable<void> run_violation(const violation_row& row, protocol_version v, bool check_wire) {
  const auto& hostile = v == v5 ? row.bytes_v5 : row.bytes_v3;
  scripted_broker broker{after_connack(connack(wire_version(v)), hostile)};
  auto o = hostile_options(broker, v);
  if (row.adjust) row.adjust(o);
  client c{co_await asio::this_coro::executor, o};
  event_log events{c};
  asio::co_spawn(co_await asio::this_coro::executor, events.run(), asio::detached);
  c.start();
  co_await checked(c, events, [&]() -> asio::awaitable<void> {
    const bool reconnected = co_await connected_times(events, 2);  // the policy: again after 50 ms
    INFO("events: " << events.story());
    CHECK(reconnected);
    const auto lost = events.of_kind(event_kind::disconnected);
    REQUIRE_FALSE(lost.empty());
    INFO("reported: " << lost[0].event.error.message());
    CHECK(lost[0].event.error == row.error);
    if (v == v5) CHECK(lost[0].event.reason == row.reason);
    CHECK(c.statistics().messages_delivered == row.delivered);  // nothing of the violation delivered
    for (std::uint64_t i = 0; i < row.delivered; ++i) {
      const auto before = co_await receive_within(c, 1s);
      CHECK(before.has_value());
    }
    const auto stray = co_await receive_within(c, 10ms);
    CHECK_FALSE(stray.has_value());

    const bool closed = co_await broker_until(
        broker, [](const auto& logs) { return logs[0].closed_by_client; }, 2s);
    CHECK(closed);  // the client closed the connection [MQTT-4.13.1-1] (3.1.1: [MQTT-4.8.0-1])
    if (check_wire) {
      const auto sent = after_connect(broker.log()[0]);
      if (v == v5) {
        // DISCONNECT with the reason code, then the close [MQTT-4.13.1-1], 3.14.2.1.
        REQUIRE_FALSE(sent.empty());
        CHECK(sent.back().type() == mqtt_bytes::disconnect_type);
        CHECK(disconnect_reason(sent.back()) == static_cast<std::uint8_t>(row.reason));
      } else {
        // 3.1.1 has no way to say why: the client closes without DISCONNECT (which would discard its will).
        for (const auto& p : sent) CHECK(p.type() != mqtt_bytes::disconnect_type);
      }
    }
  });
}

void violation_table(bool check_wire) {
  for (const auto& row : violation_rows()) {
    for (const auto v : {v5, v3}) {
      if ((v == v5 ? row.bytes_v5 : row.bytes_v3).empty()) continue;
      DYNAMIC_SECTION(name_of_version(v) << ": " << row.what) {
        run_async([&](asio::io_context&) { return run_violation(row, v, check_wire); }, 20s);
      }
    }
  }
}

}  // namespace

TEST_CASE(
    "A protocol violation by the broker ends the connection with the standard's reason code, then the "
    "reconnect policy",
    "[hostile][violation]") {
  violation_table(false);
}

TEST_CASE(
    "MQTT 5: the client tells the broker why with DISCONNECT and the reason code before it closes "
    "[MQTT-4.13.1-1]",
    "[hostile][violation][close-path]") {
  violation_table(true);
}

// --- What the client may ignore
// -----------------------------------------------------------------------------

namespace {

struct ignored_row {
  const char* what;
  bytes bytes_v5, bytes_v3;
  bytes answer_v5, answer_v3;  // what the client must send back (exact bytes), or nothing
  bool counted;                // an acknowledgement for an unknown identifier (statistics::unexpected_acks)
};

std::vector<ignored_row> ignored_rows() {
  return {
      {"PUBACK for an identifier never used", hex("40 02 00 2a"), hex("40 02 00 2a"), {}, {}, true},
      {"PUBREC for an identifier never used: PUBREL, 0x92 in MQTT 5 (Table 3-6)", hex("50 02 00 2a"),
       hex("50 02 00 2a"), hex("62 03 00 2a 92"), hex("62 02 00 2a"), true},
      {"PUBREC with an error code for an identifier never used: the broker ended it [MQTT-4.3.3-4]",
       hex("50 03 00 2a 80"),
       {},
       {},
       {},
       true},
      {"PUBCOMP for an identifier never used", hex("70 02 00 2a"), hex("70 02 00 2a"), {}, {}, true},
      {"SUBACK for an identifier never used", hex("90 04 00 2a 00 00"), hex("90 03 00 2a 00"), {}, {}, true},
      {"UNSUBACK for an identifier never used", hex("b0 04 00 2a 00 00"), hex("b0 02 00 2a"), {}, {}, true},
      {"PUBREL for an identifier never used: PUBCOMP, 0x92 in MQTT 5 [MQTT-4.3.3-11]", hex("62 02 00 2a"),
       hex("62 02 00 2a"), hex("70 03 00 2a 92"), hex("70 02 00 2a"), false},
      {"PINGRESP nobody asked for", hex("d0 00"), hex("d0 00"), {}, {}, false},
  };
}

}  // namespace

TEST_CASE(
    "Acknowledgements for identifiers the client never used are ignored, and the connection goes on "
    "(docs/compliance.md)",
    "[hostile][ignored]") {
  for (const auto& row : ignored_rows()) {
    for (const auto v : {v5, v3}) {
      const auto& hostile = v == v5 ? row.bytes_v5 : row.bytes_v3;
      if (hostile.empty()) continue;
      DYNAMIC_SECTION(name_of_version(v) << ": " << row.what) {
        const auto& answer = v == v5 ? row.answer_v5 : row.answer_v3;
        // Then a QoS 1 message, which must arrive, alone, and be acknowledged: the session is intact.
        auto then = hostile;
        const auto alive = mqtt_bytes::publish(wire_version(v), "t", bytes{'o', 'k'}, 7);
        then.insert(then.end(), alive.begin(), alive.end());
        scripted_broker broker{after_connack(connack(wire_version(v)), then)};
        run_async(
            [&](asio::io_context& io) -> asio::awaitable<void> {
              client c{io, hostile_options(broker, v)};
              event_log events{c};
              asio::co_spawn(io, events.run(), asio::detached);
              c.start();
              co_await checked(c, events, [&]() -> asio::awaitable<void> {
                const auto m = co_await receive_within(c, 3s);
                REQUIRE(m.has_value());
                CHECK(m->payload == "ok");
                CHECK(m->qos == qos::at_least_once);
                const bool acked = co_await broker_until(
                    broker,
                    [](const auto& logs) {
                      for (const auto& p : after_connect(logs[0]))
                        if (wire_bytes(p) == hex("40 02 00 07")) return true;
                      return false;
                    },
                    2s);
                CHECK(acked);
                co_await sleep_for(50ms);
                INFO("events: " << events.story());
                CHECK(events.count(event_kind::disconnected) == 0);
                CHECK(c.statistics().messages_delivered == 1);
                CHECK(c.statistics().unexpected_acks == (row.counted ? 1u : 0u));
                std::vector<bytes> sent;
                for (const auto& p : after_connect(broker.log()[0])) sent.push_back(wire_bytes(p));
                std::vector<bytes> expected;
                if (!answer.empty()) expected.push_back(answer);
                expected.push_back(hex("40 02 00 07"));
                CHECK(sent == expected);
              });
            },
            15s);
      }
    }
  }
}

// --- Silence where a packet should be
// ------------------------------------------------------------------------

TEST_CASE(
    "A packet that never completes leaves memory flat, and keep alive still judges the broker "
    "[MQTT-3.1.2-22]",
    "[hostile][silence]") {
  struct row {
    const char* what;
    bytes hostile;
    std::uint32_t maximum_packet_size;
  };
  const std::vector<row> rows{
      {"a remaining length longer than the data (PUBACK announcing 5 bytes, 2 sent)", hex("40 05 00 01"),
       16 * 1024 * 1024},
      {"a length header announcing 200 MB, without a limit of our own", hex("30 80 80 80 64"), 0},
      {"a length header announcing 10 MiB, under our 16 MiB limit", hex("30 80 80 80 05"), 16 * 1024 * 1024},
  };
  for (const auto& r : rows) {
    for (const auto v : {v5, v3}) {
      DYNAMIC_SECTION(name_of_version(v) << ": " << r.what) {
        scripted_broker broker{after_connack(connack(wire_version(v)), r.hostile)};
        run_async(
            [&](asio::io_context& io) -> asio::awaitable<void> {
              auto o = hostile_options(broker, v);
              o.keep_alive = 1s;
              o.ping_timeout = 300ms;
              o.maximum_packet_size = r.maximum_packet_size;
              o.reconnect.enabled = false;
              client c{io, o};
              event_log events{c};
              asio::co_spawn(io, events.run(), asio::detached);
              c.start();
              co_await checked(c, events, [&]() -> asio::awaitable<void> {
                const bool up = co_await connected_times(events, 1);
                REQUIRE(up);
                const auto before = allocated_bytes();
                std::size_t peak = before;
                const bool lost = co_await eventually(
                    [&] {
                      peak = std::max(peak, allocated_bytes());
                      return events.count(event_kind::disconnected) == 1;
                    },
                    5s);
                INFO("events: " << events.story());
                REQUIRE(lost);
                const auto connected_at = events.of_kind(event_kind::connected)[0].at;
                const auto gone = events.of_kind(event_kind::disconnected)[0];
                CHECK(gone.event.error == error::keep_alive_timeout);
                // 1.3 s (keep alive + ping timeout) after CONNACK, the last complete packet; timers may be
                // late.
                CHECK(gone.at - connected_at >= 1200ms);
                CHECK(gone.at - connected_at <= 2500ms);
                CHECK(peak - before < 4 * 1024 * 1024);  // nothing reserved for the announced packet
                // The client asked for proof of life, and closed without DISCONNECT (0x8D is the server's).
                const bool closed =
                    co_await broker_until(broker, [](const auto& logs) { return logs[0].closed_by_client; });
                CHECK(closed);
                const auto sent = after_connect(broker.log()[0]);
                REQUIRE_FALSE(sent.empty());
                CHECK(wire_bytes(sent[0]) == hex("c0 00"));  // PINGREQ [MQTT-3.1.2-20]
                for (const auto& p : sent) CHECK(p.type() != mqtt_bytes::disconnect_type);
              });
            },
            15s);
      }
    }
  }
}

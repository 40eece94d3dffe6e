// The hostile-broker table, continued: cases that need a script of their own (a broker that never answers,
// trickles, floods without reading, restricts the client in CONNACK, repeats a QoS 2 PUBLISH, disconnects
// with every reason code). Exact bytes both ways; wall-clock cases use keep alive values of a second or less.
#include "integration/hostile_support.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <optional>
#include <vector>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

constexpr auto v5 = protocol_version::v5;
constexpr auto v3 = protocol_version::v3_1_1;

// A PUBLISH the client sent, taken apart.
struct sent_publish {
  int qos = 0;
  bool retain = false;
  std::string topic;
  std::uint16_t packet_id = 0;
  bytes properties;  // MQTT 5, without their length
  std::size_t wire_size = 0;
};

sent_publish parse_publish(const received_packet& p, protocol_version v) {
  sent_publish out;
  out.qos = (p.first_byte >> 1) & 0x03;
  out.retain = p.first_byte & 0x01;
  const auto& b = p.body;
  std::size_t at = 2 + ((static_cast<std::size_t>(b.at(0)) << 8) | b.at(1));
  out.topic.assign(b.begin() + 2, b.begin() + static_cast<std::ptrdiff_t>(at));
  if (out.qos > 0) {
    out.packet_id = static_cast<std::uint16_t>((b.at(at) << 8) | b.at(at + 1));
    at += 2;
  }
  if (v == v5) {
    std::size_t length = 0;
    for (std::size_t shift = 0;; shift += 7) {
      const auto digit = b.at(at++);
      length |= static_cast<std::size_t>(digit & 0x7f) << shift;
      if ((digit & 0x80) == 0) break;
    }
    out.properties.assign(b.begin() + static_cast<std::ptrdiff_t>(at),
                          b.begin() + static_cast<std::ptrdiff_t>(at + length));
  }
  out.wire_size = wire_bytes(p).size();
  return out;
}

std::vector<sent_publish> publishes_in(const connection_log& log, protocol_version v) {
  std::vector<sent_publish> out;
  for (const auto& p : after_connect(log))
    if (p.type() == mqtt_bytes::publish_type) out.push_back(parse_publish(p, v));
  return out;
}

bytes ack_bytes(std::uint8_t first_byte, std::uint16_t id) {
  return {first_byte, 0x02, static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff)};
}

// An async_publish awaited without throwing. (Arguments, not a braced message: g++ 12 destroys a braced
// temporary of a co_await expression twice.)
asio::awaitable<error_code> try_publish(client& c, std::string topic, std::string payload, qos q,
                                        bool retain = false) {
  message m{std::move(topic), std::move(payload), q, retain, {}};
  auto [ec, result] = co_await c.async_publish(std::move(m), asio::as_tuple(asio::use_awaitable));
  (void)result;
  co_return ec;
}

}  // namespace

TEST_CASE("A broker that never answers CONNECT: the attempt ends at connack_timeout, then the policy",
          "[hostile][connect]") {
  for (const auto v : {v5, v3}) {
    DYNAMIC_SECTION(name_of_version(v)) {
      scripted_broker broker{[](scripted_connection& c) -> asio::awaitable<void> {
        co_await c.drain_until_closed(10s);  // reads the CONNECT, answers nothing
      }};
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            auto o = hostile_options(broker, v);
            o.connack_timeout = 300ms;
            o.reconnect.maximum_attempts = 1;  // one retry, then stop
            client c{io, o};
            event_log events{c};
            asio::co_spawn(io, events.run(), asio::detached);
            c.start();
            co_await checked(c, events, [&]() -> asio::awaitable<void> {
              const bool stopped =
                  co_await eventually([&] { return events.count(event_kind::stopped) == 1; }, 5s);
              INFO("events: " << events.story());
              REQUIRE(stopped);
              const auto failed = events.of_kind(event_kind::connect_failed);
              REQUIRE(failed.size() == 2);
              const auto attempts = events.of_kind(event_kind::connecting);
              for (std::size_t i = 0; i < 2; ++i) {
                CHECK(failed[i].event.error == error::connack_timeout);
                CHECK(failed[i].at - attempts[i].at >= 290ms);
                CHECK(failed[i].at - attempts[i].at <= 1500ms);
              }
              CHECK(events.count(event_kind::connected) == 0);
              const bool closed = co_await broker_until(
                  broker,
                  [](const auto& logs) {
                    return logs.size() == 2 && logs[0].closed_by_client && logs[1].closed_by_client;
                  },
                  2s);
              CHECK(closed);  // each attempt's connection closed by the client, none left behind
              for (const auto& log : broker.log()) {
                REQUIRE(log.received.size() == 1);
                CHECK(log.received[0].type() == mqtt_bytes::connect_type);
              }
            });
          },
          15s);
    }
  }
}

TEST_CASE(
    "Bytes trickled one per 100 ms, never a whole packet: keep alive still judges the broker "
    "[MQTT-3.1.2-22]",
    "[hostile][keepalive]") {
  for (const auto v : {v5, v3}) {
    DYNAMIC_SECTION(name_of_version(v)) {
      scripted_broker broker{[v](scripted_connection& c) -> asio::awaitable<void> {
        const auto connect = co_await c.receive();
        if (!connect) co_return;
        co_await c.send(connack(wire_version(v)));
        // A PUBLISH announcing 1,000 bytes (30 e8 07), then one byte per 100 ms; reading meanwhile.
        const bytes header = hex("30 e8 07");
        for (std::size_t i = 0; i < 60 && !c.closed(); ++i) {
          co_await c.receive(100ms);
          if (c.closed()) break;
          bytes one{i < header.size() ? header[i] : std::uint8_t{'x'}};
          const bool sent = co_await c.send(std::move(one));
          if (!sent) break;
        }
        co_await c.drain_until_closed(2s);
      }};
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            auto o = hostile_options(broker, v);
            o.keep_alive = 1s;
            o.ping_timeout = 300ms;
            o.reconnect.enabled = false;
            client c{io, o};
            event_log events{c};
            asio::co_spawn(io, events.run(), asio::detached);
            c.start();
            co_await checked(c, events, [&]() -> asio::awaitable<void> {
              const bool lost =
                  co_await eventually([&] { return events.count(event_kind::disconnected) == 1; }, 5s);
              INFO("events: " << events.story());
              REQUIRE(lost);
              const auto gone = events.of_kind(event_kind::disconnected)[0];
              CHECK(gone.event.error == error::keep_alive_timeout);
              const auto after = gone.at - events.of_kind(event_kind::connected)[0].at;
              CHECK(after >= 1200ms);  // keep alive + ping timeout after the last whole packet (CONNACK)
              CHECK(after <= 2500ms);  // not held by the trickle, which went on for 6 s
              CHECK(c.statistics().bytes_received > 5);
              const bool closed =
                  co_await broker_until(broker, [](const auto& logs) { return logs[0].closed_by_client; });
              CHECK(closed);
              const auto sent = after_connect(broker.log()[0]);
              REQUIRE(sent.size() == 1);
              CHECK(wire_bytes(sent[0]) == hex("c0 00"));  // PINGREQ, then the close (no DISCONNECT 0x8D)
            });
          },
          15s);
    }
  }
}

TEST_CASE(
    "A QoS 2 PUBLISH repeated before PUBREL is delivered once; after PUBCOMP the identifier is new "
    "[MQTT-4.3.3-10] [MQTT-4.3.3-12] (3.1.1: [MQTT-4.3.3-2])",
    "[hostile][qos2]") {
  for (const auto v : {v5, v3}) {
    DYNAMIC_SECTION(name_of_version(v)) {
      const auto props = v == v5 ? "00 " : "";
      const bytes first =
          hex(std::string("34 ") + (v == v5 ? "0a" : "09") + " 00 01 't' 00 07 " + props + "'once'");
      const bytes again =
          hex(std::string("3c ") + (v == v5 ? "0a" : "09") + " 00 01 't' 00 07 " + props + "'once'");
      const bytes later =
          hex(std::string("34 ") + (v == v5 ? "0b" : "0a") + " 00 01 't' 00 07 " + props + "'again'");
      std::atomic<bool> script_ok{false};
      scripted_broker broker{[&, v](scripted_connection& c) -> asio::awaitable<void> {
        const auto connect = co_await c.receive();
        if (!connect || c.index() > 0) co_return;
        co_await c.send(connack(wire_version(v)));
        bool ok = true;
        auto expect = [&](const bytes& b) -> asio::awaitable<void> {
          const auto p = co_await c.receive(2s);
          ok = ok && p && wire_bytes(*p) == b;
        };
        co_await c.send(first);
        co_await expect(hex("50 02 00 07"));  // PUBREC [MQTT-4.3.3-8]
        co_await c.send(again);               // DUP, our PUBREC "lost"
        co_await expect(hex("50 02 00 07"));  // acknowledged again [MQTT-4.3.3-10]
        co_await c.send(hex("62 02 00 07"));  // PUBREL
        co_await expect(hex("70 02 00 07"));  // PUBCOMP [MQTT-4.3.3-11]
        co_await c.send(later);               // the identifier now names a new message [MQTT-4.3.3-12]
        co_await expect(hex("50 02 00 07"));
        co_await c.send(hex("62 02 00 07"));
        co_await expect(hex("70 02 00 07"));
        script_ok = ok;
        co_await c.drain_until_closed(5s);
      }};
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            client c{io, hostile_options(broker, v)};
            c.start();
            const auto m1 = co_await receive_within(c, 3s);
            REQUIRE(m1.has_value());
            CHECK(m1->payload == "once");
            CHECK(m1->qos == qos::exactly_once);
            const auto m2 = co_await receive_within(c, 3s);
            REQUIRE(m2.has_value());
            CHECK(m2->payload == "again");
            const auto m3 = co_await receive_within(c, 200ms);
            CHECK_FALSE(m3.has_value());
            const bool done = co_await eventually([&] { return script_ok.load(); }, 2s);
            CHECK(done);
            CHECK(c.statistics().messages_received == 3);
            CHECK(c.statistics().messages_delivered == 2);
            c.stop();
          },
          15s);
    }
  }
}

TEST_CASE(
    "DISCONNECT from the broker with each reason code of Table 3-10: reported with its code, the "
    "connection closed [MQTT-4.13.2-1], nothing sent after it, then the reconnect policy",
    "[hostile][disconnect]") {
  const std::vector<std::uint8_t> codes{0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d,
                                        0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                                        0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2};
  for (const auto v : {v5, v3}) {
    DYNAMIC_SECTION(name_of_version(v)) {
      // 3.1.1 has no server DISCONNECT; one is taken as the broker's way of closing (0x00), like 5.0's.
      const std::size_t rounds = v == v5 ? codes.size() : 1;
      scripted_broker broker{[&, v, rounds](scripted_connection& c) -> asio::awaitable<void> {
        const auto connect = co_await c.receive();
        if (!connect) co_return;
        co_await c.send(connack(wire_version(v)));
        if (c.index() < rounds) {
          co_await c.sleep(20ms);
          bytes disconnect = v == v5 ? bytes{0xe0, 0x01, codes[c.index()]} : hex("e0 00");
          co_await c.send(std::move(disconnect));
        }
        co_await c.drain_until_closed(5s);
      }};
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            auto o = hostile_options(broker, v);
            std::vector<connection_failure> seen;
            o.reconnect.decide = [&](const connection_failure& f) -> reconnect_decision {
              seen.push_back(f);
              return std::chrono::milliseconds{10};
            };
            client c{io, o};
            event_log events{c};
            asio::co_spawn(io, events.run(), asio::detached);
            c.start();
            co_await checked(c, events, [&]() -> asio::awaitable<void> {
              const bool all = co_await connected_times(events, rounds + 1, 20s);
              INFO("events: " << events.story());
              REQUIRE(all);
              const auto lost = events.of_kind(event_kind::disconnected);
              REQUIRE(lost.size() >= rounds);
              REQUIRE(seen.size() >= rounds);
              const auto logs = broker.log();
              for (std::size_t i = 0; i < rounds; ++i) {
                const auto code = v == v5 ? codes[i] : std::uint8_t{0};
                CAPTURE(i, static_cast<int>(code));
                CHECK(lost[i].event.error == error::disconnected_by_broker);
                CHECK(static_cast<std::uint8_t>(lost[i].event.reason) == code);
                CHECK(seen[i].was_connected);  // the policy was asked, with the broker's reason
                CHECK(static_cast<std::uint8_t>(seen[i].reason) == code);
                CHECK(logs[i].closed_by_client);
                CHECK(after_connect(logs[i]).empty());  // no DISCONNECT back, nothing else [MQTT-3.14.4-1]
              }
            });
          },
          30s);
    }
  }
}

// --- CONNACK properties that restrict the client (MQTT 5, 3.2.2.3)
// ------------------------------------------

namespace {

// A broker that accepts with `properties`, acknowledges every QoS 1 PUBLISH and answers PINGREQ, recording
// all.
scripted_broker::script restricting(bytes properties) {
  return [properties = std::move(properties)](scripted_connection& c) -> asio::awaitable<void> {
    const auto connect = co_await c.receive();
    if (!connect) co_return;
    co_await c.send(connack(mqtt_bytes::version::v5, properties));
    while (!c.closed()) {
      const auto p = co_await c.receive(10s);
      if (!p) continue;
      if (p->type() == mqtt_bytes::publish_type && ((p->first_byte >> 1) & 3) == 1)
        co_await c.send(ack_bytes(0x40, parse_publish(*p, v5).packet_id));
      if (p->first_byte == 0xc0) co_await c.send(hex("d0 00"));
    }
  };
}

}  // namespace

TEST_CASE("CONNACK limits are obeyed (MQTT 5, 3.2.2.3)", "[hostile][limits]") {
  SECTION("Maximum QoS 0: QoS 1 and 2 publishes fail, none is sent [MQTT-3.2.2-11]") {
    scripted_broker broker{restricting(hex("24 00"))};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      client c{io, hostile_options(broker, v5)};
      const auto info = co_await c.co_connect();
      CHECK(info.maximum_qos == qos::at_most_once);
      {
        const auto published = co_await try_publish(c, "t", "1", qos::at_least_once, false);
        CHECK(published == error::qos_not_supported);
      }
      {
        const auto published = co_await try_publish(c, "t", "2", qos::exactly_once, false);
        CHECK(published == error::qos_not_supported);
      }
      {
        const auto published = co_await try_publish(c, "t", "0", qos::at_most_once, false);
        CHECK_FALSE(published);
      }
      co_await c.co_flush();
      const bool arrived = co_await broker_until(
          broker, [](const auto& l) { return publishes_in(l[0], v5).size() == 1; }, 2s);
      CHECK(arrived);
      co_await sleep_for(50ms);
      const auto sent = publishes_in(broker.log()[0], v5);
      REQUIRE(sent.size() == 1);
      CHECK(sent[0].qos == 0);
      c.stop();
    });
  }
  SECTION("Retain Available 0: a retained publish fails, is not sent [MQTT-3.2.2-14]") {
    scripted_broker broker{restricting(hex("25 00"))};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      client c{io, hostile_options(broker, v5)};
      co_await c.co_connect();
      {
        const auto published = co_await try_publish(c, "t", "r", qos::at_least_once, true);
        CHECK(published == error::retain_not_supported);
      }
      {
        const auto published = co_await try_publish(c, "t", "n", qos::at_least_once, false);
        CHECK_FALSE(published);
      }
      const auto sent = publishes_in(broker.log()[0], v5);
      REQUIRE(sent.size() == 1);
      CHECK_FALSE(sent[0].retain);
      c.stop();
    });
  }
  SECTION("Receive Maximum 1: one QoS 1 PUBLISH unacknowledged at a time [MQTT-3.3.4-7]") {
    std::atomic<int> most_outstanding{0};
    scripted_broker broker{[&](scripted_connection& c) -> asio::awaitable<void> {
      const auto connect = co_await c.receive();
      if (!connect) co_return;
      co_await c.send(connack(mqtt_bytes::version::v5, hex("21 00 01")));
      for (int i = 0; i < 5; ++i) {
        const auto p = co_await c.receive(5s);
        if (!p) co_return;
        int outstanding = 1;
        // Before acknowledging, give the client time to break the quota.
        for (;;) {
          const auto more = co_await c.receive(100ms);
          if (!more) break;
          if (more->type() == mqtt_bytes::publish_type) ++outstanding;
        }
        most_outstanding = std::max(most_outstanding.load(), outstanding);
        co_await c.send(ack_bytes(0x40, parse_publish(*p, v5).packet_id));
      }
      co_await c.drain_until_closed(5s);
    }};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      client c{io, hostile_options(broker, v5)};
      const auto info = co_await c.co_connect();
      CHECK(info.receive_maximum == 1);
      int completed = 0;
      for (int i = 0; i < 5; ++i)
        c.async_publish(message{"t", std::to_string(i), qos::at_least_once, false, {}},
                        [&](error_code ec, publish_result) { completed += ec ? 0 : 1; });
      const bool all = co_await eventually([&] { return completed == 5; }, 5s);
      CHECK(all);
      CHECK(most_outstanding == 1);
      const auto sent = publishes_in(broker.log()[0], v5);
      CHECK(sent.size() == 5);
      c.stop();
    });
  }
  SECTION("Maximum Packet Size 128: larger packets are refused, never sent [MQTT-3.2.2-15]") {
    scripted_broker broker{restricting(hex("27 00 00 00 80"))};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      client c{io, hostile_options(broker, v5)};
      const auto info = co_await c.co_connect();
      CHECK(info.maximum_packet_size == 128u);
      const std::string big(200, 'x'), small(50, 'x');
      {
        const auto published = co_await try_publish(c, "t", big, qos::at_least_once, false);
        CHECK(published == error::packet_too_large);
      }
      {
        const auto published = co_await try_publish(c, "t", big, qos::at_most_once, false);
        CHECK(published == error::packet_too_large);
      }
      std::vector<subscription> too_long{{std::string(200, 'f'), {}}};
      auto [sub_error, granted] =
          co_await c.async_subscribe(std::move(too_long), asio::as_tuple(asio::use_awaitable));
      (void)granted;
      CHECK(sub_error == error::packet_too_large);
      {
        const auto published = co_await try_publish(c, "t", small, qos::at_least_once, false);
        CHECK_FALSE(published);
      }
      const auto sent = after_connect(broker.log()[0]);
      REQUIRE(sent.size() == 1);
      for (const auto& p : sent) CHECK(wire_bytes(p).size() <= 128u);
      c.stop();
    });
  }
  SECTION("Server Keep Alive 1 replaces ours (60): PINGREQ after 1 s [MQTT-3.2.2-21]") {
    scripted_broker broker{restricting(hex("13 00 01"))};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      auto o = hostile_options(broker, v5);
      o.keep_alive = 60s;
      client c{io, o};
      const auto connected_at = std::chrono::steady_clock::now();
      const auto info = co_await c.co_connect();
      CHECK(info.keep_alive == 1s);
      const bool pinged = co_await broker_until(
          broker,
          [](const auto& l) {
            return !after_connect(l[0]).empty() && after_connect(l[0])[0].first_byte == 0xc0;
          },
          3s);
      const auto after = std::chrono::steady_clock::now() - connected_at;
      CHECK(pinged);
      CHECK(after >= 900ms);
      CHECK(after <= 2500ms);
      co_await sleep_for(300ms);
      CHECK(c.statistics().connected);  // the broker's PINGRESP kept it alive
      c.stop();
    });
  }
  SECTION("Topic Alias Maximum 0: no Topic Alias is sent, even with auto_topic_alias [MQTT-3.2.2-18]") {
    for (const bool allowed : {false, true}) {
      scripted_broker broker{restricting(allowed ? hex("22 00 05") : bytes{})};
      run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto o = hostile_options(broker, v5);
        o.auto_topic_alias = true;
        client c{io, o};
        co_await c.co_connect();
        for (int i = 0; i < 3; ++i) {
          const auto published = co_await try_publish(c, "long/topic", "x", qos::at_least_once, false);
          CHECK_FALSE(published);
        }
        const auto sent = publishes_in(broker.log()[0], v5);
        REQUIRE(sent.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
          CAPTURE(allowed, i);
          if (!allowed) {
            CHECK(sent[i].topic == "long/topic");
            CHECK(sent[i].properties.empty());
          } else {  // the control: the same client does use aliases when the broker allows them
            CHECK(sent[i].properties == hex("23 00 01"));
            CHECK(sent[i].topic == (i == 0 ? "long/topic" : ""));
          }
        }
        c.stop();
      });
    }
  }
}

// --- A broker that stops reading ---------------------------------------------------------------------------

TEST_CASE(
    "A broker flooding PUBREL that stops reading meets backpressure; everything is answered once it reads "
    "again",
    "[hostile][backpressure]") {
  for (const auto v : {v5, v3}) {
    DYNAMIC_SECTION(name_of_version(v)) {
      // PUBREL as fast as the client takes them, until 200 ms after the broker reads again.
      constexpr auto stall = 1s;
      std::atomic<std::size_t> sent_during_stall{0}, flood{0}, answered{0}, wrong{0};
      std::atomic<bool> reading{false}, flood_done{false};
      scripted_broker broker{[&, v](scripted_connection& c) -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        const auto connect = co_await c.receive();
        if (!connect || c.index() > 0) co_return;
        co_await c.send(connack(wire_version(v)));
        const auto started = std::chrono::steady_clock::now();
        auto send_flood = [&]() -> asio::awaitable<void> {
          bytes chunk;
          for (std::size_t i = 0; std::chrono::steady_clock::now() - started < stall + 200ms && !c.closed();
               ++i) {
            const auto id = static_cast<std::uint16_t>(i % 65535 + 1);
            chunk.insert(chunk.end(),
                         {0x62, 0x02, static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)});
            if (chunk.size() >= 64 * 1024) {
              auto full = std::move(chunk);
              chunk.clear();
              const bool sent = co_await c.send(std::move(full));
              if (!sent) co_return;
              flood = i + 1;
              if (!reading) sent_during_stall = flood.load();
            }
          }
          flood_done = true;
        };
        // The answers, read as a raw stream and compared with the exact bytes expected: PUBCOMP per PUBREL.
        auto read_later = [&]() -> asio::awaitable<void> {
          co_await c.sleep(stall);
          reading = true;
          const std::size_t size = v == v5 ? 5 : 4;
          bytes expected(size), buffer(64 * 1024);
          std::size_t at = 0;  // byte offset in the answer stream
          while (!flood_done || answered < flood) {
            error_code ec;
            const auto n = co_await c.read_some(asio::buffer(buffer), ec);
            if (ec) co_return;
            for (std::size_t k = 0; k < n; ++k, ++at) {
              const auto i = at / size;
              const auto id = static_cast<std::uint16_t>(i % 65535 + 1);
              expected = {0x70, static_cast<std::uint8_t>(size - 2), static_cast<std::uint8_t>(id >> 8),
                          static_cast<std::uint8_t>(id), 0x92};
              if (buffer[k] != expected[at % size]) ++wrong;
              if (at % size == size - 1) ++answered;
            }
          }
        };
        co_await (send_flood() && read_later());
        co_await c.drain_until_closed(5s);
      }};
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            auto o = hostile_options(broker, v);
            o.write_buffer_limit = 64 * 1024;
            client c{io, o};
            event_log events{c};
            asio::co_spawn(io, events.run(), asio::detached);
            co_await c.co_connect();
            co_await checked(c, events, [&]() -> asio::awaitable<void> {
              std::size_t most_waiting = 0;
              while (!reading) {
                most_waiting = std::max(most_waiting, c.statistics().write_buffer_bytes);
                co_await sleep_for(5ms);
              }
              // The PUBCOMPs waiting for the writer never went beyond their bound (+ one), and the broker
              // could not push the whole flood: the client stopped reading, TCP told the broker.
              CHECK(most_waiting <= o.write_buffer_limit + 5);
              // Without backpressure the client would read at loopback speed, hundreds of MB a second.
              CHECK(sent_during_stall * 4 < 32 * 1024 * 1024);
              const bool all = co_await eventually([&] { return flood_done && answered == flood; }, 60s);
              INFO("PUBREL sent during the stall " << sent_during_stall << ", in all " << flood
                                                   << ", answered " << answered);
              CHECK(all);
              CHECK(flood > sent_during_stall);  // the flood went on once the broker read again
              CHECK(wrong == 0);  // one PUBCOMP per PUBREL, in order [MQTT-4.6.0-2], [MQTT-4.3.3-11]
              INFO("events: " << events.story());
              CHECK(events.count(event_kind::disconnected) == 0);
            });
          },
          90s);
    }
  }
}

TEST_CASE("A client that discards incoming messages keeps reading its acknowledgements however many arrive",
          "[hostile][discard]") {
  scripted_broker broker{[](scripted_connection& c) -> asio::awaitable<void> {
    const auto connect = co_await c.receive();
    if (!connect) co_return;
    co_await c.send(connack(mqtt_bytes::version::v5));
    bytes messages;  // 3,000 QoS 1 messages: three times the receive queue
    for (std::uint16_t id = 1; id <= 3000; ++id) {
      const auto p = mqtt_bytes::publish(mqtt_bytes::version::v5, "t", bytes{'m'}, id);
      messages.insert(messages.end(), p.begin(), p.end());
    }
    co_await c.send(messages);
    while (!c.closed()) {
      const auto p = co_await c.receive(10s);
      if (p && p->type() == mqtt_bytes::publish_type)
        co_await c.send(ack_bytes(0x40, parse_publish(*p, v5).packet_id));
    }
  }};
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto o = hostile_options(broker, v5);
    o.discard_incoming_messages = true;
    client c{io, o};
    co_await c.co_connect();
    co_await sleep_for(100ms);  // the 3,000 messages arrive first
    {
      const auto published = co_await try_publish(c, "mine", "x", qos::at_least_once, false);
      CHECK_FALSE(published);
    }  // its PUBACK read
    CHECK(c.statistics().messages_discarded == 3000);
    CHECK(c.statistics().receive_queue == 0);
    auto [receive_error, m] = co_await c.async_receive(asio::as_tuple(asio::use_awaitable));
    (void)m;
    CHECK(receive_error == error::invalid_argument);  // nothing will ever come
    c.stop();
  });
}

// --- The close path (issue 14, points 2 to 4) -------------------------------------------------------------

TEST_CASE("A violation read while the client's write is stuck: no crash, the reason reported, a reconnection",
          "[hostile][close-path]") {
  scripted_broker broker{[](scripted_connection& c) -> asio::awaitable<void> {
    const auto connect = co_await c.receive();
    if (!connect) co_return;
    co_await c.send(connack(mqtt_bytes::version::v5));
    if (c.index() == 0) {
      co_await c.sleep(500ms);  // not reading: the client's 24 MB write is stuck by now
      co_await c.send(hex("42 02 00 01"));
    }
    co_await c.sleep(5s);
  }};
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client c{io, hostile_options(broker, v5)};
    event_log events{c};
    asio::co_spawn(io, events.run(), asio::detached);
    co_await c.co_connect();
    co_await checked(c, events, [&]() -> asio::awaitable<void> {
      {
        const std::string huge(24 * 1024 * 1024, 'x');
        const auto published = co_await try_publish(c, "t", huge, qos::at_most_once, false);
        CHECK_FALSE(published);
      }
      const bool reconnected = co_await connected_times(events, 2);
      INFO("events: " << events.story());
      CHECK(reconnected);
      const auto lost = events.of_kind(event_kind::disconnected);
      REQUIRE_FALSE(lost.empty());
      CHECK(lost[0].event.reason == reason_code::malformed_packet);
    });
  });
}

TEST_CASE("A graceful disconnect behind a stuck write ends within disconnect_timeout",
          "[hostile][close-path]") {
  scripted_broker broker{[](scripted_connection& c) -> asio::awaitable<void> {
    const auto connect = co_await c.receive();
    if (!connect) co_return;
    co_await c.send(connack(mqtt_bytes::version::v5));
    co_await c.sleep(10s);  // never reads again
  }};
  run_async(
      [&](asio::io_context& io) -> asio::awaitable<void> {
        client c{io, hostile_options(broker, v5)};  // disconnect_timeout 300 ms
        co_await c.co_connect();
        {
          const std::string huge(24 * 1024 * 1024, 'x');
          const auto published = co_await try_publish(c, "t", huge, qos::at_most_once, false);
          CHECK_FALSE(published);
        }
        co_await sleep_for(200ms);
        const auto asked = std::chrono::steady_clock::now();
        co_await c.co_disconnect();
        CHECK(std::chrono::steady_clock::now() - asked <= 1500ms);
      },
      8s);
}

// A broker that stops reading for 10 s while it floods the client (QoS 1 PUBLISH and PUBREL, each owing an
// answer), then reads again: the client's memory stays flat during the stall, and afterwards everything is
// answered, in order, and the client's own publishes go through, on the same connection.
//
// The broker is a scripted peer (test/integration/scripted_broker.hpp): mosquitto cannot be told to stop
// reading one direction while it writes the other.
#include "fault_support.hpp"
#include "integration/hostile_support.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <utility>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

constexpr auto stall = 10s;

// The flood, item by item: even items are QoS 1 PUBLISH (identifiers 1..32767), odd ones PUBREL for
// identifiers the client never saw (32768..65535). What the client owes for item i is fixed, so the broker
// can check the answers byte for byte.
bytes flood_item(std::size_t i, mqtt_bytes::version v) {
  const auto n = i / 2;
  if (i % 2 == 0) {
    const auto id = static_cast<std::uint16_t>(n % 32767 + 1);
    const std::string payload = std::to_string(n);
    return mqtt_bytes::publish(v, "flood", bytes(payload.begin(), payload.end()), id);
  }
  const auto id = static_cast<std::uint16_t>(32768 + n % 32767);
  return {0x62, 0x02, static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff)};
}

bytes answer_for(std::size_t i, mqtt_bytes::version v) {
  const auto n = i / 2;
  if (i % 2 == 0) {
    const auto id = static_cast<std::uint16_t>(n % 32767 + 1);
    return {0x40, 0x02, static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff)};
  }
  const auto id = static_cast<std::uint16_t>(32768 + n % 32767);
  if (v == mqtt_bytes::version::v5)
    return {0x70, 0x03, static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff), 0x92};
  return {0x70, 0x02, static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff)};
}

// What the broker saw, shared with the test's thread.
struct broker_tally {
  std::atomic<std::size_t> items_sent{0};
  std::atomic<bool> flood_done{false};
  std::atomic<bool> reading{false};
  std::atomic<std::size_t> answers{0};        // PUBACK / PUBCOMP matching the flood, in order
  std::atomic<std::size_t> wrong_answers{0};  // any other ack, or one out of order
  std::atomic<std::size_t> client_publishes{0};
};

// Frames packets out of a growing buffer without moving it for each packet (a flood has millions).
class packet_stream {
 public:
  void append(const std::uint8_t* data, std::size_t n) { buffer_.insert(buffer_.end(), data, data + n); }
  // The next whole packet (header included), or an empty span.
  std::span<const std::uint8_t> next() {
    const std::size_t available = buffer_.size() - at_;
    std::size_t length = 0;
    std::size_t header = 0;
    for (std::size_t i = 1, shift = 0; i <= 4; ++i, shift += 7) {
      if (i >= available) return {};
      length |= static_cast<std::size_t>(buffer_[at_ + i] & 0x7f) << shift;
      if ((buffer_[at_ + i] & 0x80) == 0) {
        header = i + 1;
        break;
      }
    }
    if (header == 0 || available < header + length) return {};
    const std::span<const std::uint8_t> packet{buffer_.data() + at_, header + length};
    at_ += header + length;
    return packet;
  }
  void compact() {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at_));
    at_ = 0;
  }

 private:
  bytes buffer_;
  std::size_t at_ = 0;
};

scripted_broker::script flooding_broker(broker_tally& tally, protocol_version version) {
  return [&tally, version](scripted_connection& c) -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    const auto v = wire_version(version);
    const auto connect = co_await c.receive();
    if (!connect || c.index() > 0) co_return;
    co_await c.send(connack(v));
    const auto started = std::chrono::steady_clock::now();

    // The one writer (the reader only queues what it answers): the flood until 500 ms after the stall, in 64 KiB
    // writes that stop completing once the client stops reading, then the answers to the client.
    bytes answers_to_client;
    auto write = [&]() -> asio::awaitable<void> {
      std::size_t i = 0;
      while (!c.closed() && !c.stopping()) {
        bytes chunk = std::exchange(answers_to_client, bytes{});
        if (std::chrono::steady_clock::now() - started < stall + 500ms) {
          while (chunk.size() < 64 * 1024) {
            const auto item = flood_item(i++, v);
            chunk.insert(chunk.end(), item.begin(), item.end());
          }
        } else if (!tally.flood_done) {
          tally.flood_done = true;
        }
        if (chunk.empty()) {
          co_await c.sleep(5ms);
          continue;
        }
        const bool sent = co_await c.send(std::move(chunk));
        if (!sent) co_return;
        tally.items_sent = i;
      }
    };
    auto read_after_the_stall = [&]() -> asio::awaitable<void> {
      co_await c.sleep(stall);
      tally.reading = true;
      packet_stream stream;
      bytes buffer(64 * 1024);
      std::size_t next_answer = 0;
      while (!c.closed() && !c.stopping()) {
        boost::system::error_code ec;
        const auto n = co_await c.read_some(asio::buffer(buffer), ec);
        if (ec) co_return;
        stream.append(buffer.data(), n);
        for (auto p = stream.next(); !p.empty(); p = stream.next()) {
          const auto type = p[0] >> 4;
          if (type == mqtt_bytes::publish_type) {  // the client's own QoS 1 publish: acknowledge it
            ++tally.client_publishes;
            const auto topic_length = (static_cast<std::size_t>(p[2]) << 8) | p[3];
            const auto id_at = 4 + topic_length;
            answers_to_client.insert(answers_to_client.end(), {0x40, 0x02, p[id_at], p[id_at + 1]});
          } else if (type == 12) {  // PINGREQ
            answers_to_client.insert(answers_to_client.end(), {0xd0, 0x00});
          } else if (bytes(p.begin(), p.end()) == answer_for(next_answer, v)) {
            ++next_answer;
            ++tally.answers;
          } else {
            ++tally.wrong_answers;
          }
        }
        stream.compact();
      }
    };
    co_await (write() && read_after_the_stall());
  };
}

}  // namespace

TEST_CASE(
    "A broker that stops reading for 10 s while flooding: memory stays flat, and once it reads again "
    "everything is answered in order and the client's publishes go through",
    "[fault][stops-reading]") {
  for (const auto version : {protocol_version::v5, protocol_version::v3_1_1}) {
    DYNAMIC_SECTION(name_of(version)) {
      broker_tally tally;
      scripted_broker broker{flooding_broker(tally, version)};
      run_async(
          [&](asio::io_context& io) -> asio::awaitable<void> {
            auto o = hostile_options(broker, version);
            o.keep_alive = 30s;  // longer than the stall: the same connection lives through it
            client c{io, o};
            event_log events{c};
            asio::co_spawn(io, events.run(), asio::detached);
            co_await c.co_connect();

            // A consumer that keeps up, and 50 QoS 1 publishes the broker will not see until it reads again.
            std::size_t received = 0, out_of_order = 0;
            bool consuming = true;
            asio::co_spawn(
                io,
                [&]() -> asio::awaitable<void> {
                  while (consuming) {
                    const auto m = co_await receive_within(c, 200ms);
                    if (!m) continue;
                    if (m->payload != std::to_string(received)) ++out_of_order;
                    ++received;
                  }
                },
                asio::detached);
            std::size_t published = 0;
            for (int i = 0; i < 50; ++i)
              c.async_publish(message{"mine", std::to_string(i), qos::at_least_once, false, {}},
                              [&](error_code ec, publish_result) { published += ec ? 0 : 1; });

            co_await checked(c, events, [&]() -> asio::awaitable<void> {
              // During the stall: the bytes owed stay within their bound, memory stays flat.
              co_await sleep_for(2s);
              const auto allocated_at_start = allocated_bytes();
              const auto rss_at_start = resident_kib();
              std::size_t most_waiting = 0, most_allocated = allocated_at_start, most_rss = rss_at_start;
              while (!tally.reading) {
                most_waiting = std::max(most_waiting, c.statistics().write_buffer_bytes);
                most_allocated = std::max(most_allocated, allocated_bytes());
                most_rss = std::max(most_rss, resident_kib());
                co_await sleep_for(100ms);
              }
              const auto items_during_stall = tally.items_sent.load();
              std::cerr << "[fault] broker-stops-reading " << name_of(version)
                        << ": during the stall at most " << most_waiting
                        << " bytes waiting for the writer, allocated +"
                        << (most_allocated - allocated_at_start) / 1024 << " KiB, RSS +"
                        << most_rss - rss_at_start << " KiB; the broker got " << items_during_stall
                        << " packets into TCP\n";
              INFO("items the broker could send during the stall: " << items_during_stall);
              CHECK(most_waiting <= o.write_buffer_limit + 5);
              CHECK(most_allocated - allocated_at_start < 2 * 1024 * 1024);
              if (rss_tracks_live_memory) CHECK(most_rss - rss_at_start < 2 * 1024);
              CHECK(c.statistics().publishes_acked == 0);  // the broker read nothing yet
              CHECK(c.statistics().receive_queue <= o.receive_queue_capacity);

              // The broker reads again: the same connection carries on.
              const bool settled = co_await eventually(
                  [&] { return tally.flood_done && tally.answers == tally.items_sent && published == 50; },
                  150s);  // ~400,000 answers: an unoptimised ASan build under load answers ~5,000 a second
              INFO("answers " << tally.answers << " of " << tally.items_sent << ", published " << published
                              << ", events: " << events.story());
              CHECK(settled);
              CHECK(tally.items_sent > items_during_stall);  // the flood went on after the stall
              CHECK(tally.wrong_answers == 0);
              CHECK(tally.client_publishes == 50);
              const bool all_received =
                  co_await eventually([&] { return received == (tally.items_sent + 1) / 2; }, 10s);
              CHECK(all_received);
              CHECK(out_of_order == 0);
              CHECK(events.count(event_kind::disconnected) == 0);
              consuming = false;
              co_await sleep_for(250ms);  // the consumer's last wait ends
            });
          },
          200s);  // generous: a sanitizer build without optimisation is many times slower
    }
  }
}

// Drives a session by hand: a fake clock, a fake broker that encodes what it "sends" and decodes what the
// session writes, and operations that record how they completed.
#pragma once

#include "session/session.hpp"

#include <coromqtt/protocol/codec.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace coromqtt::test {

namespace proto = coromqtt::protocol;
using detail::clock;
using namespace std::chrono_literals;

struct recorded_publish final : detail::publish_op {
  std::optional<error_code> error;
  publish_result result;
  void complete(error_code ec, publish_result r) override {
    REQUIRE_FALSE(error.has_value());  // exactly once
    error = ec;
    result = std::move(r);
  }
  bool done() const { return error.has_value(); }
};

struct recorded_subscribe final : detail::subscribe_op {
  std::optional<error_code> error;
  subscribe_result result;
  void complete(error_code ec, subscribe_result r) override {
    REQUIRE_FALSE(error.has_value());
    error = ec;
    result = std::move(r);
  }
};

struct recorded_unsubscribe final : detail::unsubscribe_op {
  std::optional<error_code> error;
  unsubscribe_result result;
  void complete(error_code ec, unsubscribe_result r) override {
    REQUIRE_FALSE(error.has_value());
    error = ec;
    result = std::move(r);
  }
};

// A decoded packet together with the bytes its views point into.
struct written_packet {
  std::vector<std::uint8_t> bytes;
  proto::packet packet;
  proto::packet_type type() const { return proto::type_of(packet); }
  template <class T>
  const T& as() const {
    REQUIRE(std::holds_alternative<T>(packet));
    return std::get<T>(packet);
  }
};

class harness {
 public:
  explicit harness(client_options o = {}) : options{std::move(o)} { make(); }

  void make() { session.emplace(options, stats); }

  client_options options;
  detail::statistics_counters stats;
  std::optional<detail::session> session;
  clock::time_point now = clock::time_point{} + 1000h;  // far from the epoch, which some code treats as "unset"

  void advance(clock::duration d) { now += d; }
  std::size_t statistics_queued() {
    session->update_gauges();
    return stats.queued_messages.get();
  }

  // Everything the session wants written, decoded; the write is then committed.
  std::vector<written_packet> take_written() {
    std::vector<written_packet> out;
    if (!session->has_output()) return out;
    const auto bytes = session->prepare_write();
    std::vector<std::uint8_t> all(bytes.begin(), bytes.end());
    session->commit_write(now);
    std::size_t offset = 0;
    while (offset < all.size()) {
      written_packet w;
      const auto view = proto::byte_view{all}.subspan(offset);
      auto r = proto::decode(view, options.version);
      REQUIRE(r.status == proto::frame_status::complete);
      w.bytes.assign(view.begin(), view.begin() + static_cast<std::ptrdiff_t>(r.size));
      offset += r.size;
      out.push_back(std::move(w));
    }
    // Decode again from each packet's own bytes so the views stay valid.
    for (auto& w : out) w.packet = proto::decode(w.bytes, options.version).packet;
    return out;
  }

  written_packet take_one() {
    auto all = take_written();
    REQUIRE(all.size() == 1);
    return std::move(all.front());
  }

  // The broker sends a packet.
  static std::vector<std::uint8_t> bytes_of(const proto::packet& p, protocol_version v) {
    const auto sized = proto::encoded_size(p, v);
    REQUIRE_FALSE(sized.error);
    std::vector<std::uint8_t> bytes(sized.size);
    proto::encode(p, v, bytes);
    return bytes;
  }

  error_code feed(const proto::packet& p) { return feed_bytes(bytes_of(p, options.version)); }

  // `chunk` bounds each read, as a transport delivering a little at a time would.
  error_code feed_bytes(std::span<const std::uint8_t> bytes, std::size_t chunk = SIZE_MAX) {
    std::size_t offset = 0;
    error_code ec;
    do {
      auto space = session->read_space();
      const auto n = std::min({space.size(), bytes.size() - offset, chunk});
      std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), n, space.begin());
      offset += n;
      ec = session->on_read(n, now);
    } while (!ec && offset < bytes.size());
    return ec;
  }

  // Connects: CONNECT written, the broker answers with `ack`.
  written_packet connect(proto::connack ack = {}) {
    session->begin_connection({}, now);
    auto connect_packet = take_one();
    REQUIRE(connect_packet.type() == proto::packet_type::connect);
    REQUIRE_FALSE(feed(ack));
    REQUIRE(session->state() == detail::session_state::connected);
    return connect_packet;
  }

  void publish(recorded_publish& op, std::string topic, qos q, std::string payload = "x") {
    op.message.topic = std::move(topic);
    op.message.payload = std::move(payload);
    op.message.qos = q;
    session->publish(op, now);
  }
};

template <class Ack>
Ack ack_for(std::uint16_t id, reason_code rc = reason_code::success) {
  Ack a;
  a.packet_id = id;
  a.reason = rc;
  return a;
}

inline proto::publish incoming_publish(std::string_view topic, qos q, std::uint16_t id, std::string_view payload,
                                       bool dup = false) {
  proto::publish p;
  p.topic = topic;
  p.qos = q;
  p.packet_id = id;
  p.dup = dup;
  p.payload = {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()};
  return p;
}

inline std::string payload_of(const proto::publish& p) {
  return {reinterpret_cast<const char*>(p.payload.data()), p.payload.size()};
}

}  // namespace coromqtt::test

// The live counters behind coromqtt::statistics. One thread (the client's strand) writes, any thread reads:
// each counter is an atomic written with a plain load + store (no locked instruction on the hot path), read
// with relaxed loads. A snapshot is consistent per counter, not across counters.
#pragma once

#include <coromqtt/statistics.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace coromqtt::detail {

template <class T>
class counter {
 public:
  void add(T n = 1) noexcept { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(T n) noexcept { value_.store(n, std::memory_order_relaxed); }
  T get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> value_{};
};

struct statistics_counters {
  counter<std::uint64_t> messages_sent, bytes_sent, messages_received, messages_delivered, bytes_received,
      publishes_acked, retransmitted, resent, resubscribed, connection_attempts, connects, disconnects, pings_sent,
      messages_discarded, unexpected_acks, messages_expired, messages_dropped_unsubscribed;
  counter<std::size_t> inflight, window_in_use, queued_messages, queued_bytes, write_buffer_bytes, receive_queue,
      waiting_publishers;
  counter<bool> connected;
  counter<std::int64_t> connected_total_ticks;  // steady_clock ticks of closed connections
  counter<std::int64_t> connected_since_ticks;  // steady_clock time the current connection began

  statistics snapshot() const noexcept {
    statistics s;
    s.messages_sent = messages_sent.get();
    s.bytes_sent = bytes_sent.get();
    s.messages_received = messages_received.get();
    s.messages_delivered = messages_delivered.get();
    s.bytes_received = bytes_received.get();
    s.publishes_acked = publishes_acked.get();
    s.retransmitted = retransmitted.get();
    s.resent = resent.get();
    s.resubscribed = resubscribed.get();
    s.connection_attempts = connection_attempts.get();
    s.connects = connects.get();
    s.disconnects = disconnects.get();
    s.pings_sent = pings_sent.get();
    s.messages_discarded = messages_discarded.get();
    s.unexpected_acks = unexpected_acks.get();
    s.messages_expired = messages_expired.get();
    s.messages_dropped_unsubscribed = messages_dropped_unsubscribed.get();
    s.inflight = inflight.get();
    s.window_in_use = window_in_use.get();
    s.queued_messages = queued_messages.get();
    s.queued_bytes = queued_bytes.get();
    s.write_buffer_bytes = write_buffer_bytes.get();
    s.receive_queue = receive_queue.get();
    s.waiting_publishers = waiting_publishers.get();
    s.connected = connected.get();
    std::int64_t total = connected_total_ticks.get();
    if (s.connected)
      total += std::chrono::steady_clock::now().time_since_epoch().count() - connected_since_ticks.get();
    s.time_connected = std::chrono::steady_clock::duration{total};
    return s;
  }

  void on_connected(std::chrono::steady_clock::time_point now) noexcept {
    connected_since_ticks.set(now.time_since_epoch().count());
    connected.set(true);
    connects.add();
  }
  void on_disconnected(std::chrono::steady_clock::time_point now) noexcept {
    if (!connected.get()) return;
    connected_total_ticks.add(now.time_since_epoch().count() - connected_since_ticks.get());
    connected.set(false);
    disconnects.add();
  }
};

}  // namespace coromqtt::detail

// The packet identifiers in use for outgoing requests and what each one waits for, in the order the requests
// were first sent: a resumed session retransmits in that order [MQTT-4.6.0-1].
//
// Identifiers cycle upwards: each request takes the next free identifier after the last one taken, wrapping
// from 65,535 to 1 [MQTT-2.2.1-3]. An identifier just freed is therefore not handed out again until the cycle
// comes round to it, so a late or duplicated acknowledgement from a confused broker cannot be taken for the
// acknowledgement of a new request, and traces read like those of other clients.
//
// Storage stays as large as the most requests ever outstanding at once, not 65,535 entries:
//
//   slots_   [ entry | entry | free | entry ]     compact; a freed slot is reused by the next request
//   index_   open addressing: identifier -> slot  (linear probing; the identifier is its own hash, which
//                                                  spreads a window of consecutive identifiers perfectly)
//
// allocate() skips the identifiers still in use that the cycle meets again. Identifiers are freed mostly in
// the order they were taken, so it meets few; at worst each identifier in use is met once per turn of the
// cycle (65,535 allocations), which keeps allocation O(1) amortised while at most half of the identifiers are
// in use (the inflight window is 100 by default).
#pragma once

#include "session/operations.hpp"

#include <coromqtt/message.hpp>

#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

namespace coromqtt::detail {

enum class awaiting : std::uint8_t {
  nothing,  // the identifier is free
  puback,   // QoS 1 PUBLISH
  pubrec,   // QoS 2 PUBLISH
  pubcomp,  // QoS 2 PUBREL
  suback,
  unsuback,
};

struct outgoing_entry {
  awaiting stage = awaiting::nothing;
  bool needs_send = false;  // to be written (again) on the current connection
  bool dup = false;         // the next PUBLISH written for it is a retransmission
  bool counts_quota = false;  // written on this connection, so it holds one unit of the broker's Receive Maximum
  bool holds_window = false;  // a publish that holds a slot of the inflight window until it completes
  std::uint64_t store_seq = 0;  // the message's sequence number in the session store (0: not stored)
  std::uint16_t prev = 0;   // send order, by identifier (0 = none)
  std::uint16_t next = 0;
  // When the publisher handed the message over: a retransmission carries the Message Expiry Interval less
  // the time since then.
  std::chrono::steady_clock::time_point queued_at{};
  std::variant<std::monostate, coromqtt::message, subscribe_request, unsubscribe_request> request;
  op_hook* op = nullptr;    // the waiting user operation; null when abandoned or internal (resubscription)
};

class outgoing_table {
 public:
  // The next unused identifier after the last one taken (wrapping after 65,535), appended to the send order;
  // 0 when all 65,535 are in use.
  std::uint16_t allocate() {
    if (in_use_ >= max_identifier) return 0;
    std::uint16_t id = last_;
    do id = id == max_identifier ? 1 : static_cast<std::uint16_t>(id + 1);
    while (bucket_of(id) != no_bucket);
    take(id);
    return id;
  }

  // Takes `id` itself, appended to the send order: a session restored from a store resumes the identifiers it
  // had. False when it is in use already. The cycle goes on after the last identifier claimed (claims come in
  // send order).
  bool claim(std::uint16_t id) {
    if (id == 0 || bucket_of(id) != no_bucket) return false;
    take(id);
    return true;
  }

  void release(std::uint16_t id) {
    const auto bucket = bucket_of(id);
    assert(bucket != no_bucket);
    const auto slot = index_[bucket].slot;
    auto& e = slots_[slot];
    (e.prev ? entry(e.prev).next : head_) = e.next;
    (e.next ? entry(e.next).prev : tail_) = e.prev;
    e = outgoing_entry{};
    erase(bucket);
    free_slots_.push_back(slot);
    --in_use_;
  }

  // The entry of an identifier in use, or null (an acknowledgement for an identifier we never used).
  outgoing_entry* find(std::uint16_t id) noexcept {
    if (id == 0) return nullptr;
    const auto bucket = bucket_of(id);
    if (bucket == no_bucket) return nullptr;
    auto& e = slots_[index_[bucket].slot];
    return e.stage == awaiting::nothing ? nullptr : &e;
  }
  // The entry of an identifier allocated and not released.
  outgoing_entry& entry(std::uint16_t id) noexcept {
    const auto bucket = bucket_of(id);
    assert(bucket != no_bucket);
    return slots_[index_[bucket].slot];
  }

  // Send order: first() then next(id) until 0.
  std::uint16_t first() const noexcept { return head_; }
  std::uint16_t next(std::uint16_t id) const noexcept {
    return const_cast<outgoing_table&>(*this).entry(id).next;
  }

  std::size_t size() const noexcept { return in_use_; }
  bool empty() const noexcept { return in_use_ == 0; }
  // The last identifier handed out (0 before the first).
  std::uint16_t last_allocated() const noexcept { return last_; }
  // Entries held (in use or free for reuse): the most requests ever outstanding at once.
  std::size_t slot_count() const noexcept { return slots_.size(); }

 private:
  static constexpr std::uint16_t max_identifier = 65535;
  static constexpr std::size_t no_bucket = SIZE_MAX;
  struct index_bucket {
    std::uint16_t id = 0;  // 0 = empty
    std::uint16_t slot = 0;
  };

  // Gives the free identifier `id` a slot, appends it to the send order and makes it the last one taken.
  void take(std::uint16_t id) {
    last_ = id;
    std::uint16_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<std::uint16_t>(slots_.size());
      slots_.emplace_back();
      if (slots_.size() * 2 > index_.size()) rehash(index_.size() * 2);
    }
    insert(id, slot);
    auto& e = slots_[slot];
    e.prev = tail_;
    e.next = 0;
    (tail_ ? entry(tail_).next : head_) = id;
    tail_ = id;
    ++in_use_;
  }

  std::size_t home_of(std::uint16_t id) const noexcept { return id & (index_.size() - 1); }

  std::size_t bucket_of(std::uint16_t id) const noexcept {
    if (index_.empty()) return no_bucket;
    for (std::size_t b = home_of(id);; b = (b + 1) & (index_.size() - 1)) {
      if (index_[b].id == id) return b;
      if (index_[b].id == 0) return no_bucket;
    }
  }

  void insert(std::uint16_t id, std::uint16_t slot) noexcept {
    std::size_t b = home_of(id);
    while (index_[b].id != 0) b = (b + 1) & (index_.size() - 1);
    index_[b] = {id, slot};
  }

  // Backward-shift deletion: later buckets of the same probe run move up, so lookups need no tombstones.
  void erase(std::size_t hole) noexcept {
    const std::size_t mask = index_.size() - 1;
    for (std::size_t b = (hole + 1) & mask; index_[b].id != 0; b = (b + 1) & mask) {
      const std::size_t home = home_of(index_[b].id);
      // The entry at b may fill the hole unless its home lies cyclically in (hole, b].
      const bool stays = hole <= b ? (hole < home && home <= b) : (hole < home || home <= b);
      if (stays) continue;
      index_[hole] = index_[b];
      hole = b;
    }
    index_[hole] = {};
  }

  void rehash(std::size_t capacity) {
    if (capacity < 8) capacity = 8;
    auto old = std::move(index_);
    index_.assign(capacity, index_bucket{});
    for (const auto& b : old)
      if (b.id != 0) insert(b.id, b.slot);
  }

  std::vector<outgoing_entry> slots_;
  std::vector<std::uint16_t> free_slots_;
  std::vector<index_bucket> index_;  // capacity a power of two, at least twice the slots
  std::uint16_t last_ = 0;
  std::uint16_t head_ = 0;
  std::uint16_t tail_ = 0;
  std::size_t in_use_ = 0;
};

}  // namespace coromqtt::detail

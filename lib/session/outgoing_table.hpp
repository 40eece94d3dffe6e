// The packet identifiers in use for outgoing requests and what each one waits for, in the order the requests
// were first sent: a resumed session retransmits in that order [MQTT-4.6.0-1].
//
// Identifiers are recycled oldest-freed first from a compact range, so the table is as large as the most
// requests ever outstanding at once, not 65,535 entries.
#pragma once

#include "session/operations.hpp"
#include "session/ring_buffer.hpp"

#include <coromqtt/message.hpp>

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
  std::uint16_t prev = 0;   // send order (0 = none)
  std::uint16_t next = 0;
  std::variant<std::monostate, coromqtt::message, subscribe_request, unsubscribe_request> request;
  op_hook* op = nullptr;    // the waiting user operation; null when abandoned or internal (resubscription)
};

class outgoing_table {
 public:
  // An unused identifier, appended to the send order; 0 when all 65,535 are in use.
  std::uint16_t allocate() {
    std::uint16_t id = 0;
    if (!free_.empty()) {
      id = free_.front();
      free_.pop_front();
    } else if (entries_.size() < 65535) {
      entries_.emplace_back();
      id = static_cast<std::uint16_t>(entries_.size());
    } else {
      return 0;
    }
    auto& e = entry(id);
    e.prev = tail_;
    e.next = 0;
    (tail_ ? entry(tail_).next : head_) = id;
    tail_ = id;
    ++in_use_;
    return id;
  }

  // Takes `id` itself, appended to the send order: a session restored from a store resumes the identifiers it
  // had. False when it is in use already.
  bool claim(std::uint16_t id) {
    if (id == 0) return false;
    while (entries_.size() < id) {
      entries_.emplace_back();
      if (entries_.size() < id) free_.emplace_back(static_cast<std::uint16_t>(entries_.size()));
    }
    if (entry(id).stage != awaiting::nothing) return false;
    for (std::size_t i = 0; i < free_.size(); ++i)
      if (free_[i] == id) {
        free_.erase(i);
        break;
      }
    auto& e = entry(id);
    e.prev = tail_;
    e.next = 0;
    (tail_ ? entry(tail_).next : head_) = id;
    tail_ = id;
    ++in_use_;
    return true;
  }

  void release(std::uint16_t id) {
    auto& e = entry(id);
    (e.prev ? entry(e.prev).next : head_) = e.next;
    (e.next ? entry(e.next).prev : tail_) = e.prev;
    e = outgoing_entry{};
    free_.emplace_back(id);
    --in_use_;
  }

  // The entry of an identifier in use, or null (an acknowledgement for an identifier we never used).
  outgoing_entry* find(std::uint16_t id) noexcept {
    if (id == 0 || id > entries_.size()) return nullptr;
    auto& e = entry(id);
    return e.stage == awaiting::nothing ? nullptr : &e;
  }
  outgoing_entry& entry(std::uint16_t id) noexcept { return entries_[id - 1u]; }

  // Send order: first() then next(id) until 0.
  std::uint16_t first() const noexcept { return head_; }
  std::uint16_t next(std::uint16_t id) const noexcept { return entries_[id - 1u].next; }

  std::size_t size() const noexcept { return in_use_; }
  bool empty() const noexcept { return in_use_ == 0; }

 private:
  std::vector<outgoing_entry> entries_;  // index = identifier - 1
  ring_buffer<std::uint16_t> free_;
  std::uint16_t head_ = 0;
  std::uint16_t tail_ = 0;
  std::size_t in_use_ = 0;
};

}  // namespace coromqtt::detail

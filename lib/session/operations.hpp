// User requests as the session sees them. The client layer implements complete() over an Asio completion
// handler; unit tests implement it with a recorder. Queues of waiting operations are intrusive, so waiting
// never allocates.
#pragma once

#include <coromqtt/error.hpp>
#include <coromqtt/message.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coromqtt::detail {

struct op_hook {
  op_hook* prev = nullptr;
  op_hook* next = nullptr;
  // Names the operation for cancellation, which arrives from other threads, possibly after the operation
  // completed and its memory was reused: a serial number cannot be confused the way an address can.
  std::uint64_t serial = 0;
};

// FIFO of operations linked through their op_hook. Does not own them.
template <class Op>
class op_queue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  Op* front() const noexcept { return static_cast<Op*>(head_); }

  void push_back(Op* op) noexcept {
    op_hook* hook = op;
    hook->prev = tail_;
    hook->next = nullptr;
    (tail_ ? tail_->next : head_) = hook;
    tail_ = hook;
    ++size_;
  }

  Op* pop_front() noexcept {
    Op* op = front();
    if (op) erase(op);
    return op;
  }

  Op* find(std::uint64_t serial) const noexcept {
    for (op_hook* h = head_; h; h = h->next)
      if (h->serial == serial) return static_cast<Op*>(h);
    return nullptr;
  }

  void erase(Op* op) noexcept {
    op_hook* hook = op;
    (hook->prev ? hook->prev->next : head_) = hook->next;
    (hook->next ? hook->next->prev : tail_) = hook->prev;
    hook->prev = hook->next = nullptr;
    --size_;
  }

 private:
  op_hook* head_ = nullptr;
  op_hook* tail_ = nullptr;
  std::size_t size_ = 0;
};

// complete() is called exactly once, on the session's thread; afterwards the session forgets the operation.
// Implementations must not call back into the session from complete(): they post the result to the user.

class publish_op : public op_hook {
 public:
  coromqtt::message message;  // moved into the session once the message is admitted
  // When the session received the request: the Message Expiry Interval counts from here (session::publish).
  std::chrono::steady_clock::time_point requested_at{};
  // With a store: complete once the message is durable in it, not on its acknowledgement (and take no slot of
  // the inflight window). Without one: complete once admitted.
  bool complete_when_stored = false;
  std::uint64_t store_seq = 0;  // the message's sequence number in the store, once admitted (0: not stored)
  virtual void complete(error_code, publish_result) = 0;

 protected:
  ~publish_op() = default;
};

struct subscribe_request {
  std::vector<subscription> subscriptions;
  std::optional<std::uint32_t> subscription_identifier;  // MQTT 5
  coromqtt::user_properties user_properties;
  // The subscription stream (session::open_stream) that receives what these filters match; 0 = none (the
  // client's receive queue).
  std::uint64_t stream = 0;
  // The session chose subscription_identifier (for a stream): sent only if the broker supports identifiers.
  bool automatic_identifier = false;
  // Sent again after a lost session: its SUBACK leaves the registry and the routing as they are.
  bool restore = false;
};

class subscribe_op : public op_hook {
 public:
  subscribe_request request;
  virtual void complete(error_code, subscribe_result) = 0;

 protected:
  ~subscribe_op() = default;
};

struct unsubscribe_request {
  std::vector<std::string> filters;
  coromqtt::user_properties user_properties;
};

class unsubscribe_op : public op_hook {
 public:
  unsubscribe_request request;
  virtual void complete(error_code, unsubscribe_result) = 0;

 protected:
  ~unsubscribe_op() = default;
};

}  // namespace coromqtt::detail

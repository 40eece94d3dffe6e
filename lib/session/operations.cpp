// The user's operations as a whole: cancellation of one, abort of all.
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <boost/asio/error.hpp>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

session::cancel_outcome session::cancel(std::uint64_t serial, cancel_scope scope) {
  const error_code aborted = boost::asio::error::operation_aborted;
  if (auto* op = admission_.find(serial)) {
    stop_waiting(*op);
    update_gauges();
    op->complete(aborted, {});
    return cancel_outcome::cancelled;
  }
  for (std::size_t i = 0; i < outbox_.size(); ++i) {
    auto* op = outbox_[i].op;
    if (!op || op->serial != serial) continue;
    if (outbox_[i].store_seq) forget_stored(outbox_[i].store_seq, outbox_[i].message);
    if (outbox_[i].holds_window) --window_in_use_;
    outbox_bytes_ -= outbox_[i].cost;
    outbox_.erase(i);
    update_gauges();
    op->complete(aborted, {});
    return cancel_outcome::cancelled;
  }
  for (std::size_t i = 0; i < held_.size(); ++i) {  // queued behind a stored backlog
    auto* op = held_[i].op;
    if (!op || op->serial != serial) continue;
    forget_stored(held_[i].store_seq, held_[i].message);
    if (held_[i].holds_window) --window_in_use_;
    held_.erase(i);
    update_gauges();
    op->complete(aborted, {});
    return cancel_outcome::cancelled;
  }
  if (auto* op = store_waiters_.find(serial)) {  // the message is admitted: it goes on without its publisher
    if (scope == cancel_scope::unsent_only) return cancel_outcome::kept;  // stored already: a side effect
    store_waiters_.erase(op);
    op->complete(aborted, {});
    return cancel_outcome::cancelled;
  }
  for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
    auto& e = outgoing_.entry(id);
    if (!e.op || e.op->serial != serial) continue;
    auto* hook = e.op;
    const auto stage = e.stage;
    const bool written = is_publish_stage(stage) || !e.needs_send;
    if (written && scope == cancel_scope::unsent_only) return cancel_outcome::kept;  // the broker may have it: it goes on
    // A stream nobody will be handed: it goes now; filters the broker grants it later are given back.
    const auto stream = stage == awaiting::suback ? std::get<subscribe_request>(e.request).stream : 0;
    if (!written)
      outgoing_.release(id);  // a SUBSCRIBE / UNSUBSCRIBE never written: forget it
    else
      e.op = nullptr;  // written: the flow completes without its requester (a publish keeps its window slot)
    if (stream) destroy_stream(stream, clock::time_point{});
    if (is_publish_stage(stage))
      static_cast<publish_op*>(hook)->complete(aborted, {});
    else if (stage == awaiting::suback)
      static_cast<subscribe_op*>(hook)->complete(aborted, {});
    else
      static_cast<unsubscribe_op*>(hook)->complete(aborted, {});
    return cancel_outcome::cancelled;
  }
  return cancel_outcome::not_found;
}

void session::abort_all(error_code ec) {
  // Stored messages stay in the store for the next client; only their publishers are told.
  while (!admission_.empty()) stop_waiting(*admission_.front())->complete(ec, {});
  while (auto* op = store_waiters_.pop_front()) op->complete(ec, {});
  while (!held_.empty()) {
    auto* op = held_.front().op;
    held_.pop_front();
    if (op) op->complete(ec, {});
  }
  while (!outbox_.empty()) {
    auto* op = outbox_.front().op;
    outbox_.pop_front();
    if (op) op->complete(ec, {});
  }
  outbox_bytes_ = 0;
  for (auto id = outgoing_.first(); id;) {
    const auto next = outgoing_.next(id);
    auto& e = outgoing_.entry(id);
    auto* hook = e.op;
    const auto stage = e.stage;
    outgoing_.release(id);
    if (hook) {
      if (is_publish_stage(stage))
        static_cast<publish_op*>(hook)->complete(ec, {});
      else if (stage == awaiting::suback)
        static_cast<subscribe_op*>(hook)->complete(ec, {});
      else
        static_cast<unsubscribe_op*>(hook)->complete(ec, {});
    }
    id = next;
  }
  window_in_use_ = 0;
  quota_in_use_ = 0;
  update_gauges();
}

}  // namespace coromqtt::detail

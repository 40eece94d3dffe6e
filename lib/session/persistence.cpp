// Persistence: what the session tells a session store, and what it takes back from one. Still sans-I/O: the
// session appends store_records; the client moves them to the store (off the strand) and reports when they are
// durable; the session asks for messages to be read back and takes them when they come.
//
//   admission --> message_added ----------------------------+
//   pump      --> message_sent(id) --> PUBLISH in pending   |   take_store_records() --> store.write()
//   PUBREC    --> message_released --> PUBREL in pending    +-> [records] ------------> on_store_written()
//   ack       --> message_done                              |
//   incoming QoS 2 --> incoming_received --> PUBREC, message for the user
//
// The gates: a record is made before the bytes (or the received message) that depend on it, so everything
// produced before a batch was cut may go once that batch is durable. A broker therefore never sees a packet
// identifier, a PUBREL or a PUBREC that a restarted client would not know about, and a QoS 2 message is never
// handed to the user before a restart would recognise its retransmission.
//
// The backlog: the memory queue (outbox) holds at most max_queued_messages / max_queued_bytes. Stored
// messages beyond that stay in the store only (spilled); the session reads them back, in order, as the
// queue drains, so a backlog of any size on disk costs a few counters here.
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace coromqtt::detail {

void session::attach_store(const store_limits& limits, const recovered_session& recovered) {
  store_attached_ = true;
  store_limits_ = limits;
  if (recovered.session_established) {
    client_id_ = recovered.client_id;  // including one the broker assigned
    clean_start_next_ = false;
  }
  subscriptions_.clear();
  for (const auto& s : recovered.subscriptions) subscriptions_.push_back({s.subscription, s.subscription_identifier});
  incoming_qos2_ = recovered.incoming;
  std::sort(incoming_qos2_.begin(), incoming_qos2_.end());
  last_seq_ = seq_at_cut_ = seq_handed_ = spilled_through_ = recovered.last_seq;
  loaded_through_ = 0;
  stored_messages_ = recovered.messages;
  stored_bytes_ = recovered.bytes;
  // The identifiers in flight keep their place and number; their messages come with the first loads.
  for (const auto& f : recovered.flights) {
    if (!outgoing_.claim(f.packet_id)) continue;  // the same identifier twice: a damaged store
    auto& e = outgoing_.entry(f.packet_id);
    e.stage = f.phase == stored_phase::released ? awaiting::pubcomp : awaiting::puback;
    e.store_seq = f.seq;
    e.needs_send = true;
    restoring_.push_back(f.packet_id);
  }
  outgoing_unsent_ = !outgoing_.empty();
  update_gauges();
}

session::room session::store_room_for(const publish_op& op) const noexcept {
  const auto& m = op.message;
  if (!store_ready()) return room::store_busy;  // restoring: new messages go after the restored ones
  if (m.qos != qos::at_most_once && !op.complete_when_stored && window_in_use_ >= wire_quota())
    return room::window_full;
  if (m.qos == qos::at_most_once && state_ == session_state::connected && outbox_.empty() &&
      spilled_through_ <= loaded_through_ && throttled_until_ == clock::time_point{})
    return pending_.size() < options_.write_buffer_limit ? room::yes : room::buffer_full;  // not stored at all
  if (stored_messages_ > 0 && (stored_messages_ >= store_limits_.max_messages ||
                               stored_bytes_ + stored_cost(m) > store_limits_.max_bytes))
    return room::store_full;
  // Messages the store has not taken yet are in memory twice: bound them like the memory queue.
  if (store_records_bytes_ + store_batch_bytes_ >= options_.max_queued_bytes) return room::store_busy;
  return room::yes;
}

bool session::make_store_room() {
  for (std::size_t i = 0; i < outbox_.size(); ++i) {
    auto& item = outbox_[i];
    if (!item.store_seq) continue;
    record_done(item.store_seq, item.message);
    if (item.holds_window) --window_in_use_;
    outbox_bytes_ -= item.cost;
    auto* op = item.op;
    if (i == 0)
      outbox_.pop_front();
    else
      outbox_.erase(i);
    if (op) op->complete(make_error_code(error::message_dropped), {});
    return true;
  }
  return false;  // the oldest are in the store only (or in flight): wait for them to move
}

void session::admit_stored(publish_op& op) {
  auto& m = op.message;
  const auto seq = ++last_seq_;
  const auto cost = stored_cost(m);
  ++stored_messages_;
  stored_bytes_ += cost;
  store_records_bytes_ += cost;
  op.store_seq = seq;
  const bool at_most_once = m.qos == qos::at_most_once;
  const bool holds_window = !at_most_once && !op.complete_when_stored;
  if (holds_window) ++window_in_use_;
  publish_op* awaiting_ack = holds_window ? &op : nullptr;
  if (op.complete_when_stored) store_waiters_.push_back(&op);

  auto& r = store_records_.emplace_back();
  r.what = store_record::type::message_added;
  r.seq = seq;
  r.bytes = cost;
  const auto memory_cost = queue_cost(m);
  const bool spill = spilled_through_ > loaded_through_ ||
                     (!outbox_.empty() && (outbox_.size() >= options_.max_queued_messages ||
                                           outbox_bytes_ + memory_cost > options_.max_queued_bytes));
  if (spill) {
    spilled_through_ = seq;
    if (awaiting_ack) {
      r.message = m;
      held_.emplace_back(std::move(m), awaiting_ack, memory_cost, seq, holds_window, op.requested_at);
    } else {
      if (m.properties.message_expiry_interval) spilled_times_.emplace_back(seq, op.requested_at);
      r.message = std::move(m);
    }
  } else {
    r.message = m;
    outbox_.emplace_back(std::move(m), awaiting_ack, memory_cost, seq, holds_window, op.requested_at);
    outbox_bytes_ += memory_cost;
    loaded_through_ = seq;
  }
  if (at_most_once && !op.complete_when_stored) op.complete({}, {});  // QoS 0: complete once queued
}

void session::record(store_record::type what, std::uint64_t seq, std::uint16_t packet_id, std::size_t bytes) {
  auto& r = store_records_.emplace_back();
  r.what = what;
  r.seq = seq;
  r.packet_id = packet_id;
  r.bytes = bytes;
}

void session::record_done(std::uint64_t seq, const coromqtt::message& m) {
  const auto cost = stored_cost(m);
  record(store_record::type::message_done, seq, 0, cost);
  if (stored_messages_) --stored_messages_;
  stored_bytes_ -= std::min(stored_bytes_, cost);
}

void session::forget_stored(std::uint64_t seq, const coromqtt::message& m) { record_done(seq, m); }

void session::record_subscriptions() {
  auto& r = store_records_.emplace_back();
  r.what = store_record::type::subscriptions;
  // An identifier the session chose for a stream was not sent to a broker without Subscription Identifiers
  // (send_subscribe): the next client, which restores the subscription as a plain one, must not send it either.
  const bool identifiers_sent = version_ == protocol_version::v5 && connack_.limits.subscription_identifier_available;
  for (const auto& s : subscriptions_)
    r.subscriptions.push_back(
        {s.subscription, s.automatic_identifier && !identifiers_sent ? std::nullopt : s.subscription_identifier});
}

std::size_t session::writable_bytes() const noexcept {
  if (!records_outstanding()) return pending_.size();
  if (output_gate_.durable <= output_gate_.taken) return 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(output_gate_.durable - output_gate_.taken, pending_.size()));
}

std::size_t session::deliverable_messages() const noexcept {
  if (!records_outstanding()) return receive_queue_.size();
  if (delivery_gate_.durable <= delivery_gate_.taken) return 0;
  return static_cast<std::size_t>(
      std::min<std::uint64_t>(delivery_gate_.durable - delivery_gate_.taken, receive_queue_.size()));
}

void session::drop_pending() noexcept {
  output_gate_.taken += pending_.size();  // never written: counts as gone through the gate
  pending_.clear();
}

void session::take_store_records(std::vector<store_record>& batch) {
  batch.clear();
  batch.swap(store_records_);
  store_batch_outstanding_ = true;
  output_gate_.at_cut = output_gate_.taken + pending_.size();
  delivery_gate_.at_cut = messages_queued_total_;
  stream_gate_.at_cut = stream_receipts_total_;
  seq_at_cut_ = seq_handed_ = last_seq_;
  store_batch_bytes_ = std::exchange(store_records_bytes_, 0);
}

void session::on_store_written(clock::time_point now) {
  store_batch_outstanding_ = false;
  store_batch_bytes_ = 0;
  output_gate_.durable = std::max(output_gate_.durable, output_gate_.at_cut);
  delivery_gate_.durable = std::max(delivery_gate_.durable, delivery_gate_.at_cut);
  if (stream_gate_.at_cut > stream_gate_.durable) {
    stream_gate_.durable = stream_gate_.at_cut;
    router_.mark_waiting_fed();  // streams whose messages waited for this batch: the client serves them again
  }
  while (!store_waiters_.empty() && store_waiters_.front()->store_seq <= seq_at_cut_)
    store_waiters_.pop_front()->complete({}, {});
  progress(now);
  update_gauges();
}

std::optional<session::store_load> session::take_store_load() {
  if (!store_attached_ || store_load_outstanding_) return std::nullopt;
  store_load load;
  load.after = loaded_through_;
  if (!restoring_.empty()) {
    // The messages in flight before the restart first, whatever their size: they are resent before anything.
    load.upto = spilled_through_;
    load.max_count = restoring_.size() + options_.max_queued_messages;
    load.max_bytes = std::numeric_limits<std::size_t>::max();
  } else {
    load.upto = std::min(spilled_through_, seq_handed_);  // the store has been handed these already
    if (load.upto <= loaded_through_) return std::nullopt;
    // Refill in batches: when the memory queue is down to half its bounds.
    if (outbox_.size() > options_.max_queued_messages / 2 || outbox_bytes_ > options_.max_queued_bytes / 2)
      return std::nullopt;
    load.max_count = std::max<std::size_t>(options_.max_queued_messages - outbox_.size(), 1);
    load.max_bytes = std::max<std::size_t>(options_.max_queued_bytes - outbox_bytes_, 1);
  }
  store_load_outstanding_ = true;
  return load;
}

void session::take_loaded(stored_message& item, clock::time_point now) {
  for (std::size_t i = 0; i < restoring_.size(); ++i) {
    auto& e = outgoing_.entry(restoring_[i]);
    if (e.store_seq != item.seq) continue;
    if (e.stage == awaiting::puback && item.message.qos == qos::exactly_once) e.stage = awaiting::pubrec;
    e.request = std::move(item.message);
    e.queued_at = now;  // its expiry counts from here: the store keeps no time
    restoring_.erase(restoring_.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
  const auto cost = queue_cost(item.message);
  if (!held_.empty() && held_.front().store_seq == item.seq) {
    auto& held = held_.front();  // its publisher still waits: keep the one with the operation
    outbox_.emplace_back(std::move(held.message), held.op, held.cost, held.store_seq, held.holds_window,
                         held.queued_at);
    outbox_bytes_ += held.cost;
    held_.pop_front();
    return;
  }
  // Its expiry counts from when it was handed over, if this process saw that; else (a restart) from now.
  auto queued_at = now;
  while (!spilled_times_.empty() && spilled_times_.front().seq < item.seq) spilled_times_.pop_front();
  if (!spilled_times_.empty() && spilled_times_.front().seq == item.seq) {
    queued_at = spilled_times_.front().at;
    spilled_times_.pop_front();
  }
  outbox_.emplace_back(std::move(item.message), nullptr, cost, item.seq, false, queued_at);
  outbox_bytes_ += cost;
}

void session::on_store_loaded(std::vector<stored_message>& loaded, const store_load& load, clock::time_point now) {
  store_load_outstanding_ = false;
  std::size_t bytes = 0;
  for (auto& item : loaded) {
    if (item.seq <= loaded_through_ || item.seq > load.upto) continue;
    bytes += stored_cost(item.message);
    // Held publishers before this one whose message the store did not return (cannot happen with a sound
    // store) keep their order all the same.
    while (!held_.empty() && held_.front().store_seq < item.seq) {
      auto& held = held_.front();
      outbox_.emplace_back(std::move(held.message), held.op, held.cost, held.store_seq, held.holds_window,
                         held.queued_at);
      outbox_bytes_ += held.cost;
      held_.pop_front();
    }
    take_loaded(item, now);
    loaded_through_ = item.seq;
  }
  const bool reached_upto = loaded.size() < load.max_count && bytes < load.max_bytes;
  if (reached_upto) {
    loaded_through_ = std::max(loaded_through_, load.upto);
    while (!spilled_times_.empty() && spilled_times_.front().seq <= loaded_through_) spilled_times_.pop_front();
    while (!held_.empty() && held_.front().store_seq <= loaded_through_) {
      auto& held = held_.front();
      outbox_.emplace_back(std::move(held.message), held.op, held.cost, held.store_seq, held.holds_window,
                         held.queued_at);
      outbox_bytes_ += held.cost;
      held_.pop_front();
    }
    // Restored identifiers whose message the store could not give back (damaged): nothing to resend.
    for (const auto id : restoring_) {
      record(store_record::type::message_done, outgoing_.entry(id).store_seq);
      if (stored_messages_) --stored_messages_;
      outgoing_.release(id);
    }
    restoring_.clear();
  }
  progress(now);
  update_gauges();
}

}  // namespace coromqtt::detail

// Outgoing PUBLISH: admission (the inflight window, the queue bounds), and the acknowledgements that end each
// QoS 1 and QoS 2 flow [MQTT-4.3.2], [MQTT-4.3.3].
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <coromqtt/protocol/topic.hpp>

#include "protocol/wire.hpp"

#include <utility>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

// ---------------------------------------------------------------------------------------------------------------
// Requests

std::size_t session::queue_cost(const coromqtt::message& m) noexcept {
  return sizeof(coromqtt::message) + m.topic.size() + m.payload.size();
}

error_code session::check_publish(const coromqtt::message& m) const {
  // The codec's own form of validate_topic_name(): an empty std::error_code costs a call into libstdc++ per
  // message.
  if (const auto e = proto::detail::topic_name_error(m.topic); e != proto::detail::no_error)
    return proto::make_error_code(e);
  if (state_ == session_state::connected || stats_.connects.get() > 0) {
    // Limits of the broker we talk (or last talked) to [MQTT-3.2.2-11], [MQTT-3.2.2-14].
    if (m.qos > connack_.limits.maximum_qos) return make_error_code(error::qos_not_supported);
    if (m.retain && !connack_.limits.retain_available) return make_error_code(error::retain_not_supported);
  }
  return {};
}

session::room session::room_for(const publish_op& op) const noexcept {
  const auto& m = op.message;
  if (stores(m)) return store_room_for(op);
  if (m.qos != qos::at_most_once && !op.complete_when_stored && window_in_use_ >= wire_quota())
    return room::window_full;
  // Connected and nothing queued: a QoS 0 message goes straight into the write buffer, bounded by it.
  if (m.qos == qos::at_most_once && state_ == session_state::connected && outbox_.empty() &&
      throttled_until_ == clock::time_point{})
    return pending_.size() < options_.write_buffer_limit ? room::yes : room::buffer_full;
  if (outbox_.empty()) return room::yes;  // one message is always let in, however large
  if (outbox_.size() >= options_.max_queued_messages ||
      outbox_bytes_ + queue_cost(m) > options_.max_queued_bytes)
    return room::queue_full;
  return room::yes;
}

// Waiting publishers hold their messages, so they are a queue too, with the queue's bounds: under
// queue_full_policy::fail they count together with the queued messages (a QoS 1 publisher that finds the
// window full is "queued" for the user), under ::wait they may be as many again as the queue holds. One
// publisher may always wait, whatever its size, as one message is always let into the queue.
bool session::may_wait(const publish_op& op) const noexcept {
  const bool fail = options_.when_queue_full == queue_full_policy::fail;
  const auto messages = waiting_publishers_ + (fail ? outbox_.size() : 0);
  if (messages == 0) return true;
  const auto bytes = waiting_bytes_ + (fail ? outbox_bytes_ : 0) + queue_cost(op.message);
  return messages < options_.max_queued_messages && bytes <= options_.max_queued_bytes;
}

void session::start_waiting(publish_op& op) {
  admission_.push_back(&op);
  ++waiting_publishers_;
  waiting_bytes_ += queue_cost(op.message);
}

publish_op* session::stop_waiting(publish_op& op) noexcept {
  admission_.erase(&op);
  --waiting_publishers_;
  waiting_bytes_ -= queue_cost(op.message);
  return &op;
}

void session::admit(publish_op& op, clock::time_point now) {
  auto& m = op.message;
  if (stores(m) && m.qos != qos::at_most_once) return admit_stored(op);
  if (m.qos == qos::at_most_once) {
    // QoS 0 completes once the message is queued: encoded now if possible, else held in the outbox.
    if (state_ == session_state::connected && outbox_.empty() && spilled_through_ <= loaded_through_ &&
        pending_.size() < options_.write_buffer_limit && take_tokens(m, now)) {
      auto ec = append_publish(m, 0, false);
      op.complete(ec, {});
      return;
    }
    if (stores(m)) return admit_stored(op);  // the offline queue's QoS 0 messages, when the store keeps them
    const auto cost = queue_cost(m);
    outbox_.emplace_back(std::move(m), nullptr, cost, 0, false, op.requested_at);
    outbox_bytes_ += cost;
    op.complete({}, {});
    return;
  }
  const auto cost = queue_cost(m);
  if (op.complete_when_stored) {  // no store: "stored" is the session's memory, and the message is in it now
    outbox_.emplace_back(std::move(m), nullptr, cost, 0, false, op.requested_at);
    outbox_bytes_ += cost;
    op.complete({}, {});
    return;
  }
  ++window_in_use_;
  outbox_.emplace_back(std::move(m), &op, cost, 0, true, op.requested_at);
  outbox_bytes_ += cost;
}

bool session::try_publish_now(const coromqtt::message& m, clock::time_point now, error_code& ec) {
  if (m.qos != qos::at_most_once || state_ != session_state::connected || !outbox_.empty() ||
      spilled_through_ > loaded_through_ || !admission_.empty() || pending_.size() >= options_.write_buffer_limit)
    return false;
  // `ec` is assigned only on failure: copying an error_code just returned in memory stalls the store
  // forwarding (read whole, written field by field): perf put 9 % of a QoS 0 publish on those two copies.
  if (const auto invalid = check_publish(m)) {
    ec = invalid;
    return true;
  }
  if (publish_needs_time() && !take_tokens(m, now)) return false;
  if (const auto failed = append_publish(m, 0, false)) ec = failed;
  return true;
}

void session::publish(publish_op& op, clock::time_point now) {
  op.requested_at = now;
  if (auto ec = check_publish(op.message)) {
    op.complete(ec, {});
    return;
  }
  if (admission_.empty()) {
    auto r = room_for(op);
    while (r == room::store_full && store_limits_.when_full == store_full_policy::drop_oldest && make_store_room())
      r = room_for(op);
    if (r == room::yes) {
      admit(op, now);
      progress(now);
      update_gauges();
      return;
    }
    if ((r == room::queue_full && options_.when_queue_full == queue_full_policy::fail) ||
        (r == room::store_full && store_limits_.when_full == store_full_policy::fail)) {
      op.complete(make_error_code(error::queue_full), {});
      return;
    }
  } else if (const auto r = room_for(op);
             (r == room::queue_full && options_.when_queue_full == queue_full_policy::fail) ||
             (r == room::store_full && store_limits_.when_full == store_full_policy::fail)) {
    op.complete(make_error_code(error::queue_full), {});
    return;
  }
  if (!may_wait(op)) {
    op.complete(make_error_code(error::queue_full), {});
    return;
  }
  start_waiting(op);
  update_gauges();
}

bool session::expired(const coromqtt::message& m, clock::duration waited) const noexcept {
  return version_ == protocol_version::v5 && m.properties.message_expiry_interval &&
         waited >= std::chrono::seconds{*m.properties.message_expiry_interval};
}

// An expired message at the front of the outbox, never written: it leaves the queue (and the window), its
// publisher learns why, and the client reports it as an event.
void session::drop_expired(outbox_item& item) {
  auto* op = item.op;
  const bool counted_in_window = item.holds_window;
  if (item.store_seq) record_done(item.store_seq, item.message);
  last_expired_topic_ = std::move(item.message.topic);
  ++expired_unreported_;
  stats_.messages_expired.add();
  outbox_bytes_ -= item.cost;
  outbox_.pop_front();
  if (counted_in_window) --window_in_use_;
  if (op) op->complete(make_error_code(error::message_expired), {});
}

void session::finish_publish(std::uint16_t id, error_code ec, publish_result result) {
  auto& e = outgoing_.entry(id);
  auto* op = static_cast<publish_op*>(e.op);
  if (e.store_seq) record_done(e.store_seq, std::get<coromqtt::message>(e.request));
  if (e.holds_window) --window_in_use_;
  outgoing_.release(id);
  if (op) op->complete(ec, std::move(result));
}

// An acknowledgement for an identifier not in use is a late duplicate from a confused broker (its flow ended
// already, or never began): the standard has no rule for it, interoperable clients ignore it, and so do we
// (counted). One for an identifier in use by another kind of request is a Protocol Error: the broker's state
// and ours disagree about that identifier, and acting on it could complete the wrong request.
error_code session::handle_puback(std::uint16_t id, reason_code rc, const proto::ack_properties& props) {
  auto* e = outgoing_.find(id);
  if (!e) {
    stats_.unexpected_acks.add();
    return {};
  }
  if (e->stage != awaiting::puback)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "PUBACK for a packet identifier awaiting another acknowledgement");
  if (e->counts_quota) --quota_in_use_;
  publish_result result{rc, std::string{props.reason_string.value_or("")}, copy_of(props.user_properties)};
  stats_.publishes_acked.add();
  finish_publish(id, proto::is_error(rc) ? make_error_code(error::rejected_by_broker) : error_code{},
                 std::move(result));
  return {};
}

error_code session::handle_pubrec(std::uint16_t id, reason_code rc, const proto::ack_properties& props) {
  auto* e = outgoing_.find(id);
  if (!e) {
    // The broker may hold a QoS 2 flow we know nothing of: answering lets it finish, with Packet Identifier
    // not found on MQTT 5 (3.4.2.1 Table 3-6); after an error code the broker ended the flow itself
    // [MQTT-4.3.3-4].
    stats_.unexpected_acks.add();
    if (proto::is_error(rc)) return {};
    auto answer = ack<proto::pubrel>(id);
    if (version_ == protocol_version::v5) answer.reason = reason_code::packet_identifier_not_found;
    return append(answer);
  }
  if (e->stage != awaiting::pubrec && e->stage != awaiting::pubcomp)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "PUBREC for a packet identifier awaiting another acknowledgement");
  if (proto::is_error(rc)) {
    // The flow ends here [MQTT-4.3.3]; the quota unit comes back [MQTT-4.9.0].
    if (e->counts_quota) --quota_in_use_;
    publish_result result{rc, std::string{props.reason_string.value_or("")}, copy_of(props.user_properties)};
    finish_publish(id, make_error_code(error::rejected_by_broker), std::move(result));
    return {};
  }
  e->stage = awaiting::pubcomp;
  e->dup = false;
  if (e->store_seq) record(store_record::type::message_released, e->store_seq);
  return append(ack<proto::pubrel>(id));
}

error_code session::handle_pubcomp(std::uint16_t id, reason_code rc, const proto::ack_properties& props) {
  auto* e = outgoing_.find(id);
  if (!e) {
    stats_.unexpected_acks.add();
    return {};
  }
  if (e->stage != awaiting::pubcomp)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "PUBCOMP for a packet identifier awaiting another acknowledgement");
  if (e->counts_quota) --quota_in_use_;
  publish_result result{rc, std::string{props.reason_string.value_or("")}, copy_of(props.user_properties)};
  stats_.publishes_acked.add();
  finish_publish(id, proto::is_error(rc) ? make_error_code(error::rejected_by_broker) : error_code{},
                 std::move(result));
  return {};
}

}  // namespace coromqtt::detail

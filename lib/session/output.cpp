// The write side: encoding into the pending bytes, the swap with the bytes being written, and the pump that
// moves retransmissions and queued messages onto the wire in order, within the broker's quota and the rate
// limit.
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include "protocol/plain_publish.hpp"

#include <algorithm>
#include <cassert>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

namespace {
// The Message Expiry Interval left after `waited`, in whole seconds rounded up: a message that has not expired
// keeps at least 1 (0 would tell the receiver nothing about the time left).
std::uint32_t remaining_expiry(std::uint32_t interval, clock::duration waited) noexcept {
  const auto left = std::chrono::seconds{interval} - waited;
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(left).count();
  return static_cast<std::uint32_t>(std::max<std::int64_t>(seconds, 1));
}
}  // namespace

error_code session::append_publish(const coromqtt::message& m, std::uint16_t packet_id, bool dup,
                                   clock::duration waited) {
  // Most messages carry no property and need no topic alias: encoded from their fields, straight into the free
  // space. Anything else, or anything that does not fit or cannot be encoded, takes the general path below,
  // which also says why.
  const bool aliasing = version_ == protocol_version::v5 && options_.auto_topic_alias &&
                        connack_.limits.topic_alias_maximum > 0;
  if (!aliasing && m.properties.empty()) {
    const proto::detail::plain_publish plain{m.topic, as_bytes(m.payload), m.qos, m.retain, dup, packet_id};
    const std::size_t written = proto::detail::encode_plain_publish(plain, version_, pending_.spare());
    const auto limit = connack_.limits.maximum_packet_size;
    if (written != 0 && (!limit || written <= limit)) {
      pending_.commit(written);
      stats_.messages_sent.add();
      return {};
    }
  }
  proto::publish p;
  p.topic = m.topic;
  p.payload = as_bytes(m.payload);
  p.qos = m.qos;
  p.retain = m.retain;
  p.dup = dup;
  p.packet_id = packet_id;
  topic_alias_table::choice alias;
  if (version_ == protocol_version::v5) {
    property_scratch_.clear();
    view_message_properties(m.properties, p.properties, property_scratch_);
    // Sent with the interval less the time it waited here, as a server forwards it [MQTT-3.3.2-6].
    if (m.properties.message_expiry_interval && waited > clock::duration::zero())
      p.properties.message_expiry_interval = remaining_expiry(*m.properties.message_expiry_interval, waited);
    if (options_.auto_topic_alias) {
      alias = outgoing_aliases_.choose(m.topic, connack_.limits.topic_alias_maximum);  // [MQTT-3.3.2-9]
      if (alias.alias) p.properties.topic_alias = alias.alias;
      if (alias.known) p.topic = {};
    }
  }
  if (auto ec = append(p)) return ec;
  outgoing_aliases_.commit(m.topic, alias);  // only now that the broker will see the mapping
  stats_.messages_sent.add();
  return {};
}

std::span<const std::uint8_t> session::prepare_write() {
  assert(writing_.empty());
  const auto n = writable_bytes();
  output_gate_.taken += n;
  if (n == pending_.size()) {
    writing_.swap(pending_);
  } else {
    // Only the bytes whose records are durable go; the rest wait for their batch (persistence.cpp).
    std::copy_n(pending_.data(), n, writing_.append(n).data());
    pending_.consume(n);
  }
  stats_.write_buffer_bytes.set(pending_.size());
  return writing_.bytes();
}

void session::commit_write(clock::time_point now) {
  stats_.bytes_sent.add(writing_.size());
  writing_.clear();
  if (writing_.capacity() > 4 * options_.write_buffer_limit) writing_.shrink_to(options_.write_buffer_limit);
  keep_alive_.on_sent(now);
  progress(now);
  update_gauges();
}

std::uint32_t session::incoming_packet_limit() const noexcept {
  // 0 in the options means no limit of our own: the protocol's.
  return options_.maximum_packet_size ? options_.maximum_packet_size : proto::max_packet_size;
}

std::uint16_t session::wire_quota() const noexcept {
  return std::min<std::uint16_t>(options_.effective_inflight_window(), connack_.limits.receive_maximum);
}

bool session::take_tokens(const coromqtt::message& m, clock::time_point now) {
  if (!message_rate_.limited() && !byte_rate_.limited()) return true;
  const double bytes = static_cast<double>(m.topic.size() + m.payload.size());
  const auto ready = std::max(message_rate_.available_at(1, now), byte_rate_.available_at(bytes, now));
  if (ready > now) {
    throttled_until_ = ready;
    return false;
  }
  message_rate_.try_take(1, now);
  byte_rate_.try_take(bytes, now);
  return true;
}

bool session::send_entry(std::uint16_t id, clock::time_point now) {
  auto& e = outgoing_.entry(id);
  switch (e.stage) {
    case awaiting::puback:
    case awaiting::pubrec: {
      if (quota_in_use_ >= wire_quota()) return false;  // [MQTT-3.3.4-7], [MQTT-4.9.0-2]
      if (pending_.size() >= options_.write_buffer_limit) return false;
      const auto& m = std::get<coromqtt::message>(e.request);
      if (!take_tokens(m, now)) return false;  // retransmissions are paced too
      // After a lost session the identifier is new to the store too (it forgot them all).
      if (e.store_seq) record(store_record::type::message_sent, e.store_seq, id);
      // Already written once, so never dropped: the broker may hold its QoS 2 state. Its expiry still counts
      // down from when it was handed over.
      if (auto ec = append_publish(m, id, e.dup, now - e.queued_at)) {
        finish_publish(id, ec, {});
        return true;
      }
      if (e.dup) stats_.retransmitted.add();
      e.needs_send = false;
      e.counts_quota = true;
      ++quota_in_use_;
      return true;
    }
    case awaiting::pubcomp:
      e.needs_send = false;
      stats_.retransmitted.add();
      (void)append(ack<proto::pubrel>(id));
      return true;
    case awaiting::suback:
      send_subscribe(id, e);
      return true;
    case awaiting::unsuback:
      send_unsubscribe(id, e);
      return true;
    case awaiting::nothing:
      break;
  }
  return true;
}

void session::pump(clock::time_point now) {
  if (state_ != session_state::connected) return;
  // What the session owes the broker first: retransmissions and requests of earlier connections, in their
  // original order, then new messages [MQTT-4.6.0-1]. The walk runs only while some entry is unsent: in
  // steady state every entry was written and pump() would otherwise visit the whole window for each message.
  if (outgoing_unsent_) {
    for (auto id = outgoing_.first(); id;) {
      const auto next = outgoing_.next(id);  // send_entry may release `id`
      if (outgoing_.entry(id).needs_send && !send_entry(id, now)) return;
      id = next;
    }
    outgoing_unsent_ = false;
  }
  while (!outbox_.empty()) {
    auto& item = outbox_.front();
    auto& m = item.message;
    if (pending_.size() >= options_.write_buffer_limit) return;
    const auto waited = now - item.queued_at;
    if (expired(m, waited)) {
      drop_expired(item);
      continue;
    }
    if (m.qos == qos::at_most_once) {
      if (!take_tokens(m, now)) return;
      if (auto ec = check_publish(m); !ec) (void)append_publish(m, 0, false, waited);
      if (item.store_seq) record_done(item.store_seq, m);  // at most once: written is done
      // A QoS 0 publisher completed when its message was queued; an invalid one is dropped here only if the
      // broker's limits changed while it waited (checked again against the new CONNACK).
    } else {
      if (quota_in_use_ >= wire_quota()) return;
      if (!take_tokens(m, now)) return;
      if (auto ec = check_publish(m)) {
        auto* op = item.op;
        if (item.store_seq) record_done(item.store_seq, m);
        if (item.holds_window) --window_in_use_;
        outbox_bytes_ -= item.cost;
        outbox_.pop_front();
        if (op) op->complete(ec, {});
        continue;
      }
      const auto id = outgoing_.allocate();
      if (id == 0) return;  // all identifiers in use: wait for acknowledgements
      auto& e = outgoing_.entry(id);
      e.stage = m.qos == qos::at_least_once ? awaiting::puback : awaiting::pubrec;
      e.op = item.op;
      e.queued_at = item.queued_at;
      e.holds_window = item.holds_window;
      e.store_seq = item.store_seq;
      // The store learns the identifier before the PUBLISH can leave (the output gate holds it until then).
      if (e.store_seq) record(store_record::type::message_sent, e.store_seq, id);
      e.request = std::move(m);
      if (auto ec = append_publish(std::get<coromqtt::message>(e.request), id, false, waited)) {
        outbox_bytes_ -= item.cost;
        outbox_.pop_front();
        finish_publish(id, ec, {});
        continue;
      }
      e.counts_quota = true;
      ++quota_in_use_;
    }
    outbox_bytes_ -= item.cost;
    outbox_.pop_front();
  }
}

void session::progress(clock::time_point now) {
  for (;;) {
    pump(now);
    bool admitted = false;
    for (;;) {
      if (admission_.empty()) break;
      auto r = room_for(*admission_.front());
      while (r == room::store_full && store_limits_.when_full == store_full_policy::drop_oldest && make_store_room())
        r = room_for(*admission_.front());
      if (r != room::yes) break;
      admit(*stop_waiting(*admission_.front()), now);
      admitted = true;
    }
    if (!admitted) break;
  }
}

}  // namespace coromqtt::detail

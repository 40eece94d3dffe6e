// Incoming PUBLISH: topic aliases, the receive queue, and the QoS 1 and QoS 2 acknowledgement flows
// [MQTT-4.3].
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <algorithm>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

error_code session::handle_publish(const proto::publish& p, bool& consumed) {
  // The topic, through the alias if there is one; the mapping itself changes only once the packet is taken.
  std::string_view topic = p.topic;
  if (const auto alias = p.properties.topic_alias) {
    if (*alias == 0 || *alias > options_.topic_alias_maximum)  // [MQTT-3.3.2-8], [MQTT-3.3.2-10]
      return violation(reason_code::topic_alias_invalid, make_error_code(error::protocol_violation),
                       "topic alias out of range");
    if (topic.empty()) {
      if (incoming_aliases_.size() < *alias || incoming_aliases_[*alias - 1u].empty())
        return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                         "unknown topic alias");
      topic = incoming_aliases_[*alias - 1u];
    }
  }

  // Decide everything that needs room before changing any state: if a queue it goes to is full the packet
  // stays in the buffer and is handled again, from scratch, once there is room.
  const bool duplicate_qos2 = p.qos == qos::exactly_once &&
                              std::binary_search(incoming_qos2_.begin(), incoming_qos2_.end(), p.packet_id);
  // A client told that nobody calls co_receive (discard_incoming_messages) acknowledges and drops what would
  // go to the receive queue, so that it can never fill and stop the reads that carry the client's own
  // acknowledgements. Subscription streams (and co_request's responses) are read by their owners: they still
  // receive.
  const bool discard = options_.discard_incoming_messages;
  const bool deliver = !duplicate_qos2;
  bool to_default = deliver;
  if (deliver && !router_.empty()) {  // without streams, everything goes to the receive queue
    route_publish(topic, p);
    to_default = route_to_default_;
    for (const auto* s : route_streams_)
      if (s->full()) {
        delivery_wait_ = input_wait::stream;
        blocked_stream_ = s->key;
        consumed = false;
        return {};
      }
  }
  const bool discarded = to_default && discard;
  if (discarded) to_default = false;
  if (to_default && receive_queue_.size() >= std::max<std::size_t>(options_.receive_queue_capacity, 1)) {
    delivery_wait_ = input_wait::receive_queue;
    consumed = false;
    return {};
  }
  const std::size_t copies = !deliver ? 0 : (to_default ? 1 : 0) + (router_.empty() ? 0 : route_streams_.size());
  // Manual acknowledgement: the application holds receive_maximum messages already. A broker that honours our
  // Receive Maximum sends no more [MQTT-3.3.4-9]; one that does not (mosquitto 2.0.11 with messages queued for
  // us) is made to wait here, so the application's pace bounds what it holds either way. Only messages the
  // application can release count: QoS 2 receipts waiting for PUBREL must not stop the PUBREL from being read.
  if (copies > 0 && p.qos != qos::at_most_once && options_.manual_acknowledgement &&
      held_messages_ >= std::max<std::uint16_t>(options_.receive_maximum, 1)) {
    delivery_wait_ = input_wait::acknowledgements;
    consumed = false;
    return {};
  }

  if (p.properties.topic_alias && !p.topic.empty()) {
    if (incoming_aliases_.size() < *p.properties.topic_alias) incoming_aliases_.resize(*p.properties.topic_alias);
    incoming_aliases_[*p.properties.topic_alias - 1u].assign(p.topic);
  }

  stats_.messages_received.add();
  const bool manual = options_.manual_acknowledgement && p.qos != qos::at_most_once;
  const bool held = manual && copies > 0;
  if (p.qos != qos::at_most_once && !duplicate_qos2) {
    // The broker broke our Receive Maximum [MQTT-3.3.4-9] with QoS 2 messages between PUBREC and PUBREL; the
    // standard's answer is DISCONNECT 0x93.
    if (version_ == protocol_version::v5 && p.qos == qos::exactly_once &&
        incoming_qos2_.size() >= options_.receive_maximum)
      return violation(reason_code::receive_maximum_exceeded, make_error_code(error::protocol_violation),
                       "receive maximum exceeded");
  }
  if (copies > 0) {
    coromqtt::message m;
    m.topic.assign(topic);
    m.payload.assign(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
    m.qos = p.qos;
    m.retain = p.retain;
    m.dup = p.dup;
    if (version_ == protocol_version::v5) {
      copy_message_properties(p.properties, m.properties);
      m.properties.subscription_identifiers.assign(p.properties.subscription_identifiers.begin(),
                                                   p.properties.subscription_identifiers.end());
    }
    if (held) m.acknowledgement_id = hold_acknowledgement(p, false, static_cast<std::uint32_t>(copies));
    if (!router_.empty()) {
      // With a store, each copy waits for the records made before it (the delivery gate, persistence.cpp).
      const auto receipt = ++stream_receipts_total_;
      for (auto* s : route_streams_) {
        s->messages.emplace_back(m);
        if (store_attached_) s->receipts.emplace_back(receipt);
        router_.mark_fed(*s);
      }
    }
    if (to_default) {
      receive_queue_.emplace_back(std::move(m));
      ++messages_queued_total_;
    }
    stats_.messages_delivered.add();
  } else if (discarded) {
    stats_.messages_discarded.add();
  } else if (deliver) {
    stats_.messages_dropped_unsubscribed.add();  // only streams already unsubscribed had asked for it
  }
  if (held) return {};
  if (manual && !held_acks_.empty()) {
    // Its acknowledgement must not overtake those still held for earlier messages.
    hold_acknowledgement(p, true, 0);
    return send_held_acknowledgements();
  }
  // Method B of [MQTT-4.3.3]: deliver on PUBLISH, remember the identifier until PUBREL, so a retransmitted
  // PUBLISH (DUP) is acknowledged again but not delivered again.
  if (p.qos == qos::exactly_once && !duplicate_qos2) remember_incoming_qos2(p.packet_id);
  if (p.qos == qos::at_least_once) return append(ack<proto::puback>(p.packet_id));
  if (p.qos == qos::exactly_once) return append(ack<proto::pubrec>(p.packet_id));
  return {};
}

void session::remember_incoming_qos2(std::uint16_t id) {
  const auto at = std::lower_bound(incoming_qos2_.begin(), incoming_qos2_.end(), id);
  if (at != incoming_qos2_.end() && *at == id) return;
  incoming_qos2_.insert(at, id);
  // Durable before the PUBREC leaves and before the message reaches the user: a restarted client then
  // recognises the broker's retransmission.
  if (store_attached_) record(store_record::type::incoming_received, 0, id);
}

error_code session::handle_pubrel(std::uint16_t id) {
  const auto it = std::lower_bound(incoming_qos2_.begin(), incoming_qos2_.end(), id);
  if (it != incoming_qos2_.end() && *it == id) {
    incoming_qos2_.erase(it);
    if (store_attached_) record(store_record::type::incoming_released, 0, id);
    return append(ack<proto::pubcomp>(id));
  }
  // A PUBREL we have no record of (e.g. our PUBCOMP was lost with the connection): complete the flow anyway.
  auto answer = ack<proto::pubcomp>(id);
  if (version_ == protocol_version::v5) answer.reason = reason_code::packet_identifier_not_found;
  return append(answer);
}

coromqtt::message session::pop_message() {
  auto m = std::move(receive_queue_.front());
  receive_queue_.pop_front();
  ++delivery_gate_.taken;
  stats_.receive_queue.set(receive_queue_.size());
  return m;
}

}  // namespace coromqtt::detail

// Manual acknowledgement of incoming QoS 1/2 messages: PUBACK / PUBREC are held until the application says it
// is done with the message, and written in the order the messages arrived [MQTT-4.6.0-2], [MQTT-4.6.0-3].
//
//   held_acks_   [ id 7: ready | id 8: waiting (1 copy) | id 9: ready ]   ->   PUBACK 7 now; 9 waits for 8
//
// The held messages count against the Receive Maximum we announced (the broker counts them as unacknowledged
// too), so a slow application slows the broker down. A QoS 2 message enters the "PUBREC sent" state
// (incoming_qos2_, which turns a redelivery into a duplicate) only when its PUBREC is written: one the
// application never acknowledged is delivered again when the broker sends it again.
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <algorithm>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

std::uint64_t session::hold_acknowledgement(const proto::publish& p, bool duplicate, std::uint32_t copies) {
  const auto id = next_acknowledgement_id_++;
  held_acks_.emplace_back(held_acknowledgement{id, p.packet_id, p.qos, duplicate, copies, reason_code::success});
  if (!duplicate) ++held_messages_;
  return id;
}

void session::acknowledge(std::uint64_t id, reason_code reason) {
  if (held_acks_.empty() || state_ != session_state::connected) return;
  const auto first = held_acks_.front().id;
  if (id < first || id - first >= held_acks_.size()) return;  // an earlier connection's, or answered already
  auto& held = held_acks_[static_cast<std::size_t>(id - first)];
  if (held.copies == 0) return;
  if (held.reason == reason_code::success && version_ == protocol_version::v5) held.reason = reason;
  // Only the oldest can unblock anything: the ones before a waiting entry are all sent already.
  if (--held.copies == 0 && held_acks_.front().id == id) (void)send_held_acknowledgements();
}

error_code session::send_held_acknowledgements() {
  while (!held_acks_.empty() && held_acks_.front().copies == 0) {
    const auto held = held_acks_.front();
    held_acks_.pop_front();
    if (!held.duplicate) --held_messages_;
    error_code ec;
    if (held.qos == qos::at_least_once) {
      auto answer = ack<proto::puback>(held.packet_id);
      answer.reason = held.reason;
      ec = append(answer);
    } else {
      // A PUBREC with an error ends the flow: no PUBREL follows [MQTT-4.3.3]. Otherwise the identifier is
      // kept until PUBREL, so that a redelivery is recognised [MQTT-4.3.3-10]; with a store it is recorded
      // first, and the PUBREC waits for that record.
      if (!proto::is_error(held.reason)) remember_incoming_qos2(held.packet_id);
      auto answer = ack<proto::pubrec>(held.packet_id);
      answer.reason = held.reason;
      ec = append(answer);
    }
    if (ec) return ec;
  }
  return {};
}

}  // namespace coromqtt::detail

// SUBSCRIBE and UNSUBSCRIBE, their acknowledgements, and the registry of granted subscriptions that is
// restored when the broker lost the session.
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <coromqtt/protocol/error.hpp>
#include <coromqtt/protocol/topic.hpp>

#include <algorithm>
#include <utility>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

void session::subscribe(subscribe_op& op, clock::time_point now) {
  const auto stream = op.request.stream;
  // A stream's subscription that fails here never reaches the broker: the stream goes with it.
  auto fail = [&](error_code ec) {
    if (stream) destroy_stream(stream, now);
    op.complete(ec, {});
  };
  for (const auto& s : op.request.subscriptions) {
    if (auto ec = proto::validate_topic_filter(s.filter)) return fail(ec);
  }
  if (op.request.subscriptions.empty()) return fail(make_error_code(proto::error::empty_subscription_list));
  if (stream) {
    // The stream's messages are told apart by an identifier the session chooses [MQTT-3.8.2.1.2].
    if (op.request.subscription_identifier || stream_state(stream) != stream_status::open)
      return fail(make_error_code(error::invalid_argument));
    if (version_ == protocol_version::v5) {
      op.request.subscription_identifier = allocate_stream_identifier();
      op.request.automatic_identifier = true;
    }
  }
  const auto id = outgoing_.allocate();
  if (id == 0) return fail(make_error_code(error::packet_identifiers_exhausted));
  auto& e = outgoing_.entry(id);
  e.stage = awaiting::suback;
  e.request = std::move(op.request);
  e.op = &op;
  e.needs_send = true;
  outgoing_unsent_ = true;
  if (state_ == session_state::connected) send_entry(id, now);
  update_gauges();
}

void session::unsubscribe(unsubscribe_op& op, clock::time_point now) {
  for (const auto& f : op.request.filters) {
    if (auto ec = proto::validate_topic_filter(f)) {
      op.complete(ec, {});
      return;
    }
  }
  if (op.request.filters.empty()) {
    op.complete(make_error_code(proto::error::empty_unsubscription_list), {});
    return;
  }
  const auto id = outgoing_.allocate();
  if (id == 0) {
    op.complete(make_error_code(error::packet_identifiers_exhausted), {});
    return;
  }
  auto& e = outgoing_.entry(id);
  e.stage = awaiting::unsuback;
  e.request = std::move(op.request);
  e.op = &op;
  e.needs_send = true;
  outgoing_unsent_ = true;
  if (state_ == session_state::connected) send_entry(id, now);
  update_gauges();
}

error_code session::handle_suback(const proto::suback& s, clock::time_point now) {
  auto* e = outgoing_.find(s.packet_id);
  if (!e) {  // a late duplicate, ignored like the other acknowledgements (publish.cpp)
    stats_.unexpected_acks.add();
    return {};
  }
  if (e->stage != awaiting::suback)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "SUBACK for a packet identifier awaiting another acknowledgement");
  auto& request = std::get<subscribe_request>(e->request);
  if (s.reasons.size() != request.subscriptions.size())  // [MQTT-3.8.4-6]
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "SUBACK with a different number of reason codes than filters");
  subscribe_result result;
  result.reasons.assign(s.reasons.begin(), s.reasons.end());
  result.reason_string = s.properties.reason_string.value_or("");
  result.user_properties = copy_of(s.properties.user_properties);
  bool refused = false;
  // The stream these filters were for, if it still wants them; a granted filter it no longer wants is given
  // back to the broker.
  const bool stream_wants = request.stream && stream_state(request.stream) == stream_status::open;
  std::vector<std::string> unwanted;
  for (std::size_t i = 0; i < request.subscriptions.size(); ++i) {
    if (proto::is_error(result.reasons[i])) {
      refused = true;
      continue;
    }
    if (request.restore) continue;  // the subscription as it was: routing and registry unchanged
    auto& sub = request.subscriptions[i];
    // A SUBSCRIBE of a filter replaces the subscription the broker had for it [MQTT-3.8.4-3], and with it
    // where its messages go.
    if (stream_wants)
      router_.bind(request.stream, sub.filter, request.subscription_identifier.value_or(0));
    else if (request.stream)
      unwanted.push_back(sub.filter);
    else if (router_.route_of(sub.filter))
      router_.unroute(sub.filter);
    const bool automatic = request.automatic_identifier;
    const bool routed = stream_wants;
    auto same =
        std::find_if(subscriptions_.begin(), subscriptions_.end(),
                     [&](const registered_subscription& r) { return r.subscription.filter == sub.filter; });
    if (same == subscriptions_.end())
      subscriptions_.push_back({std::move(sub), request.subscription_identifier, automatic, routed});
    else
      *same = {std::move(sub), request.subscription_identifier, automatic, routed};
  }
  if (store_attached_) record_subscriptions();
  auto* op = static_cast<subscribe_op*>(e->op);
  const auto stream = request.stream;
  outgoing_.release(s.packet_id);
  // A stream whose subscription was refused (even in part) is not handed out: it goes, and so do the filters
  // granted to it.
  if (stream && refused && op) destroy_stream(stream, now);
  if (!unwanted.empty()) unsubscribe_filters(std::move(unwanted), nullptr, now);
  if (op)
    op->complete(refused ? make_error_code(error::subscription_refused) : error_code{}, std::move(result));
  return {};
}

error_code session::handle_unsuback(const proto::unsuback& u) {
  auto* e = outgoing_.find(u.packet_id);
  if (!e) {  // a late duplicate, ignored like the other acknowledgements (publish.cpp)
    stats_.unexpected_acks.add();
    return {};
  }
  if (e->stage != awaiting::unsuback)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "UNSUBACK for a packet identifier awaiting another acknowledgement");
  auto& request = std::get<unsubscribe_request>(e->request);
  unsubscribe_result result;
  if (version_ == protocol_version::v5) {
    if (u.reasons.size() != request.filters.size())  // [MQTT-3.11.3-1]
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "UNSUBACK with a different number of reason codes than filters");
    result.reasons.assign(u.reasons.begin(), u.reasons.end());
  } else {
    result.reasons.assign(request.filters.size(), reason_code::success);
  }
  result.reason_string = u.properties.reason_string.value_or("");
  result.user_properties = copy_of(u.properties.user_properties);
  // The subscription is gone whatever the code says, unless the broker refused to remove it.
  for (std::size_t i = 0; i < request.filters.size(); ++i) {
    if (proto::is_error(result.reasons[i]) && result.reasons[i] != reason_code::no_subscription_existed)
      continue;
    std::erase_if(subscriptions_, [&](const registered_subscription& r) {
      return r.subscription.filter == request.filters[i];
    });
    router_.drained(request.filters[i]);
  }
  if (store_attached_) record_subscriptions();
  auto* op = static_cast<unsubscribe_op*>(e->op);
  outgoing_.release(u.packet_id);
  if (op) op->complete({}, std::move(result));
  return {};
}

void session::send_subscribe(std::uint16_t id, outgoing_entry& e) {
  const auto& r = std::get<subscribe_request>(e.request);
  std::vector<proto::subscription> views;
  views.reserve(r.subscriptions.size());
  for (const auto& s : r.subscriptions)
    views.push_back(
        {s.filter,
         {s.options.max_qos, s.options.no_local, s.options.retain_as_published, s.options.retain_handling}});
  proto::subscribe packet;
  packet.packet_id = id;
  packet.subscriptions = std::span<const proto::subscription>{views};
  property_scratch_.clear();
  if (version_ == protocol_version::v5) {
    // An identifier the session chose goes only to a broker that supports them (else a Protocol Error there,
    // 0xA1); routing then falls back to topic filters.
    if (!r.automatic_identifier || connack_.limits.subscription_identifier_available)
      packet.properties.subscription_identifier = r.subscription_identifier;
    packet.properties.user_properties = view_of(r.user_properties, property_scratch_);
  }
  e.needs_send = false;
  if (auto ec = append(packet)) {
    auto* op = static_cast<subscribe_op*>(e.op);
    outgoing_.release(id);
    if (op) op->complete(ec, {});
  }
}

void session::send_unsubscribe(std::uint16_t id, outgoing_entry& e) {
  const auto& r = std::get<unsubscribe_request>(e.request);
  std::vector<std::string_view> views(r.filters.begin(), r.filters.end());
  proto::unsubscribe packet;
  packet.packet_id = id;
  packet.filters = std::span<const std::string_view>{views};
  property_scratch_.clear();
  if (version_ == protocol_version::v5)
    packet.properties.user_properties = view_of(r.user_properties, property_scratch_);
  e.needs_send = false;
  if (auto ec = append(packet)) {
    auto* op = static_cast<unsubscribe_op*>(e.op);
    outgoing_.release(id);
    if (op) op->complete(ec, {});
  }
}

// After a lost session (CONNACK with Session Present = 0): the broker forgot our subscriptions. One SUBSCRIBE
// per subscription identifier, each sent at once so that it goes before anything else the session owes the
// broker.
void session::resubscribe(clock::time_point now) {
  if (!options_.resubscribe || subscriptions_.empty()) return;
  std::vector<bool> done(subscriptions_.size(), false);
  for (std::size_t i = 0; i < subscriptions_.size(); ++i) {
    if (done[i]) continue;
    subscribe_request request;
    request.subscription_identifier = subscriptions_[i].subscription_identifier;
    request.automatic_identifier = subscriptions_[i].automatic_identifier;
    request.restore = true;
    for (std::size_t j = i; j < subscriptions_.size(); ++j) {
      if (done[j] || subscriptions_[j].subscription_identifier != request.subscription_identifier ||
          subscriptions_[j].automatic_identifier != request.automatic_identifier)
        continue;
      request.subscriptions.push_back(subscriptions_[j].subscription);
      done[j] = true;
    }
    stats_.resubscribed.add(request.subscriptions.size());
    const auto id = outgoing_.allocate();
    if (id == 0) break;
    auto& e = outgoing_.entry(id);
    e.stage = awaiting::suback;
    e.request = std::move(request);
    e.needs_send = true;
    outgoing_unsent_ = true;
    send_entry(id, now);
  }
}

}  // namespace coromqtt::detail

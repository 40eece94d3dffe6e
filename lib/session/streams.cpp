// Subscription streams: opening and closing them, and where each incoming message goes.
//
// A message goes to every stream whose subscription it matched, and to the client's receive queue when it
// matched a subscription that is not a stream's (or nothing the client knows of):
// - by Subscription Identifier, when the broker supports them (MQTT 5): the client gave each stream's SUBSCRIBE
//   an identifier of its own, and the broker names those that matched [MQTT-3.3.4-3], [MQTT-3.3.4-4]. A message
//   without identifiers, or with one that is no stream's, came from a plain subscription: the receive queue.
// - by topic filter, otherwise (MQTT 3.1.1, or Subscription Identifier Available = 0): the topic is matched
//   against every stream's filter, with the rules the broker applies ('$' topics are not matched by a
//   leading wildcard [MQTT-4.7.2-1], "$share/{group}/{filter}" matches by its filter [MQTT-4.8.2-1]); the
//   receive queue gets it when it matched no stream, or also matched a plain subscription.
// A message that matched only the subscriptions of streams already unsubscribed (UNSUBACK not yet in) is
// dropped and counted: nobody asked for it any more.
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <coromqtt/protocol/topic.hpp>

#include <algorithm>
#include <utility>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

std::uint64_t session::open_stream(std::size_t capacity) {
  const auto key = next_stream_key_++;
  router_.open(key, std::max<std::size_t>(capacity, 1));
  return key;
}

session::stream_status session::stream_state(std::uint64_t key) noexcept {
  const auto* s = router_.find(key);
  if (!s) return stream_status::gone;
  return s->open ? stream_status::open : stream_status::closed;
}

bool session::stream_has_message(std::uint64_t key) noexcept {
  auto* s = router_.find(key);
  if (!s || s->messages.empty()) return false;
  // With a store, as for the receive queue: not before the records made before the message are durable.
  return s->receipts.empty() || !records_outstanding() || s->receipts.front() <= stream_gate_.durable;
}

coromqtt::message session::pop_stream_message(std::uint64_t key) {
  auto* s = router_.find(key);
  auto m = std::move(s->messages.front());
  s->messages.pop_front();
  if (!s->receipts.empty()) s->receipts.pop_front();
  return m;
}

void session::close_stream(std::uint64_t key, unsubscribe_op* op, clock::time_point now) {
  auto* s = router_.find(key);
  std::vector<std::string> orphaned;
  if (s && s->open) {
    s->open = false;
    orphaned = router_.detach(key);
  }
  unsubscribe_filters(std::move(orphaned), op, now);
}

void session::destroy_stream(std::uint64_t key, clock::time_point now) {
  close_stream(key, nullptr, now);
  if (auto* s = router_.find(key)) {
    // Nobody will read these: with manual acknowledgement they must not hold back the acknowledgements of
    // the messages after them.
    for (std::size_t i = 0; i < s->messages.size(); ++i)
      if (const auto id = s->messages[i].acknowledgement_id) acknowledge(id, reason_code::success);
    router_.erase(key);
  }
}

void session::forget_registration(std::string_view filter) {
  std::erase_if(subscriptions_, [&](const registered_subscription& r) { return r.subscription.filter == filter; });
}

// UNSUBSCRIBE for `filters`, completing `op` (if any) on UNSUBACK, or at once when there is nothing to remove.
// The filters leave the registry now: a lost session must not bring them back.
void session::unsubscribe_filters(std::vector<std::string> filters, unsubscribe_op* op, clock::time_point now) {
  if (filters.empty()) {
    if (op) op->complete({}, {});
    return;
  }
  for (const auto& f : filters) forget_registration(f);
  const auto id = outgoing_.allocate();
  if (id == 0) {
    if (op) op->complete(make_error_code(error::packet_identifiers_exhausted), {});
    return;
  }
  auto& e = outgoing_.entry(id);
  e.stage = awaiting::unsuback;
  e.request = unsubscribe_request{std::move(filters), {}};
  e.op = op;
  e.needs_send = true;
  outgoing_unsent_ = true;
  if (state_ == session_state::connected) send_entry(id, now);
}

std::uint32_t session::allocate_stream_identifier() {
  // Upwards from 1, skipping identifiers in use (the user's own, or a stream's still held by the broker); the
  // range (268,435,455) is not exhausted by any real program, so the wrap is for form only.
  auto in_use = [this](std::uint32_t id) {
    return router_.identifier_in_use(id) ||
           std::any_of(subscriptions_.begin(), subscriptions_.end(),
                       [&](const registered_subscription& r) { return r.subscription_identifier == id; });
  };
  while (in_use(next_stream_identifier_))
    next_stream_identifier_ = next_stream_identifier_ >= 268'435'455 ? 1 : next_stream_identifier_ + 1;
  const auto id = next_stream_identifier_;
  next_stream_identifier_ = id >= 268'435'455 ? 1 : id + 1;
  return id;
}

void session::route_publish(std::string_view topic, const proto::publish& p) {
  route_streams_.clear();
  auto add = [this](const stream_route& r) {
    for (const auto key : r.streams) {
      auto* s = router_.find(key);
      if (s && std::find(route_streams_.begin(), route_streams_.end(), s) == route_streams_.end())
        route_streams_.push_back(s);
    }
  };
  bool matched_route = false;  // a stream's subscription matched, maybe one that is draining
  if (version_ == protocol_version::v5 && connack_.limits.subscription_identifier_available) {
    route_to_default_ = p.properties.subscription_identifiers.empty();
    for (const auto id : p.properties.subscription_identifiers) {
      bool known = false;
      for (const auto& r : router_.routes())
        if (r.identifier == id) {
          known = matched_route = true;
          add(r);
        }
      if (!known) route_to_default_ = true;  // a plain subscription's own identifier
    }
    return;
  }
  for (const auto& r : router_.routes())
    if (proto::topic_matches(r.filter, topic)) {
      matched_route = true;
      add(r);
    }
  if (!matched_route) {
    route_to_default_ = true;
    return;
  }
  route_to_default_ = std::any_of(subscriptions_.begin(), subscriptions_.end(), [&](const registered_subscription& r) {
    return !r.routed && proto::topic_matches(r.subscription.filter, topic);
  });
}

}  // namespace coromqtt::detail

// Request/response: see request_tracker.hpp.
#include "client/request_tracker.hpp"

#include <coromqtt/protocol/topic.hpp>

#include <boost/asio/error.hpp>

#include <cstdio>
#include <utility>

namespace coromqtt::detail {

std::string choose_response_topic(const std::string& configured, const std::string& response_information,
                                  std::uint64_t random) {
  if (!configured.empty()) return configured;
  if (!response_information.empty()) {
    std::string topic = response_information;
    if (topic.back() != '/') topic += '/';
    return topic + "responses";
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random));
  return std::string{"coromqtt/responses/"} + hex;
}

struct request_tracker::pending_request : op_hook {
  explicit pending_request(const strand_type& strand) : timer{strand} {}
  receive_waiter* waiter = nullptr;
  message request;          // until published
  std::string correlation;  // set when published
  std::uint64_t publish_serial = 0;
  asio::steady_timer timer;
};

// The PUBLISH of a request: only a failure matters (the response completes the request).
class request_tracker::publish_request_op final : public publish_op {
 public:
  publish_request_op(request_tracker& tracker, std::uint64_t request) : tracker_{tracker}, request_{request} {}
  void complete(error_code ec, publish_result) override {
    auto& tracker = tracker_;
    const auto request = request_;
    delete this;
    if (ec) tracker.on_published(request, ec);
  }

 private:
  request_tracker& tracker_;
  std::uint64_t request_;
};

class request_tracker::subscribe_response_op final : public subscribe_op {
 public:
  explicit subscribe_response_op(request_tracker& tracker) : tracker_{tracker} {}
  void complete(error_code ec, subscribe_result) override {
    auto& tracker = tracker_;
    delete this;
    tracker.on_subscribed(ec);
  }

 private:
  request_tracker& tracker_;
};

request_tracker::request_tracker(client_impl& impl) : impl_{impl}, random_{std::random_device{}()} {
  const auto prefix = random_();
  correlation_prefix_.assign(reinterpret_cast<const char*>(&prefix), sizeof prefix);
}

request_tracker::~request_tracker() {
  while (auto* r = requests_.pop_front()) delete r;
}

void request_tracker::start(receive_waiter* waiter, message request, clock::duration timeout) {
  if (impl_.session_.version() != protocol_version::v5)  // Response Topic and Correlation Data are MQTT 5's
    return waiter->complete(make_error_code(error::mqtt5_required), {});
  auto* r = new pending_request(impl_.strand_);
  r->serial = waiter->serial;
  r->waiter = waiter;
  r->request = std::move(request);
  requests_.push_back(r);
  r->timer.expires_after(timeout);
  r->timer.async_wait([weak = impl_.weak_from_this(), serial = r->serial](error_code ec) {
    if (ec) return;  // cancelled: the request completed
    if (auto impl = weak.lock(); impl && impl->requests_) impl->requests_->expire(serial);
  });
  if (state_ == topic_state::unknown)
    find_response_topic();  // publishes the waiting requests once the topic is known
  else
    publish(*r);
}

void request_tracker::find_response_topic() {
  const auto& o = impl_.options_;
  const bool from_broker = o.response_topic.empty() && o.request_response_information;
  if (from_broker && impl_.session_.state() != session_state::connected) return;  // CONNACK says; wait for it
  auto topic = choose_response_topic(
      o.response_topic, from_broker ? impl_.session_.connack().response_information : std::string{}, random_());
  // A Response Topic is a topic name: no wildcards [MQTT-3.3.2-14], valid UTF-8 [MQTT-3.3.2-13].
  if (const auto ec = protocol::validate_topic_name(topic)) {
    while (auto* r = requests_.front()) finish(*r, ec, {});
    return;
  }
  response_topic_ = std::move(topic);
  // Subscribed once, into a stream of its own: responses never reach co_receive().
  stream_ = impl_.session_.open_stream(o.receive_queue_capacity);
  state_ = topic_state::subscribing;
  auto* op = new subscribe_response_op(*this);
  op->serial = impl_.next_serial();
  op->request.subscriptions = {{response_topic_, {qos::exactly_once}}};
  op->request.stream = stream_;
  impl_.session_.subscribe(*op, clock::now());  // may fail at once (no packet identifier left)
  if (state_ == topic_state::unknown) return;
  // The SUBSCRIBE is ahead of these PUBLISH packets on the wire, so the broker has the subscription before
  // any responder can answer.
  for (auto* r = requests_.front(); r;) {
    auto* next = static_cast<pending_request*>(r->next);
    if (r->correlation.empty()) publish(*r);  // may complete (and free) r
    r = next;
  }
}

void request_tracker::publish(pending_request& r) {
  r.correlation = correlation_prefix_;
  const auto n = ++correlation_counter_;
  r.correlation.append(reinterpret_cast<const char*>(&n), sizeof n);
  by_correlation_[r.correlation] = &r;
  auto* op = new publish_request_op(*this, r.serial);
  op->serial = impl_.next_serial();
  r.publish_serial = op->serial;
  op->message = std::move(r.request);
  op->message.properties.response_topic = response_topic_;
  op->message.properties.correlation_data = r.correlation;
  impl_.session_.publish(*op, clock::now());  // may complete at once (an invalid topic): then r is gone
}

void request_tracker::on_published(std::uint64_t serial, error_code ec) {
  if (auto* r = find(serial)) finish(*r, ec, {});
}

void request_tracker::on_subscribed(error_code ec) {
  if (!ec) {
    state_ = topic_state::subscribed;
    return;
  }
  // The session let the stream go. Every request waiting for this topic fails; the next one tries again.
  state_ = topic_state::unknown;
  stream_ = 0;
  response_topic_.clear();
  while (auto* r = requests_.front()) finish(*r, ec, {});
}

void request_tracker::on_activity() {
  if (state_ == topic_state::unknown) {
    if (!requests_.empty()) find_response_topic();
    return;
  }
  bool took = false;
  while (impl_.session_.stream_has_message(stream_)) {
    auto response = impl_.session_.pop_stream_message(stream_);
    took = true;
    // The client consumes responses itself, so it acknowledges them itself too.
    if (response.acknowledgement_id) {
      impl_.session_.acknowledge(response.acknowledgement_id, reason_code::success);
      response.acknowledgement_id = 0;
    }
    const auto it = by_correlation_.find(response.properties.correlation_data.value_or(std::string{}));
    if (it != by_correlation_.end()) finish(*it->second, {}, std::move(response));
    // Else a late response (after a timeout or a cancellation), or someone else's on this topic: dropped.
  }
  if (took) impl_.wake_reader();
}

void request_tracker::expire(std::uint64_t serial) {
  auto* r = find(serial);
  if (!r) return;
  const auto publish = r->correlation.empty() ? 0 : r->publish_serial;
  finish(*r, make_error_code(error::request_timeout), {});
  if (publish) impl_.session_.cancel(publish);  // a request still queued is not sent after all
  impl_.after_session_activity();
}

bool request_tracker::cancel(std::uint64_t serial, session::cancel_scope scope) {
  auto* r = find(serial);
  if (!r) return false;
  const auto publish = r->correlation.empty() ? 0 : r->publish_serial;
  // Total cancellation undoes nothing: a request already sent goes on waiting for its response.
  if (publish && scope == session::cancel_scope::unsent_only &&
      impl_.session_.cancel(publish, scope) == session::cancel_outcome::kept)
    return true;
  // (Withdrawing the publish above reports it failed, which has finished the request already.)
  if (auto* waiting = find(serial)) finish(*waiting, asio::error::operation_aborted, {});
  if (publish) impl_.session_.cancel(publish);
  return true;
}

void request_tracker::abort_all(error_code ec) {
  while (auto* r = requests_.front()) finish(*r, ec, {});
}

void request_tracker::finish(pending_request& r, error_code ec, message response) {
  requests_.erase(&r);
  if (!r.correlation.empty()) by_correlation_.erase(r.correlation);
  r.timer.cancel();
  auto* waiter = r.waiter;
  delete &r;
  waiter->complete(ec, std::move(response));
}

request_tracker::pending_request* request_tracker::find(std::uint64_t serial) noexcept {
  return requests_.find(serial);
}

// --- client_impl ----------------------------------------------------------------------------------------------------

void client_impl::start_request(receive_waiter* waiter, message request, clock::duration timeout) {
  if (life_.destroyed()) return waiter->complete(asio::error::operation_aborted, {});
  if (!requests_) requests_ = std::make_unique<request_tracker>(*this);
  requests_->start(waiter, std::move(request), timeout);
  after_session_activity();
}

}  // namespace coromqtt::detail

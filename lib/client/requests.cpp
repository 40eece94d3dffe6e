// Requests on the strand (start_*, cancel, the fast paths), the event queue, and the delivery of completed
// requests to their handlers.
#include "client/client_impl.hpp"
#include "client/request_tracker.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace coromqtt::detail {

// -----------------------------------------------------------------------------------------------------------------
// Operations

void client_impl::queue_completion(pending_completion& completion) {
  completion.next_completion = nullptr;
  (completions_tail_ ? completions_tail_->next_completion : completions_head_) = &completion;
  completions_tail_ = &completion;
  if (delivery_posted_ || tearing_down_) return;
  delivery_posted_ = true;
  asio::post(strand_, [self = shared_from_this()] { self->deliver_completions(); });
}

void client_impl::deliver_completions() {
  // Only what was queued before this pass: completions that the handlers cause (a publish failing at once)
  // go to the next pass, so a handler that keeps requesting cannot hold the reader and writer back.
  auto* next = std::exchange(completions_head_, nullptr);
  completions_tail_ = nullptr;
  delivery_posted_ = false;
  while (next) {
    auto* completion = next;
    next = completion->next_completion;
    try {
      completion->deliver();
    } catch (...) {
      // A handler threw (out of io_context::run, to the user): the rest of this pass is delivered later.
      if (next) {
        auto* last = next;
        while (last->next_completion) last = last->next_completion;
        last->next_completion = completions_head_;
        if (!completions_head_) completions_tail_ = last;
        completions_head_ = next;
        if (!delivery_posted_) {
          delivery_posted_ = true;
          asio::post(strand_, [self = shared_from_this()] { self->deliver_completions(); });
        }
      }
      throw;
    }
  }
}

template class session_op<publish_op, publish_result, any_handler<publish_result>>;
template class session_op<subscribe_op, subscribe_result, any_handler<subscribe_result>>;
template class session_op<unsubscribe_op, unsubscribe_result, any_handler<unsubscribe_result>>;
template class waiter<any_handler<message>, message>;
template class waiter<any_handler<event>, event>;
template class waiter<any_handler<>>;
template class waiter<any_handler<connection_info>, connection_info>;

// -----------------------------------------------------------------------------------------------------------------
// Events

void client_impl::push_event(event ev) {
  if (auto* w = event_waiters_.pop_front()) {
    w->complete({}, std::move(ev));
    return;
  }
  if (events_.size() >= std::max<std::size_t>(options_.event_queue_capacity, 1)) {
    events_.pop_front();
    ++events_missed_;
  }
  ev.missed = std::exchange(events_missed_, 0) + ev.missed;
  events_.emplace_back(std::move(ev));
}

// -----------------------------------------------------------------------------------------------------------------
// Requests (on the strand)

bool client_impl::try_publish_now(const message& m, error_code& ec) {
  if (life_.destroyed()) return false;
  const auto time = session_.publish_needs_time() ? now() : clock::time_point{};
  if (!session_.try_publish_now(m, time, ec)) return false;
  wake_writer();
  return true;
}

std::optional<message> client_impl::try_receive() {
  if (!receive_waiters_.empty() || !session_.has_message()) return std::nullopt;
  auto m = session_.pop_message();
  if (reader_waiting_ && session_.input_resumable()) input_signal_.cancel();
  return m;
}

void client_impl::start_connect(connect_waiter* w) {
  if (life_.destroyed()) return w->complete(asio::error::operation_aborted, {});
  if (session_.state() == session_state::connected) return w->complete({}, make_connection_info());
  connect_waiters_.push_back(w);
  resume_run();
}

void client_impl::start_disconnect(disconnect_options o, disconnect_waiter* w) {
  if (life_.destroyed()) return w->complete(asio::error::operation_aborted);
  // A session that was to end with the connection cannot be given a life after it (MQTT 5, 3.14.2.2.2).
  if (o.session_expiry_interval.value_or(0) != 0 && options_.session_expiry_interval == 0)
    return w->complete(make_error_code(error::invalid_argument));
  backoff_timer_.cancel();
  const bool connected = transport_ && session_.state() == session_state::connected;
  const bool disconnecting = transport_ && session_.state() == session_state::disconnecting;
  switch (life_.disconnect(connected, disconnecting)) {
    case lifecycle::disconnect_action::complete_now:
      if (life_.settle()) settle_stopped(stopped_event(make_error_code(error::client_stopped)));
      return w->complete({});
    case lifecycle::disconnect_action::wait:  // DISCONNECT is on its way: this completes with it
      disconnect_waiters_.push_back(w);
      return;
    case lifecycle::disconnect_action::interrupt:  // connecting, or backing off: nothing to say to the broker
      disconnect_waiters_.push_back(w);
      interrupt_run();
      return;
    case lifecycle::disconnect_action::send_disconnect: break;
  }
  // The run loop completes it once the connection is closed, and reports `stopped`.
  disconnect_waiters_.push_back(w);
  if (o.publish_will && session_.version() == protocol_version::v3_1_1) {
    publish_will_on_close_ = true;  // the only way to keep the will in 3.1.1
    close_hard();
    return;
  }
  const auto reason = o.publish_will ? reason_code::disconnect_with_will_message : o.reason;
  session_.begin_disconnect(reason, o.session_expiry_interval, o.reason_string, o.user_properties);
  begin_closing();
}

void client_impl::start_publish(publish_op* op) {
  if (life_.destroyed()) return op->complete(asio::error::operation_aborted, {});
  session_.publish(*op, now());
  after_session_activity();
}

void client_impl::start_subscribe(subscribe_op* op) {
  if (life_.destroyed()) return op->complete(asio::error::operation_aborted, {});
  session_.subscribe(*op, now());
  after_session_activity();
}

void client_impl::start_unsubscribe(unsubscribe_op* op) {
  if (life_.destroyed()) return op->complete(asio::error::operation_aborted, {});
  session_.unsubscribe(*op, now());
  after_session_activity();
}

void client_impl::start_receive(receive_waiter* w) {
  if (life_.destroyed()) return w->complete(asio::error::operation_aborted, {});
  // Every message is dropped on arrival: waiting would be forever.
  if (options_.discard_incoming_messages) return w->complete(make_error_code(error::invalid_argument), {});
  if (auto m = try_receive()) return w->complete({}, std::move(*m));
  // Stopped: no message comes until start() or reconnect(), and a wait would keep io_context::run() busy.
  if (life_.stopped()) return w->complete(make_error_code(error::client_stopped), {});
  receive_waiters_.push_back(w);
}

void client_impl::start_flush(flush_waiter* w) {
  if (life_.destroyed()) return w->complete(asio::error::operation_aborted);
  flush_waiters_.push_back(w);
  check_flushed();
}

void client_impl::start_next_event(event_waiter* w) {
  if (life_.destroyed()) return w->complete(asio::error::operation_aborted, {});
  if (!events_.empty()) {
    auto ev = std::move(events_.front());
    events_.pop_front();
    return w->complete({}, std::move(ev));
  }
  if (life_.stopped()) return w->complete(make_error_code(error::client_stopped), {});  // `stopped` was the last
  event_waiters_.push_back(w);
}

namespace {
// Completes the waiter with this serial, if it is in `queue`, with operation_aborted.
template <class Waiter>
bool cancel_waiter(op_queue<Waiter>& queue, std::uint64_t serial) {
  auto* w = queue.find(serial);
  if (!w) return false;
  queue.erase(w);
  if constexpr (std::is_same_v<Waiter, flush_waiter> || std::is_same_v<Waiter, disconnect_waiter>)
    w->complete(asio::error::operation_aborted);
  else
    w->complete(asio::error::operation_aborted, {});
  return true;
}
}  // namespace

void client_impl::cancel(std::uint64_t serial, asio::cancellation_type type) {
  // Asio's total cancellation promises no side effects, so it cannot take back what the broker or the store
  // may already have; terminal and partial cancellation abandon such a request instead (docs at client.hpp).
  const auto abandons = asio::cancellation_type::terminal | asio::cancellation_type::partial;
  const auto scope = (type & abandons) != asio::cancellation_type::none ? session::cancel_scope::abandon
                                                                       : session::cancel_scope::unsent_only;
  switch (session_.cancel(serial, scope)) {
    case session::cancel_outcome::cancelled:
      after_session_activity();
      return;
    case session::cancel_outcome::kept:
      return;
    case session::cancel_outcome::not_found:
      break;
  }
  // The client's own waiters only wait: every type of cancellation ends them alike.
  const bool found = cancel_waiter(receive_waiters_, serial) || cancel_waiter(event_waiters_, serial) ||
                     cancel_waiter(flush_waiters_, serial) || cancel_waiter(connect_waiters_, serial) ||
                     cancel_waiter(disconnect_waiters_, serial);
  if (found) return;
  for (auto& [key, waiters] : stream_waiters_)
    if (cancel_waiter(waiters, serial)) return;
  if (requests_ && requests_->cancel(serial, scope)) after_session_activity();
}

}  // namespace coromqtt::detail

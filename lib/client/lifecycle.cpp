#include "client/lifecycle.hpp"

#include <boost/asio/error.hpp>

namespace coromqtt::detail {

const char* to_string(lifecycle_phase p) noexcept {
  switch (p) {
    case lifecycle_phase::idle: return "idle";
    case lifecycle_phase::connecting: return "connecting";
    case lifecycle_phase::handshaking: return "handshaking";
    case lifecycle_phase::connected: return "connected";
    case lifecycle_phase::closing: return "closing";
    case lifecycle_phase::backing_off: return "backing off";
    case lifecycle_phase::stopped: return "stopped";
  }
  return "?";
}

bool lifecycle::start() {
  if (destroyed_) return false;
  // The live run has not seen the stop yet: the round the stop cut short is not a failure to ask the policy
  // about, so it is tried again at once.
  if (paused_ && running_) reconnect_now_ = true;
  paused_ = false;
  disconnect_requested_ = false;
  if (running_) return false;
  running_ = true;
  phase_ = lifecycle_phase::connecting;
  return true;
}

lifecycle::reconnect_action lifecycle::reconnect() {
  if (destroyed_) return reconnect_action::none;
  paused_ = false;
  disconnect_requested_ = false;
  failures_ = 0;
  if (!running_) {
    running_ = true;
    phase_ = lifecycle_phase::connecting;
    return reconnect_action::spawn;
  }
  reconnect_now_ = true;
  switch (phase_) {
    case lifecycle_phase::backing_off: return reconnect_action::end_backoff;
    case lifecycle_phase::connecting:
    case lifecycle_phase::handshaking:
      // Waiting for a resolver, a TCP connect, a handshake or CONNACK that may take its full timeout: the user
      // asked for a connection now, so this attempt ends and the next begins.
      round_replaced_ = true;
      return reconnect_action::interrupt_attempt;
    case lifecycle_phase::connected: return reconnect_action::replace_connection;
    default: return reconnect_action::none;  // closing: the round ends by itself and goes again at once
  }
}

bool lifecycle::stop() {
  if (destroyed_) return false;
  paused_ = true;
  if (!running_) return false;
  round_interrupted_ = true;
  return true;
}

bool lifecycle::destroy() {
  destroyed_ = true;
  paused_ = true;
  if (!running_) return false;
  round_interrupted_ = true;
  return true;
}

lifecycle::disconnect_action lifecycle::disconnect(bool connected, bool disconnecting) {
  paused_ = true;
  if (!running_) return disconnect_action::complete_now;
  disconnect_requested_ = true;
  if (disconnecting) return disconnect_action::wait;  // DISCONNECT is on its way already
  if (!connected) {
    // Connecting, or backing off: nothing to say to a broker that has not answered, and no timeout to wait for.
    round_interrupted_ = true;
    return disconnect_action::interrupt;
  }
  return disconnect_action::send_disconnect;
}

bool lifecycle::settle() {
  if (running_ || phase_ == lifecycle_phase::stopped) return false;
  run_finished();
  return true;
}

unsigned lifecycle::begin_round() {
  round_interrupted_ = false;
  round_replaced_ = false;
  reconnect_now_ = false;
  phase_ = lifecycle_phase::connecting;
  return failures_ + 1;
}

void lifecycle::accepted() {
  phase_ = lifecycle_phase::connected;
  failures_ = 0;
  credentials_rejected_ = false;
}

error_code lifecycle::round_over(error_code step_error) const {
  // What the user asked for is not a failure: stop() (or destruction) ended this round whatever the step
  // reported (operation_aborted, a closed socket...); a 3.1.1 disconnect keeping the will closes on purpose.
  if (round_interrupted_ || (!step_error && stop_requested() && !disconnect_requested_))
    return make_error_code(error::client_stopped);
  // Cut short by reconnect(): whatever the step said (a closed socket, operation_aborted), it was abandoned.
  if (round_replaced_) return boost::asio::error::operation_aborted;
  if (disconnect_requested_ && step_error == boost::asio::error::operation_aborted) return {};
  return step_error;
}

lifecycle::next lifecycle::after_round() const {
  if (stop_requested()) return next::stop;
  if (reconnect_now_) return next::again_now;
  return next::ask_policy;
}

unsigned lifecycle::failed(error_code ec, reason_code reason) {
  ++failures_;
  credentials_rejected_ = ec == error::connection_refused && is_authentication_failure(reason);
  return failures_;
}

std::optional<error_code> lifecycle::decided(const reconnect_decision& decision, bool threw, error_code failure,
                                             clock::time_point now) {
  if (threw) return make_error_code(error::callback_failed);
  if (!decision) return failure;
  phase_ = lifecycle_phase::backing_off;
  backoff_until_ = now + *decision;
  return std::nullopt;
}

void lifecycle::run_finished() {
  running_ = false;
  phase_ = lifecycle_phase::stopped;
  paused_ = true;
  disconnect_requested_ = false;
  reconnect_now_ = false;
  round_interrupted_ = false;
  round_replaced_ = false;
}

}  // namespace coromqtt::detail

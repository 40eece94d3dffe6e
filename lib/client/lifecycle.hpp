// The client's lifecycle, sans-I/O: the phase the connection is in, and what to do next, decided from what the
// user asked (start, stop, disconnect, reconnect, destruction) and how each step of an attempt ended. The run
// coroutine (client_impl.cpp) executes the answers; nothing here touches a socket, a timer or the strand, so
// every transition is stepped by hand in test/unit/client (issue 12, point 3). Time is passed in.
//
//   idle --start--> connecting --transport up--> handshaking --CONNACK--> connected --ended--> closing
//                       |  failed or stopped          |  failed or stopped                      |  closed
//                       +--------------+--------------+-----------------------------------------+
//                                      v
//                          round over: a stop asked? ------------------yes------> stopped
//                                      | no                                         |
//                          reconnect() asked? ---yes---> connecting (no backoff)    | start(), reconnect(),
//                          (an attempt it cut short is no failure)                  |
//                                      | no                                         | co_connect()
//                          the reconnect policy: no more, or it threw ----------> stopped
//                                      | a delay                                    v
//                          backing off --elapsed, or reconnect()--> connecting   connecting
//                                      +--stop(), disconnect, destruction-----> stopped
#pragma once

#include <coromqtt/error.hpp>
#include <coromqtt/reconnect.hpp>

#include <chrono>
#include <optional>

namespace coromqtt::detail {

enum class lifecycle_phase { idle, connecting, handshaking, connected, closing, backing_off, stopped };

const char* to_string(lifecycle_phase) noexcept;

class lifecycle {
 public:
  using clock = std::chrono::steady_clock;

  lifecycle_phase phase() const noexcept { return phase_; }
  // A run (the coroutine) is alive: from the first attempt until stopped.
  bool running() const noexcept { return running_; }
  // stop(), a disconnect or destruction asked the run to end; it ends at its next step.
  bool stop_requested() const noexcept { return paused_ || destroyed_; }
  bool destroyed() const noexcept { return destroyed_; }
  // The run is over and nothing started another: receivers and event readers fail at once.
  bool stopped() const noexcept { return phase_ == lifecycle_phase::stopped; }
  bool disconnect_requested() const noexcept { return disconnect_requested_; }
  unsigned failures() const noexcept { return failures_; }
  // The last attempt's CONNACK refused the credentials (the credentials provider is told).
  bool credentials_rejected() const noexcept { return credentials_rejected_; }
  // The end of the backoff in progress (phase backing_off).
  clock::time_point backoff_until() const noexcept { return backoff_until_; }

  // --- What the user asks ---------------------------------------------------------------------------------
  // start(), co_connect(): true when a run must be spawned (none is alive). A stop the live run has not acted
  // on yet is undone: the round it cut short is tried again at once, without the policy.
  bool start();
  // reconnect(): as start(), and the consecutive failures are forgotten; a live run goes straight to a new
  // round, and what the caller does for it depends on the phase: spawn a run (none alive), end the backoff,
  // cut the attempt in progress short (its round reports operation_aborted, is not a failure, and co_connect
  // waits for the next one), or hand the connection over with a DISCONNECT. A round already closing simply
  // goes again at once.
  enum class reconnect_action { none, spawn, end_backoff, interrupt_attempt, replace_connection };
  reconnect_action reconnect();
  // The user's reconnect() cut this round's attempt short.
  bool round_replaced() const noexcept { return round_replaced_; }
  // stop(): true when a live run must be interrupted (its step ended now, not at its timeout). When no run is
  // alive the client is stopped at once: settle() tells whether `stopped` must be reported now.
  bool stop();
  // Destruction: as stop(), for good.
  bool destroy();
  // What a disconnect does, given the connection: a graceful DISCONNECT when connected, an interruption while
  // connecting or backing off, nothing more when DISCONNECT is already on its way, and with no run it
  // completes at once.
  enum class disconnect_action { complete_now, send_disconnect, interrupt, wait };
  disconnect_action disconnect(bool connected, bool disconnecting);
  // No run is alive and the client was not stopped yet: it is now. True when `stopped` must be reported.
  bool settle();

  // --- What the run reports ---------------------------------------------------------------------------------
  // A round starts: returns its attempt number (consecutive failures before it + 1).
  unsigned begin_round();
  void transport_up() { phase_ = lifecycle_phase::handshaking; }
  void accepted();  // CONNACK success
  void closing() { phase_ = lifecycle_phase::closing; }
  // The user's stop ended this round (interruption): whatever the step said, the round ended with client_stopped.
  void interrupted() { round_interrupted_ = true; }
  // The round is over (closed): the error to report for it, given what the step said.
  error_code round_over(error_code step_error) const;
  // What comes after a closed round.
  enum class next { stop, again_now, ask_policy };
  next after_round() const;
  // The round failed and the policy is to be asked: counts the failure; returns its number.
  unsigned failed(error_code ec, reason_code reason);
  // The policy's answer (nullopt: no more; `threw`: it threw). Returns the error of `stopped` when the run
  // ends here, else the backoff has begun (until backoff_until()).
  std::optional<error_code> decided(const reconnect_decision& decision, bool threw, error_code failure,
                                    clock::time_point now);
  // The run ended (every path): the client is stopped.
  void run_finished();

 private:
  lifecycle_phase phase_ = lifecycle_phase::idle;
  bool running_ = false;
  bool paused_ = true;               // no (re)connecting until start() / reconnect()
  bool destroyed_ = false;
  bool reconnect_now_ = false;       // skip the policy and the backoff once
  bool disconnect_requested_ = false;
  bool round_interrupted_ = false;
  bool round_replaced_ = false;
  bool credentials_rejected_ = false;
  unsigned failures_ = 0;            // consecutive failed attempts
  clock::time_point backoff_until_{};
};

}  // namespace coromqtt::detail

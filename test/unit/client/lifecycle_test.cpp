// The client's lifecycle state machine (lib/client/lifecycle.hpp), stepped by hand: no socket, no timer, a fake
// clock. Each test plays what the run coroutine and the user's calls would report, and checks the phase and the
// decision that comes back.
#include "client/lifecycle.hpp"

#include <boost/asio/error.hpp>

#include <catch2/catch.hpp>

using namespace coromqtt;
using namespace coromqtt::detail;
using namespace std::chrono_literals;

namespace {

using phase = lifecycle_phase;
const lifecycle::clock::time_point t0{};  // the fake clock's origin

const auto stopped_error = make_error_code(error::client_stopped);

// A client started and in its first round's CONNACK wait.
lifecycle handshaking() {
  lifecycle l;
  REQUIRE(l.start());
  REQUIRE(l.begin_round() == 1);
  l.transport_up();
  return l;
}

lifecycle connected() {
  auto l = handshaking();
  l.accepted();
  return l;
}

}  // namespace

TEST_CASE("lifecycle: idle until started; the first round runs through its phases", "[client][lifecycle]") {
  lifecycle l;
  CHECK(l.phase() == phase::idle);
  CHECK_FALSE(l.running());
  CHECK_FALSE(l.stopped());
  CHECK(l.stop_requested());  // nothing connects before start()

  CHECK(l.start());         // spawn the run
  CHECK_FALSE(l.start());   // idempotent while it runs
  CHECK(l.running());
  CHECK(l.begin_round() == 1);
  CHECK(l.phase() == phase::connecting);
  l.transport_up();
  CHECK(l.phase() == phase::handshaking);
  l.accepted();
  CHECK(l.phase() == phase::connected);
  l.closing();
  CHECK(l.phase() == phase::closing);
  const auto lost = make_error_code(error::keep_alive_timeout);
  CHECK(l.round_over(lost) == lost);  // a real failure is reported as it is
  CHECK(l.after_round() == lifecycle::next::ask_policy);
}

TEST_CASE("lifecycle: failures count up, back off on the fake clock, and reset on CONNACK", "[client][lifecycle]") {
  auto l = handshaking();
  l.closing();
  const auto refused = make_error_code(error::connection_refused);
  REQUIRE(l.after_round() == lifecycle::next::ask_policy);
  CHECK(l.failed(refused, reason_code::not_authorized) == 1);
  CHECK(l.credentials_rejected());
  CHECK_FALSE(l.decided(std::chrono::milliseconds{250}, false, refused, t0 + 1s).has_value());
  CHECK(l.phase() == phase::backing_off);
  CHECK(l.backoff_until() == t0 + 1250ms);

  CHECK(l.begin_round() == 2);  // the second consecutive attempt
  l.transport_up();
  l.accepted();
  CHECK(l.failures() == 0);
  CHECK_FALSE(l.credentials_rejected());
}

TEST_CASE("lifecycle: the policy gives up, or throws: the run stops with its error", "[client][lifecycle]") {
  const auto failure = make_error_code(error::connect_timeout);
  SECTION("no more attempts: the last failure's error") {
    auto l = handshaking();
    l.failed(failure, reason_code::success);
    CHECK(l.decided(std::nullopt, false, failure, t0) == std::optional<error_code>{failure});
  }
  SECTION("it threw: callback_failed") {
    auto l = handshaking();
    l.failed(failure, reason_code::success);
    CHECK(l.decided(std::chrono::milliseconds{10}, true, failure, t0) ==
          std::optional<error_code>{make_error_code(error::callback_failed)});
  }
}

TEST_CASE("lifecycle: stop() interrupts every phase of a live run, and the round reports client_stopped",
          "[client][lifecycle]") {
  const auto how = GENERATE(phase::connecting, phase::handshaking, phase::connected, phase::backing_off);
  CAPTURE(to_string(how));
  lifecycle l;
  REQUIRE(l.start());
  l.begin_round();
  if (how != phase::connecting) l.transport_up();
  if (how == phase::connected || how == phase::backing_off) l.accepted();
  if (how == phase::backing_off) {
    l.closing();
    l.failed(make_error_code(error::connection_closed), reason_code::success);
    REQUIRE_FALSE(l.decided(std::chrono::milliseconds{30'000}, false, {}, t0));
  }
  REQUIRE(l.phase() == how);

  CHECK(l.stop());  // interrupt the step in progress
  CHECK(l.stop_requested());
  // Whatever the interrupted step said (operation_aborted, a closed socket, nothing), it was the stop.
  CHECK(l.round_over(boost::asio::error::operation_aborted) == stopped_error);
  CHECK(l.round_over(boost::asio::error::bad_descriptor) == stopped_error);
  CHECK(l.after_round() == lifecycle::next::stop);
  l.run_finished();
  CHECK(l.stopped());
  CHECK_FALSE(l.running());
}

TEST_CASE("lifecycle: stop() with no run stops at once; a second stop reports nothing", "[client][lifecycle]") {
  lifecycle l;
  CHECK_FALSE(l.stop());  // nothing to interrupt
  CHECK(l.settle());      // report `stopped` now
  CHECK(l.stopped());
  CHECK_FALSE(l.stop());
  CHECK_FALSE(l.settle());  // already stopped
  CHECK(l.start());         // and it starts again
  CHECK_FALSE(l.stopped());
}

TEST_CASE("lifecycle: start() right after stop() retries the cut round at once, without the policy",
          "[client][lifecycle]") {
  auto l = handshaking();
  REQUIRE(l.stop());
  CHECK_FALSE(l.start());  // the run is alive: no second one
  CHECK_FALSE(l.stop_requested());
  CHECK(l.round_over(boost::asio::error::operation_aborted) == stopped_error);  // the cut round is still the stop's
  CHECK(l.after_round() == lifecycle::next::again_now);
  CHECK(l.begin_round() == 1);  // not a failure
  CHECK(l.round_over({}) == error_code{});  // the new round is not interrupted
}

TEST_CASE("lifecycle: reconnect() skips the policy once, forgets failures, and restarts a stopped client",
          "[client][lifecycle]") {
  using action = lifecycle::reconnect_action;
  auto l = handshaking();
  l.closing();
  l.failed(make_error_code(error::connect_timeout), reason_code::success);
  REQUIRE_FALSE(l.decided(std::chrono::milliseconds{5'000}, false, {}, t0));
  CHECK(l.reconnect() == action::end_backoff);  // live: the caller cuts the backoff short
  CHECK(l.failures() == 0);
  CHECK(l.after_round() == lifecycle::next::again_now);
  CHECK(l.begin_round() == 1);
  CHECK(l.after_round() == lifecycle::next::ask_policy);  // once only

  REQUIRE(l.stop());
  l.run_finished();
  CHECK(l.reconnect() == action::spawn);  // stopped: spawn a new run
  CHECK(l.running());
}

TEST_CASE("lifecycle: reconnect() during an attempt cuts it short; the cut round is no failure",
          "[client][lifecycle]") {
  using action = lifecycle::reconnect_action;
  const auto how = GENERATE(phase::connecting, phase::handshaking);
  CAPTURE(to_string(how));
  lifecycle l;
  REQUIRE(l.start());
  l.begin_round();
  l.failed(make_error_code(error::connect_timeout), reason_code::success);  // an earlier failure, forgotten
  if (how == phase::handshaking) l.transport_up();
  REQUIRE(l.phase() == how);

  CHECK(l.reconnect() == action::interrupt_attempt);
  CHECK(l.round_replaced());
  CHECK_FALSE(l.stop_requested());
  // Whatever the interrupted step reported, the round was abandoned, not failed nor stopped.
  l.closing();
  CHECK(l.round_over(make_error_code(error::connection_closed)) == boost::asio::error::operation_aborted);
  CHECK(l.round_over({}) == boost::asio::error::operation_aborted);
  CHECK(l.after_round() == lifecycle::next::again_now);
  CHECK(l.begin_round() == 1);
  CHECK_FALSE(l.round_replaced());  // the next round is a round like any other
  CHECK(l.round_over(make_error_code(error::connack_timeout)) == error::connack_timeout);
}

TEST_CASE("lifecycle: reconnect() when connected hands the connection over; while closing it only goes again",
          "[client][lifecycle]") {
  using action = lifecycle::reconnect_action;
  auto l = connected();
  CHECK(l.reconnect() == action::replace_connection);
  CHECK_FALSE(l.round_replaced());  // the DISCONNECT ends the round normally
  l.closing();
  CHECK(l.round_over({}) == error_code{});
  CHECK(l.after_round() == lifecycle::next::again_now);
  l.begin_round();
  l.transport_up();
  l.accepted();
  l.closing();
  CHECK(l.reconnect() == action::none);
  CHECK(l.after_round() == lifecycle::next::again_now);
}

TEST_CASE("lifecycle: stop() after reconnect() in the same round still stops", "[client][lifecycle]") {
  auto l = handshaking();
  REQUIRE(l.reconnect() == lifecycle::reconnect_action::interrupt_attempt);
  REQUIRE(l.stop());
  CHECK(l.round_over(boost::asio::error::operation_aborted) == stopped_error);
  CHECK(l.after_round() == lifecycle::next::stop);
}

TEST_CASE("lifecycle: disconnect depends on the connection", "[client][lifecycle]") {
  using action = lifecycle::disconnect_action;
  SECTION("connected: a graceful DISCONNECT, reported without error") {
    auto l = connected();
    CHECK(l.disconnect(true, false) == action::send_disconnect);
    CHECK(l.disconnect_requested());
    l.closing();
    CHECK(l.round_over({}) == error_code{});
    // MQTT 3.1.1 keeping the will closes the transport on purpose: that is no error either.
    CHECK(l.round_over(boost::asio::error::operation_aborted) == error_code{});
    CHECK(l.round_over(boost::asio::error::timed_out) == boost::asio::error::timed_out);  // cut at the deadline
    CHECK(l.after_round() == lifecycle::next::stop);
  }
  SECTION("a DISCONNECT already on its way: wait for it") {
    auto l = connected();
    CHECK(l.disconnect(false, true) == action::wait);
  }
  SECTION("connecting or backing off: nothing to say, interrupt") {
    auto l = handshaking();
    CHECK(l.disconnect(false, false) == action::interrupt);
    CHECK(l.round_over(boost::asio::error::operation_aborted) == stopped_error);
    CHECK(l.after_round() == lifecycle::next::stop);
  }
  SECTION("no run: complete at once, and the client is stopped") {
    lifecycle l;
    CHECK(l.disconnect(false, false) == action::complete_now);
    CHECK(l.settle());
    CHECK(l.stopped());
  }
}

TEST_CASE("lifecycle: destruction ends the run for good", "[client][lifecycle]") {
  SECTION("during a round") {
    auto l = connected();
    CHECK(l.destroy());
    CHECK(l.destroyed());
    CHECK(l.round_over({}) == stopped_error);
    CHECK(l.after_round() == lifecycle::next::stop);
    l.run_finished();
    CHECK_FALSE(l.start());  // nothing restarts it
    CHECK(l.reconnect() == lifecycle::reconnect_action::none);
    CHECK_FALSE(l.stop());
  }
  SECTION("with no run") {
    lifecycle l;
    CHECK_FALSE(l.destroy());
    CHECK_FALSE(l.start());
  }
}

TEST_CASE("lifecycle: a run that ends on its own (the policy gave up) is stopped; start() runs it again",
          "[client][lifecycle]") {
  auto l = handshaking();
  const auto failure = make_error_code(error::connack_timeout);
  l.closing();
  CHECK(l.round_over(failure) == failure);
  CHECK(l.after_round() == lifecycle::next::ask_policy);
  l.failed(failure, reason_code::success);
  REQUIRE(l.decided(std::nullopt, false, failure, t0));
  l.run_finished();
  CHECK(l.phase() == phase::stopped);
  CHECK(l.stop_requested());
  CHECK(l.start());
  CHECK(l.phase() == phase::connecting);
  CHECK(l.begin_round() == 2);  // the failures still count (reconnect() forgets them)
}

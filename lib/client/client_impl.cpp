#include "client/client_impl.hpp"
#include "client/logging.hpp"
#include "client/request_tracker.hpp"

#include <coromqtt/protocol/reason_code.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace coromqtt::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

event make_event(event_kind kind, const endpoint* where = nullptr, unsigned attempt = 0) {
  event ev;
  ev.kind = kind;
  if (where) ev.broker = where->to_string();
  ev.attempt = attempt;
  return ev;
}

event make_event(event_kind kind, const endpoint& where, unsigned attempt, error_code ec, reason_code reason,
                 std::string reason_string) {
  auto ev = make_event(kind, &where, attempt);
  ev.error = ec;
  ev.reason = reason;
  ev.reason_string = std::move(reason_string);
  return ev;
}

std::string in_milliseconds(clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// The diagnostic of a failure that connect_transport did not describe (it describes its own): which
// connection, and what went wrong on it. Nothing for a success or a cancellation.
std::string describe_failure(error_code ec, const connection_error& why, const std::string& peer,
                             const client_options& options) {
  if (!ec || ec == asio::error::operation_aborted) return {};
  if (ec == error::connack_timeout) return peer + ": no CONNACK within " + in_milliseconds(options.connack_timeout);
  // A violation the session detected carries its own words in reason_string (the rule the broker broke).
  if (why.error == ec && why.we_should_disconnect && !why.reason_string.empty())
    return peer + ": " + why.reason_string + " (" + ec.message() + ")";
  return peer + ": " + ec.message();
}

// Inside one of the connection's coroutines: whether the parallel group asked it to stop.
// Note: g++ 12 miscompiles `if (co_await x)` when a branch awaits too; callers await into a variable first.
asio::awaitable<bool> cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

// -----------------------------------------------------------------------------------------------------------------
// Construction and control

namespace {
strand_type make_client_strand(const asio::any_io_executor& executor) {
  // Reuse a strand the caller already runs on, so that coroutines spawned on it take the fast paths.
  if (const auto* strand = executor.target<strand_type>()) return *strand;
  return asio::make_strand(executor);
}

// The configured broker URLs, parsed; a bad or missing one fails the construction with its URL.
std::vector<endpoint> parse_brokers(const std::vector<std::string>& urls) {
  std::vector<endpoint> brokers;
  for (const auto& url : urls) {
    error_code ec;
    auto parsed = endpoint::parse(url, ec);
    if (!parsed) throw mqtt_error(ec ? ec : make_error_code(error::invalid_url), reason_code::success, url);
    brokers.push_back(std::move(*parsed));
  }
  if (brokers.empty()) throw mqtt_error(make_error_code(error::invalid_url), reason_code::success, "no broker");
  return brokers;
}
}  // namespace

client_impl::client_impl(asio::any_io_executor executor, client_options options)
    : strand_{make_client_strand(executor)},
      options_{std::move(options)},
      brokers_{parse_brokers(options_.brokers)},
      session_{options_, stats_},
      store_{strand_, options_.store, session_},
      random_{std::random_device{}()},
      backoff_timer_{strand_},
      writer_signal_{strand_},
      input_signal_{strand_},
      watchdog_timer_{strand_} {
  // The minimum level is fixed with the options: below trace, the session is not even asked to report packets.
  if (options_.log.enabled(log_level::trace)) {
    session_.observe_received_packets([this](protocol::byte_view packet) {
      log_packets(options_.log, "received", packet, session_.version());
    });
  }
  store_.open();  // throws error::store_locked when another live client holds the store
}

client_impl::~client_impl() {
  // Normally destroy() has completed every request on the strand before the last reference goes. When the
  // io_context stopped first (its pending handlers destroyed, not run), requests are still held here: free
  // them with their handlers, as Asio frees the handlers it holds.
  tearing_down_ = true;
  store_.close();
  session_.abort_all(asio::error::operation_aborted);
  abort_waiters(asio::error::operation_aborted);
  while (auto* completion = std::exchange(completions_head_, nullptr)) {
    completions_head_ = completion->next_completion;
    completion->discard();
  }
}

void client_impl::spawn_run() {
  auto signal = std::make_shared<asio::cancellation_signal>();
  run_interrupt_ = signal;
  // Without a slot, nothing could end a resolve, a TCP connect or a handshake in progress but its own timeout
  // (issue 12, point 1).
  asio::co_spawn(strand_, run(),
                 asio::bind_cancellation_slot(signal->slot(), [self = shared_from_this(), signal](std::exception_ptr) {
                   // run() ends every path through finish_run(); this is the backstop.
                   if (self->run_interrupt_ == signal) {
                     self->run_interrupt_.reset();
                     if (self->life_.running()) self->life_.run_finished();
                   }
                 }));
}

void client_impl::interrupt_run() {
  backoff_timer_.cancel();
  if (run_interrupt_) run_interrupt_->emit(asio::cancellation_type::terminal);
  close_hard();  // a connection already up ends whatever the transport's support for cancellation
}

void client_impl::resume_run() {
  if (life_.start()) spawn_run();
}

void client_impl::start() {
  asio::dispatch(strand_, [self = shared_from_this()] { self->resume_run(); });
}

void client_impl::reconnect() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    using action = lifecycle::reconnect_action;
    switch (self->life_.reconnect()) {
      case action::none: return;
      case action::spawn: self->spawn_run(); return;
      case action::end_backoff: self->backoff_timer_.cancel(); return;
      case action::interrupt_attempt:
        // The attempt may be in any step, with or without a transport yet: end it as stop() would.
        self->interrupt_run();
        return;
      case action::replace_connection:
        if (self->transport_ && self->session_.state() == session_state::connected) {
          // A clean hand-over: DISCONNECT (the will is not published, the session is kept), then connect again.
          self->session_.begin_disconnect(reason_code::success, std::nullopt);
          self->begin_closing();
        } else {
          self->close_hard();
        }
        return;
    }
  });
}

void client_impl::stop() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    if (self->life_.destroyed()) return;
    if (self->life_.stop()) {
      self->interrupt_run();  // run() reports `stopped` itself as it ends
    } else if (self->life_.settle()) {
      self->settle_stopped(self->stopped_event(make_error_code(error::client_stopped)));  // no run to end
    }
  });
}

void client_impl::destroy() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    const bool live = self->life_.destroy();
    self->interrupt_run();
    self->store_.close();  // the last records written, the store free for the next client
    self->session_.abort_all(asio::error::operation_aborted);
    // A live run() still reports `stopped` to a waiting co_next_event as it ends, then aborts the rest.
    if (live)
      self->abort_request_waiters(asio::error::operation_aborted);
    else
      self->abort_waiters(asio::error::operation_aborted);
  });
}

void client_impl::reauthenticate() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    if (self->life_.destroyed() || !self->transport_) return;
    const auto ec = self->session_.reauthenticate();
    if (!ec) {
      self->after_session_activity();
    } else if (ec == error::authentication_failed && self->session_.state() == session_state::connected) {
      self->fail_connection(ec);  // the authenticator threw: as if it had given up on a challenge
    }
  });
}

void client_impl::acknowledge(std::uint64_t acknowledgement_id, reason_code reason) {
  on_strand(*this, [this, acknowledgement_id, reason] {
    if (life_.destroyed()) return;
    session_.acknowledge(acknowledgement_id, reason);
    if (session_.input_blocked()) wake_reader();  // the application held its maximum: one more may come in
    after_session_activity();
  });
}

void client_impl::abort_waiters(error_code ec) {
  abort_request_waiters(ec);
  while (auto* w = event_waiters_.pop_front()) w->complete(ec, {});
}

void client_impl::abort_request_waiters(error_code ec) {
  while (auto* w = receive_waiters_.pop_front()) w->complete(ec, {});
  if (requests_) requests_->abort_all(ec);
  for (auto& [key, waiters] : stream_waiters_)
    while (auto* w = waiters.pop_front()) w->complete(ec, {});
  stream_waiters_.clear();
  while (auto* w = flush_waiters_.pop_front()) w->complete(ec);
  while (auto* w = connect_waiters_.pop_front()) w->complete(ec, {});
  while (auto* w = disconnect_waiters_.pop_front()) w->complete(ec);
}

void client_impl::complete_idle_waiters(error_code ec) {
  while (auto* w = receive_waiters_.pop_front()) w->complete(ec, {});
  for (auto& [key, waiters] : stream_waiters_)
    while (auto* w = waiters.pop_front()) w->complete(ec, {});
  stream_waiters_.clear();
  while (auto* w = event_waiters_.pop_front()) w->complete(ec, {});
}

event client_impl::stopped_event(error_code ec) const {
  auto stopped = make_event(event_kind::stopped);
  // The broker of the last attempt; before any, the one the first attempt would have tried.
  stopped.broker = !last_broker_.empty() ? last_broker_
                                         : brokers_.next().to_string();
  stopped.attempt = life_.failures();
  stopped.error = ec;
  return stopped;
}

void client_impl::settle_stopped(event stopped) {
  push_event(std::move(stopped));  // to the first waiting co_next_event, if any
  // Nothing started the next attempt; no CONNACK, message or event will come until start() or reconnect().
  const bool destroyed = life_.destroyed();
  const auto ec = destroyed ? error_code{asio::error::operation_aborted} : make_error_code(error::client_stopped);
  while (auto* w = connect_waiters_.pop_front()) w->complete(ec, {});
  while (auto* w = disconnect_waiters_.pop_front()) w->complete(destroyed ? ec : error_code{});
  complete_idle_waiters(ec);
}

void client_impl::abandon_connection() {
  if (transport_) transport_->close();
  transport_.reset();
  if (session_.state() != session_state::disconnected) session_.end_connection(now());
  closed_hard_ = false;
  reading_stopped_ = false;
  publish_will_on_close_ = false;
  writer_waiting_ = false;
  reader_waiting_ = false;
  closing_deadline_ = clock::time_point::max();
}

void client_impl::finish_run(event stopped) {
  life_.run_finished();
  run_interrupt_.reset();  // the completion handler keeps the signal alive until the coroutine is gone
  settle_stopped(std::move(stopped));
}

// -----------------------------------------------------------------------------------------------------------------
// The run loop

asio::awaitable<void> client_impl::run() {
  auto self = shared_from_this();  // the loop keeps the client alive until it ends
  co_await asio::this_coro::throw_if_cancelled(false);
  event stopped;
  bool escaped = false;
  try {
    stopped = co_await run_connections();
  } catch (...) {
    // The user's callbacks are caught where they are called; what gets here is a bug or an allocation
    // failure. Either way the connection must not stay half open with nobody serving it, and the waiters of
    // co_connect and co_disconnect must hear of it (issue 12, point 2).
    escaped = true;
  }
  if (escaped) {
    abandon_connection();
    stopped = stopped_event(make_error_code(error::callback_failed));
    const auto ec = stopped.error;
    while (auto* w = connect_waiters_.pop_front()) w->complete(ec, {});
  }
  finish_run(std::move(stopped));
}

asio::awaitable<event> client_impl::run_connections() {
  for (;;) {
    if (life_.stop_requested()) co_return stopped_event(make_error_code(error::client_stopped));
    // A stop() undone by start() before this loop saw it must not cut the next attempt short.
    co_await asio::this_coro::reset_cancellation_state();
    const unsigned attempt = life_.begin_round();

    const endpoint where = brokers_.next();
    last_broker_ = where.to_string();
    auto connecting = make_event(event_kind::connecting, &where, attempt);
    log_attempt(options_.log, connecting);
    push_event(std::move(connecting));
    stats_.connection_attempts.add();  // a transport attempt, whether or not it gets as far as CONNECT

    error_code ec;
    std::string diagnostic;  // why the attempt or the connection failed, in the words of the layer that saw it
    std::string peer;        // the transport's description, once there is one
    bool was_connected = false;
    auto transport = co_await connect_transport(strand_, where, options_.transport, ec, &diagnostic);
    if (!ec && life_.stop_requested()) ec = asio::error::operation_aborted;
    if (!ec) {
      transport_ = std::move(transport);
      life_.transport_up();
      peer = transport_->description();
      diagnostic.clear();
      log_transport_up(options_.log, peer);
      ec = co_await handshake(where, attempt);
      if (!ec) {
        was_connected = true;
        life_.accepted();
        brokers_.connected();
        const auto info = make_connection_info();
        auto connected = make_event(event_kind::connected, &where, attempt);
        connected.info = info;
        push_event(std::move(connected));
        log_connected(options_.log, peer, info);
        while (auto* w = connect_waiters_.pop_front()) w->complete({}, info);
        ec = co_await serve();
      }
    }
    const auto& why = session_.last_error();
    const reason_code reason = why.error == ec ? why.reason : reason_code::success;
    const std::string reason_string = why.error == ec ? why.reason_string : std::string{};
    const std::string server_reference = why.error == ec ? why.server_reference : std::string{};
    if (!peer.empty()) diagnostic = describe_failure(ec, why, peer, options_);
    const bool broker_broke_protocol = why.error == ec && why.we_should_disconnect;
    life_.closing();
    co_await close_connection();
    ec = life_.round_over(ec);  // client_stopped when the user's stop ended it; none for a disconnect asked for
    auto outcome = make_event(was_connected ? event_kind::disconnected : event_kind::connect_failed, where, attempt,
                              ec, reason, reason_string);
    outcome.diagnostic = diagnostic;
    log_outcome(options_.log, outcome, broker_broke_protocol);
    push_event(std::move(outcome));
    if (!was_connected && !life_.round_replaced()) {
      // co_connect() waits for one attempt's outcome: tell it this one failed, and why (an attempt reconnect()
      // cut short is no outcome: the waiters hear of the next). The policy may still retry in the background
      // (stop() ends that).
      connection_info refusal;
      refusal.reason = reason;
      refusal.reason_string = reason_string;
      refusal.diagnostic = diagnostic;
      while (auto* w = connect_waiters_.pop_front()) w->complete(ec, refusal);
    }
    // co_disconnect() completes once the connection is closed (the loop then stops, unless start() came since).
    while (auto* w = disconnect_waiters_.pop_front()) w->complete({});

    const auto next = life_.after_round();
    if (next == lifecycle::next::stop) {
      auto stopped = make_event(event_kind::stopped, &where, attempt);
      stopped.error = make_error_code(error::client_stopped);
      log_stopped(options_.log, stopped, false);
      co_return stopped;
    }
    if (next == lifecycle::next::again_now) continue;

    // The next configured broker, or the one a Server Reference (0x9C, 0x9D) names.
    brokers_.failed(where, reason, server_reference, options_.follow_server_reference);

    const unsigned failures = life_.failed(ec, reason);
    connection_failure failure{ec, reason, reason_string, failures, was_connected, where.to_string(), diagnostic};
    reconnect_decision decision;
    bool policy_threw = false;
    try {
      decision = decide_reconnect(options_.reconnect, failure, std::uniform_real_distribution<double>{0, 1}(random_));
    } catch (...) {
      policy_threw = true;  // a throwing policy stops reconnection rather than the client's strand
    }
    if (const auto gave_up = life_.decided(decision, policy_threw, ec, now())) {
      auto stopped = make_event(event_kind::stopped, where, failures, *gave_up, reason, reason_string);
      stopped.diagnostic = diagnostic;
      log_stopped(options_.log, stopped, true);
      co_return stopped;
    }
    auto scheduled = make_event(event_kind::reconnect_scheduled, &brokers_.next(), failures + 1);
    scheduled.delay = *decision;
    log_reconnect_scheduled(options_.log, scheduled);
    push_event(std::move(scheduled));
    backoff_timer_.expires_at(life_.backoff_until());
    co_await backoff_timer_.async_wait(use_tuple);  // cut short by reconnect(), stop() or destruction
  }
}

asio::awaitable<error_code> client_impl::handshake(const endpoint& where, unsigned attempt) {
  using namespace asio::experimental::awaitable_operators;
  credentials creds;
  if (options_.credentials) {
    credential_request request;
    request.attempt = attempt;
    request.previous_attempt_rejected_credentials = life_.credentials_rejected();
    request.broker = where;
    request.version = options_.version;
    request.steady_now = clock::now();
    request.system_now = std::chrono::system_clock::now();
    try {
      auto provided = options_.credentials(request);
      if (!provided) co_return provided.error();  // the attempt fails with the provider's own error
      creds = std::move(*provided);
    } catch (...) {
      co_return make_error_code(error::authentication_failed);  // a throwing provider must not end the client
    }
  }
  session_.begin_connection(creds, now());
  if (auto ec = session_.last_error().error) co_return ec;

  error_code ec;
  auto exchange = [&]() -> asio::awaitable<void> {
    const auto connect_bytes = session_.prepare_write();
    co_await transport_->write(asio::buffer(connect_bytes.data(), connect_bytes.size()), ec);
    if (ec) co_return;
    log_packets(options_.log, "sent", connect_bytes, session_.version());
    session_.commit_write(now());
    while (session_.state() == session_state::awaiting_connack) {
      const auto space = session_.read_space();
      const auto n = co_await transport_->read_some(asio::buffer(space.data(), space.size()), ec);
      if (ec) co_return;
      ec = session_.on_read(n, now());
      if (ec) {
        // Bad bytes after CONNACK in the same read: the broker hears why before the close (within the
        // exchange's bound). The connection never counted as up, so no violation handling beyond this.
        if (say_why_now()) {
          const auto bytes = session_.prepare_write();
          error_code write_error;
          co_await transport_->write(asio::buffer(bytes.data(), bytes.size()), write_error);
          if (!write_error) session_.commit_write(now());
        }
        co_return;
      }
    }
  };
  const bool timed_out = co_await bounded(exchange(), options_.connack_timeout);
  if (timed_out) co_return make_error_code(error::connack_timeout);
  if (ec == asio::error::eof) co_return make_error_code(error::connection_closed);
  co_return ec;
}

asio::awaitable<error_code> client_impl::serve() {
  using namespace asio::experimental::awaitable_operators;
  connection_error_ = {};
  publish_will_on_close_ = false;
  after_session_activity();  // retransmissions and queued messages are waiting already
  co_await (reader() || writer() || watchdog());
  co_return connection_error_;
}

void client_impl::fail_connection(error_code ec) {
  if (!connection_error_) connection_error_ = ec;
  close_hard();  // the other parts stop at once, whatever the transport
}

void client_impl::close_hard() {
  if (!transport_) return;
  closed_hard_ = true;
  transport_->close();
}

void client_impl::begin_closing() {
  closing_deadline_ = std::min(closing_deadline_, now() + options_.disconnect_timeout);
  wake_writer();
  if (closing_deadline_ < watchdog_deadline_) watchdog_timer_.cancel();  // re-arm for the deadline
}

bool client_impl::say_why_now() {
  const auto& why = session_.last_error();
  if (!why.we_should_disconnect || session_.version() != protocol_version::v5 ||
      session_.state() != session_state::connected)
    return false;
  session_.begin_disconnect(why.reason, std::nullopt);
  return true;
}

bool client_impl::disconnect_for_violation(error_code ec) {
  if (!say_why_now()) return false;
  if (!connection_error_) connection_error_ = ec;
  reading_stopped_ = true;
  begin_closing();
  return true;
}

asio::awaitable<void> client_impl::reader() {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto state = co_await asio::this_coro::cancellation_state;
  for (;;) {
    if (reading_stopped_) {
      // A violation: nothing more is read. The writer ends the group once DISCONNECT is out, or the watchdog
      // closes the transport at the deadline; either cancels this wait.
      if (state.cancelled() != asio::cancellation_type::none) co_return;
      input_signal_.expires_at(clock::time_point::max());
      co_await input_signal_.async_wait(use_tuple);
      if (const bool stop = co_await cancelled(); stop) co_return;
      continue;
    }
    if (session_.input_blocked()) {
      // The parallel group may have asked us to stop while a read was completing; that request went to the
      // read, not to the wait below, which would never end.
      if (state.cancelled() != asio::cancellation_type::none) co_return;
      // The receive queue is full, or the bytes we owe the broker wait for the writer: stop reading, so the
      // broker feels it through TCP. (Room may have been made already, while our last read was handled.)
      if (!session_.input_resumable()) {
        reader_waiting_ = true;
        input_signal_.expires_at(clock::time_point::max());
        co_await input_signal_.async_wait(use_tuple);
        reader_waiting_ = false;
        if (const bool stop = co_await cancelled(); stop) co_return;
      }
      if (auto ec = session_.resume_input(now())) {
        const bool fatal = !disconnect_for_violation(ec);
        after_session_activity();
        if (fatal) {
          fail_connection(ec);
          co_return;
        }
        continue;
      }
      after_session_activity();
      continue;
    }
    const auto space = session_.read_space();
    error_code ec;
    const auto n = co_await transport_->read_some(asio::buffer(space.data(), space.size()), ec);
    if (ec) {
      // Asked to stop (the writer sent DISCONNECT, or another part failed and said why): the read's
      // operation_aborted is not what ended the connection, and must neither be reported (a graceful
      // disconnect has no error) nor close the transport under the graceful close.
      if (state.cancelled() != asio::cancellation_type::none) co_return;
      fail_connection(ec == asio::error::eof ? make_error_code(error::connection_closed) : ec);
      co_return;
    }
    ec = session_.on_read(n, now());
    const bool fatal = ec && !disconnect_for_violation(ec);
    after_session_activity();
    if (fatal) {
      fail_connection(ec);
      co_return;
    }
  }
}

asio::awaitable<void> client_impl::writer() {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto state = co_await asio::this_coro::cancellation_state;
  for (;;) {
    if (!session_.has_output()) {
      // DISCONNECT is out: we are done (unless what precedes it still waits for the session store).
      if (session_.state() == session_state::disconnecting && !session_.output_held()) co_return;
      // The connection may have failed (the reader saw the cut) while our last write was completing: the
      // group's stop request then reached the write, which had already succeeded, not the wait below, which
      // would never end and hold the run loop (no reconnect, ever).
      if (state.cancelled() != asio::cancellation_type::none) co_return;
      writer_waiting_ = true;
      writer_signal_.expires_at(clock::time_point::max());
      co_await writer_signal_.async_wait(use_tuple);
      writer_waiting_ = false;
      if (const bool stop = co_await cancelled(); stop) co_return;
      continue;
    }
    const auto bytes = session_.prepare_write();
    error_code ec;
    co_await transport_->write(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) {
      if (state.cancelled() != asio::cancellation_type::none) co_return;  // as in the reader
      fail_connection(ec);
      co_return;
    }
    log_packets(options_.log, "sent", bytes, session_.version());  // before commit_write frees them
    session_.commit_write(now());
    after_session_activity();
  }
}

asio::awaitable<void> client_impl::watchdog() {
  co_await asio::this_coro::throw_if_cancelled(false);
  for (;;) {
    watchdog_deadline_ = std::min(session_.next_timer(), closing_deadline_);
    watchdog_timer_.expires_at(watchdog_deadline_);
    co_await watchdog_timer_.async_wait(use_tuple);  // also woken early when the deadline moves closer
    if (const bool stop = co_await cancelled(); stop) co_return;
    if (now() >= closing_deadline_) {
      // DISCONNECT is stuck behind a write the broker does not take: close hard (issue 14, point 2).
      fail_connection(make_error_code(asio::error::timed_out));
      co_return;
    }
    if (auto ec = session_.on_timer(now())) {
      fail_connection(ec);
      co_return;
    }
    after_session_activity();
  }
}

asio::awaitable<bool> client_impl::bounded(asio::awaitable<void> operation, clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  bool timed_out = false;
  asio::steady_timer deadline{strand_, timeout};
  auto expire = [&]() -> asio::awaitable<void> {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto [wait_error] = co_await deadline.async_wait(use_tuple);
    if (wait_error) co_return;
    timed_out = true;
    close_hard();  // ends the operation even if the transport ignores cancellation
  };
  co_await (std::move(operation) || expire());
  co_return timed_out;
}

asio::awaitable<void> client_impl::close_connection() {
  if (!transport_) {
    session_.end_connection(now());
    co_return;
  }
  // DISCONNECT went out whole (the writer ended on it, nothing closed the transport under it): close
  // gracefully, so that it is not lost to a reset, within what is left of disconnect_timeout.
  const bool graceful = session_.state() == session_state::disconnecting && !session_.has_output() &&
                        !publish_will_on_close_ && !closed_hard_;
  // From here on the session is offline: publishes queue, nothing more is encoded for this transport.
  session_.end_connection(now());
  publish_will_on_close_ = false;
  const auto left = closing_deadline_ - now();
  if (graceful && closing_deadline_ == clock::time_point::max())
    co_await transport_->shutdown();  // bounded by the transport's own close_timeout
  else if (graceful && left > clock::duration::zero())
    co_await bounded(transport_->shutdown(), left);
  else
    transport_->close();
  transport_.reset();
  closed_hard_ = false;
  reading_stopped_ = false;
  closing_deadline_ = clock::time_point::max();
}

// -----------------------------------------------------------------------------------------------------------------
// After the session moved

void client_impl::wake_writer() {
  if (writer_waiting_) writer_signal_.cancel();
}

void client_impl::after_session_activity() {
  if (requests_) requests_->on_activity();  // takes responses, and may acknowledge them
  if (store_.attached()) {
    if (!store_.bound()) store_.bind(weak_from_this(), [this] { after_session_activity(); });
    store_.pump();
  }
  if (session_.has_output()) wake_writer();
  if (session_.reauthentications() > reauthentications_seen_) {
    reauthentications_seen_ = session_.reauthentications();
    push_event(make_event(event_kind::reauthenticated));
  }
  std::string expired_topic;
  if (const auto expired = session_.take_expired(expired_topic)) {
    auto ev = make_event(event_kind::messages_expired);
    ev.messages = expired;
    ev.topic = std::move(expired_topic);
    push_event(std::move(ev));
  }
  deliver_messages();
  check_flushed();
  if (session_.next_timer() < watchdog_deadline_) watchdog_timer_.cancel();  // re-arm earlier
}

void client_impl::deliver_messages() {
  while (!receive_waiters_.empty() && session_.has_message())
    receive_waiters_.pop_front()->complete({}, session_.pop_message());
  // Room in the receive queue, or the writer took the pending bytes: the reader may go on.
  if (reader_waiting_ && session_.input_resumable()) input_signal_.cancel();
  if (!stream_waiters_.empty()) {
    session_.take_fed_streams(fed_streams_);
    for (const auto key : fed_streams_) serve_stream(key);
  }
}

void client_impl::wake_reader() {
  // Room in a stream, or under our Receive Maximum: the reader may go on (it waits again if still blocked).
  if (reader_waiting_ && session_.input_resumable()) input_signal_.cancel();
}

void client_impl::check_flushed() {
  if (flush_waiters_.empty() || !session_.flushed()) return;
  const bool acknowledged = session_.quiescent();
  // Complete in order; a waiter for acknowledgements blocks those behind it only until then.
  for (auto* w = flush_waiters_.front(); w;) {
    auto* next = static_cast<flush_waiter*>(w->next);
    if (!w->until_acknowledged || acknowledged) {
      flush_waiters_.erase(w);
      w->complete({});
    }
    w = next;
  }
}

connection_info client_impl::make_connection_info() const {
  const auto& c = session_.connack();
  connection_info info;
  info.reason_string = c.reason_string;
  info.session_present = c.session_present;
  info.receive_maximum = c.limits.receive_maximum;
  info.maximum_qos = c.limits.maximum_qos;
  info.retain_available = c.limits.retain_available;
  info.maximum_packet_size = c.limits.maximum_packet_size;
  info.topic_alias_maximum = c.limits.topic_alias_maximum;
  info.keep_alive = c.server_keep_alive ? std::chrono::seconds{*c.server_keep_alive} : options_.keep_alive;
  info.assigned_client_identifier = c.assigned_client_identifier;
  info.response_information = c.response_information;
  info.wildcard_subscription_available = c.limits.wildcard_subscription_available;
  info.subscription_identifier_available = c.limits.subscription_identifier_available;
  info.shared_subscription_available = c.limits.shared_subscription_available;
  info.user_properties = c.user_properties;
  return info;
}

}  // namespace coromqtt::detail

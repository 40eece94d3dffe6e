// The machinery behind coromqtt::client: the coroutine that owns the connection (run), its three parts while
// connected (reader, writer, watchdog), and the waiting requests. Everything here runs on the client's strand.
//
//   run:  loop {
//           pick a broker -> connect the transport -> CONNECT / CONNACK      (each step with its timeout)
//           reader || writer || watchdog                                     (the first to end ends all)
//           close; report; ask the reconnect policy; sleep or stop
//         }
//
// The protocol itself lives in the session (sans-I/O); these coroutines only move bytes and time into it.
#pragma once

#include "client/broker_rotation.hpp"
#include "client/lifecycle.hpp"
#include "client/requests.hpp"
#include "session/ring_buffer.hpp"
#include "session/session.hpp"
#include "session/statistics_counters.hpp"
#include "client/store_link.hpp"
#include "transport/transport.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace coromqtt::detail {

using strand_type = asio::strand<asio::any_io_executor>;

class request_tracker;

class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(asio::any_io_executor executor, client_options options);
  ~client_impl();

  const strand_type& strand() const noexcept { return strand_; }
  const client_options& options() const noexcept { return options_; }
  statistics_counters& counters() noexcept { return stats_; }
  // Called where a request is made, on any thread (the request reaches the strand later).
  std::uint64_t next_serial() noexcept { return serial_.fetch_add(1, std::memory_order_relaxed) + 1; }

  // Control, callable from any thread (they post to the strand).
  void start();
  void reconnect();
  void stop();
  void destroy();  // the client object is gone: abort everything
  void reauthenticate();
  void acknowledge(std::uint64_t acknowledgement_id, reason_code reason);

  // On the strand: the fast paths of co_publish / co_receive, without a scheduler round trip.
  bool try_publish_now(const message& m, error_code& ec);
  std::optional<message> try_receive();

  // On the strand: the requests (see client.hpp).
  void start_connect(connect_waiter*);
  void start_disconnect(disconnect_options, disconnect_waiter*);
  void start_publish(publish_op*);
  void start_subscribe(subscribe_op*);
  void start_unsubscribe(unsubscribe_op*);
  void start_receive(receive_waiter*);
  // Subscription streams (streams.cpp).
  void start_subscribe_stream(subscribe_op*, std::uint64_t& key, std::size_t capacity);
  void start_stream_receive(std::uint64_t key, receive_waiter*);
  void start_stream_unsubscribe(std::uint64_t key, unsubscribe_op*);
  std::optional<message> try_stream_receive(std::uint64_t key);
  void destroy_stream(std::uint64_t key);  // from any thread: the subscription_stream object is gone
  // Request/response (requests.cpp): co_request.
  void start_request(receive_waiter*, message request, clock::duration timeout);
  void start_flush(flush_waiter*);
  void start_next_event(event_waiter*);
  void cancel(std::uint64_t serial, asio::cancellation_type type);

  // On the strand, from a request's complete(): queues its delivery (see pending_completion).
  void queue_completion(pending_completion& completion);
  // On the strand, outside any initiating call: runs the handler now when it is bound to this strand (a
  // coroutine spawned on client::get_executor(), or a handler without an executor), else dispatches it to its
  // own executor.
  // Calls a finished request's handler on `executor` (its associated executor, with outstanding work).
  template <class Handler, class Executor, class... Args>
  void hand_over(Handler handler, Executor executor, asio::cancellation_slot slot, Args&&... args);

 private:
  friend class request_tracker;
  clock::time_point now() const noexcept { return clock::now(); }
  void deliver_completions();

  asio::awaitable<void> run();
  // The attempts and connections of one run, until something stops it; returns the `stopped` event to report.
  asio::awaitable<event> run_connections();
  asio::awaitable<error_code> handshake(const endpoint& where, unsigned attempt);
  asio::awaitable<error_code> serve();
  asio::awaitable<void> reader();
  asio::awaitable<void> writer();
  asio::awaitable<void> watchdog();
  // Ends the connection: the transport's graceful close when DISCONNECT went out (bounded by what is left of
  // disconnect_timeout), an immediate one otherwise.
  asio::awaitable<void> close_connection();
  // Runs `operation`; when `timeout` passes first, closes the transport so that the operation ends whatever
  // the transport's support for cancellation. Returns whether the timeout struck.
  asio::awaitable<bool> bounded(asio::awaitable<void> operation, clock::duration timeout);

  void spawn_run();
  void resume_run();  // start(), co_connect(): the loop runs (again), reconnecting per the policy
  // stop(), destruction, a disconnect with no connection to say it on: whatever step run() awaits (resolve,
  // connect, a TLS or WebSocket handshake, CONNACK, the backoff) ends now, not at its timeout.
  void interrupt_run();
  // After an exception left the run loop: no transport, no half-open session stays behind.
  void abandon_connection();
  // run() is over, on every path: report `stopped`, complete what waited for the run.
  void finish_run(event stopped);
  // The client is stopped (run() over, or stop() / disconnect with no run): those waiting for something only a
  // connection brings (a message, an event) are told so, rather than kept waiting (and io_context::run() busy).
  void settle_stopped(event stopped);
  event stopped_event(error_code ec) const;
  void after_session_activity();
  void deliver_messages();
  void serve_stream(std::uint64_t key);  // hands a stream's messages to its waiting receivers
  void wake_reader();
  void check_flushed();
  void fail_connection(error_code ec);
  // Closes the transport at once: whatever is in flight fails, and the close that follows is not graceful.
  void close_hard();
  // DISCONNECT is encoded (the user's, a reconnection's or a protocol violation's): the writer sends what
  // precedes it, then it; the watchdog closes hard when that takes longer than disconnect_timeout.
  void begin_closing();
  // A protocol violation the session detected: MQTT 5 tells the broker why before closing [MQTT-4.13.1-1].
  // Returns false when there is nothing to say (3.1.1, or not connected): then the connection fails at once.
  bool disconnect_for_violation(error_code ec);
  // Encodes that DISCONNECT when there is one to send (MQTT 5, connected, a violation); says whether it did.
  bool say_why_now();
  void wake_writer();
  void push_event(event ev);
  connection_info make_connection_info() const;
  void abort_waiters(error_code ec);
  void abort_request_waiters(error_code ec);  // every waiter but those of co_next_event
  void complete_idle_waiters(error_code ec);  // receivers (client and streams) and event readers

  strand_type strand_;
  client_options options_;
  broker_rotation brokers_;  // parsed from options_.brokers before anything else is set up
  statistics_counters stats_;
  session session_;
  store_link store_;  // the session store's thread and plumbing (after session_: it refers to it)
  std::unique_ptr<transport> transport_;
  std::atomic<std::uint64_t> serial_{0};
  std::minstd_rand random_;

  // The run loop: its phase and decisions in `life_` (sans-I/O, lifecycle.hpp); run() executes them.
  lifecycle life_;
  // Bound to the spawned run(): emitted by interrupt_run(). One per run, shared with its completion handler,
  // so that a late run's cancellation state never outlives the signal it is connected to.
  std::shared_ptr<asio::cancellation_signal> run_interrupt_;
  std::string last_broker_;         // of the last attempt, for the `stopped` event
  bool publish_will_on_close_ = false;  // MQTT 3.1.1 way of keeping the will: close without DISCONNECT
  error_code connection_error_;     // what ended the current connection
  asio::steady_timer backoff_timer_;

  // While connected
  asio::steady_timer writer_signal_;    // a timer used as a condition variable: cancel() wakes the writer
  asio::steady_timer input_signal_;     // wakes the reader when the receive queue has room again
  asio::steady_timer watchdog_timer_;
  clock::time_point watchdog_deadline_ = clock::time_point::max();
  clock::time_point closing_deadline_ = clock::time_point::max();  // the graceful close's bound
  bool closed_hard_ = false;        // fail_connection closed the transport: no graceful close after it
  bool reading_stopped_ = false;    // a violation: nothing more is read while DISCONNECT goes out
  bool writer_waiting_ = false;
  bool reader_waiting_ = false;

  // Waiting requests
  op_queue<receive_waiter> receive_waiters_;
  std::unordered_map<std::uint64_t, op_queue<receive_waiter>> stream_waiters_;  // by stream key
  std::vector<std::uint64_t> fed_streams_;                                       // scratch of deliver_messages()
  std::unique_ptr<request_tracker> requests_;  // made by the first co_request
  op_queue<event_waiter> event_waiters_;
  op_queue<flush_waiter> flush_waiters_;
  op_queue<connect_waiter> connect_waiters_;
  op_queue<disconnect_waiter> disconnect_waiters_;
  ring_buffer<event> events_;
  // Completed requests awaiting delivery, oldest first; a delivery pass is posted while the list is not empty.
  pending_completion* completions_head_ = nullptr;
  pending_completion* completions_tail_ = nullptr;
  bool delivery_posted_ = false;
  bool tearing_down_ = false;  // in the destructor: completions are discarded, not delivered
  std::size_t events_missed_ = 0;
  unsigned reauthentications_seen_ = 0;  // to report re-authentications as events
};

// -----------------------------------------------------------------------------------------------------------------
// Requests and their delivery (templates: the co_* functions instantiate them with their own handlers)

// Runs `start` on the client's strand: at once when the caller is already on it (a coroutine spawned on
// client::get_executor()), else dispatched there. Either way the request's handler runs later, from a
// delivery pass (client_impl::queue_completion), never inside this call.
template <class Start>
void on_strand(client_impl& impl, Start start) {
  if (impl.strand().running_in_this_thread()) {
    start();
    return;
  }
  asio::dispatch(impl.strand(), [self = impl.shared_from_this(), start = std::move(start)]() mutable { start(); });
}

template <class Handler>
void cancellation_binding::bind(client_impl& impl, Handler& handler, std::uint64_t serial) {
  slot_ = asio::get_associated_cancellation_slot(handler);
  if (!slot_.is_connected()) return;
  // Cancellation may be emitted from any thread: hop to the strand and look the operation up by serial.
  slot_.assign([weak = impl.weak_from_this(), serial](asio::cancellation_type type) {
    if (auto owner = weak.lock()) asio::post(owner->strand(), [owner, serial, type] { owner->cancel(serial, type); });
  });
}

template <class Base, class Result, class Handler>
session_op<Base, Result, Handler>::session_op(client_impl& impl, Handler handler)
    : impl_{impl}, handler_{std::move(handler)}, binding_{handler_, impl.strand()} {
  this->serial = impl.next_serial();
  cancellation_.bind(impl, handler_, this->serial);
}

template <class Base, class Result, class Handler>
void session_op<Base, Result, Handler>::complete(error_code ec, Result result) {
  error_ = ec;
  result_ = std::move(result);
  impl_.queue_completion(*this);
}

template <class Base, class Result, class Handler>
void session_op<Base, Result, Handler>::deliver() {
  auto handler = std::move(handler_);
  auto executor = binding_.release_work();
  const auto slot = cancellation_.release();
  const auto ec = error_;
  auto result = std::move(result_);
  auto& impl = impl_;
  free_request(this, handler);
  impl.hand_over(std::move(handler), std::move(executor), slot, ec, std::move(result));
}

template <class Base, class Result, class Handler>
void session_op<Base, Result, Handler>::dispose() noexcept {
  if (auto slot = cancellation_.release(); slot.is_connected()) slot.clear();
  auto handler = std::move(handler_);
  free_request(this, handler);
}

template <class Handler, class... Results>
waiter<Handler, Results...>::waiter(client_impl& impl, Handler handler)
    : impl_{impl}, handler_{std::move(handler)}, binding_{handler_, impl.strand()} {
  this->serial = impl.next_serial();
  cancellation_.bind(impl, handler_, this->serial);
}

template <class Handler, class... Results>
void waiter<Handler, Results...>::complete(error_code ec, Results... results) {
  error_ = ec;
  results_ = std::tuple<Results...>{std::move(results)...};
  impl_.queue_completion(*this);
}

template <class Handler, class... Results>
void waiter<Handler, Results...>::deliver() {
  auto handler = std::move(handler_);
  auto executor = binding_.release_work();
  const auto slot = cancellation_.release();
  const auto ec = error_;
  auto results = std::move(results_);
  auto& impl = impl_;
  free_request(this, handler);
  std::apply([&](auto&&... r) { impl.hand_over(std::move(handler), std::move(executor), slot, ec, std::move(r)...); },
             std::move(results));
}

template <class Handler, class... Results>
void waiter<Handler, Results...>::dispose() noexcept {
  if (auto slot = cancellation_.release(); slot.is_connected()) slot.clear();
  auto handler = std::move(handler_);
  free_request(this, handler);
}

// A handler on its way to its own executor: its cancellation slot is cleared there, just before it runs
// (cancellation_binding says why). Asks about its executor, allocator and the rest are the handler's.
template <class Handler>
struct slot_clearing_handler {
  Handler handler;
  asio::cancellation_slot slot;

  template <class... Args>
  void operator()(Args&&... args) {
    if (slot.is_connected()) slot.clear();
    std::move(handler)(std::forward<Args>(args)...);
  }
};

template <class Handler, class Executor, class... Args>
void client_impl::hand_over(Handler handler, Executor executor, asio::cancellation_slot slot, Args&&... args) {
  if constexpr (std::is_same_v<Executor, strand_type>) {
    if (executor == strand_) {
      if (slot.is_connected()) slot.clear();
      std::move(handler)(std::forward<Args>(args)...);
      return;
    }
  } else {
    // A coroutine's handler carries its executor type-erased (any_io_executor); an any_completion_handler
    // converts it again on every query, which allocates, so for those this test costs more than it saves only
    // when the handler turns out to be foreign.
    if (const auto* strand = executor.template target<strand_type>(); strand && *strand == strand_) {
      if (slot.is_connected()) slot.clear();
      std::move(handler)(std::forward<Args>(args)...);  // what dispatch() would do on this strand, minus its cost
      return;
    }
  }
  asio::dispatch(executor, asio::append(slot_clearing_handler<Handler>{std::move(handler), slot},
                                        std::forward<Args>(args)...));
}

// The initiations of the co_* functions and of the async_* templates (client.cpp).
template <class Handler>
void start_publish_request(client_impl& impl, message&& m, Handler handler) {
  auto* op = session_op<publish_op, publish_result, Handler>::make(impl, std::move(handler));
  op->message = std::move(m);
  on_strand(impl, [&impl, op = unstarted{op}]() mutable { impl.start_publish(op.release()); });
}

template <class Handler>
void start_receive_request(client_impl& impl, Handler handler) {
  auto* w = waiter<Handler, message>::make(impl, std::move(handler));
  on_strand(impl, [&impl, w = unstarted{w}]() mutable { impl.start_receive(w.release()); });
}

}  // namespace coromqtt::detail

template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct boost::asio::associator<Associator, coromqtt::detail::slot_clearing_handler<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const coromqtt::detail::slot_clearing_handler<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler);
  }
  static auto get(const coromqtt::detail::slot_clearing_handler<Handler>& h, const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler, c);
  }
};

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

#include "session/ring_buffer.hpp"
#include "session/session.hpp"
#include "session/statistics_counters.hpp"
#include "transport/transport.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace coromqtt::detail {

using strand_type = asio::strand<asio::any_io_executor>;

// Hands a result to a user's completion handler: posted to the handler's executor (the strand by default),
// so it never runs inside the session or the initiating call.
template <class... Args>
void post_completion(const strand_type& strand, asio::any_completion_handler<void(error_code, Args...)> handler,
                     error_code ec, Args... args);

// The cancellation slot of a handler, wired to client_impl::cancel(serial).
class cancellation_binding {
 public:
  template <class Handler>
  void bind(client_impl& impl, Handler& handler, std::uint64_t serial);
  void clear() noexcept {
    if (slot_.is_connected()) slot_.clear();
  }

 private:
  asio::cancellation_slot slot_;
};

// A request the session carries (publish, subscribe, unsubscribe), completed through an Asio handler.
template <class Base, class Result>
class session_op final : public Base {
 public:
  using handler_type = asio::any_completion_handler<void(error_code, Result)>;
  session_op(client_impl& impl, handler_type handler);
  void complete(error_code ec, Result result) override;

 private:
  std::shared_ptr<client_impl> owner_;
  handler_type handler_;
  cancellation_binding cancellation_;
};

using async_publish_op = session_op<publish_op, publish_result>;
using async_subscribe_op = session_op<subscribe_op, subscribe_result>;
using async_unsubscribe_op = session_op<unsubscribe_op, unsubscribe_result>;

// A request the client layer itself holds (receive, next event, flush, connect, disconnect).
template <class... Results>
class waiter final : public op_hook {
 public:
  using handler_type = asio::any_completion_handler<void(error_code, Results...)>;
  waiter(client_impl& impl, handler_type handler);
  void complete(error_code ec, Results... results);

  bool until_acknowledged = false;  // flush only

 private:
  std::shared_ptr<client_impl> owner_;
  handler_type handler_;
  cancellation_binding cancellation_;
};

using receive_waiter = waiter<message>;
using event_waiter = waiter<event>;
using flush_waiter = waiter<>;
using connect_waiter = waiter<connection_info>;
using disconnect_waiter = waiter<>;

class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(asio::any_io_executor executor, client_options options);
  ~client_impl();

  const strand_type& strand() const noexcept { return strand_; }
  const client_options& options() const noexcept { return options_; }
  statistics_counters& counters() noexcept { return stats_; }
  std::uint64_t next_serial() noexcept { return ++serial_; }

  // Control, callable from any thread (they post to the strand).
  void start();
  void reconnect();
  void stop();
  void destroy();  // the client object is gone: abort everything
  void reauthenticate();

  // On the strand: the fast paths of co_publish / co_receive, without a scheduler round trip.
  bool try_publish_now(const message& m, error_code& ec);
  std::optional<message> try_receive();

  // On the strand: the requests (see client.hpp).
  void start_connect(connect_waiter*);
  void start_disconnect(disconnect_options, disconnect_waiter*);
  void start_publish(async_publish_op*);
  void start_subscribe(async_subscribe_op*);
  void start_unsubscribe(async_unsubscribe_op*);
  void start_receive(receive_waiter*);
  void start_flush(flush_waiter*);
  void start_next_event(event_waiter*);
  void cancel(std::uint64_t serial);

 private:
  asio::awaitable<void> run();
  asio::awaitable<error_code> handshake(const endpoint& where, unsigned attempt);
  asio::awaitable<error_code> serve();
  asio::awaitable<void> reader();
  asio::awaitable<void> writer();
  asio::awaitable<void> watchdog();
  // Ends the connection: DISCONNECT if the session asks for one, then the transport's graceful close (after a
  // requested disconnect) or an immediate one.
  asio::awaitable<void> close_connection();
  // Runs `operation`; when `timeout` passes first, closes the transport so that the operation ends whatever
  // the transport's support for cancellation. Returns whether the timeout struck.
  asio::awaitable<bool> bounded(asio::awaitable<void> operation, clock::duration timeout);

  void spawn_run();
  const endpoint& pick_endpoint();
  void after_session_activity();
  void deliver_messages();
  void check_flushed();
  void fail_connection(error_code ec);
  void wake_writer();
  void push_event(event ev);
  connection_info make_connection_info() const;
  void abort_waiters(error_code ec);

  strand_type strand_;
  client_options options_;
  statistics_counters stats_;
  session session_;
  std::vector<endpoint> endpoints_;
  std::size_t endpoint_index_ = 0;
  std::optional<endpoint> redirect_;  // an MQTT 5 Server Reference to try next
  std::unique_ptr<transport> transport_;
  std::uint64_t serial_ = 0;
  std::minstd_rand random_;

  // The run loop
  bool running_ = false;            // run() is alive
  bool paused_ = true;              // no (re)connecting until start() / reconnect()
  bool destroyed_ = false;
  bool reconnect_now_ = false;      // reconnect(): skip the backoff once
  bool disconnect_requested_ = false;
  bool publish_will_on_close_ = false;  // MQTT 3.1.1 way of keeping the will: close without DISCONNECT
  unsigned failures_ = 0;           // consecutive failed attempts
  bool credentials_rejected_ = false;  // the last attempt's CONNACK refused the credentials
  error_code connection_error_;     // what ended the current connection
  asio::steady_timer backoff_timer_;

  // While connected
  asio::steady_timer writer_signal_;    // a timer used as a condition variable: cancel() wakes the writer
  asio::steady_timer input_signal_;     // wakes the reader when the receive queue has room again
  asio::steady_timer watchdog_timer_;
  clock::time_point watchdog_deadline_ = clock::time_point::max();
  bool writer_waiting_ = false;
  bool reader_waiting_ = false;

  // Waiting requests
  op_queue<receive_waiter> receive_waiters_;
  op_queue<event_waiter> event_waiters_;
  op_queue<flush_waiter> flush_waiters_;
  op_queue<connect_waiter> connect_waiters_;
  op_queue<disconnect_waiter> disconnect_waiters_;
  ring_buffer<event> events_;
  std::size_t events_missed_ = 0;
  unsigned reauthentications_seen_ = 0;  // to report re-authentications as events
};

}  // namespace coromqtt::detail

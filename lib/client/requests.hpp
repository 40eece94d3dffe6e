// The requests the client holds for its users, as objects: those the session carries (publish, subscribe,
// unsubscribe) and those of the client layer itself (receive, next event, flush, connect, disconnect), each
// completed exactly once and delivered to its handler from a delivery pass on the client's strand
// (client_impl::queue_completion). The template definitions follow client_impl (client_impl.hpp).
#pragma once

#include "session/operations.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <cstdint>
#include <tuple>
#include <utility>

namespace coromqtt::detail {

class client_impl;

// A finished request waiting to be handed to its handler. The session completes operations while it handles a
// read (one read of 50 PUBACKs completes 50 publishes); client_impl queues them and one handler posted to the
// strand delivers the whole batch, instead of a scheduler round trip for each. Delivery is therefore never
// inside the session nor inside the initiating call.
class pending_completion {
 public:
  pending_completion* next_completion = nullptr;
  // On the strand: hands the stored result to the handler (see client_impl::hand_over) and frees the request.
  virtual void deliver() = 0;
  // Frees the request and its handler without calling it: the client is being destroyed by an io_context that
  // no longer runs (as Asio itself destroys the handlers it still holds at shutdown).
  virtual void discard() = 0;

 protected:
  ~pending_completion() = default;
};

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

// A request the client layer itself holds (receive, next event, flush, connect, disconnect): what its queues see.
template <class... Results>
class request : public op_hook {
 public:
  virtual void complete(error_code ec, Results... results) = 0;
  bool until_acknowledged = false;  // flush only

 protected:
  ~request() = default;
};

using receive_waiter = request<message>;
using event_waiter = request<event>;
using flush_waiter = request<>;
using connect_waiter = request<connection_info>;
using disconnect_waiter = request<>;

// A request the session carries (publish_op, subscribe_op, unsubscribe_op), completed through `Handler`.
// The async_* functions pass an any_completion_handler; the co_* functions their concrete coroutine handler,
// which spares the type erasure and lets delivery see that the handler belongs to the client's strand.
// The client_impl outlives the request: the session completes every request before the client goes
// (abort_all), and the delivery of completions holds the client.
template <class Base, class Result, class Handler>
class session_op final : public Base, private pending_completion {
 public:
  session_op(client_impl& impl, Handler handler);
  void complete(error_code ec, Result result) override;

 private:
  void deliver() override;
  void discard() override { delete this; }

  client_impl& impl_;
  Handler handler_;
  cancellation_binding cancellation_;
  error_code error_;
  Result result_{};
};

// A request of the client layer, completed through `Handler`.
template <class Handler, class... Results>
class waiter final : public request<Results...>, private pending_completion {
 public:
  waiter(client_impl& impl, Handler handler);
  void complete(error_code ec, Results... results) override;

 private:
  void deliver() override;
  void discard() override { delete this; }

  client_impl& impl_;
  Handler handler_;
  cancellation_binding cancellation_;
  error_code error_;
  std::tuple<Results...> results_{};
};

template <class... Results>
using any_handler = asio::any_completion_handler<void(error_code, Results...)>;
using async_publish_op = session_op<publish_op, publish_result, any_handler<publish_result>>;
using async_subscribe_op = session_op<subscribe_op, subscribe_result, any_handler<subscribe_result>>;
using async_unsubscribe_op = session_op<unsubscribe_op, unsubscribe_result, any_handler<unsubscribe_result>>;

// A request between its creation and its start on the strand: owned here, so that one whose start never runs
// (the io_context was stopped and destroyed first) is freed rather than leaked.
template <class Request>
class unstarted {
 public:
  explicit unstarted(Request* request) noexcept : request_{request} {}
  unstarted(unstarted&& other) noexcept : request_{std::exchange(other.request_, nullptr)} {}
  unstarted& operator=(unstarted&&) = delete;
  ~unstarted() { delete request_; }
  Request* release() noexcept { return std::exchange(request_, nullptr); }

 private:
  Request* request_;
};

}  // namespace coromqtt::detail

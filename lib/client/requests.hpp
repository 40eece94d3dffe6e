// The requests the client holds for its users, as objects: those the session carries (publish, subscribe,
// unsubscribe) and those of the client layer itself (receive, next event, flush, connect, disconnect), each
// completed exactly once and delivered to its handler from a delivery pass on the client's strand
// (client_impl::queue_completion). The template definitions follow client_impl (client_impl.hpp).
#pragma once

#include "session/operations.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <memory>
#include <tuple>
#include <type_traits>
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

// The cancellation slot of a handler, wired to client_impl::cancel(serial, type). A slot is not thread-safe:
// it is emitted on the handler's side (its executor), so it is cleared there as well, just before the handler
// runs (client_impl::hand_over), never from the client's strand while another thread may be emitting. A
// cancellation that arrives after completion finds no request with its serial and does nothing.
class cancellation_binding {
 public:
  template <class Handler>
  void bind(client_impl& impl, Handler& handler, std::uint64_t serial);
  asio::cancellation_slot release() noexcept { return std::exchange(slot_, {}); }

 private:
  asio::cancellation_slot slot_;
};

// What a request owes its handler while outstanding, as Asio's own operations do: outstanding work on the
// handler's associated executor (a user's io_context with nothing else to run does not return before the
// handler has run), and the request's memory from the handler's associated allocator (Asio's recycling
// allocator when it names none), freed before the handler is called.
template <class Handler, class DefaultExecutor>
class handler_binding {
 public:
  using executor_type = std::decay_t<decltype(asio::prefer(
      std::declval<asio::associated_executor_t<Handler, DefaultExecutor>>(), asio::execution::outstanding_work.tracked))>;
  using allocator_type = asio::associated_allocator_t<Handler, asio::recycling_allocator<void>>;

  handler_binding(const Handler& handler, const DefaultExecutor& fallback)
      : work_{asio::prefer(asio::get_associated_executor(handler, fallback), asio::execution::outstanding_work.tracked)} {}
  // The tracked executor: the work ends when the binding goes, after the handler was dispatched to it.
  executor_type release_work() noexcept { return std::move(work_); }

  static allocator_type allocator(const Handler& handler) noexcept {
    return asio::get_associated_allocator(handler, asio::recycling_allocator<void>{});
  }

 private:
  executor_type work_;
};

// Makes a request in the memory of its handler's allocator; `args` go to its constructor before the handler.
template <class Request, class Handler, class... Args>
Request* allocate_request(Handler&& handler, Args&&... args) {
  using traits = typename std::allocator_traits<typename Request::allocator_type>::template rebind_traits<Request>;
  typename traits::allocator_type allocator{Request::binding_type::allocator(handler)};
  Request* request = traits::allocate(allocator, 1);
  try {
    traits::construct(allocator, request, std::forward<Args>(args)..., std::forward<Handler>(handler));
  } catch (...) {
    traits::deallocate(allocator, request, 1);
    throw;
  }
  return request;
}

// Destroys and frees a request made by allocate_request. `handler` is its handler, or the one moved out of it.
template <class Request, class Handler>
void free_request(Request* request, const Handler& handler) noexcept {
  using traits = typename std::allocator_traits<typename Request::allocator_type>::template rebind_traits<Request>;
  typename traits::allocator_type allocator{Request::binding_type::allocator(handler)};
  traits::destroy(allocator, request);
  traits::deallocate(allocator, request, 1);
}

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
  using binding_type = handler_binding<Handler, asio::strand<asio::any_io_executor>>;
  using allocator_type = typename binding_type::allocator_type;

  static session_op* make(client_impl& impl, Handler handler) {
    return allocate_request<session_op>(std::move(handler), impl);
  }
  session_op(client_impl& impl, Handler handler);
  void complete(error_code ec, Result result) override;
  // Frees the request and its handler without calling it (a request whose start never ran).
  void dispose() noexcept;

 private:
  void deliver() override;
  void discard() override { dispose(); }

  client_impl& impl_;
  Handler handler_;
  binding_type binding_;
  cancellation_binding cancellation_;
  error_code error_;
  Result result_{};
};

// A request of the client layer, completed through `Handler`.
template <class Handler, class... Results>
class waiter final : public request<Results...>, private pending_completion {
 public:
  using binding_type = handler_binding<Handler, asio::strand<asio::any_io_executor>>;
  using allocator_type = typename binding_type::allocator_type;

  static waiter* make(client_impl& impl, Handler handler) { return allocate_request<waiter>(std::move(handler), impl); }
  waiter(client_impl& impl, Handler handler);
  void complete(error_code ec, Results... results) override;
  void dispose() noexcept;

 private:
  void deliver() override;
  void discard() override { dispose(); }

  client_impl& impl_;
  Handler handler_;
  binding_type binding_;
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
  ~unstarted() {
    if (request_) request_->dispose();
  }
  Request* release() noexcept { return std::exchange(request_, nullptr); }

 private:
  Request* request_;
};

}  // namespace coromqtt::detail

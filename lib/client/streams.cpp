// Subscription streams in the client: the subscription_stream object, its operations, and their waiting
// receivers. The streams' queues and the routing of messages are the session's (lib/session/streams.cpp).
#include "client/client_impl.hpp"

#include <coromqtt/client.hpp>
#include <coromqtt/subscription_stream.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace coromqtt {
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

namespace detail {

struct stream_access {
  static subscription_stream make(client_impl& impl, std::uint64_t key, std::vector<subscription> subscriptions,
                                  subscribe_result result) {
    subscription_stream s;
    s.ref_ = {impl.weak_from_this(), impl.strand(), key};
    s.subscriptions_ = std::move(subscriptions);
    s.result_ = std::move(result);
    return s;
  }
};

namespace {

// Completes `handler` with `ec` when there is no stream or no client to ask: posted to its executor (the
// client's strand, or the system executor once nothing else is known), never inside the initiating call.
template <class... Results>
void complete_without_client(const stream_ref& ref, any_handler<Results...> handler, error_code ec) {
  const asio::any_io_executor fallback =
      ref.strand ? asio::any_io_executor{*ref.strand} : asio::any_io_executor{asio::system_executor{}};
  asio::post(fallback, asio::append(std::move(handler), ec, Results{}...));  // ends on the handler's executor
}

// The SUBSCRIBE of a stream: on completion it makes the subscription_stream handed to the user.
class stream_subscribe_op final : public subscribe_op, private pending_completion {
 public:
  using handler_type = any_handler<subscription_stream>;
  using binding_type = handler_binding<handler_type, strand_type>;
  using allocator_type = binding_type::allocator_type;

  stream_subscribe_op(client_impl& impl, std::vector<subscription> subs, handler_type handler)
      : impl_{impl}, handler_{std::move(handler)}, binding_{handler_, impl.strand()}, subscriptions_{std::move(subs)} {
    serial = impl.next_serial();
    cancellation_.bind(impl, handler_, serial);
  }

  std::uint64_t key = 0;  // the session's stream, from start_subscribe_stream

  void complete(error_code ec, subscribe_result result) override {
    error_ = ec;
    // On failure the session has already let the stream go: the object only carries the broker's answer.
    stream_ = stream_access::make(impl_, ec ? 0 : key, std::move(subscriptions_), std::move(result));
    impl_.queue_completion(*this);
  }

  void dispose() noexcept {
    if (auto slot = cancellation_.release(); slot.is_connected()) slot.clear();
    auto handler = std::move(handler_);
    free_request(this, handler);
  }

 private:
  void deliver() override {
    auto handler = std::move(handler_);
    auto executor = binding_.release_work();
    const auto slot = cancellation_.release();
    const auto ec = error_;
    auto stream = std::move(stream_);
    auto& impl = impl_;
    free_request(this, handler);
    impl.hand_over(std::move(handler), std::move(executor), slot, ec, std::move(stream));
  }
  void discard() override { dispose(); }

  client_impl& impl_;
  handler_type handler_;
  binding_type binding_;
  cancellation_binding cancellation_;
  std::vector<subscription> subscriptions_;
  error_code error_;
  subscription_stream stream_;
};

}  // namespace

void initiate_subscribe_stream(client_impl& impl, std::vector<subscription> subscriptions,
                               subscribe_properties properties, stream_options options,
                               asio::any_completion_handler<void(error_code, subscription_stream)> handler) {
  auto* op = allocate_request<stream_subscribe_op>(std::move(handler), impl, subscriptions);
  op->request.subscriptions = std::move(subscriptions);
  op->request.subscription_identifier = properties.subscription_identifier;
  op->request.user_properties = std::move(properties.user_properties);
  on_strand(impl, [&impl, op = unstarted{op}, capacity = options.capacity]() mutable {
    auto* started = op.release();
    impl.start_subscribe_stream(started, started->key, capacity);
  });
}

void initiate_stream_receive(const stream_ref& ref, asio::any_completion_handler<void(error_code, message)> handler) {
  auto impl = ref.impl.lock();
  if (ref.key == 0 || !impl)
    return complete_without_client<message>(ref, std::move(handler),
                                            ref.key == 0 ? make_error_code(error::invalid_argument)
                                                         : error_code{asio::error::operation_aborted});
  auto* w = waiter<any_handler<message>, message>::make(*impl, std::move(handler));
  on_strand(*impl, [&impl = *impl, key = ref.key, w = unstarted{w}]() mutable {
    impl.start_stream_receive(key, w.release());
  });
}

void initiate_stream_unsubscribe(const stream_ref& ref,
                                 asio::any_completion_handler<void(error_code, unsubscribe_result)> handler) {
  auto impl = ref.impl.lock();
  if (ref.key == 0 || !impl)
    return complete_without_client<unsubscribe_result>(ref, std::move(handler),
                                                       ref.key == 0 ? make_error_code(error::invalid_argument)
                                                                    : error_code{asio::error::operation_aborted});
  auto* op = async_unsubscribe_op::make(*impl, std::move(handler));
  on_strand(*impl, [&impl = *impl, key = ref.key, op = unstarted{op}]() mutable {
    impl.start_stream_unsubscribe(key, op.release());
  });
}

// --- On the strand -------------------------------------------------------------------------------------------------

void client_impl::start_subscribe_stream(subscribe_op* op, std::uint64_t& key, std::size_t capacity) {
  if (life_.destroyed()) return op->complete(asio::error::operation_aborted, {});
  key = session_.open_stream(capacity ? capacity : options_.receive_queue_capacity);
  op->request.stream = key;
  session_.subscribe(*op, clock::now());
  after_session_activity();
}

std::optional<message> client_impl::try_stream_receive(std::uint64_t key) {
  if (life_.destroyed() || stream_waiters_.count(key) || !session_.stream_has_message(key)) return std::nullopt;
  auto m = session_.pop_stream_message(key);
  wake_reader();
  return m;
}

void client_impl::start_stream_receive(std::uint64_t key, receive_waiter* w) {
  if (life_.destroyed()) return w->complete(asio::error::operation_aborted, {});
  if (auto m = try_stream_receive(key)) return w->complete({}, std::move(*m));
  switch (session_.stream_state(key)) {
    case session::stream_status::gone: return w->complete(asio::error::operation_aborted, {});
    case session::stream_status::closed:
      if (!stream_waiters_.count(key)) return w->complete(make_error_code(error::stream_closed), {});
      break;
    case session::stream_status::open: break;
  }
  if (life_.stopped()) return w->complete(make_error_code(error::client_stopped), {});  // as co_receive
  stream_waiters_[key].push_back(w);
}

void client_impl::serve_stream(std::uint64_t key) {
  const auto it = stream_waiters_.find(key);
  if (it == stream_waiters_.end()) return;
  auto& waiters = it->second;
  bool popped = false;
  while (!waiters.empty() && session_.stream_has_message(key)) {
    waiters.pop_front()->complete({}, session_.pop_stream_message(key));
    popped = true;
  }
  if (!waiters.empty()) {
    const auto state = session_.stream_state(key);
    if (state != session::stream_status::open) {
      const error_code ec = state == session::stream_status::closed ? make_error_code(error::stream_closed)
                                                                    : error_code{asio::error::operation_aborted};
      while (auto* w = waiters.pop_front()) w->complete(ec, {});
    }
  }
  if (waiters.empty()) stream_waiters_.erase(it);
  if (popped) wake_reader();
}

void client_impl::start_stream_unsubscribe(std::uint64_t key, unsubscribe_op* op) {
  if (life_.destroyed() || session_.stream_state(key) == session::stream_status::gone)
    return op->complete(asio::error::operation_aborted, {});
  session_.close_stream(key, op, clock::now());
  serve_stream(key);  // receivers waiting on an empty stream learn that it ended
  after_session_activity();
}

void client_impl::destroy_stream(std::uint64_t key) {
  on_strand(*this, [this, key] {
    if (life_.destroyed()) return;
    session_.destroy_stream(key, clock::now());
    serve_stream(key);  // waiting receivers: operation_aborted
    wake_reader();      // what the stream held no longer blocks input
    after_session_activity();
  });
}

}  // namespace detail

// --- subscription_stream ---------------------------------------------------------------------------------------------

subscription_stream::subscription_stream(subscription_stream&& other) noexcept
    : ref_{std::exchange(other.ref_, {})},
      subscriptions_{std::move(other.subscriptions_)},
      result_{std::move(other.result_)} {}

subscription_stream& subscription_stream::operator=(subscription_stream&& other) noexcept {
  if (this != &other) {
    if (auto impl = ref_.impl.lock(); impl && ref_.key) impl->destroy_stream(ref_.key);
    ref_ = std::exchange(other.ref_, {});
    subscriptions_ = std::move(other.subscriptions_);
    result_ = std::move(other.result_);
  }
  return *this;
}

subscription_stream::~subscription_stream() {
  if (ref_.key == 0) return;
  if (auto impl = ref_.impl.lock()) impl->destroy_stream(ref_.key);
}

asio::awaitable<message> subscription_stream::co_receive() const {
  // The fast path of client::co_receive: on the strand with a message waiting, no operation at all.
  if (auto impl = ref_.impl.lock(); impl && ref_.key && impl->strand().running_in_this_thread()) {
    if (auto m = impl->try_stream_receive(ref_.key)) co_return std::move(*m);
  }
  auto [ec, m] = co_await async_receive(use_tuple);
  if (ec) throw mqtt_error(ec);
  co_return std::move(m);
}

asio::awaitable<unsubscribe_result> subscription_stream::co_unsubscribe() const {
  auto [ec, result] = co_await async_unsubscribe(use_tuple);
  if (ec) throw mqtt_error(ec, reason_code::success, result.reason_string);
  co_return std::move(result);
}

namespace {
// Receives one message after the other for the callback form, until the stream ends.
struct stream_consumer : std::enable_shared_from_this<stream_consumer> {
  detail::stream_ref ref;
  std::function<void(message)> on_message;
  std::function<void(error_code)> on_end;

  void next() {
    detail::initiate_stream_receive(ref, [self = shared_from_this()](error_code ec, message m) {
      if (ec) {
        if (self->on_end) self->on_end(ec);
        return;
      }
      self->on_message(std::move(m));
      self->next();
    });
  }
};
}  // namespace

void subscription_stream::consume(std::function<void(message)> on_message,
                                  std::function<void(error_code)> on_end) const {
  auto consumer = std::make_shared<stream_consumer>();
  consumer->ref = ref_;
  consumer->on_message = std::move(on_message);
  consumer->on_end = std::move(on_end);
  consumer->next();
}

// --- client ------------------------------------------------------------------------------------------------------

asio::awaitable<subscription_stream> client::co_subscribe_stream(subscription_list subscriptions,
                                                                 subscribe_properties properties,
                                                                 stream_options options) {
  auto [ec, stream] = co_await async_subscribe_stream(std::move(subscriptions), std::move(properties), options,
                                                      use_tuple);
  if (ec) {
    const auto& reasons = stream.result().reasons;
    const auto refused =
        std::find_if(reasons.begin(), reasons.end(), [](reason_code rc) { return protocol::is_error(rc); });
    throw mqtt_error(ec, refused != reasons.end() ? *refused : reason_code::success, stream.result().reason_string);
  }
  co_return std::move(stream);
}

// A plain function, not a coroutine: the arguments are built outside any co_await expression.
asio::awaitable<subscription_stream> client::co_subscribe_stream(std::string filter, qos max_qos) {
  return co_subscribe_stream(subscription_list{subscription{std::move(filter), max_qos}}, subscribe_properties{},
                             stream_options{});
}

}  // namespace coromqtt

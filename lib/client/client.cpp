// The public client: forwards onto client_impl on its strand, and the co_* convenience coroutines.
#include "client/client_impl.hpp"
#include "protocol/reason_table.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace coromqtt {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string describe(error_code ec, reason_code reason, const std::string& reason_string) {
  std::string what = ec.message();
  if (reason != reason_code::success) {
    what += " (";
    what += protocol::to_string(reason);
    if (!reason_string.empty()) {
      what += ": ";
      what += reason_string;
    }
    what += ")";
  }
  return what;
}

}  // namespace

mqtt_error::mqtt_error(error_code ec, reason_code reason, std::string reason_string, std::string diagnostic)
    : boost::system::system_error{ec},
      reason_{reason},
      reason_string_{std::move(reason_string)},
      diagnostic_{std::move(diagnostic)},
      what_{describe(ec, reason_, reason_string_)} {
  if (!diagnostic_.empty()) what_ += " -- " + diagnostic_;
}

client::client(asio::any_io_executor executor, client_options options)
    : impl_{std::make_shared<detail::client_impl>(std::move(executor), std::move(options))} {}

client::~client() {
  if (impl_) impl_->destroy();
}

client::client(client&&) noexcept = default;

client& client::operator=(client&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->destroy();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

client::executor_type client::get_executor() const noexcept { return impl_->strand(); }
const client_options& client::options() const noexcept { return impl_->options(); }

void client::start() { impl_->start(); }
void client::reconnect() { impl_->reconnect(); }
void client::stop() { impl_->stop(); }
void client::reauthenticate() { impl_->reauthenticate(); }

coromqtt::statistics client::statistics() const noexcept { return impl_->counters().snapshot(); }

error_code client::acknowledge(const message& m, reason_code reason) {
  if (!impl_->options().manual_acknowledgement) return make_error_code(error::invalid_argument);
  if (!protocol::detail::reason_allowed(reason, protocol::packet_type::puback))  // PUBREC's codes are the same
    return make_error_code(error::invalid_argument);
  if (m.acknowledgement_id != 0) impl_->acknowledge(m.acknowledgement_id, reason);
  return {};
}

// --- Initiation: make the operation, then continue on the strand ----------------------------------------------------

namespace detail {
void initiate_connect(client_impl& impl, asio::any_completion_handler<void(error_code, connection_info)> handler) {
  auto* w = waiter<any_handler<connection_info>, connection_info>::make(impl, std::move(handler));
  on_strand(impl, [&impl, w = unstarted{w}]() mutable { impl.start_connect(w.release()); });
}

void initiate_disconnect(client_impl& impl, disconnect_options options,
                         asio::any_completion_handler<void(error_code)> handler) {
  auto* w = waiter<any_handler<>>::make(impl, std::move(handler));
  on_strand(impl, [&impl, w = unstarted{w}, o = std::move(options)]() mutable {
    impl.start_disconnect(std::move(o), w.release());
  });
}

void initiate_publish(client_impl& impl, message m,
                      asio::any_completion_handler<void(error_code, publish_result)> handler) {
  start_publish_request(impl, std::move(m), std::move(handler));
}

void initiate_publish_stored(client_impl& impl, message m,
                             asio::any_completion_handler<void(error_code, publish_result)> handler) {
  auto* op = async_publish_op::make(impl, std::move(handler));
  op->message = std::move(m);
  op->complete_when_stored = true;
  on_strand(impl, [&impl, op = unstarted{op}]() mutable { impl.start_publish(op.release()); });
}

void initiate_subscribe(client_impl& impl, std::vector<subscription> subscriptions, subscribe_properties properties,
                        asio::any_completion_handler<void(error_code, subscribe_result)> handler) {
  auto* op = async_subscribe_op::make(impl, std::move(handler));
  op->request.subscriptions = std::move(subscriptions);
  op->request.subscription_identifier = properties.subscription_identifier;
  op->request.user_properties = std::move(properties.user_properties);
  on_strand(impl, [&impl, op = unstarted{op}]() mutable { impl.start_subscribe(op.release()); });
}

void initiate_unsubscribe(client_impl& impl, std::vector<std::string> filters, user_properties properties,
                          asio::any_completion_handler<void(error_code, unsubscribe_result)> handler) {
  auto* op = async_unsubscribe_op::make(impl, std::move(handler));
  op->request.filters = std::move(filters);
  op->request.user_properties = std::move(properties);
  on_strand(impl, [&impl, op = unstarted{op}]() mutable { impl.start_unsubscribe(op.release()); });
}

void initiate_receive(client_impl& impl, asio::any_completion_handler<void(error_code, message)> handler) {
  start_receive_request(impl, std::move(handler));
}

void initiate_request(client_impl& impl, message request, std::chrono::steady_clock::duration timeout,
                      asio::any_completion_handler<void(error_code, message)> handler) {
  auto* w = waiter<any_handler<message>, message>::make(impl, std::move(handler));
  on_strand(impl, [&impl, w = unstarted{w}, m = std::move(request), timeout]() mutable {
    impl.start_request(w.release(), std::move(m), timeout);
  });
}

void initiate_flush(client_impl& impl, bool until_acknowledged, asio::any_completion_handler<void(error_code)> handler) {
  auto* w = waiter<any_handler<>>::make(impl, std::move(handler));
  w->until_acknowledged = until_acknowledged;
  on_strand(impl, [&impl, w = unstarted{w}]() mutable { impl.start_flush(w.release()); });
}

void initiate_next_event(client_impl& impl, asio::any_completion_handler<void(error_code, event)> handler) {
  auto* w = waiter<any_handler<event>, event>::make(impl, std::move(handler));
  on_strand(impl, [&impl, w = unstarted{w}]() mutable { impl.start_next_event(w.release()); });
}

}  // namespace detail

// --- Coroutine forms -------------------------------------------------------------------------------------------------

asio::awaitable<connection_info> client::co_connect() {
  auto [ec, info] = co_await async_connect(use_tuple);
  if (ec) throw mqtt_error(ec, info.reason, info.reason_string, info.diagnostic);
  co_return info;
}

// A plain function, not a coroutine: the options are built here, outside any co_await expression.
asio::awaitable<void> client::co_disconnect() { return co_disconnect(disconnect_options{}); }

asio::awaitable<void> client::co_disconnect(disconnect_options options) {
  auto [ec] = co_await async_disconnect(std::move(options), use_tuple);
  if (ec) throw mqtt_error(ec);
}

asio::awaitable<publish_result> client::co_publish(message m) {
  // The fast path: on the strand, a QoS 0 message that fits goes straight into the write buffer, with no
  // operation object and no scheduler round trip.
  if (m.qos == qos::at_most_once && impl_->strand().running_in_this_thread()) {
    error_code ec;
    if (impl_->try_publish_now(m, ec)) {
      if (ec) throw mqtt_error(ec);
      co_return publish_result{};
    }
  }
  // As async_publish, but with this coroutine's own handler type instead of an any_completion_handler: no
  // type erasure to allocate, and delivery sees at once whether the coroutine runs on the client's strand.
  // (The initiation is a named local: g++ 12 mishandles temporaries built inside a co_await expression.)
  // The message goes straight from this frame into the request: the initiation runs while this frame waits.
  auto* impl = impl_.get();
  auto initiation = [impl, &m](auto handler) {
    detail::start_publish_request(*impl, std::move(m), std::move(handler));
  };
  auto [ec, result] =
      co_await asio::async_initiate<decltype(use_tuple), void(error_code, publish_result)>(initiation, use_tuple);
  if (ec) throw mqtt_error(ec, result.reason, result.reason_string);
  co_return result;
}

asio::awaitable<publish_result> client::co_publish(std::string topic, std::string payload, qos q, bool retain) {
  return co_publish(message{std::move(topic), std::move(payload), q, retain});
}

asio::awaitable<void> client::co_publish_stored(message m) {
  auto [ec, result] = co_await async_publish_stored(std::move(m), use_tuple);
  if (ec) throw mqtt_error(ec, result.reason, result.reason_string);
}

asio::awaitable<void> client::co_flush(bool until_acknowledged) {
  auto [ec] = co_await async_flush(until_acknowledged, use_tuple);
  if (ec) throw mqtt_error(ec);
}

// A plain function, not a coroutine, for the reason given at co_disconnect().
asio::awaitable<subscribe_result> client::co_subscribe(subscription_list subscriptions) {
  return co_subscribe(std::move(subscriptions), subscribe_properties{});
}

asio::awaitable<subscribe_result> client::co_subscribe(subscription_list subscriptions,
                                                       subscribe_properties properties) {
  auto [ec, result] = co_await async_subscribe(std::move(subscriptions), std::move(properties), use_tuple);
  if (ec) {
    const auto refused = std::find_if(result.reasons.begin(), result.reasons.end(),
                                      [](reason_code rc) { return protocol::is_error(rc); });
    throw mqtt_error(ec, refused != result.reasons.end() ? *refused : reason_code::success, result.reason_string);
  }
  co_return result;
}

asio::awaitable<subscribe_result> client::co_subscribe(std::string filter, qos max_qos) {
  return co_subscribe(subscription_list{subscription{std::move(filter), max_qos}}, subscribe_properties{});
}

asio::awaitable<unsubscribe_result> client::co_unsubscribe(filter_list filters) {
  auto [ec, result] = co_await async_unsubscribe(std::move(filters), use_tuple);
  if (ec) throw mqtt_error(ec, reason_code::success, result.reason_string);
  co_return result;
}

asio::awaitable<message> client::co_receive() {
  if (impl_->strand().running_in_this_thread()) {
    if (auto m = impl_->try_receive()) co_return std::move(*m);
  }
  auto* impl = impl_.get();
  auto initiation = [impl](auto handler) { detail::start_receive_request(*impl, std::move(handler)); };
  auto [ec, m] = co_await asio::async_initiate<decltype(use_tuple), void(error_code, message)>(initiation, use_tuple);
  if (ec) throw mqtt_error(ec);
  co_return std::move(m);
}

asio::awaitable<message> client::co_request(message request, std::chrono::steady_clock::duration timeout) {
  auto [ec, response] = co_await async_request(std::move(request), timeout, use_tuple);
  if (ec) throw mqtt_error(ec);
  co_return std::move(response);
}

asio::awaitable<message> client::co_request(std::string topic, std::string payload,
                                            std::chrono::steady_clock::duration timeout) {
  message request;
  request.topic = std::move(topic);
  request.payload = std::move(payload);
  co_return co_await co_request(std::move(request), timeout);
}

asio::awaitable<event> client::co_next_event() {
  auto [ec, ev] = co_await async_next_event(use_tuple);
  if (ec) throw mqtt_error(ec);
  co_return std::move(ev);
}

}  // namespace coromqtt

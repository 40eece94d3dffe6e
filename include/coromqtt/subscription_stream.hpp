// coromqtt::subscription_stream: the messages of some subscriptions, in a bounded queue of their own, so that
// different parts of a program consume their own topics. Made by client::co_subscribe_stream() /
// async_subscribe_stream().
//
//   auto temperatures = co_await client.co_subscribe_stream("sensors/+/temperature", qos::at_least_once);
//   auto alarms = co_await client.co_subscribe_stream("alarms/#", qos::exactly_once);
//   auto m = co_await temperatures.co_receive();     // only what "sensors/+/temperature" matched
//
// Where messages go: to every stream whose subscription matched (a message matching several streams goes to
// each), and to client::co_receive() when it matched no stream (or also a plain co_subscribe() one). With
// MQTT 5 and a broker that supports Subscription Identifiers, the client gives each stream's SUBSCRIBE an
// identifier of its own and routes by the identifiers the broker names; otherwise (MQTT 3.1.1, or no
// identifiers) by matching the topic against the streams' filters, as the broker does ('$' topics and
// "$share/{group}/{filter}" included). A filter is one subscription at the broker: subscribing it again (in
// another stream, or with co_subscribe) replaces it, and its messages go where the last SUBSCRIBE said, except
// that several streams subscribing the same filter all receive it.
//
// Backpressure: a stream holds at most stream_options::capacity messages; while one is full the client stops
// reading from the socket, as for a full receive queue, so a stream nobody reads holds the whole connection
// up. Nothing is dropped.
//
// Lifetime: the object owns the stream. co_unsubscribe() ends it (the messages already queued can still be
// received, then receiving fails with error::stream_closed); destroying the object unsubscribes and drops
// what it still holds (with manual acknowledgement, those messages are acknowledged so that they do not hold
// up the acknowledgements behind them). Filters that another stream still receives stay subscribed. The
// subscriptions are restored, with their identifiers, when the broker loses the session. The object does not
// keep the client alive: once the client is destroyed its operations fail with operation_aborted.
//
// Threads: like the client, every function may be called from any thread; the work hops onto the client's
// strand, and handlers run on their associated executor (the client's strand when they have none), never
// inside the initiating call. Moving the object moves the stream; a moved-from or default-constructed object
// holds none (valid() is false) and its operations fail with invalid_argument.
#pragma once

#include <coromqtt/error.hpp>
#include <coromqtt/message.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/strand.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace coromqtt {

namespace asio = boost::asio;

struct stream_options {
  // Messages the stream holds before the client stops reading; 0 = client_options::receive_queue_capacity.
  std::size_t capacity = 0;
};

class subscription_stream;

namespace detail {
class client_impl;
struct stream_access;
// What an operation needs to find its stream; copied into each initiation (a deferred operation may start
// after the object moved).
struct stream_ref {
  std::weak_ptr<client_impl> impl;
  std::optional<asio::strand<asio::any_io_executor>> strand;  // the client's, for completions once it is gone
  std::uint64_t key = 0;                                      // 0: no stream
};
void initiate_stream_receive(const stream_ref&, asio::any_completion_handler<void(error_code, message)>);
void initiate_stream_unsubscribe(const stream_ref&,
                                 asio::any_completion_handler<void(error_code, unsubscribe_result)>);
}  // namespace detail

class subscription_stream {
 public:
  subscription_stream() = default;
  subscription_stream(subscription_stream&& other) noexcept;
  subscription_stream& operator=(subscription_stream&& other) noexcept;
  // Unsubscribes (in the background) and drops what the stream still holds; see above.
  ~subscription_stream();

  // Whether this object holds a stream (it was granted, and not moved from).
  bool valid() const noexcept { return ref_.key != 0; }
  // What was subscribed, and the broker's answer per filter (also when it refused: then valid() is false).
  const std::vector<subscription>& subscriptions() const noexcept { return subscriptions_; }
  const subscribe_result& result() const noexcept { return result_; }

  // The next message of this stream, in order of arrival.
  // Handler: void(error_code, message). Completes when a message is there (at once if one is queued).
  // Errors: error::stream_closed (unsubscribed and nothing left), error::client_stopped (the client stopped
  // with nothing left, as client::async_receive), operation_aborted (cancelled, the object destroyed, or the
  // client destroyed), invalid_argument (valid() is false).
  // Cancellation (terminal, partial, total): a waiting receive is withdrawn and completes with
  // operation_aborted; no message is lost.
  template <asio::completion_token_for<void(error_code, message)> Token = asio::deferred_t>
  auto async_receive(Token&& token = {}) const {
    return asio::async_initiate<Token, void(error_code, message)>(
        [ref = ref_](auto handler) { detail::initiate_stream_receive(ref, std::move(handler)); }, token);
  }
  // As async_receive; throws mqtt_error.
  asio::awaitable<message> co_receive() const;

  // Ends the stream: nothing new reaches it (what is queued can still be received), and UNSUBSCRIBE goes out
  // for its filters that no other stream receives.
  // Handler: void(error_code, unsubscribe_result), on UNSUBACK with one reason code per filter the broker was
  // asked to remove (none, and at once, when every filter is still another stream's). Errors:
  // invalid_argument (valid() is false), operation_aborted (cancelled, or the client destroyed).
  // Cancellation: the stream is closed at once either way; a cancelled call completes with operation_aborted
  // and its UNSUBSCRIBE still goes out.
  template <asio::completion_token_for<void(error_code, unsubscribe_result)> Token = asio::deferred_t>
  auto async_unsubscribe(Token&& token = {}) const {
    return asio::async_initiate<Token, void(error_code, unsubscribe_result)>(
        [ref = ref_](auto handler) { detail::initiate_stream_unsubscribe(ref, std::move(handler)); }, token);
  }
  asio::awaitable<unsubscribe_result> co_unsubscribe() const;

  // The callback form, for code that is not coroutine-based: `on_message` is called for each message, one at
  // a time, on the client's strand (a slow callback is backpressure like a slow co_receive). When the stream
  // ends, `on_end` (if given) is called once with the reason: error::stream_closed after co_unsubscribe() and
  // the last message, operation_aborted when the object or the client is destroyed. Keep the object alive as
  // long as messages should come. Do not mix with async_receive on the same stream. If a callback throws, the
  // exception leaves io_context::run() and no further message is delivered to this stream.
  void consume(std::function<void(message)> on_message, std::function<void(error_code)> on_end = {}) const;

 private:
  friend struct detail::stream_access;
  detail::stream_ref ref_;
  std::vector<subscription> subscriptions_;
  subscribe_result result_;
};

}  // namespace coromqtt

// coromqtt::client: one MQTT connection, kept up in the background by one coroutine on the client's strand.
//
// Every request comes in two forms:
//   co_publish(...)       an awaitable for your coroutines; throws coromqtt::mqtt_error on failure;
//   async_publish(..., t) takes any Asio completion token (callbacks, use_future, deferred,
//                         as_tuple(use_awaitable), ...) and never throws: errors arrive as error_code.
// Both may be called from any thread; the work hops onto the client's strand. Completion handlers run on
// their associated executor (the client's strand when they have none), never inside the initiating call.
//
// The completion token defaults to asio::deferred, so `co_await client.async_publish(m)` works in an
// asio::awaitable coroutine and `client.async_publish(m)(handler)` anywhere.
//
// Each async_* function below documents its handler, when it completes, every error it can produce, and
// cancellation. Cancellation is through Asio's cancellation slots (emit on the handler's executor, as Asio
// requires; the client's strand may be another thread), with Asio's meanings:
//   total     no side effects: a request not yet written to the broker is withdrawn (operation_aborted); one
//             already written, or a message already in the store, is not touched and completes as usual;
//   terminal, partial   abandon: a request not yet written is withdrawn; one already written completes its
//             protocol flow in the background, and the handler gets operation_aborted at once.
// Requests that only wait (connect, disconnect, receive, next event, flush) stop waiting on any of the three.
// An outstanding request keeps work on its handler's associated executor (that io_context does not run out
// of work before the handler has run) and takes its memory from the handler's associated allocator.
//
// Every parameter may be built in braces inside the co_await expression (`co_publish({"t", "p"})`,
// `co_subscribe({{"a/#", qos::at_least_once}})`, `co_unsubscribe({"a/#", "b/#"})`): the types have
// constructors, because g++ 12 destroys braced aggregate temporaries inside co_await twice (docs/guide.md,
// "Call shapes").
#pragma once

#include <coromqtt/error.hpp>
#include <coromqtt/events.hpp>
#include <coromqtt/message.hpp>
#include <coromqtt/options.hpp>
#include <coromqtt/request_response.hpp>
#include <coromqtt/statistics.hpp>
#include <coromqtt/subscription_stream.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace coromqtt {

namespace asio = boost::asio;

// The exception of the co_* functions: the error_code, plus the broker's reason code and reason string when
// the broker gave them.
class mqtt_error : public boost::system::system_error {
 public:
  mqtt_error(error_code ec, reason_code reason = reason_code::success, std::string reason_string = {},
             std::string diagnostic = {});
  coromqtt::reason_code reason() const noexcept { return reason_; }
  const std::string& reason_string() const noexcept { return reason_string_; }
  // What the layer underneath said about a failed connection attempt (see event::diagnostic); often empty.
  const std::string& diagnostic() const noexcept { return diagnostic_; }
  // "the broker refused the connection (Not authorized: ...)": the error's message and the broker's reason,
  // then the diagnostic after " -- " when there is one.
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  coromqtt::reason_code reason_;
  std::string reason_string_;
  std::string diagnostic_;
  std::string what_;
};

struct disconnect_options {
  disconnect_options() = default;
  disconnect_options(reason_code code, bool keep_will = false, std::optional<std::uint32_t> session_expiry = {},
                     std::string reason_text = {}, coromqtt::user_properties properties = {})
      : reason(code),
        publish_will(keep_will),
        session_expiry_interval(session_expiry),
        reason_string(std::move(reason_text)),
        user_properties(std::move(properties)) {}

  reason_code reason = reason_code::success;  // MQTT 5 only
  // Keep the will: MQTT 5 sends reason 0x04 (Disconnect with Will Message); MQTT 3.1.1 closes the connection
  // without DISCONNECT, the only way to have the broker publish the will there.
  bool publish_will = false;
  std::optional<std::uint32_t> session_expiry_interval;  // MQTT 5: change the session expiry on the way out
  std::string reason_string;                             // MQTT 5: for the broker's logs
  coromqtt::user_properties user_properties;             // MQTT 5
};

// MQTT 5 SUBSCRIBE extras.
struct subscribe_properties {
  subscribe_properties() = default;
  subscribe_properties(std::optional<std::uint32_t> identifier, coromqtt::user_properties properties = {})
      : subscription_identifier(identifier), user_properties(std::move(properties)) {}

  std::optional<std::uint32_t> subscription_identifier;  // 1..268,435,455, echoed in matching messages
  coromqtt::user_properties user_properties;
};

namespace detail {
class client_impl;
// The initiating functions behind the async_* templates; compiled in the library.
void initiate_connect(client_impl&, asio::any_completion_handler<void(error_code, connection_info)>);
void initiate_disconnect(client_impl&, disconnect_options, asio::any_completion_handler<void(error_code)>);
void initiate_publish(client_impl&, message, asio::any_completion_handler<void(error_code, publish_result)>);
void initiate_publish_stored(client_impl&, message, asio::any_completion_handler<void(error_code, publish_result)>);
void initiate_subscribe(client_impl&, std::vector<subscription>, subscribe_properties,
                        asio::any_completion_handler<void(error_code, subscribe_result)>);
void initiate_unsubscribe(client_impl&, std::vector<std::string>, user_properties,
                          asio::any_completion_handler<void(error_code, unsubscribe_result)>);
void initiate_receive(client_impl&, asio::any_completion_handler<void(error_code, message)>);
void initiate_request(client_impl&, message, std::chrono::steady_clock::duration,
                      asio::any_completion_handler<void(error_code, message)>);
void initiate_subscribe_stream(client_impl&, std::vector<subscription>, subscribe_properties, stream_options,
                               asio::any_completion_handler<void(error_code, subscription_stream)>);
void initiate_flush(client_impl&, bool until_acknowledged, asio::any_completion_handler<void(error_code)>);
void initiate_next_event(client_impl&, asio::any_completion_handler<void(error_code, event)>);
}  // namespace detail

class client {
 public:
  using executor_type = asio::strand<asio::any_io_executor>;

  // The client runs on a strand of `executor` (or on `executor` itself when it already is such a strand), so
  // a multi-threaded io_context is fine. Throws mqtt_error(error::invalid_url) for an unusable broker URL.
  client(asio::any_io_executor executor, client_options options);
  template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
  client(ExecutionContext& context, client_options options)
      : client(asio::any_io_executor{context.get_executor()}, std::move(options)) {}

  // Closes the connection at once and stops, whatever step a connection attempt is in (resolve, TCP connect,
  // TLS or WebSocket handshake, CONNACK, the backoff): nothing waits for a timeout. Every pending request
  // completes with operation_aborted; a co_next_event already waiting receives the last events (connect_failed
  // or disconnected, then stopped) first.
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;

  // The client's strand. Coroutines spawned on it publish without any scheduler round trip when there is room.
  executor_type get_executor() const noexcept;
  const client_options& options() const noexcept;

  // Starts connecting in the background (idempotent); the reconnect policy takes over from there.
  void start();
  // Drops the current connection, if any, and connects again at once, skipping any backoff delay. Also
  // restarts a client that stopped (the policy gave up or disconnect() was called). A connection is handed
  // over with DISCONNECT (the session and the will kept); an attempt in progress (resolve, TCP connect, TLS or
  // WebSocket handshake, CONNACK) ends at once, reported as connect_failed with operation_aborted, counts as no
  // failure, and a waiting co_connect waits for the next attempt.
  void reconnect();
  // Closes at once, without DISCONNECT, and stops reconnecting: a connection attempt in progress ends in
  // whatever step it is (resolve, TCP connect, TLS or WebSocket handshake, CONNACK, the backoff), without
  // waiting for its timeout. The attempt or connection is reported as connect_failed or disconnected with
  // error::client_stopped, then `stopped` (error::client_stopped). Once stopped:
  //  - co_connect waiting for the attempt fails with error::client_stopped;
  //  - co_receive (and a subscription stream's co_receive) fails with error::client_stopped once no received
  //    message is left, at once for a call made while stopped; co_next_event likewise once the queued events
  //    (`stopped` the last) are read. Nothing else would complete them, and their coroutines would keep
  //    io_context::run() from returning;
  //  - publishes, subscribes, unsubscribes, co_flush and co_request stay queued for a later start() or
  //    reconnect() (QoS 1/2 messages keep their place in the session); destroy the client to abandon them
  //    (operation_aborted), and co_request ends at its own timeout.
  void stop();

  // MQTT 5 enhanced authentication: starts a re-authentication with options().authenticator on the live
  // connection (AUTH 0x19) [MQTT-4.12.1]. Success is reported by an event_kind::reauthenticated event; a refusal
  // comes as the broker's DISCONNECT (event_kind::disconnected with its reason code). Without a connection or an
  // authenticator, nothing happens.
  void reauthenticate();

  // Counters, readable from any thread at any time.
  coromqtt::statistics statistics() const noexcept;

  // --- Connecting ------------------------------------------------------------------------------------------
  // start() and wait for the outcome of the next connection attempt (at once if connected).
  // Handler: void(error_code, connection_info): what the broker said in CONNACK.
  // Completes: on CONNACK, or when the attempt fails. After a failure the reconnect policy keeps trying in the
  // background; call again to wait for the next attempt, or stop() to give up.
  // Errors: error::connection_refused (the broker's reason code and string are in the info),
  // error::resolve_timeout, connect_timeout, handshake_timeout, connack_timeout, the tls_* errors,
  // error::websocket_upgrade_failed, error::authentication_failed (also when options().credentials or the
  // authenticator threw), a system error of the socket,
  // error::client_stopped (stop() or disconnect during the attempt), operation_aborted (cancelled, or the client
  // destroyed).
  // Cancellation (terminal, partial, total): stops waiting, not connecting: operation_aborted at once.
  template <asio::completion_token_for<void(error_code, connection_info)> Token = asio::deferred_t>
  auto async_connect(Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, connection_info)>(
        [impl = impl_](auto handler) { detail::initiate_connect(*impl, std::move(handler)); }, token);
  }
  // As async_connect; throws mqtt_error (with the broker's reason code for a refusal).
  asio::awaitable<connection_info> co_connect();

  // Graceful end: what is already queued for writing goes first, then DISCONNECT, then the transport's own
  // close; reconnection stops. QoS 1/2 messages still awaiting acknowledgement stay in the session (they
  // are resumed by a later reconnect(), and their handlers wait till then); co_flush(true) first waits for
  // them. The connection is reported as `disconnected` with no error (with
  // asio::error::timed_out when disconnect_timeout cut it short), then `stopped` (error::client_stopped). During
  // a connection attempt or the backoff there is nothing to say to the broker: the attempt ends at once, as
  // with stop(). Once stopped, waiting receivers and event readers complete as stop() describes.
  // Handler: void(error_code).
  // Completes: when the connection or the attempt is closed (at once when there is none), at the latest after
  // options().disconnect_timeout, when the transport is closed hard.
  // Errors: invalid_argument for a non-zero session_expiry_interval when the session was opened with 0 (MQTT 5,
  // 3.14.2.2.2; nothing is done), operation_aborted (cancelled, or the client destroyed).
  // Cancellation (terminal, partial, total): stops waiting; the disconnect goes on.
  template <asio::completion_token_for<void(error_code)> Token = asio::deferred_t>
  auto async_disconnect(disconnect_options options, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code)>(
        [impl = impl_](auto handler, disconnect_options o) {
          detail::initiate_disconnect(*impl, std::move(o), std::move(handler));
        },
        token, std::move(options));
  }
  template <asio::completion_token_for<void(error_code)> Token = asio::deferred_t>
  auto async_disconnect(Token&& token = {}) {
    return async_disconnect(disconnect_options{}, std::forward<Token>(token));
  }
  // As async_disconnect; throws mqtt_error. Two overloads rather than a defaulted argument: g++ 12 destroys a
  // defaulted class argument built in the caller's co_await twice.
  asio::awaitable<void> co_disconnect();
  asio::awaitable<void> co_disconnect(disconnect_options options);

  // --- Publishing ------------------------------------------------------------------------------------------
  // Publishes `m` without waiting for earlier publishes to be acknowledged. QoS 1/2 first take a slot of the
  // inflight window (the smaller of options().inflight_window and the broker's Receive Maximum) and wait, in
  // order, while none is free; every publisher waits while the outgoing queue is at its bound, or fails with
  // error::queue_full, per options().when_queue_full. Waiting publishers count against the same bound
  // (options().max_queued_messages / max_queued_bytes), so no number of callers grows memory without limit.
  // Handler: void(error_code, publish_result): the broker's reason code and string (MQTT 5).
  // Completes: QoS 0 once the message is queued for writing; QoS 1 on PUBACK; QoS 2 on PUBCOMP.
  // Errors: an invalid topic or property (a protocol::error), error::qos_not_supported,
  // error::retain_not_supported, error::packet_too_large, error::queue_full, error::message_expired (MQTT 5:
  // the expiry passed before it could be sent), error::session_expired (the broker lost the session and with it
  // this QoS 2 flow's state), error::rejected_by_broker (the reason code is in the result), operation_aborted
  // (cancelled, or the client destroyed).
  // Cancellation: a message not yet written is withdrawn and never sent (operation_aborted). One already
  // written: terminal and partial abandon it (operation_aborted at once, its QoS flow goes on in the
  // background, holding its window slot); total leaves it to complete as usual.
  template <asio::completion_token_for<void(error_code, publish_result)> Token = asio::deferred_t>
  auto async_publish(message m, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, publish_result)>(
        [impl = impl_](auto handler, message msg) {
          detail::initiate_publish(*impl, std::move(msg), std::move(handler));
        },
        token, std::move(m));
  }
  // As async_publish; throws mqtt_error (with the broker's reason code for a refusal).
  asio::awaitable<publish_result> co_publish(message m);
  asio::awaitable<publish_result> co_publish(std::string topic, std::string payload, qos q = qos::at_most_once,
                                             bool retain = false);

  // Hands the message over to the session store (options().store) and completes once it is durable there, as
  // the store's policy defines it (file_store with fsync_batch: on disk), without waiting for PUBACK or PUBCOMP:
  // the client then delivers it in the background, after reconnections and after a restart of the process on
  // the same store (QoS 1 at least once, QoS 2 exactly once while the broker keeps the session). Takes no slot
  // of the inflight window; publishers wait instead while the store is at its bounds (store_limits: wait, fail
  // with error::queue_full, or drop the oldest queued message, whose publisher gets error::message_dropped).
  // Without a store it completes once the client has taken the message (queued in memory). A QoS 0 message is
  // stored only with store_limits::store_qos0, else it completes as async_publish does.
  // Handler: void(error_code, publish_result); the result is empty (the broker's answer comes later, unseen).
  // Completes: once the message is durable in the store.
  // Errors: an invalid topic (a protocol::error), error::qos_not_supported, error::retain_not_supported,
  // error::queue_full, error::store_failed, operation_aborted (cancelled, or the client destroyed: the message,
  // if already admitted, stays in the store and is still delivered).
  // Cancellation: a message still waiting for admission is withdrawn (operation_aborted). One already admitted
  // is never withdrawn: terminal and partial complete at once with operation_aborted; total leaves the call to
  // complete as usual.
  template <asio::completion_token_for<void(error_code, publish_result)> Token = asio::deferred_t>
  auto async_publish_stored(message m, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, publish_result)>(
        [impl = impl_](auto handler, message msg) {
          detail::initiate_publish_stored(*impl, std::move(msg), std::move(handler));
        },
        token, std::move(m));
  }
  // As async_publish_stored; throws mqtt_error.
  asio::awaitable<void> co_publish_stored(message m);

  // Handler: void(error_code).
  // Completes: when everything queued so far is written to the transport (with `until_acknowledged`, when every
  // QoS 1/2 publish made so far is also acknowledged, or has failed). Waits across reconnections.
  // Errors: operation_aborted (cancelled, or the client destroyed).
  // Cancellation (terminal, partial, total): stops waiting; nothing queued is affected.
  template <asio::completion_token_for<void(error_code)> Token = asio::deferred_t>
  auto async_flush(bool until_acknowledged, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code)>(
        [impl = impl_](auto handler, bool acked) {
          detail::initiate_flush(*impl, acked, std::move(handler));
        },
        token, until_acknowledged);
  }
  // As async_flush; throws mqtt_error.
  asio::awaitable<void> co_flush(bool until_acknowledged = false);

  // --- Subscribing -----------------------------------------------------------------------------------------
  // Sends one SUBSCRIBE for `subscriptions`. Successful subscriptions are remembered and restored if the
  // broker loses the session.
  // Handler: void(error_code, subscribe_result): one reason code per filter, in order (the granted QoS, or why
  // it was refused).
  // Completes: on SUBACK.
  // Errors: an invalid filter or option (a protocol::error, e.g. a shared subscription with No Local),
  // invalid_argument (no filter, or a Subscription Identifier out of range or unsupported by the broker),
  // error::subscription_refused (any filter refused; the result still has every code),
  // error::packet_too_large, error::packet_identifiers_exhausted, error::session_expired, operation_aborted
  // (cancelled, or the client destroyed).
  // Cancellation: a SUBSCRIBE not yet written is withdrawn (operation_aborted). One already written: terminal
  // and partial complete at once with operation_aborted and the SUBACK is handled in the background (the
  // subscription is then remembered); total leaves it to complete as usual.
  template <asio::completion_token_for<void(error_code, subscribe_result)> Token = asio::deferred_t>
  auto async_subscribe(subscription_list subscriptions, subscribe_properties properties, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, subscribe_result)>(
        [impl = impl_](auto handler, subscription_list subs, subscribe_properties props) {
          detail::initiate_subscribe(*impl, std::move(subs).release(), std::move(props), std::move(handler));
        },
        token, std::move(subscriptions), std::move(properties));
  }
  template <asio::completion_token_for<void(error_code, subscribe_result)> Token = asio::deferred_t>
  auto async_subscribe(subscription_list subscriptions, Token&& token = {}) {
    return async_subscribe(std::move(subscriptions), subscribe_properties{}, std::forward<Token>(token));
  }
  // As async_subscribe; throws mqtt_error (with the first refusing reason code).
  asio::awaitable<subscribe_result> co_subscribe(subscription_list subscriptions);
  asio::awaitable<subscribe_result> co_subscribe(subscription_list subscriptions, subscribe_properties properties);
  asio::awaitable<subscribe_result> co_subscribe(std::string filter, qos max_qos = qos::at_most_once);

  // Subscribes and returns the subscriptions' own message stream (see subscription_stream.hpp): what these
  // filters match is received from the stream, not from co_receive(). With MQTT 5 the client gives the
  // SUBSCRIBE a Subscription Identifier of its own, so `properties` must not carry one.
  // Handler: void(error_code, subscription_stream). Completes on SUBACK. The stream is valid() on success;
  // when the broker refused any filter the error is error::subscription_refused, the stream is not valid()
  // and its result() has every code (filters granted in the same SUBSCRIBE are unsubscribed again).
  // Errors: a protocol::error for an invalid filter, invalid_argument (a subscription identifier given),
  // subscription_refused, packet_identifiers_exhausted, operation_aborted (cancelled, or the client destroyed).
  // Cancellation: a SUBSCRIBE not yet written is withdrawn (operation_aborted). One already written: terminal
  // and partial complete at once with operation_aborted and the filters are unsubscribed again once granted;
  // total leaves it to complete as usual.
  template <asio::completion_token_for<void(error_code, subscription_stream)> Token = asio::deferred_t>
  auto async_subscribe_stream(subscription_list subscriptions, subscribe_properties properties,
                              stream_options options, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, subscription_stream)>(
        [impl = impl_](auto handler, subscription_list subs, subscribe_properties props, stream_options o) {
          detail::initiate_subscribe_stream(*impl, std::move(subs).release(), std::move(props), o,
                                            std::move(handler));
        },
        token, std::move(subscriptions), std::move(properties), options);
  }
  template <asio::completion_token_for<void(error_code, subscription_stream)> Token = asio::deferred_t>
  auto async_subscribe_stream(subscription_list subscriptions, Token&& token = {}) {
    return async_subscribe_stream(std::move(subscriptions), subscribe_properties{}, stream_options{},
                                  std::forward<Token>(token));
  }
  // As async_subscribe_stream; throws mqtt_error (with the refusing reason code).
  asio::awaitable<subscription_stream> co_subscribe_stream(subscription_list subscriptions,
                                                           subscribe_properties properties, stream_options options);
  asio::awaitable<subscription_stream> co_subscribe_stream(std::string filter, qos max_qos = qos::at_most_once);

  // Sends one UNSUBSCRIBE; the filters are forgotten for resubscription at once.
  // Handler: void(error_code, unsubscribe_result): one reason code per filter (MQTT 3.1.1: all success).
  // Completes: on UNSUBACK. A filter the broker did not know (0x11 No subscription existed) is not an error.
  // Errors: an invalid filter (a protocol::error), invalid_argument (no filter), error::packet_too_large,
  // error::packet_identifiers_exhausted, error::session_expired, operation_aborted (cancelled, or the client
  // destroyed).
  // Cancellation: an UNSUBSCRIBE not yet written is withdrawn (operation_aborted). One already written:
  // terminal and partial complete at once with operation_aborted, the UNSUBACK is handled in the background;
  // total leaves it to complete as usual.
  template <asio::completion_token_for<void(error_code, unsubscribe_result)> Token = asio::deferred_t>
  auto async_unsubscribe(filter_list filters, coromqtt::user_properties properties, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, unsubscribe_result)>(
        [impl = impl_](auto handler, filter_list f, coromqtt::user_properties p) {
          detail::initiate_unsubscribe(*impl, std::move(f).release(), std::move(p), std::move(handler));
        },
        token, std::move(filters), std::move(properties));
  }
  template <asio::completion_token_for<void(error_code, unsubscribe_result)> Token = asio::deferred_t>
  auto async_unsubscribe(filter_list filters, Token&& token = {}) {
    return async_unsubscribe(std::move(filters), coromqtt::user_properties{}, std::forward<Token>(token));
  }
  // As async_unsubscribe; throws mqtt_error.
  asio::awaitable<unsubscribe_result> co_unsubscribe(filter_list filters);

  // --- Receiving -------------------------------------------------------------------------------------------
  // The next message from the broker, in order of arrival. Messages wait in a bounded queue
  // (options().receive_queue_capacity); while it is full the client stops reading from the socket.
  // Handler: void(error_code, message).
  // Completes: when a message is there (at once if one is queued). Waits across reconnections, not past the
  // client's stop.
  // Errors: error::client_stopped when the client stops (stop(), disconnect, the reconnect policy gave up)
  // with no message left, at once while it is stopped; operation_aborted (cancelled, or the client
  // destroyed); error::invalid_argument at once when options().discard_incoming_messages is set (no message
  // will ever come).
  // Cancellation (terminal, partial, total): stops waiting; no message is lost (the next call gets it).
  template <asio::completion_token_for<void(error_code, message)> Token = asio::deferred_t>
  auto async_receive(Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, message)>(
        [impl = impl_](auto handler) { detail::initiate_receive(*impl, std::move(handler)); }, token);
  }
  // As async_receive; throws mqtt_error.
  asio::awaitable<message> co_receive();

  // --- Request/response [MQTT-4.10] (MQTT 5) -------------------------------------------------------------
  // Publishes `request` with a Response Topic and fresh Correlation Data, and completes with the response
  // that carries the same Correlation Data (see coromqtt::make_response for the responder's side). The
  // response topic is chosen and subscribed once, at the first request (options().response_topic, or the
  // broker's Response Information, or a topic unique to this client): its messages never reach co_receive().
  // Any number of requests may be in flight; the request is published as co_publish would (its QoS, the
  // window, the offline queue).
  // Handler: void(error_code, message): the response, as received.
  // Errors: error::request_timeout (no response within `timeout`, counted from the call; a request not yet
  // written is then not sent at all), error::mqtt5_required (an MQTT 3.1.1 client), any error of
  // co_publish for the request, error::subscription_refused (the broker refused the response topic; the next
  // request tries again), operation_aborted (cancelled, or the client destroyed). A response arriving after
  // the request completed is dropped.
  // Cancellation: a request not yet written is withdrawn (operation_aborted). One already published: terminal
  // and partial complete at once with operation_aborted (a late response is dropped); total leaves it waiting
  // for its response.
  template <asio::completion_token_for<void(error_code, message)> Token = asio::deferred_t>
  auto async_request(message request, std::chrono::steady_clock::duration timeout, Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, message)>(
        [impl = impl_](auto handler, message m, std::chrono::steady_clock::duration t) {
          detail::initiate_request(*impl, std::move(m), t, std::move(handler));
        },
        token, std::move(request), timeout);
  }
  // As async_request; throws mqtt_error.
  asio::awaitable<message> co_request(message request, std::chrono::steady_clock::duration timeout);
  // A request at QoS 0 with this topic and payload.
  asio::awaitable<message> co_request(std::string topic, std::string payload,
                                      std::chrono::steady_clock::duration timeout);
  // Manual acknowledgement (options().manual_acknowledgement): the application is done with `m`, a received
  // QoS 1/2 message. Its PUBACK (QoS 1) or PUBREC (QoS 2) goes out with `reason` (MQTT 5; 0x00 Success, or
  // e.g. 0x80 Unspecified error / 0x87 Not authorized to refuse it, which ends a QoS 2 flow without delivery
  // being retried) once every message received before it is acknowledged too: acknowledgements go out in the
  // order the messages arrived [MQTT-4.6.0-2], [MQTT-4.6.0-3]. A message delivered to several subscription
  // streams is acknowledged when each copy is; the first error reason wins. Callable from any thread; returns
  // at once (the acknowledgement is written in the background). A message of a connection that has ended (or
  // one acknowledged already) is ignored: if the session survived, the broker sends it again with DUP set.
  // Errors (returned, nothing done): invalid_argument without manual_acknowledgement, or for a reason code
  // PUBACK / PUBREC cannot carry. A QoS 0 message (acknowledgement_id 0) needs nothing: success.
  error_code acknowledge(const message& m, reason_code reason = reason_code::success);

  // The next connection event (see events.hpp), in order; events wait in a bounded queue (the oldest are
  // dropped when nobody reads them).
  // Handler: void(error_code, event).
  // Completes: when an event is there (at once if one is queued). The last event of a run is `stopped`.
  // Errors: error::client_stopped once the client is stopped and every event is read (until start(),
  // co_connect() or reconnect() runs it again); operation_aborted (cancelled, or the client destroyed).
  // Cancellation (terminal, partial, total): stops waiting; no event is lost.
  template <asio::completion_token_for<void(error_code, event)> Token = asio::deferred_t>
  auto async_next_event(Token&& token = {}) {
    return asio::async_initiate<Token, void(error_code, event)>(
        [impl = impl_](auto handler) { detail::initiate_next_event(*impl, std::move(handler)); }, token);
  }
  asio::awaitable<event> co_next_event();

 private:
  std::shared_ptr<detail::client_impl> impl_;
};

}  // namespace coromqtt

// Request/response [MQTT-4.10] for client::co_request: the response topic (subscribed once, into an internal
// subscription stream), the requests in flight by their Correlation Data, and their timeouts.
//
//   co_request(m, 5s) --> PUBLISH m + Response Topic + Correlation Data (16 bytes, fresh)
//                         pending_: correlation -> request          (timer: 5 s, then error::request_timeout)
//   response stream   --> message with that Correlation Data  --> the request completes with it
//
// Made on the first request, so a client that never makes one pays nothing. Everything runs on the client's
// strand.
#pragma once

#include "client/client_impl.hpp"

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>

namespace coromqtt::detail {

// Where responses are asked to go. `configured` (client_options::response_topic) wins; else the broker's
// Response Information, when there is one, with "/responses" appended; else a topic unique to this client,
// "coromqtt/responses/<16 hex digits>".
std::string choose_response_topic(const std::string& configured, const std::string& response_information,
                                  std::uint64_t random);

class request_tracker {
 public:
  explicit request_tracker(client_impl& impl);
  ~request_tracker();
  request_tracker(const request_tracker&) = delete;
  request_tracker& operator=(const request_tracker&) = delete;

  void start(receive_waiter* waiter, message request, clock::duration timeout);
  // After any session activity: responses to match, a response topic that waited for CONNACK.
  void on_activity();
  bool cancel(std::uint64_t serial, session::cancel_scope scope);
  void abort_all(error_code ec);

 private:
  struct pending_request;
  class publish_request_op;
  class subscribe_response_op;
  enum class topic_state { unknown, subscribing, subscribed };

  void find_response_topic();
  void publish(pending_request& r);
  void on_published(std::uint64_t serial, error_code ec);
  void on_subscribed(error_code ec);
  void expire(std::uint64_t serial);
  // Removes the request and completes its waiter.
  void finish(pending_request& r, error_code ec, message response);
  pending_request* find(std::uint64_t serial) noexcept;

  client_impl& impl_;
  std::mt19937_64 random_;
  std::string correlation_prefix_;  // 8 random bytes per client
  std::uint64_t correlation_counter_ = 0;
  topic_state state_ = topic_state::unknown;
  std::string response_topic_;
  std::uint64_t stream_ = 0;  // the session's stream of responses
  op_queue<pending_request> requests_;  // every request in flight, oldest first
  std::unordered_map<std::string, pending_request*> by_correlation_;
};

}  // namespace coromqtt::detail

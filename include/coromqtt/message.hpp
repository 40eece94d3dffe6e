// Application messages and the results of requests: the owning, user-facing counterparts of the codec's views.
#pragma once

#include <coromqtt/protocol/packets.hpp>
#include <coromqtt/protocol/reason_code.hpp>
#include <coromqtt/protocol/types.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coromqtt {

using protocol::protocol_version;
using protocol::qos;
using protocol::reason_code;
using protocol::retain_handling;

using user_properties = std::vector<std::pair<std::string, std::string>>;

// MQTT 5 message properties [MQTT-3.3.2.3]. Ignored (not sent) on MQTT 3.1.1 connections.
struct message_properties {
  std::optional<std::uint8_t> payload_format_indicator;  // 1: the payload is UTF-8
  std::optional<std::uint32_t> message_expiry_interval;  // seconds
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::string> correlation_data;
  coromqtt::user_properties user_properties;
  std::vector<std::uint32_t> subscription_identifiers;  // incoming only: the subscriptions that matched

  bool empty() const noexcept {
    return !payload_format_indicator && !message_expiry_interval && !content_type && !response_topic &&
           !correlation_data && user_properties.empty() && subscription_identifiers.empty();
  }
  friend bool operator==(const message_properties&, const message_properties&) = default;
};

// Constructors rather than an aggregate: g++ 12 destroys a braced aggregate temporary built inside a co_await
// expression twice (`co_await client.co_publish(message{"t", "p"})`), and warns about fields a brace list
// leaves out. `message{"t", "p", qos::at_least_once}` is the natural call and is safe.
struct message {
  message() = default;
  message(std::string topic_name, std::string payload_bytes, coromqtt::qos level = qos::at_most_once,
          bool retained = false, message_properties props = {})
      : topic(std::move(topic_name)),
        payload(std::move(payload_bytes)),
        qos(level),
        retain(retained),
        properties(std::move(props)) {}

  std::string topic;
  std::string payload;  // any bytes
  coromqtt::qos qos = qos::at_most_once;
  bool retain = false;
  message_properties properties;
  // Received messages only: the broker sent this message before and sends it again, e.g. after a reconnect
  // because it was not acknowledged [MQTT-3.3.1-1]. (Ignored when publishing: the client sets DUP itself.)
  bool dup = false;
  // Received QoS 1/2 messages with client_options::manual_acknowledgement: names the message for
  // client::acknowledge(). 0 otherwise (nothing to acknowledge).
  std::uint64_t acknowledgement_id = 0;

  friend bool operator==(const message&, const message&) = default;
};

// What the broker answered to a PUBLISH: PUBACK (QoS 1) or PUBREC/PUBCOMP (QoS 2). For QoS 0 the result is
// always success, meaning "handed to the connection". A reason code of 0x80 or above comes with the error
// coromqtt::error::rejected_by_broker.
struct publish_result {
  reason_code reason = reason_code::success;
  std::string reason_string;
  coromqtt::user_properties user_properties;
};

// Options of one subscription [MQTT-3.8.3.1]; only max_qos exists in MQTT 3.1.1. Converts from a QoS, so
// that `subscription{"a/#", qos::at_least_once}` reads as it should.
struct subscribe_options {
  subscribe_options() = default;
  subscribe_options(coromqtt::qos maximum, bool local_messages_dropped = false, bool keep_retain_flag = false,
                    coromqtt::retain_handling retained_messages = retain_handling::send_at_subscribe)
      : max_qos(maximum),
        no_local(local_messages_dropped),
        retain_as_published(keep_retain_flag),
        retain_handling(retained_messages) {}

  coromqtt::qos max_qos = qos::at_most_once;
  bool no_local = false;
  bool retain_as_published = false;
  coromqtt::retain_handling retain_handling = retain_handling::send_at_subscribe;
  friend bool operator==(const subscribe_options&, const subscribe_options&) = default;
};

struct subscription {
  subscription() = default;
  subscription(std::string topic_filter, subscribe_options opts = {})
      : filter(std::move(topic_filter)), options(opts) {}

  std::string filter;
  subscribe_options options;
  friend bool operator==(const subscription&, const subscription&) = default;
};

// The subscriptions of one SUBSCRIBE: a std::vector, or up to four in braces,
//   co_await client.co_subscribe({{"a/#", qos::at_least_once}, {"b/+", qos::exactly_once}});
// The braces go to these constructors, not to a std::initializer_list: with g++ 12 a braced list that makes an
// initializer_list inside a co_await expression does not compile ("array used as initializer"), so for more
// than four, build a named std::vector first.
class subscription_list {
 public:
  subscription_list(std::vector<subscription> subscriptions) noexcept : items_(std::move(subscriptions)) {}
  subscription_list(subscription s1) { items_.push_back(std::move(s1)); }
  subscription_list(subscription s1, subscription s2) : subscription_list(std::move(s1)) {
    items_.push_back(std::move(s2));
  }
  subscription_list(subscription s1, subscription s2, subscription s3)
      : subscription_list(std::move(s1), std::move(s2)) {
    items_.push_back(std::move(s3));
  }
  subscription_list(subscription s1, subscription s2, subscription s3, subscription s4)
      : subscription_list(std::move(s1), std::move(s2), std::move(s3)) {
    items_.push_back(std::move(s4));
  }

  const std::vector<subscription>& items() const noexcept { return items_; }
  std::vector<subscription> release() && noexcept { return std::move(items_); }

 private:
  std::vector<subscription> items_;
};

// The topic filters of one UNSUBSCRIBE: a std::vector, one filter, or several in braces,
//   co_await client.co_unsubscribe("a/#");  co_await client.co_unsubscribe({"a/#", "b/+"});
// (constructor arguments, not an initializer_list, for the g++ 12 reason given at subscription_list).
class filter_list {
 public:
  filter_list(std::vector<std::string> filters) noexcept : items_(std::move(filters)) {}
  template <class... Filters>
    requires(sizeof...(Filters) >= 1 && (std::convertible_to<Filters, std::string_view> && ...))
  filter_list(Filters&&... filters) {
    items_.reserve(sizeof...(Filters));
    (items_.emplace_back(std::string_view(filters)), ...);
  }

  const std::vector<std::string>& items() const noexcept { return items_; }
  std::vector<std::string> release() && noexcept { return std::move(items_); }

 private:
  std::vector<std::string> items_;
};

// The broker's answer per filter, in the order requested: the granted QoS (0x00..0x02) or a failure code.
struct subscribe_result {
  std::vector<reason_code> reasons;
  std::string reason_string;
  coromqtt::user_properties user_properties;
};

struct unsubscribe_result {
  std::vector<reason_code> reasons;  // MQTT 3.1.1 has no codes: every entry is success
  std::string reason_string;
  coromqtt::user_properties user_properties;
};

}  // namespace coromqtt

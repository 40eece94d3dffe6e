// Application messages and the results of requests: the owning, user-facing counterparts of the codec's views.
#pragma once

#include <coromqtt/protocol/packets.hpp>
#include <coromqtt/protocol/reason_code.hpp>
#include <coromqtt/protocol/types.hpp>

#include <cstdint>
#include <optional>
#include <string>
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

struct message {
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

// Options of one subscription [MQTT-3.8.3.1]; only max_qos exists in MQTT 3.1.1.
struct subscribe_options {
  coromqtt::qos max_qos = qos::at_most_once;
  bool no_local = false;
  bool retain_as_published = false;
  coromqtt::retain_handling retain_handling = retain_handling::send_at_subscribe;
  friend bool operator==(const subscribe_options&, const subscribe_options&) = default;
};

struct subscription {
  std::string filter;
  subscribe_options options;
  friend bool operator==(const subscription&, const subscription&) = default;
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

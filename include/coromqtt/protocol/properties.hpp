// MQTT 5 properties [MQTT-2.2.2], one struct per packet kind so that a packet can only carry what the
// standard allows it to carry. Scalars are std::optional (absent = not on the wire); strings and binary data are
// views (of the caller's data when encoding, of the input buffer when decoding).
//
// MQTT 3.1.1 has no properties: the encoder refuses non-empty properties for a 3.1.1 packet.
#pragma once

#include <coromqtt/protocol/encoded_list.hpp>
#include <coromqtt/protocol/types.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace coromqtt::protocol {

// Property identifiers [MQTT-2.2.2.2].
enum class property_id : std::uint8_t {
  payload_format_indicator = 0x01,
  message_expiry_interval = 0x02,
  content_type = 0x03,
  response_topic = 0x08,
  correlation_data = 0x09,
  subscription_identifier = 0x0B,
  session_expiry_interval = 0x11,
  assigned_client_identifier = 0x12,
  server_keep_alive = 0x13,
  authentication_method = 0x15,
  authentication_data = 0x16,
  request_problem_information = 0x17,
  will_delay_interval = 0x18,
  request_response_information = 0x19,
  response_information = 0x1A,
  server_reference = 0x1C,
  reason_string = 0x1F,
  receive_maximum = 0x21,
  topic_alias_maximum = 0x22,
  topic_alias = 0x23,
  maximum_qos = 0x24,
  retain_available = 0x25,
  user_property = 0x26,
  maximum_packet_size = 0x27,
  wildcard_subscription_available = 0x28,
  subscription_identifier_available = 0x29,
  shared_subscription_available = 0x2A,
};

std::string_view to_string(property_id) noexcept;

struct user_property {
  std::string_view name{};
  std::string_view value{};
  friend bool operator==(const user_property&, const user_property&) = default;
};

namespace detail {
// Layouts (see encoded_list.hpp) for the repeatable properties inside a validated property block: an element
// is one occurrence of the property, other properties in between are skipped.
const std::uint8_t* find_property(const std::uint8_t* at, const std::uint8_t* end, property_id wanted) noexcept;
const std::uint8_t* after_property(const std::uint8_t* at) noexcept;

template <property_id Id>
struct occurrences_of {
  static const std::uint8_t* first(const std::uint8_t* begin, const std::uint8_t* end) noexcept {
    return find_property(begin, end, Id);
  }
  static const std::uint8_t* next(const std::uint8_t* at, const std::uint8_t* end) noexcept {
    return find_property(after_property(at), end, Id);
  }
};
struct user_property_layout : occurrences_of<property_id::user_property> {
  static user_property read(const std::uint8_t* at) noexcept;
};
struct subscription_identifier_layout : occurrences_of<property_id::subscription_identifier> {
  static std::uint32_t read(const std::uint8_t* at) noexcept;
};
}  // namespace detail

// User Property and Subscription Identifier may repeat; the order is kept [MQTT-3.3.2-17].
using user_property_list = encoded_list<user_property, detail::user_property_layout>;
using subscription_identifier_list = encoded_list<std::uint32_t, detail::subscription_identifier_layout>;

// Byte properties with a yes/no meaning are bool here; the decoder rejects values other than 0 and 1.

struct publish_properties {  // PUBLISH and the will [MQTT-3.3.2.3]
  std::optional<std::uint8_t> payload_format_indicator{};  // 0 unspecified bytes, 1 UTF-8
  std::optional<std::uint32_t> message_expiry_interval{};  // seconds
  std::optional<std::uint16_t> topic_alias{};              // PUBLISH only, never 0
  std::optional<std::string_view> response_topic{};
  std::optional<byte_view> correlation_data{};
  user_property_list user_properties{};
  subscription_identifier_list subscription_identifiers{};  // server to client only, each 1..268,435,455
  std::optional<std::string_view> content_type{};
  friend bool operator==(const publish_properties&, const publish_properties&) noexcept;
};

struct will_properties {  // [MQTT-3.1.3.2]
  std::optional<std::uint32_t> will_delay_interval{};
  std::optional<std::uint8_t> payload_format_indicator{};
  std::optional<std::uint32_t> message_expiry_interval{};
  std::optional<std::string_view> content_type{};
  std::optional<std::string_view> response_topic{};
  std::optional<byte_view> correlation_data{};
  user_property_list user_properties{};
  friend bool operator==(const will_properties&, const will_properties&) noexcept;
};

struct connect_properties {  // [MQTT-3.1.2.11]
  std::optional<std::uint32_t> session_expiry_interval{};
  std::optional<std::uint16_t> receive_maximum{};  // never 0
  std::optional<std::uint32_t> maximum_packet_size{};  // never 0
  std::optional<std::uint16_t> topic_alias_maximum{};
  std::optional<bool> request_response_information{};
  std::optional<bool> request_problem_information{};
  user_property_list user_properties{};
  std::optional<std::string_view> authentication_method{};
  std::optional<byte_view> authentication_data{};
  friend bool operator==(const connect_properties&, const connect_properties&) noexcept;
};

struct connack_properties {  // [MQTT-3.2.2.3]
  std::optional<std::uint32_t> session_expiry_interval{};
  std::optional<std::uint16_t> receive_maximum{};  // never 0
  std::optional<std::uint8_t> maximum_qos{};       // 0 or 1 when present
  std::optional<bool> retain_available{};
  std::optional<std::uint32_t> maximum_packet_size{};  // never 0
  std::optional<std::string_view> assigned_client_identifier{};
  std::optional<std::uint16_t> topic_alias_maximum{};
  std::optional<std::string_view> reason_string{};
  user_property_list user_properties{};
  std::optional<bool> wildcard_subscription_available{};
  std::optional<bool> subscription_identifier_available{};
  std::optional<bool> shared_subscription_available{};
  std::optional<std::uint16_t> server_keep_alive{};
  std::optional<std::string_view> response_information{};
  std::optional<std::string_view> server_reference{};
  std::optional<std::string_view> authentication_method{};
  std::optional<byte_view> authentication_data{};
  friend bool operator==(const connack_properties&, const connack_properties&) noexcept;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK [MQTT-3.4.2.2] ...
struct ack_properties {
  std::optional<std::string_view> reason_string{};
  user_property_list user_properties{};
  friend bool operator==(const ack_properties&, const ack_properties&) noexcept;
};

struct subscribe_properties {  // [MQTT-3.8.2.1]
  std::optional<std::uint32_t> subscription_identifier{};  // 1..268,435,455
  user_property_list user_properties{};
  friend bool operator==(const subscribe_properties&, const subscribe_properties&) noexcept;
};

struct unsubscribe_properties {  // [MQTT-3.10.2.1]
  user_property_list user_properties{};
  friend bool operator==(const unsubscribe_properties&, const unsubscribe_properties&) noexcept;
};

struct disconnect_properties {  // [MQTT-3.14.2.2]
  std::optional<std::uint32_t> session_expiry_interval{};
  std::optional<std::string_view> reason_string{};
  user_property_list user_properties{};
  std::optional<std::string_view> server_reference{};
  friend bool operator==(const disconnect_properties&, const disconnect_properties&) noexcept;
};

struct auth_properties {  // [MQTT-3.15.2.2]
  std::optional<std::string_view> authentication_method{};
  std::optional<byte_view> authentication_data{};
  std::optional<std::string_view> reason_string{};
  user_property_list user_properties{};
  friend bool operator==(const auth_properties&, const auth_properties&) noexcept;
};

}  // namespace coromqtt::protocol

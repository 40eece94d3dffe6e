// Table 2-4 of the MQTT 5 standard as data: every property, its type, the rule its value obeys and the packets
// that may carry it. Decoding, encoding, the size computation, equality and the names all read this one table;
// the per-packet property structs are bound to it member by member, and the binding is checked against the
// table at compile time (see property_codec.hpp).
#pragma once

#include <coromqtt/protocol/properties.hpp>

#include "packet_mask.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace coromqtt::protocol::detail {

// Data types of [MQTT-1.5]
enum class value_type : std::uint8_t {
  byte,
  two_byte_integer,
  four_byte_integer,
  variable_byte_integer,
  utf8_string,
  binary_data,
  utf8_string_pair,
};

// What the standard requires of a value beyond its type.
enum class value_rule : std::uint8_t {
  any,
  nonzero,      // Receive Maximum, Maximum Packet Size, Topic Alias, Subscription Identifier
  zero_or_one,  // the yes/no bytes, Payload Format Indicator, Maximum QoS
  topic_name,   // Response Topic: a Topic Name, so no wildcards [MQTT-3.3.2-14]
};

struct property_descriptor {
  property_id id;
  std::string_view name;
  value_type type;
  value_rule rule;
  packet_mask carried_by;
};

namespace table {
using enum packet_type;
using enum value_type;
using enum value_rule;
using enum property_id;

inline constexpr property_descriptor properties[] = {
    {payload_format_indicator, "Payload Format Indicator", byte, zero_or_one, bit(publish) | will_properties_mask},
    {message_expiry_interval, "Message Expiry Interval", four_byte_integer, any, bit(publish) | will_properties_mask},
    {content_type, "Content Type", utf8_string, any, bit(publish) | will_properties_mask},
    {response_topic, "Response Topic", utf8_string, topic_name, bit(publish) | will_properties_mask},
    {correlation_data, "Correlation Data", binary_data, any, bit(publish) | will_properties_mask},
    {subscription_identifier, "Subscription Identifier", variable_byte_integer, nonzero, any_of(publish, subscribe)},
    {session_expiry_interval, "Session Expiry Interval", four_byte_integer, any,
     any_of(connect, connack, disconnect)},
    {assigned_client_identifier, "Assigned Client Identifier", utf8_string, any, bit(connack)},
    {server_keep_alive, "Server Keep Alive", two_byte_integer, any, bit(connack)},
    {authentication_method, "Authentication Method", utf8_string, any, any_of(connect, connack, auth)},
    {authentication_data, "Authentication Data", binary_data, any, any_of(connect, connack, auth)},
    {request_problem_information, "Request Problem Information", byte, zero_or_one, bit(connect)},
    {will_delay_interval, "Will Delay Interval", four_byte_integer, any, will_properties_mask},
    {request_response_information, "Request Response Information", byte, zero_or_one, bit(connect)},
    {response_information, "Response Information", utf8_string, any, bit(connack)},
    {server_reference, "Server Reference", utf8_string, any, any_of(connack, disconnect)},
    {reason_string, "Reason String", utf8_string, any,
     any_of(connack, puback, pubrec, pubrel, pubcomp, suback, unsuback, disconnect, auth)},
    {receive_maximum, "Receive Maximum", two_byte_integer, nonzero, any_of(connect, connack)},
    {topic_alias_maximum, "Topic Alias Maximum", two_byte_integer, any, any_of(connect, connack)},
    {topic_alias, "Topic Alias", two_byte_integer, nonzero, bit(publish)},
    {maximum_qos, "Maximum QoS", byte, zero_or_one, bit(connack)},
    {retain_available, "Retain Available", byte, zero_or_one, bit(connack)},
    {user_property, "User Property", utf8_string_pair, any,
     static_cast<packet_mask>(any_of(connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe,
                                     suback, unsubscribe, unsuback, disconnect, auth) |
                              will_properties_mask)},
    {maximum_packet_size, "Maximum Packet Size", four_byte_integer, nonzero, any_of(connect, connack)},
    {wildcard_subscription_available, "Wildcard Subscription Available", byte, zero_or_one, bit(connack)},
    {subscription_identifier_available, "Subscription Identifier Available", byte, zero_or_one, bit(connack)},
    {shared_subscription_available, "Shared Subscription Available", byte, zero_or_one, bit(connack)},
};
}  // namespace table

// Every identifier is below 64 (the largest is 0x2A), so the lookup is a direct index.
inline constexpr std::size_t property_id_limit = 64;

inline constexpr auto property_index = [] {
  std::array<const property_descriptor*, property_id_limit> index{};
  for (const auto& descriptor : table::properties) index[static_cast<std::size_t>(descriptor.id)] = &descriptor;
  return index;
}();

// The descriptor of a property identifier, or nullptr for one the standard does not define.
constexpr const property_descriptor* describe(std::uint32_t id) noexcept {
  return id < property_id_limit ? property_index[id] : nullptr;
}

// Size of a property's value on the wire, for a validated property block.
inline std::size_t value_size(value_type type, const std::uint8_t* value) noexcept {
  const auto prefixed = [](const std::uint8_t* at) { return 2 + (std::size_t{at[0]} << 8 | at[1]); };
  switch (type) {
    case value_type::byte: return 1;
    case value_type::two_byte_integer: return 2;
    case value_type::four_byte_integer: return 4;
    case value_type::variable_byte_integer: {
      std::size_t size = 1;
      while (value[size - 1] & 0x80) ++size;
      return size;
    }
    case value_type::utf8_string:
    case value_type::binary_data: return prefixed(value);
    case value_type::utf8_string_pair: {
      const std::size_t name = prefixed(value);
      return name + prefixed(value + name);
    }
  }
  return 0;
}

}  // namespace coromqtt::protocol::detail

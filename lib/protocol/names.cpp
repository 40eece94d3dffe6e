// Names of versions, QoS levels, packet types, reason codes and property identifiers, and the reason code
// table the decoder and encoder check against.
#include <coromqtt/protocol/properties.hpp>
#include <coromqtt/protocol/reason_code.hpp>
#include <coromqtt/protocol/types.hpp>

#include "packet_mask.hpp"
#include "property_table.hpp"
#include "reason_table.hpp"

#include <array>

namespace coromqtt::protocol {
namespace detail {
namespace {

using enum packet_type;
using enum reason_code;

// Success (0x00) is also "Normal disconnection" (DISCONNECT) and "Granted QoS 0" (SUBACK).
constexpr reason_descriptor reason_table[] = {
    {success, "Success",
     any_of(connack, puback, pubrec, pubrel, pubcomp, suback, unsuback, disconnect, auth)},
    {granted_qos_1, "Granted QoS 1", bit(suback)},
    {granted_qos_2, "Granted QoS 2", bit(suback)},
    {disconnect_with_will_message, "Disconnect with Will Message", bit(disconnect)},
    {no_matching_subscribers, "No matching subscribers", any_of(puback, pubrec)},
    {no_subscription_existed, "No subscription existed", bit(unsuback)},
    {continue_authentication, "Continue authentication", bit(auth)},
    {re_authenticate, "Re-authenticate", bit(auth)},
    {unspecified_error, "Unspecified error", any_of(connack, puback, pubrec, suback, unsuback, disconnect)},
    {malformed_packet, "Malformed Packet", any_of(connack, disconnect)},
    {protocol_error, "Protocol Error", any_of(connack, disconnect)},
    {implementation_specific_error, "Implementation specific error",
     any_of(connack, puback, pubrec, suback, unsuback, disconnect)},
    {unsupported_protocol_version, "Unsupported Protocol Version", bit(connack)},
    {client_identifier_not_valid, "Client Identifier not valid", bit(connack)},
    {bad_user_name_or_password, "Bad User Name or Password", bit(connack)},
    {not_authorized, "Not authorized", any_of(connack, puback, pubrec, suback, unsuback, disconnect)},
    {server_unavailable, "Server unavailable", bit(connack)},
    {server_busy, "Server busy", any_of(connack, disconnect)},
    {banned, "Banned", bit(connack)},
    {server_shutting_down, "Server shutting down", bit(disconnect)},
    {bad_authentication_method, "Bad authentication method", any_of(connack, disconnect)},
    {keep_alive_timeout, "Keep Alive timeout", bit(disconnect)},
    {session_taken_over, "Session taken over", bit(disconnect)},
    {topic_filter_invalid, "Topic Filter invalid", any_of(suback, unsuback, disconnect)},
    {topic_name_invalid, "Topic Name invalid", any_of(connack, puback, pubrec, disconnect)},
    {packet_identifier_in_use, "Packet Identifier in use", any_of(puback, pubrec, suback, unsuback)},
    {packet_identifier_not_found, "Packet Identifier not found", any_of(pubrel, pubcomp)},
    {receive_maximum_exceeded, "Receive Maximum exceeded", bit(disconnect)},
    {topic_alias_invalid, "Topic Alias invalid", bit(disconnect)},
    {packet_too_large, "Packet too large", any_of(connack, disconnect)},
    {message_rate_too_high, "Message rate too high", bit(disconnect)},
    {quota_exceeded, "Quota exceeded", any_of(connack, puback, pubrec, suback, disconnect)},
    {administrative_action, "Administrative action", bit(disconnect)},
    {payload_format_invalid, "Payload format invalid", any_of(connack, puback, pubrec, disconnect)},
    {retain_not_supported, "Retain not supported", any_of(connack, disconnect)},
    {qos_not_supported, "QoS not supported", any_of(connack, disconnect)},
    {use_another_server, "Use another server", any_of(connack, disconnect)},
    {server_moved, "Server moved", any_of(connack, disconnect)},
    {shared_subscriptions_not_supported, "Shared Subscriptions not supported", any_of(suback, disconnect)},
    {connection_rate_exceeded, "Connection rate exceeded", any_of(connack, disconnect)},
    {maximum_connect_time, "Maximum connect time", bit(disconnect)},
    {subscription_identifiers_not_supported, "Subscription Identifiers not supported", any_of(suback, disconnect)},
    {wildcard_subscriptions_not_supported, "Wildcard Subscriptions not supported", any_of(suback, disconnect)},
};

constexpr auto reason_index = [] {
  std::array<const reason_descriptor*, 256> index{};
  for (const auto& descriptor : reason_table) index[static_cast<std::uint8_t>(descriptor.code)] = &descriptor;
  return index;
}();

const reason_descriptor* describe_reason(reason_code code) noexcept {
  return reason_index[static_cast<std::uint8_t>(code)];
}

}  // namespace

bool reason_allowed(reason_code code, packet_type type) noexcept {
  const reason_descriptor* descriptor = describe_reason(code);
  return descriptor != nullptr && (descriptor->carried_by & bit(type)) != 0;
}

}  // namespace detail

std::string_view to_string(protocol_version version) noexcept {
  switch (version) {
    case protocol_version::v3_1_1: return "MQTT 3.1.1";
    case protocol_version::v5: return "MQTT 5.0";
  }
  return "unknown protocol version";
}

std::string_view to_string(qos level) noexcept {
  switch (level) {
    case qos::at_most_once: return "QoS 0 (at most once)";
    case qos::at_least_once: return "QoS 1 (at least once)";
    case qos::exactly_once: return "QoS 2 (exactly once)";
  }
  return "invalid QoS";
}

std::string_view to_string(packet_type type) noexcept {
  static constexpr std::string_view names[] = {
      "reserved",  "CONNECT", "CONNACK",     "PUBLISH",  "PUBACK",  "PUBREC",     "PUBREL", "PUBCOMP",
      "SUBSCRIBE", "SUBACK",  "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};
  const auto index = static_cast<std::size_t>(type);
  return index < std::size(names) ? names[index] : "invalid packet type";
}

std::string_view to_string(reason_code code) noexcept {
  const detail::reason_descriptor* descriptor = detail::describe_reason(code);
  return descriptor != nullptr ? descriptor->name : "Unknown reason code";
}

bool is_known(reason_code code) noexcept { return detail::describe_reason(code) != nullptr; }

std::string_view to_string(property_id id) noexcept {
  const detail::property_descriptor* descriptor = detail::describe(static_cast<std::uint32_t>(id));
  return descriptor != nullptr ? descriptor->name : "Unknown property";
}

}  // namespace coromqtt::protocol

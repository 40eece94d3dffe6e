// Errors of the codec: every way bytes can fail to be a valid MQTT packet, and every way a packet can fail to
// be encodable. They live in std::error_code (the protocol layer depends on the standard library only);
// boost::system::error_code wraps them unchanged, so the client reports them as they are.
#pragma once

#include <coromqtt/protocol/reason_code.hpp>

#include <system_error>
#include <type_traits>

namespace coromqtt::protocol {

enum class error {
  // Framing [MQTT-1.5.5], [MQTT-2.1]
  malformed_variable_byte_integer = 1,  // a 5th length byte, or a value not in its minimal encoding
  reserved_packet_type,                 // type 0, or AUTH (15) in MQTT 3.1.1
  invalid_fixed_header_flags,           // reserved flag bits not as the standard requires [MQTT-2.1.3-1]
  packet_too_large,                     // the remaining length exceeds the maximum packet size in force
  remaining_length_mismatch,            // the fields do not fill the remaining length exactly
  truncated_field,                      // a field runs past the end of the packet
  // Data representation [MQTT-1.5]
  invalid_utf8,                         // ill-formed UTF-8, or a surrogate code point [MQTT-1.5.4-1]
  utf8_null_character,                  // U+0000 inside a UTF-8 string [MQTT-1.5.4-2]
  field_too_long,                       // a string or binary field over 65,535 bytes (encoding)
  // CONNECT / CONNACK [MQTT-3.1], [MQTT-3.2]
  invalid_protocol_name,                // not "MQTT" [MQTT-3.1.2-1] (MQTT 3.1's "MQIsdp" is not supported)
  unsupported_protocol_version,         // protocol level other than 4 or 5 [MQTT-3.1.2-2]
  invalid_connect_flags,                // reserved flag set, will flags without a will, QoS 3 [MQTT-3.1.2-3]
  password_without_user_name,           // MQTT 3.1.1 forbids it [MQTT-3.1.2-22]
  invalid_connack_flags,                // reserved bits of the acknowledge flags set [MQTT-3.2.2-1]
  // PUBLISH and its acknowledgements [MQTT-3.3] ... [MQTT-3.7]
  invalid_qos,                          // QoS 3 [MQTT-3.3.1-4]
  dup_with_qos_0,                       // DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]
  invalid_topic_name,                   // wildcards in a topic name, or empty without a topic alias
  invalid_topic_alias,                  // Topic Alias 0 [MQTT-3.3.2-8] (the session adds: above the maximum)
  zero_packet_identifier,               // packet identifier 0 [MQTT-2.2.1-3]
  invalid_reason_code,                  // a reason code this packet may not carry
  // SUBSCRIBE / UNSUBSCRIBE [MQTT-3.8], [MQTT-3.10]
  invalid_topic_filter,                 // misplaced wildcard, bad shared subscription [MQTT-4.7.1]
  invalid_subscription_options,         // reserved bits of the Subscription Options set [MQTT-3.8.3-5]
  subscription_option_out_of_range,     // Maximum QoS 3 or Retain Handling 3 in the Subscription Options
  no_local_on_shared_subscription,      // No Local set on a shared subscription [MQTT-3.8.3-4]
  empty_subscription_list,              // SUBSCRIBE without a filter [MQTT-3.8.3-2]
  empty_unsubscription_list,            // UNSUBSCRIBE without a filter [MQTT-3.10.3-2]
  // Properties [MQTT-2.2.2]
  unknown_property,                     // an identifier the standard does not define
  property_not_allowed,                 // a property this packet may not carry
  duplicate_property,                   // a property that may appear only once appears again
  invalid_property_value,               // e.g. Receive Maximum 0, Maximum QoS 2, Topic Alias 0
  properties_in_v3,                     // properties given for an MQTT 3.1.1 packet (encoding)
  // PUBLISH, MQTT 5: a zero-length Topic Name without a Topic Alias, "a Protocol Error" (3.3.2.1); in 3.1.1 an
  // empty topic is invalid_topic_name [MQTT-4.7.3-1]
  topic_name_missing,
};

const std::error_category& protocol_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

// The reason code of the DISCONNECT a receiver closes the connection with when it meets this error: Malformed
// Packet (0x81), Protocol Error (0x82), Packet Too Large (0x95), Topic Name Invalid (0x90), Topic Alias
// Invalid (0x94). Every value is one Table 3-10 lets a Client send [MQTT-3.14.2-1] (and a Server too: no
// server-only code is used). For an error_code of another category, Unspecified Error (0x80). A server
// refusing a CONNECT's protocol name or level answers CONNACK 0x84 instead [MQTT-3.1.2-2]; that is not this.
reason_code reason_for(std::error_code) noexcept;

}  // namespace coromqtt::protocol

template <>
struct std::is_error_code_enum<coromqtt::protocol::error> : std::true_type {};

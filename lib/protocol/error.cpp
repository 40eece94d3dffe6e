// The codec's error category and the reason code a receiver closes the connection with for each error
// [MQTT-4.13].
#include <coromqtt/protocol/error.hpp>

#include <string>

namespace coromqtt::protocol {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "coromqtt.protocol"; }

  std::string message(int value) const override {
    switch (static_cast<error>(value)) {
      case error::malformed_variable_byte_integer:
        return "malformed variable byte integer (more than four bytes, or not minimally encoded)";
      case error::reserved_packet_type: return "reserved packet type (0, or AUTH in MQTT 3.1.1)";
      case error::invalid_fixed_header_flags: return "reserved flags of the fixed header not as required";
      case error::packet_too_large: return "packet exceeds the maximum packet size";
      case error::remaining_length_mismatch: return "packet fields do not fill the remaining length exactly";
      case error::truncated_field: return "a field runs past the end of the packet";
      case error::invalid_utf8: return "ill-formed UTF-8 string (or a UTF-16 surrogate)";
      case error::utf8_null_character: return "UTF-8 string contains U+0000";
      case error::field_too_long: return "string or binary field longer than 65,535 bytes";
      case error::invalid_protocol_name: return "protocol name is not \"MQTT\"";
      case error::unsupported_protocol_version: return "unsupported protocol version (not 3.1.1 or 5)";
      case error::invalid_connect_flags: return "invalid CONNECT flags";
      case error::password_without_user_name: return "password without user name (not allowed in MQTT 3.1.1)";
      case error::invalid_connack_flags: return "reserved CONNACK acknowledge flags set";
      case error::invalid_qos: return "invalid QoS (3)";
      case error::dup_with_qos_0: return "DUP flag set on a QoS 0 PUBLISH";
      case error::invalid_topic_name: return "invalid topic name";
      case error::invalid_topic_alias: return "invalid topic alias (0)";
      case error::zero_packet_identifier: return "packet identifier 0 where a non-zero one is required";
      case error::invalid_reason_code: return "reason code not allowed in this packet";
      case error::invalid_topic_filter: return "invalid topic filter";
      case error::invalid_subscription_options: return "reserved bits of the subscription options set";
      case error::subscription_option_out_of_range:
        return "subscription options with maximum QoS 3 or retain handling 3";
      case error::no_local_on_shared_subscription: return "No Local set on a shared subscription";
      case error::empty_subscription_list: return "SUBSCRIBE without a topic filter";
      case error::empty_unsubscription_list: return "UNSUBSCRIBE without a topic filter";
      case error::unknown_property: return "unknown property identifier";
      case error::property_not_allowed: return "property not allowed in this packet";
      case error::duplicate_property: return "property appears more than once";
      case error::invalid_property_value: return "invalid property value";
      case error::properties_in_v3: return "properties cannot be sent in MQTT 3.1.1";
      case error::topic_name_missing: return "zero-length topic name without a topic alias";
    }
    return "unknown coromqtt.protocol error";
  }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
  static const category instance;
  return instance;
}

reason_code reason_for(std::error_code ec) noexcept {
  if (ec.category() != protocol_category()) return reason_code::unspecified_error;
  switch (static_cast<error>(ec.value())) {
    // "A Control Packet that cannot be parsed according to this specification" [MQTT-1.2], including an
    // identifier not valid for its packet type [MQTT-2.2.2.2] and reserved bits set [MQTT-2.1.3-1].
    case error::malformed_variable_byte_integer:
    case error::reserved_packet_type:
    case error::invalid_fixed_header_flags:
    case error::remaining_length_mismatch:
    case error::truncated_field:
    case error::invalid_utf8:
    case error::utf8_null_character:
    case error::field_too_long:
    case error::invalid_connect_flags:
    case error::password_without_user_name:
    case error::invalid_connack_flags:
    case error::invalid_qos:
    case error::dup_with_qos_0:
    case error::invalid_reason_code:
    case error::invalid_subscription_options:
    case error::unknown_property:
    case error::property_not_allowed:
    // CONNECT travels only to a server; a client meeting one that is not MQTT 3.1.1 or 5 has bytes it cannot
    // parse by this specification. (A server answers those with CONNACK 0x84 [MQTT-3.1.2-2], which is no
    // DISCONNECT code.)
    case error::invalid_protocol_name:
    case error::unsupported_protocol_version:
      return reason_code::malformed_packet;
    // Parsed, but "data that is not allowed by the protocol" [MQTT-1.2]; the standard names each of these a
    // Protocol Error (a repeated property, a value out of range, an empty SUBSCRIBE, ...).
    // A misplaced wildcard too [MQTT-4.7.1-1]: 0x8F Topic Filter invalid is for a filter that is well formed
    // but refused, and only a server may send it (Table 3-10).
    case error::invalid_topic_filter:
    case error::zero_packet_identifier:
    case error::subscription_option_out_of_range:
    case error::no_local_on_shared_subscription:
    case error::empty_subscription_list:
    case error::empty_unsubscription_list:
    case error::duplicate_property:
    case error::invalid_property_value:
    case error::properties_in_v3:
    case error::topic_name_missing:  // the standard's own words (3.3.2.1)
      return reason_code::protocol_error;
    case error::packet_too_large: return reason_code::packet_too_large;
    case error::invalid_topic_name: return reason_code::topic_name_invalid;
    case error::invalid_topic_alias: return reason_code::topic_alias_invalid;
  }
  return reason_code::unspecified_error;
}

}  // namespace coromqtt::protocol

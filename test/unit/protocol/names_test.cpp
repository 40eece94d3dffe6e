// Names of packet types, versions, QoS levels and reason codes; the error category and reason_for().
#include "helpers.hpp"

namespace coromqtt::protocol::test {
namespace {

TEST_CASE("Packet types, versions and QoS levels have names", "[names]") {
  CHECK(to_string(packet_type::connect) == "CONNECT");
  CHECK(to_string(packet_type::unsubscribe) == "UNSUBSCRIBE");
  CHECK(to_string(packet_type::auth) == "AUTH");
  CHECK(to_string(static_cast<packet_type>(0)) == "reserved");
  CHECK(to_string(protocol_version::v3_1_1) == "MQTT 3.1.1");
  CHECK(to_string(protocol_version::v5) == "MQTT 5.0");
  CHECK(to_string(qos::exactly_once) == "QoS 2 (exactly once)");
  CHECK(to_string(static_cast<qos>(3)) == "invalid QoS");
}

TEST_CASE("Reason codes: the standard's names, and only its 43 values are known [MQTT-2.4]", "[names]") {
  CHECK(to_string(reason_code::success) == "Success");
  CHECK(to_string(reason_code::not_authorized) == "Not authorized");
  CHECK(to_string(reason_code::wildcard_subscriptions_not_supported) == "Wildcard Subscriptions not supported");
  CHECK(to_string(static_cast<reason_code>(0x03)) == "Unknown reason code");
  int known = 0;
  for (int value = 0; value < 256; ++value) {
    const auto code = static_cast<reason_code>(value);
    if (is_known(code)) {
      ++known;
      CHECK(to_string(code) != "Unknown reason code");
    }
  }
  CHECK(known == 43);
  CHECK(is_error(reason_code::unspecified_error));
  CHECK_FALSE(is_error(reason_code::no_matching_subscribers));
}

TEST_CASE("Every codec error has its own message and a reason code to answer with", "[names][errors]") {
  // What a Client may put in DISCONNECT (Table 3-10, [MQTT-3.14.2-1]); 0x00 and 0x04 are not errors.
  const std::vector<reason_code> client_disconnect_errors{
      reason_code::unspecified_error,      reason_code::malformed_packet,        reason_code::protocol_error,
      reason_code::implementation_specific_error, reason_code::topic_name_invalid,
      reason_code::receive_maximum_exceeded, reason_code::topic_alias_invalid,   reason_code::packet_too_large,
      reason_code::message_rate_too_high,  reason_code::quota_exceeded,          reason_code::administrative_action,
      reason_code::payload_format_invalid};
  const std::string fallback = protocol_category().message(0);
  std::vector<std::string> messages;
  for (int value = static_cast<int>(error::malformed_variable_byte_integer);
       value <= static_cast<int>(error::topic_name_missing); ++value) {
    const std::error_code ec = static_cast<error>(value);
    CAPTURE(value);
    CHECK(ec.category().name() == std::string_view("coromqtt.protocol"));
    const std::string message = ec.message();
    CHECK(message != fallback);
    CHECK(std::find(messages.begin(), messages.end(), message) == messages.end());
    messages.push_back(message);
    const reason_code reason = reason_for(ec);
    CHECK(is_known(reason));
    CHECK(is_error(reason));
    // The client sends it: never a server-only code such as 0x8F, nor a CONNACK-only one such as 0x84.
    CHECK(std::find(client_disconnect_errors.begin(), client_disconnect_errors.end(), reason) !=
          client_disconnect_errors.end());
  }
  CHECK(reason_for(error::invalid_topic_filter) == reason_code::protocol_error);
  CHECK(reason_for(error::unsupported_protocol_version) == reason_code::malformed_packet);
  CHECK(reason_for(error::duplicate_property) == reason_code::protocol_error);
  CHECK(reason_for(error::truncated_field) == reason_code::malformed_packet);
  CHECK(reason_for(error::packet_too_large) == reason_code::packet_too_large);
  CHECK(reason_for(error::invalid_topic_name) == reason_code::topic_name_invalid);
  CHECK(reason_for(std::make_error_code(std::errc::io_error)) == reason_code::unspecified_error);
}

}  // namespace
}  // namespace coromqtt::protocol::test

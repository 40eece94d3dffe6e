// Malformed and forbidden input: each case expects its specific error and the reason code a receiver closes the
// connection with [MQTT-4.13] (always one a client may send in DISCONNECT, Table 3-10). Truncation at every byte of valid packets is also here. None may crash or read out of
// bounds (CI runs these under ASan and UBSan).
#include "helpers.hpp"

namespace coromqtt::protocol::test {
namespace {

constexpr auto v3 = protocol_version::v3_1_1;
constexpr auto v5 = protocol_version::v5;

struct malformed_case {
  const char* what;
  protocol_version version;
  bytes input;
  error expected;
  reason_code reason;
};

const std::vector<malformed_case>& malformed_cases() {
  using enum reason_code;
  static const std::vector<malformed_case> cases = {
      // Framing [MQTT-1.5.5], [MQTT-2.1]
      {"packet type 0 is reserved", v5, hex("00 00"), error::reserved_packet_type, malformed_packet},
      {"AUTH does not exist in 3.1.1", v3, hex("f0 00"), error::reserved_packet_type, malformed_packet},
      {"remaining length of 5 bytes", v5, hex("30 80 80 80 80 01"), error::malformed_variable_byte_integer,
       malformed_packet},
      {"remaining length not minimal (80 00) [MQTT-1.5.5-1]", v5, hex("c0 80 00"),
       error::malformed_variable_byte_integer, malformed_packet},
      {"remaining length not minimal (ff 80 00)", v5, hex("30 ff 80 00"), error::malformed_variable_byte_integer,
       malformed_packet},
      {"CONNECT flags 0001 [MQTT-2.1.3-1]", v5, hex("11 00"), error::invalid_fixed_header_flags, malformed_packet},
      {"CONNACK flags 1000", v5, hex("28 03 00 00 00"), error::invalid_fixed_header_flags, malformed_packet},
      {"PUBACK flags 0010", v5, hex("42 02 00 01"), error::invalid_fixed_header_flags, malformed_packet},
      {"PUBREC flags 0010", v5, hex("52 02 00 01"), error::invalid_fixed_header_flags, malformed_packet},
      {"PUBREL flags 0000 [MQTT-3.6.1-1]", v5, hex("60 02 00 01"), error::invalid_fixed_header_flags,
       malformed_packet},
      {"PUBREL flags 0011", v3, hex("63 02 00 01"), error::invalid_fixed_header_flags, malformed_packet},
      {"PUBCOMP flags 0100", v5, hex("74 02 00 01"), error::invalid_fixed_header_flags, malformed_packet},
      {"SUBSCRIBE flags 0000 [MQTT-3.8.1-1]", v3, hex("80 06 00 01 00 01 't' 00"),
       error::invalid_fixed_header_flags, malformed_packet},
      {"SUBACK flags 0010", v5, hex("92 04 00 01 00 00"), error::invalid_fixed_header_flags, malformed_packet},
      {"UNSUBSCRIBE flags 0000 [MQTT-3.10.1-1]", v3, hex("a0 05 00 01 00 01 't'"),
       error::invalid_fixed_header_flags, malformed_packet},
      {"UNSUBACK flags 0001", v3, hex("b1 02 00 01"), error::invalid_fixed_header_flags, malformed_packet},
      {"PINGREQ flags 0001", v3, hex("c1 00"), error::invalid_fixed_header_flags, malformed_packet},
      {"PINGRESP flags 1000", v3, hex("d8 00"), error::invalid_fixed_header_flags, malformed_packet},
      {"DISCONNECT flags 0010 [MQTT-3.14.1-1]", v5, hex("e2 00"), error::invalid_fixed_header_flags,
       malformed_packet},
      {"AUTH flags 0001 [MQTT-3.15.1-1]", v5, hex("f1 00"), error::invalid_fixed_header_flags, malformed_packet},
      {"PUBLISH QoS 3 [MQTT-3.3.1-4]", v5, hex("36 04 00 01 't' 00"), error::invalid_qos, malformed_packet},
      {"PUBLISH 3.1.1 QoS 3 [MQTT-3.3.1-4]", v3, hex("36 05 00 01 't' 00 01"), error::invalid_qos,
       malformed_packet},
      {"PUBLISH DUP with QoS 0 [MQTT-3.3.1-2]", v3, hex("38 03 00 01 't'"), error::dup_with_qos_0,
       malformed_packet},
      {"PINGREQ with a body", v3, hex("c0 01 00"), error::remaining_length_mismatch, malformed_packet},
      {"PINGRESP with a body", v5, hex("d0 01 00"), error::remaining_length_mismatch, malformed_packet},
      {"3.1.1 PUBACK with 3 bytes", v3, hex("40 03 00 01 00"), error::remaining_length_mismatch,
       malformed_packet},
      {"3.1.1 UNSUBACK with a reason code", v3, hex("b0 03 00 01 00"), error::remaining_length_mismatch,
       malformed_packet},
      {"3.1.1 DISCONNECT with a reason code", v3, hex("e0 01 00"), error::remaining_length_mismatch,
       malformed_packet},
      {"3.1.1 CONNACK with 3 bytes", v3, hex("20 03 00 00 00"), error::remaining_length_mismatch,
       malformed_packet},
      {"CONNACK 5 with bytes after the properties", v5, hex("20 04 00 00 00 00"),
       error::remaining_length_mismatch, malformed_packet},
      {"PUBACK with 1 byte", v5, hex("40 01 00"), error::truncated_field, malformed_packet},
      {"PUBLISH topic length past the end", v5, hex("30 03 00 05 'a'"), error::truncated_field,
       malformed_packet},
      {"PUBLISH QoS 1 without packet identifier", v3, hex("32 03 00 01 't'"), error::truncated_field,
       malformed_packet},
      {"AUTH with a reason code but no Property Length", v5, hex("f0 01 18"), error::truncated_field,
       malformed_packet},
      {"CONNACK 5 without Property Length", v5, hex("20 02 00 00"), error::truncated_field, malformed_packet},
      // UTF-8 [MQTT-1.5.4]
      {"PUBLISH topic ill-formed UTF-8 [MQTT-1.5.4-1]", v5, hex("30 05 00 02 c3 28 00"), error::invalid_utf8,
       malformed_packet},
      {"PUBLISH topic with a surrogate [MQTT-1.5.4-1]", v3, hex("30 05 00 03 ed a0 80"), error::invalid_utf8,
       malformed_packet},
      {"PUBLISH topic with U+0000 [MQTT-1.5.4-2]", v3, hex("30 05 00 03 'a' 00 'b'"),
       error::utf8_null_character, malformed_packet},
      {"CONNECT client identifier overlong [MQTT-3.1.3-4]", v3, hex("10 0e 00 04 'MQTT' 04 02 00 3c 00 02 c0 80"),
       error::invalid_utf8, malformed_packet},
      {"CONNECT user name with U+0000 [MQTT-3.1.3-12]", v5,
       hex("10 11 00 04 'MQTT' 05 82 00 3c 00 00 00 00 02 'a' 00"), error::utf8_null_character, malformed_packet},
      {"SUBSCRIBE filter ill-formed UTF-8 [MQTT-3.8.3-1]", v3, hex("82 06 00 01 00 01 ff 00"),
       error::invalid_utf8, malformed_packet},
      {"UNSUBSCRIBE filter ill-formed UTF-8 [MQTT-3.10.3-1]", v3, hex("a2 05 00 01 00 01 80"),
       error::invalid_utf8, malformed_packet},
      // CONNECT [MQTT-3.1]
      {"protocol name MQIsdp (MQTT 3.1) [MQTT-3.1.2-1]", v3,
       hex("10 11 00 06 'MQIsdp' 03 02 00 3c 00 03 'abc'"), error::invalid_protocol_name,
       malformed_packet},
      {"protocol name mqtt", v3, hex("10 0f 00 04 'mqtt' 04 02 00 3c 00 03 'abc'"), error::invalid_protocol_name,
       malformed_packet},
      {"protocol level 3 [MQTT-3.1.2-2]", v3, hex("10 0f 00 04 'MQTT' 03 02 00 3c 00 03 'abc'"),
       error::unsupported_protocol_version, malformed_packet},
      {"protocol level 6", v5, hex("10 0f 00 04 'MQTT' 06 02 00 3c 00 03 'abc'"),
       error::unsupported_protocol_version, malformed_packet},
      {"CONNECT reserved flag set [MQTT-3.1.2-3]", v3, hex("10 0f 00 04 'MQTT' 04 03 00 3c 00 03 'abc'"),
       error::invalid_connect_flags, malformed_packet},
      {"will QoS without will flag [MQTT-3.1.2-11]", v3, hex("10 0f 00 04 'MQTT' 04 0a 00 3c 00 03 'abc'"),
       error::invalid_connect_flags, malformed_packet},
      {"will retain without will flag [MQTT-3.1.2-13]", v5, hex("10 10 00 04 'MQTT' 05 22 00 3c 00 00 03 'abc'"),
       error::invalid_connect_flags, malformed_packet},
      {"will QoS 3 [MQTT-3.1.2-12]", v3, hex("10 13 00 04 'MQTT' 04 1e 00 3c 00 01 'c' 00 01 't' 00 01 'x'"),
       error::invalid_connect_flags, malformed_packet},
      {"3.1.1 password without user name [MQTT-3.1.2-22]", v3,
       hex("10 11 00 04 'MQTT' 04 42 00 3c 00 01 'c' 00 02 'pw'"), error::password_without_user_name,
       malformed_packet},
      {"will topic with a wildcard", v3, hex("10 12 00 04 'MQTT' 04 06 00 3c 00 01 'c' 00 01 '#' 00 00"),
       error::invalid_topic_name, topic_name_invalid},
      {"will topic empty", v5, hex("10 13 00 04 'MQTT' 05 06 00 3c 00 00 01 'c' 00 00 00 00 00"),
       error::invalid_topic_name, topic_name_invalid},
      {"user name flag without user name [MQTT-3.1.2-17]", v3, hex("10 0f 00 04 'MQTT' 04 82 00 3c 00 03 'abc'"),
       error::truncated_field, malformed_packet},
      {"client identifier missing [MQTT-3.1.3-3]", v3, hex("10 0a 00 04 'MQTT' 04 02 00 3c"),
       error::truncated_field, malformed_packet},
      // CONNACK [MQTT-3.2]
      {"CONNACK reserved acknowledge flags [MQTT-3.2.2-1]", v3, hex("20 02 02 00"), error::invalid_connack_flags,
       malformed_packet},
      {"CONNACK 3.1.1 return code 6", v3, hex("20 02 00 06"), error::invalid_reason_code, malformed_packet},
      {"CONNACK 5 reason 0x04 [MQTT-3.2.2-8]", v5, hex("20 03 00 04 00"), error::invalid_reason_code,
       malformed_packet},
      {"CONNACK 5 reason 0x8E (DISCONNECT only)", v5, hex("20 03 00 8e 00"), error::invalid_reason_code,
       malformed_packet},
      // PUBLISH [MQTT-3.3]
      {"topic name with + [MQTT-3.3.2-2]", v3, hex("30 05 00 03 'a/+'"), error::invalid_topic_name,
       topic_name_invalid},
      {"topic name with #", v5, hex("30 04 00 01 '#' 00"), error::invalid_topic_name, topic_name_invalid},
      {"3.1.1 empty topic name [MQTT-4.7.3-1]", v3, hex("30 02 00 00"), error::invalid_topic_name,
       topic_name_invalid},
      {"5 empty topic name without topic alias (3.3.2.1: a Protocol Error)", v5, hex("30 03 00 00 00"),
       error::topic_name_missing, protocol_error},
      {"PUBLISH QoS 1 packet identifier 0 [MQTT-2.2.1-3]", v3, hex("32 05 00 01 't' 00 00"),
       error::zero_packet_identifier, protocol_error},
      {"PUBLISH QoS 2 packet identifier 0", v5, hex("34 06 00 01 't' 00 00 00"), error::zero_packet_identifier,
       protocol_error},
      // Acknowledgements [MQTT-3.4] ... [MQTT-3.7]
      {"PUBACK packet identifier 0", v3, hex("40 02 00 00"), error::zero_packet_identifier, protocol_error},
      {"PUBREC packet identifier 0", v5, hex("50 02 00 00"), error::zero_packet_identifier, protocol_error},
      {"PUBREL packet identifier 0", v5, hex("62 02 00 00"), error::zero_packet_identifier, protocol_error},
      {"PUBCOMP packet identifier 0", v3, hex("70 02 00 00"), error::zero_packet_identifier, protocol_error},
      {"PUBACK reason 0x81 [MQTT-3.4.2-1]", v5, hex("40 03 00 01 81"), error::invalid_reason_code,
       malformed_packet},
      {"PUBREC reason 0x92 [MQTT-3.5.2-1]", v5, hex("50 03 00 01 92"), error::invalid_reason_code,
       malformed_packet},
      {"PUBREL reason 0x10 [MQTT-3.6.2-1]", v5, hex("62 03 00 01 10"), error::invalid_reason_code,
       malformed_packet},
      {"PUBCOMP reason 0x80 [MQTT-3.7.2-1]", v5, hex("70 03 00 01 80"), error::invalid_reason_code,
       malformed_packet},
      // SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK [MQTT-3.8] ... [MQTT-3.11]
      {"SUBSCRIBE packet identifier 0", v3, hex("82 06 00 00 00 01 't' 00"), error::zero_packet_identifier,
       protocol_error},
      {"SUBSCRIBE without filters [MQTT-3.8.3-2]", v3, hex("82 02 00 01"), error::empty_subscription_list,
       protocol_error},
      {"SUBSCRIBE 5 without filters", v5, hex("82 03 00 01 00"), error::empty_subscription_list, protocol_error},
      {"SUBSCRIBE filter without options byte", v3, hex("82 05 00 01 00 01 't'"), error::truncated_field,
       malformed_packet},
      {"SUBSCRIBE filter a/#/b [MQTT-4.7.1-1]", v3, hex("82 0a 00 01 00 05 'a/#/b' 00"),
       error::invalid_topic_filter, protocol_error},
      {"SUBSCRIBE filter a+ [MQTT-4.7.1-2]", v5, hex("82 08 00 01 00 00 02 'a+' 00"), error::invalid_topic_filter,
       protocol_error},
      {"SUBSCRIBE empty filter [MQTT-4.7.3-1]", v3, hex("82 05 00 01 00 00 00"), error::invalid_topic_filter,
       protocol_error},
      {"SUBSCRIBE shared without share name [MQTT-4.8.2-1]", v5, hex("82 0e 00 01 00 00 08 '$share//' 00"),
       error::invalid_topic_filter, protocol_error},
      {"SUBSCRIBE 3.1.1 option bit 2 set [MQTT-3.8.3-4 of 3.1.1]", v3, hex("82 06 00 01 00 01 't' 04"),
       error::invalid_subscription_options, malformed_packet},
      {"SUBSCRIBE 5 reserved option bits [MQTT-3.8.3-5]", v5, hex("82 07 00 01 00 00 01 't' 40"),
       error::invalid_subscription_options, malformed_packet},
      {"SUBSCRIBE QoS 3", v3, hex("82 06 00 01 00 01 't' 03"), error::subscription_option_out_of_range,
       protocol_error},
      {"SUBSCRIBE 5 Retain Handling 3", v5, hex("82 07 00 01 00 00 01 't' 30"),
       error::subscription_option_out_of_range, protocol_error},
      {"SUBSCRIBE No Local on a shared subscription [MQTT-3.8.3-4]", v5,
       hex("82 10 00 01 00 00 0a '$share/g/t' 04"), error::no_local_on_shared_subscription, protocol_error},
      {"SUBACK packet identifier 0", v3, hex("90 03 00 00 00"), error::zero_packet_identifier, protocol_error},
      {"SUBACK 3.1.1 return code 0x03 [MQTT-3.9.3-2]", v3, hex("90 03 00 01 03"), error::invalid_reason_code,
       malformed_packet},
      {"SUBACK 3.1.1 return code 0x87 (MQTT 5 only)", v3, hex("90 03 00 01 87"), error::invalid_reason_code,
       malformed_packet},
      {"SUBACK 5 reason 0x11", v5, hex("90 04 00 01 00 11"), error::invalid_reason_code, malformed_packet},
      {"UNSUBSCRIBE packet identifier 0", v5, hex("a2 06 00 00 00 00 01 't'"), error::zero_packet_identifier,
       protocol_error},
      {"UNSUBSCRIBE without filters [MQTT-3.10.3-2]", v3, hex("a2 02 00 01"), error::empty_unsubscription_list,
       protocol_error},
      {"UNSUBSCRIBE invalid filter", v3, hex("a2 05 00 01 00 01 00"), error::utf8_null_character,
       malformed_packet},
      {"UNSUBSCRIBE filter #/a", v3, hex("a2 07 00 01 00 03 '#/a'"), error::invalid_topic_filter,
       protocol_error},
      {"UNSUBACK packet identifier 0", v3, hex("b0 02 00 00"), error::zero_packet_identifier, protocol_error},
      {"UNSUBACK 5 reason 0x02 [MQTT-3.11.3-2]", v5, hex("b0 04 00 01 00 02"), error::invalid_reason_code,
       malformed_packet},
      // DISCONNECT, AUTH
      {"DISCONNECT reason 0x01 [MQTT-3.14.2-1]", v5, hex("e0 01 01"), error::invalid_reason_code,
       malformed_packet},
      {"DISCONNECT reason 0x84 (CONNACK only)", v5, hex("e0 01 84"), error::invalid_reason_code,
       malformed_packet},
      {"AUTH reason 0x87 [MQTT-3.15.2-1]", v5, hex("f0 02 87 00"), error::invalid_reason_code, malformed_packet},
      // Properties [MQTT-2.2.2]
      {"CONNECT with PUBLISH's Topic Alias", v5, hex("10 11 00 04 'MQTT' 05 02 00 3c 03 23 00 01 00 01 'c'"),
       error::property_not_allowed, malformed_packet},
      {"PUBLISH with an unknown property", v5, hex("30 06 00 01 't' 02 30 00"), error::unknown_property,
       malformed_packet},
      {"PUBLISH with Topic Alias twice", v5, hex("30 0a 00 01 't' 06 23 00 01 23 00 02"),
       error::duplicate_property, protocol_error},
      {"PUBLISH with Topic Alias 0 [MQTT-3.3.2-8]", v5, hex("30 06 00 00 03 23 00 00"), error::invalid_topic_alias,
       topic_alias_invalid},
  };
  return cases;
}

TEST_CASE("Malformed input: each case gives its specific error and reason code", "[malformed]") {
  for (const malformed_case& c : malformed_cases()) {
    CAPTURE(c.what, to_hex(c.input));
    const decode_result result = decode(c.input, c.version);
    CHECK(result.status == frame_status::error);
    CHECK(result.error == c.expected);
    CHECK(reason_for(result.error) == c.reason);
    CHECK_FALSE(protocol_category().message(result.error.value()).empty());
  }
}

TEST_CASE("Every prefix of a malformed input is need_more or the same kind of failure, never a crash",
          "[malformed]") {
  for (const malformed_case& c : malformed_cases()) {
    for (std::size_t n = 0; n < c.input.size(); ++n) {
      const bytes prefix(c.input.begin(), c.input.begin() + static_cast<std::ptrdiff_t>(n));
      const decode_result result = decode(prefix, c.version);
      CAPTURE(c.what, n);
      CHECK(result.status != frame_status::complete);
    }
  }
}

TEST_CASE("read_frame refuses a packet over the maximum size before its body arrives [MQTT-3.1.2-24]",
          "[framing]") {
  // Only the fixed header of a PUBLISH claiming 2,097,152 bytes is in the buffer.
  const bytes header = hex("30 80 80 80 01");
  const frame_result refused = read_frame(header, 1024);
  CHECK(refused.status == frame_status::error);
  CHECK(refused.error == error::packet_too_large);
  CHECK(reason_for(refused.error) == reason_code::packet_too_large);

  const frame_result allowed = read_frame(header);
  CHECK(allowed.status == frame_status::need_more);
  CHECK(allowed.needed == 5 + 2'097'152);
  CHECK(allowed.header.remaining_length == 2'097'152);
  CHECK(allowed.header.header_size == 5);

  // The limit counts the whole packet, fixed header included.
  const bytes exact = hex("c0 00");
  CHECK(read_frame(exact, 2).status == frame_status::complete);
  CHECK(read_frame(exact, 1).error == error::packet_too_large);
  decode_options options;
  options.maximum_packet_size = 6;
  CHECK(decode(hex("30 05 00 01 't' 'ab'"), protocol_version::v3_1_1, options).error == error::packet_too_large);
  CHECK(decode(hex("30 04 00 01 't' 'a'"), protocol_version::v3_1_1, options).status == frame_status::complete);
}

TEST_CASE("read_frame: need_more while the remaining length is incomplete, then the total", "[framing]") {
  const bytes packet = concat({hex("30 80 01"), bytes(128, 0)});
  CHECK(read_frame(byte_view{}).status == frame_status::need_more);
  const frame_result first = read_frame(byte_view{packet}.first(1));
  CHECK(first.status == frame_status::need_more);
  CHECK(first.needed == 0);
  const frame_result partial = read_frame(byte_view{packet}.first(2));
  CHECK(partial.status == frame_status::need_more);
  CHECK(partial.needed == 0);
  const frame_result known = read_frame(byte_view{packet}.first(3));
  CHECK(known.status == frame_status::need_more);
  CHECK(known.needed == 131);
  const frame_result whole = read_frame(packet);
  CHECK(whole.status == frame_status::complete);
  CHECK(whole.header.packet_size() == 131);
  CHECK(whole.header.type() == packet_type::publish);
}

TEST_CASE("decode takes the first of several packets in a buffer", "[framing]") {
  const bytes two = hex("40 02 00 01 c0 00");
  const decode_result first = decode(two, v5);
  REQUIRE(first.status == frame_status::complete);
  CHECK(first.size == 4);
  CHECK(first.packet == packet{puback{.packet_id = 1}});
  const decode_result second = decode(byte_view{two}.subspan(first.size), v5);
  REQUIRE(second.status == frame_status::complete);
  CHECK(std::holds_alternative<pingreq>(second.packet));
}

TEST_CASE("decode_packet checks the header it is given against the bytes", "[framing]") {
  const bytes wire = hex("40 02 00 01");
  packet out;
  const frame_header good{0x40, 2, 2};
  CHECK_FALSE(decode_packet(good, wire, v5, out));
  CHECK(out == packet{puback{.packet_id = 1}});
  const frame_header wrong_length{0x40, 2, 3};
  CHECK(decode_packet(wrong_length, wire, v5, out) == error::remaining_length_mismatch);
  const frame_header wrong_flags{0x41, 2, 2};
  CHECK(decode_packet(wrong_flags, wire, v5, out) == error::invalid_fixed_header_flags);
}

// Truncation of valid packets: every prefix is need_more; and a body cut short with a consistent Remaining
// Length is a specific error (or a valid, shorter packet where the standard allows it), never a crash.
TEST_CASE("Truncating valid packets at every byte", "[malformed][truncation]") {
  struct valid {
    protocol_version version;
    bytes input;
  };
  const valid packets[] = {
      {v3, hex("10 1d 00 04 'MQTT' 04 ee 00 0a 00 03 'abc' 00 01 'w' 00 03 'bye' 00 01 'u' 00 01 'p'")},
      {v5, hex("10 22 00 04 'MQTT' 05 c6 00 1e 05 11 00 00 00 0a 00 02 'id' 02 01 01 00 01 't' 00 00 00 01 'u' 00 01 "
               "'p'")},
      {v5, hex("20 0b 01 00 08 21 00 0a 1f 00 02 'ok'")},
      {v5, hex("33 13 00 03 'a/b' 00 0a 06 23 00 07 0b 80 01 'hello'")},
      {v5, hex("40 11 00 01 80 0d 1f 00 03 'bad' 26 00 01 'k' 00 01 'v'")},
      {v5, hex("82 21 00 0b 09 0b 05 26 00 01 'k' 00 01 'v' 00 03 'a/+' 2d 00 0c '$share/g/x/#' 00")},
      {v5, hex("90 0c 00 0b 05 1f 00 02 'ok' 01 02 8f a2")},
      {v5, hex("a2 0f 00 0d 07 26 00 01 'k' 00 01 'v' 00 03 'a/b'")},
      {v5, hex("b0 05 00 0d 00 00 11")},
      {v5, hex("e0 1c 8b 1a 11 00 00 00 00 1f 00 04 'bye!' 26 00 01 'k' 00 01 'v' 1c 00 04 'srv2'")},
      {v5, hex("f0 1a 18 18 15 00 05 'SCRAM' 16 00 02 01 02 1f 00 01 'c' 26 00 01 'k' 00 01 'v'")},
      {v3, hex("82 0e 00 0a 00 03 'a/b' 01 00 03 'c/#' 02")},
      {v3, hex("3d 06 00 01 't' 12 34 'x'")},
  };
  for (const valid& v : packets) {
    REQUIRE(decode(v.input, v.version).status == frame_status::complete);
    for (std::size_t n = 0; n < v.input.size(); ++n) {
      CAPTURE(to_hex(v.input), n);
      const bytes prefix(v.input.begin(), v.input.begin() + static_cast<std::ptrdiff_t>(n));
      const decode_result cut = decode(prefix, v.version);
      CHECK(cut.status == frame_status::need_more);
      if (n >= 2) CHECK(cut.size == v.input.size());  // all these have a one-byte Remaining Length
    }
    const std::size_t body_size = v.input.size() - 2;
    for (std::size_t kept = 0; kept < body_size; ++kept) {
      const bytes body(v.input.begin() + 2, v.input.begin() + 2 + static_cast<std::ptrdiff_t>(kept));
      const bytes shortened = framed(v.input[0], body);
      CAPTURE(to_hex(shortened));
      const decode_result result = decode(shortened, v.version);
      if (result.status == frame_status::complete) {
        // Allowed: a shorter payload, fewer list entries, a short form. It must still re-encode.
        CHECK_FALSE(encoded_size(result.packet, v.version).error);
      } else {
        REQUIRE(result.status == frame_status::error);
        CHECK(is_error(reason_for(result.error)));
      }
    }
  }
}

}  // namespace
}  // namespace coromqtt::protocol::test

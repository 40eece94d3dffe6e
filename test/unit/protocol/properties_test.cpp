// MQTT 5 properties [MQTT-2.2.2]: which packets may carry each one (Table 2-4, transcribed here independently
// of the codec's own table), duplicates, value rules, unknown identifiers, and the 3.1.1 restriction.
#include "helpers.hpp"

#include <array>

namespace coromqtt::protocol::test {
namespace {

constexpr auto v3 = protocol_version::v3_1_1;
constexpr auto v5 = protocol_version::v5;

enum class carrier {
  connect, will, connack, publish, puback, pubrec, pubrel, pubcomp,
  subscribe, suback, unsubscribe, unsuback, disconnect, auth,
};
constexpr carrier all_carriers[] = {
    carrier::connect,   carrier::will,   carrier::connack,     carrier::publish,  carrier::puback,
    carrier::pubrec,    carrier::pubrel, carrier::pubcomp,     carrier::subscribe, carrier::suback,
    carrier::unsubscribe, carrier::unsuback, carrier::disconnect, carrier::auth,
};

const char* name(carrier c) {
  constexpr const char* names[] = {"CONNECT", "will",   "CONNACK",     "PUBLISH",  "PUBACK",     "PUBREC", "PUBREL",
                                   "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "DISCONNECT", "AUTH"};
  return names[static_cast<int>(c)];
}

// A minimal valid MQTT 5 packet of the carrier's kind whose (only) property block holds `properties`.
bytes with_properties(carrier c, const bytes& properties) {
  const bytes block = concat({vbi(static_cast<std::uint32_t>(properties.size())), properties});
  switch (c) {
    case carrier::connect: return framed(0x10, concat({hex("00 04 'MQTT' 05 02 00 3c"), block, hex("00 01 'c'")}));
    case carrier::will:
      return framed(0x10, concat({hex("00 04 'MQTT' 05 06 00 3c 00 00 01 'c'"), block, hex("00 01 't' 00 00")}));
    case carrier::connack: return framed(0x20, concat({hex("00 00"), block}));
    case carrier::publish: return framed(0x30, concat({hex("00 01 't'"), block}));
    case carrier::puback: return framed(0x40, concat({hex("00 01 00"), block}));
    case carrier::pubrec: return framed(0x50, concat({hex("00 01 00"), block}));
    case carrier::pubrel: return framed(0x62, concat({hex("00 01 00"), block}));
    case carrier::pubcomp: return framed(0x70, concat({hex("00 01 00"), block}));
    case carrier::subscribe: return framed(0x82, concat({hex("00 01"), block, hex("00 01 't' 00")}));
    case carrier::suback: return framed(0x90, concat({hex("00 01"), block, hex("00")}));
    case carrier::unsubscribe: return framed(0xA2, concat({hex("00 01"), block, hex("00 01 't'")}));
    case carrier::unsuback: return framed(0xB0, concat({hex("00 01"), block, hex("00")}));
    case carrier::disconnect: return framed(0xE0, concat({hex("00"), block}));
    case carrier::auth: return framed(0xF0, concat({hex("00"), block}));
  }
  return {};
}

struct property_sample {
  std::uint8_t id;
  bytes value;  // a valid value
  std::vector<carrier> carried_by;
};

// Table 2-4 of MQTT 5.0.
const std::vector<property_sample>& samples() {
  using enum carrier;
  static const std::vector<property_sample> table = {
      {0x01, hex("01"), {publish, will}},
      {0x02, hex("00 00 00 05"), {publish, will}},
      {0x03, hex("00 01 'x'"), {publish, will}},
      {0x08, hex("00 01 'x'"), {publish, will}},
      {0x09, hex("00 01 07"), {publish, will}},
      {0x0B, hex("05"), {publish, subscribe}},
      {0x11, hex("00 00 00 05"), {connect, connack, disconnect}},
      {0x12, hex("00 01 'x'"), {connack}},
      {0x13, hex("00 05"), {connack}},
      {0x15, hex("00 01 'x'"), {connect, connack, auth}},
      {0x16, hex("00 01 07"), {connect, connack, auth}},
      {0x17, hex("01"), {connect}},
      {0x18, hex("00 00 00 05"), {will}},
      {0x19, hex("01"), {connect}},
      {0x1A, hex("00 01 'x'"), {connack}},
      {0x1C, hex("00 01 'x'"), {connack, disconnect}},
      {0x1F, hex("00 01 'x'"), {connack, puback, pubrec, pubrel, pubcomp, suback, unsuback, disconnect, auth}},
      {0x21, hex("00 05"), {connect, connack}},
      {0x22, hex("00 05"), {connect, connack}},
      {0x23, hex("00 05"), {publish}},
      {0x24, hex("01"), {connack}},
      {0x25, hex("01"), {connack}},
      {0x26, hex("00 01 'k' 00 01 'v'"),
       {connect, will, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback, unsubscribe, unsuback,
        disconnect, auth}},
      {0x27, hex("00 00 00 05"), {connect, connack}},
      {0x28, hex("01"), {connack}},
      {0x29, hex("01"), {connack}},
      {0x2A, hex("01"), {connack}},
  };
  return table;
}

TEST_CASE("Each property is accepted exactly in the packets Table 2-4 allows [MQTT-2.2.2.2]", "[properties]") {
  REQUIRE(samples().size() == 27);
  for (const property_sample& sample : samples()) {
    for (const carrier c : all_carriers) {
      const bytes wire = with_properties(c, concat({{sample.id}, sample.value}));
      const bool allowed = std::ranges::find(sample.carried_by, c) != sample.carried_by.end();
      CAPTURE(static_cast<int>(sample.id), name(c), to_hex(wire));
      if (allowed) {
        // Accepted, and the property survives: re-encoding gives the same bytes.
        const packet decoded = decode_whole(wire, v5);
        CHECK(to_hex(encode_packet(decoded, v5)) == to_hex(wire));
      } else {
        const std::error_code ec = decode_error(wire, v5);
        CHECK(ec == error::property_not_allowed);
        CHECK(reason_for(ec) == reason_code::malformed_packet);  // [MQTT-2.2.2.2]: not valid for its type
      }
    }
  }
}

TEST_CASE("A property other than User Property and PUBLISH's Subscription Identifier may appear once",
          "[properties]") {
  for (const property_sample& sample : samples()) {
    const carrier c = sample.carried_by.front();
    const bytes once = concat({{sample.id}, sample.value});
    const bytes wire = with_properties(c, concat({once, once}));
    CAPTURE(static_cast<int>(sample.id), name(c));
    const bool repeatable = sample.id == 0x26 || (sample.id == 0x0B && c == carrier::publish);
    if (repeatable) {
      CHECK(decode_error(wire, v5) == std::error_code{});
    } else {
      const std::error_code ec = decode_error(wire, v5);
      CHECK(ec == error::duplicate_property);
      CHECK(reason_for(ec) == reason_code::protocol_error);
    }
  }
  // In SUBSCRIBE the Subscription Identifier is single [MQTT-3.8.2.1.2].
  CHECK(decode_error(with_properties(carrier::subscribe, hex("0b 05 0b 06")), v5) == error::duplicate_property);
}

TEST_CASE("Property values outside their range are refused", "[properties]") {
  struct bad_value {
    const char* what;
    carrier where;
    bytes property;
    error expected;
  };
  const bad_value table[] = {
      {"Receive Maximum 0", carrier::connect, hex("21 00 00"), error::invalid_property_value},
      {"Receive Maximum 0 (CONNACK)", carrier::connack, hex("21 00 00"), error::invalid_property_value},
      {"Maximum Packet Size 0", carrier::connect, hex("27 00 00 00 00"), error::invalid_property_value},
      {"Maximum Packet Size 0 (CONNACK)", carrier::connack, hex("27 00 00 00 00"), error::invalid_property_value},
      {"Maximum QoS 2", carrier::connack, hex("24 02"), error::invalid_property_value},
      {"Retain Available 2", carrier::connack, hex("25 02"), error::invalid_property_value},
      {"Wildcard Subscription Available 2", carrier::connack, hex("28 02"), error::invalid_property_value},
      {"Subscription Identifier Available 2", carrier::connack, hex("29 02"), error::invalid_property_value},
      {"Shared Subscription Available 2", carrier::connack, hex("2a 02"), error::invalid_property_value},
      {"Request Response Information 2", carrier::connect, hex("19 02"), error::invalid_property_value},
      {"Request Problem Information 2", carrier::connect, hex("17 02"), error::invalid_property_value},
      {"Payload Format Indicator 2", carrier::publish, hex("01 02"), error::invalid_property_value},
      {"Payload Format Indicator 2 (will)", carrier::will, hex("01 02"), error::invalid_property_value},
      {"Topic Alias 0 [MQTT-3.3.2-8]", carrier::publish, hex("23 00 00"), error::invalid_topic_alias},
      {"Subscription Identifier 0 (PUBLISH)", carrier::publish, hex("0b 00"), error::invalid_property_value},
      {"Subscription Identifier 0 (SUBSCRIBE)", carrier::subscribe, hex("0b 00"), error::invalid_property_value},
      {"Subscription Identifier of 5 bytes", carrier::subscribe, hex("0b 80 80 80 80 01"),
       error::malformed_variable_byte_integer},
      {"Subscription Identifier not minimal", carrier::subscribe, hex("0b 85 00"),
       error::malformed_variable_byte_integer},
      {"Response Topic with a wildcard [MQTT-3.3.2-14]", carrier::publish, hex("08 00 03 'a/#'"),
       error::invalid_property_value},
      {"Response Topic with a wildcard (will)", carrier::will, hex("08 00 01 '+'"), error::invalid_property_value},
      {"Content Type not UTF-8", carrier::publish, hex("03 00 01 ff"), error::invalid_utf8},
      {"Reason String with U+0000", carrier::puback, hex("1f 00 01 00"), error::utf8_null_character},
      {"User Property name not UTF-8", carrier::disconnect, hex("26 00 01 c0 00 01 'v'"), error::invalid_utf8},
      {"User Property value not UTF-8", carrier::disconnect, hex("26 00 01 'k' 00 02 ed a0"), error::invalid_utf8},
      {"String running past the block", carrier::connack, hex("12 00 05 'ab'"), error::truncated_field},
      {"Four-byte integer cut short", carrier::connack, hex("11 00 00"), error::truncated_field},
      {"Unknown identifier 0x00", carrier::publish, hex("00 01"), error::unknown_property},
      {"Unknown identifier 0x04", carrier::publish, hex("04 01"), error::unknown_property},
      {"Unknown identifier 0x2B", carrier::connack, hex("2b 01"), error::unknown_property},
      {"Unknown identifier 0x7F", carrier::connack, hex("7f 01"), error::unknown_property},
      {"Unknown two-byte identifier", carrier::connack, hex("80 01 01"), error::unknown_property},
  };
  for (const bad_value& row : table) {
    CAPTURE(row.what);
    CHECK(decode_error(with_properties(row.where, row.property), v5) == row.expected);
  }
}

TEST_CASE("A Property Length longer than the packet is a truncated field", "[properties]") {
  CHECK(decode_error(hex("20 03 00 00 05"), v5) == error::truncated_field);
  CHECK(decode_error(hex("20 04 00 00 01 24"), v5) == error::truncated_field);
}

TEST_CASE("The encoder refuses out-of-range property values", "[properties][encode]") {
  connect c;
  c.properties.receive_maximum = 0;
  CHECK(encoded_size(c, v5).error == error::invalid_property_value);
  c = {};
  c.properties.maximum_packet_size = 0;
  CHECK(encoded_size(c, v5).error == error::invalid_property_value);
  connack a;
  a.properties.maximum_qos = 2;
  CHECK(encoded_size(a, v5).error == error::invalid_property_value);
  publish p;
  p.topic = "t";
  p.properties.topic_alias = 0;
  CHECK(encoded_size(p, v5).error == error::invalid_topic_alias);
  p.properties.topic_alias.reset();
  p.properties.payload_format_indicator = 2;
  CHECK(encoded_size(p, v5).error == error::invalid_property_value);
  p.properties.payload_format_indicator.reset();
  const std::array<std::uint32_t, 1> zero{0};
  p.properties.subscription_identifiers = zero;
  CHECK(encoded_size(p, v5).error == error::invalid_property_value);
  const std::array<std::uint32_t, 1> too_big{268'435'456};
  p.properties.subscription_identifiers = too_big;
  CHECK(encoded_size(p, v5).error == error::invalid_property_value);
  const std::array<std::uint32_t, 1> largest{268'435'455};
  p.properties.subscription_identifiers = largest;
  const bytes wire = encode_packet(p, v5);
  CHECK(to_hex(wire) == to_hex(hex("30 09 00 01 't' 05 0b ff ff ff 7f")));
  subscribe s;
  const std::array subs{subscription{"t", {}}};
  s.packet_id = 1;
  s.subscriptions = subs;
  s.properties.subscription_identifier = 0;
  CHECK(encoded_size(s, v5).error == error::invalid_property_value);
}

TEST_CASE("MQTT 3.1.1 has no properties: the encoder refuses any that are present", "[properties][encode]") {
  const std::array user{user_property{"k", "v"}};
  const std::array<user_property, 0> none{};
  publish p;
  p.topic = "t";
  p.properties.message_expiry_interval = 1;
  CHECK(encoded_size(p, v3).error == error::properties_in_v3);
  // An empty list is no property at all.
  p.properties = {};
  p.properties.user_properties = none;
  CHECK_FALSE(encoded_size(p, v3).error);
  connect c;
  c.version = v3;
  c.properties.session_expiry_interval = 0;  // present, even if 0
  CHECK(encoded_size(c, v3).error == error::properties_in_v3);
  c.properties = {};
  c.will = will{"w", {}, qos::at_most_once, false, {}};
  c.will->properties.user_properties = user;
  CHECK(encoded_size(c, v3).error == error::properties_in_v3);
  puback ack{.packet_id = 1};
  ack.properties.reason_string = "x";
  CHECK(encoded_size(ack, v3).error == error::properties_in_v3);
  disconnect d;
  d.properties.user_properties = user;
  CHECK(encoded_size(d, v3).error == error::properties_in_v3);
  connack ca;
  ca.properties.receive_maximum = 5;
  CHECK(encoded_size(ca, v3).error == error::properties_in_v3);
}

TEST_CASE("Property identifiers have the standard's names", "[properties][names]") {
  CHECK(to_string(property_id::payload_format_indicator) == "Payload Format Indicator");
  CHECK(to_string(property_id::subscription_identifier_available) == "Subscription Identifier Available");
  CHECK(to_string(property_id::user_property) == "User Property");
  CHECK(to_string(static_cast<property_id>(0x04)) == "Unknown property");
  for (const property_sample& sample : samples())
    CHECK(to_string(static_cast<property_id>(sample.id)) != "Unknown property");
}

TEST_CASE("Decoded property lists are views of the packet bytes: no copies", "[properties]") {
  const bytes wire = with_properties(carrier::publish, hex("26 00 01 'k' 00 01 'v'"));
  const publish p = std::get<publish>(decode_whole(wire, v5));
  const user_property first = *p.properties.user_properties.begin();
  CHECK(reinterpret_cast<const std::uint8_t*>(first.name.data()) >= wire.data());
  CHECK(reinterpret_cast<const std::uint8_t*>(first.value.data()) < wire.data() + wire.size());
}

}  // namespace
}  // namespace coromqtt::protocol::test

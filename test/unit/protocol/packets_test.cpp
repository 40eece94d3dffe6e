// Exact bytes of every control packet in both versions, written by hand from the standards' figures
// (MQTT 3.1.1 section 3, MQTT 5.0 section 3). Each vector is checked both ways: the packet encodes to it
// and it decodes to the packet.
#include "helpers.hpp"

#include <array>

namespace coromqtt::protocol::test {
namespace {

constexpr auto v3 = protocol_version::v3_1_1;
constexpr auto v5 = protocol_version::v5;

TEST_CASE("CONNECT 3.1.1: minimal, clean session [MQTT-3.1.2-1] [MQTT-3.1.3-3]", "[packets][connect]") {
  connect p;
  p.version = v3;
  p.client_id = "abc";
  check_wire(p, v3, hex("10 0f 00 04 'MQTT' 04 02 00 3c 00 03 'abc'"));
}

TEST_CASE("CONNECT 3.1.1: empty client identifier, no clean session", "[packets][connect]") {
  connect p;
  p.version = v3;
  p.clean_start = false;
  p.keep_alive = 0;
  check_wire(p, v3, hex("10 0c 00 04 'MQTT' 04 00 00 00 00 00"));
}

TEST_CASE("CONNECT 3.1.1: will, user name and password in payload order [MQTT-3.1.3-1]", "[packets][connect]") {
  connect p;
  p.version = v3;
  p.keep_alive = 10;
  p.client_id = "abc";
  p.will = will{"w", view("bye"), qos::at_least_once, true, {}};
  p.username = "u";
  p.password = view("p");
  // flags: user name 0x80, password 0x40, will retain 0x20, will QoS 1 0x08, will 0x04, clean 0x02
  check_wire(p, v3,
             hex("10 1d 00 04 'MQTT' 04 ee 00 0a | 00 03 'abc' | 00 01 'w' | 00 03 'bye' | 00 01 'u' | 00 01 'p'"));
}

TEST_CASE("CONNECT 5: every CONNECT property and every will property", "[packets][connect][properties]") {
  const std::array user{user_property{"k", "v"}};
  const std::array will_user{user_property{"a", "b"}};
  const std::array<std::uint8_t, 2> auth_data{0xAB, 0xCD};
  const std::array<std::uint8_t, 2> correlation{0x01, 0x02};
  const std::array<std::uint8_t, 3> password{0x01, 0x02, 0x03};
  connect p;
  p.keep_alive = 30;
  p.client_id = "id";
  p.properties.session_expiry_interval = 10;
  p.properties.receive_maximum = 20;
  p.properties.maximum_packet_size = 4096;
  p.properties.topic_alias_maximum = 5;
  p.properties.request_response_information = true;
  p.properties.request_problem_information = false;
  p.properties.user_properties = user;
  p.properties.authentication_method = "JWT";
  p.properties.authentication_data = auth_data;
  will& w = p.will.emplace();
  w.topic = "w/t";
  w.payload = view("hi");
  w.qos = qos::exactly_once;
  w.properties.will_delay_interval = 5;
  w.properties.payload_format_indicator = 1;
  w.properties.message_expiry_interval = 60;
  w.properties.content_type = "text";
  w.properties.response_topic = "reply";
  w.properties.correlation_data = correlation;
  w.properties.user_properties = will_user;
  p.username = "user";
  p.password = password;
  check_wire(p, v5, hex(R"(10 71 00 04 'MQTT' 05 d6 00 1e
      26 | 11 00 00 00 0a | 21 00 14 | 27 00 00 10 00 | 22 00 05 | 19 01 | 17 00 | 26 00 01 'k' 00 01 'v'
         | 15 00 03 'JWT' | 16 00 02 ab cd
      00 02 'id'
      27 | 18 00 00 00 05 | 01 01 | 02 00 00 00 3c | 03 00 04 'text' | 08 00 05 'reply' | 09 00 02 01 02
         | 26 00 01 'a' 00 01 'b'
      00 03 'w/t' | 00 02 'hi' | 00 04 'user' | 00 03 01 02 03)"));
}

TEST_CASE("CONNECT 5: minimal, and password without user name is allowed in 5", "[packets][connect]") {
  connect p;
  p.client_id = "abc";
  check_wire(p, v5, hex("10 10 00 04 'MQTT' 05 02 00 3c 00 00 03 'abc'"));
  p.password = view("pw");
  check_wire(p, v5, hex("10 14 00 04 'MQTT' 05 42 00 3c 00 00 03 'abc' 00 02 'pw'"));
}

TEST_CASE("CONNECT is decoded with the version it declares", "[packets][connect]") {
  const bytes v3_connect = hex("10 0f 00 04 'MQTT' 04 02 00 3c 00 03 'abc'");
  const packet p = decode_whole(v3_connect, v5);
  CHECK(std::get<connect>(p).version == v3);
}

TEST_CASE("CONNACK 3.1.1: return codes 0-5 map to reason codes [MQTT-3.2.2.3]", "[packets][connack]") {
  const std::pair<std::uint8_t, reason_code> codes[] = {
      {0, reason_code::success},
      {1, reason_code::unsupported_protocol_version},
      {2, reason_code::client_identifier_not_valid},
      {3, reason_code::server_unavailable},
      {4, reason_code::bad_user_name_or_password},
      {5, reason_code::not_authorized},
  };
  for (const auto& [wire, reason] : codes) {
    connack p;
    p.reason = reason;
    check_wire(p, v3, bytes{0x20, 0x02, 0x00, wire});
  }
  connack present;
  present.session_present = true;
  check_wire(present, v3, hex("20 02 01 00"));
  connack other;
  other.reason = reason_code::banned;  // no 3.1.1 equivalent
  CHECK(encoded_size(other, v3).error == error::invalid_reason_code);
}

TEST_CASE("CONNACK 5: minimal and with a refusal reason", "[packets][connack]") {
  check_wire(connack{}, v5, hex("20 03 00 00 00"));
  connack refused;
  refused.reason = reason_code::not_authorized;
  check_wire(refused, v5, hex("20 03 00 87 00"));
}

TEST_CASE("CONNACK 5: every CONNACK property", "[packets][connack][properties]") {
  const std::array user{user_property{"x", "y"}};
  const std::array<std::uint8_t, 1> auth_data{0xFF};
  connack p;
  p.session_present = true;
  p.properties.session_expiry_interval = 120;
  p.properties.receive_maximum = 10;
  p.properties.maximum_qos = 1;
  p.properties.retain_available = false;
  p.properties.maximum_packet_size = 65536;
  p.properties.assigned_client_identifier = "cid";
  p.properties.topic_alias_maximum = 8;
  p.properties.reason_string = "ok";
  p.properties.user_properties = user;
  p.properties.wildcard_subscription_available = true;
  p.properties.subscription_identifier_available = false;
  p.properties.shared_subscription_available = true;
  p.properties.server_keep_alive = 60;
  p.properties.response_information = "resp";
  p.properties.server_reference = "other";
  p.properties.authentication_method = "JWT";
  p.properties.authentication_data = auth_data;
  check_wire(p, v5, hex(R"(20 4b 01 00 48
      11 00 00 00 78 | 21 00 0a | 24 01 | 25 00 | 27 00 01 00 00 | 12 00 03 'cid' | 22 00 08 | 1f 00 02 'ok'
      | 26 00 01 'x' 00 01 'y' | 28 01 | 29 00 | 2a 01 | 13 00 3c | 1a 00 04 'resp' | 1c 00 05 'other'
      | 15 00 03 'JWT' | 16 00 01 ff)"));
}

TEST_CASE("PUBLISH 3.1.1: QoS 0, QoS 2 with DUP and RETAIN, empty payload [MQTT-3.3.1]", "[packets][publish]") {
  publish p;
  p.topic = "a/b";
  p.payload = view("hi");
  check_wire(p, v3, hex("30 07 00 03 'a/b' 'hi'"));

  publish q;
  q.topic = "t";
  q.payload = view("x");
  q.qos = qos::exactly_once;
  q.dup = true;
  q.retain = true;
  q.packet_id = 0x1234;
  check_wire(q, v3, hex("3d 06 00 01 't' 12 34 'x'"));

  publish empty;
  empty.topic = "t";
  empty.retain = true;  // a retained empty payload deletes the retained message [MQTT-3.3.1-6]
  check_wire(empty, v3, hex("31 03 00 01 't'"));
}

TEST_CASE("PUBLISH 5: QoS 0 without properties has a Property Length of 0 [MQTT-2.2.2-1]", "[packets][publish]") {
  publish p;
  p.topic = "a/b";
  p.payload = view("hi");
  check_wire(p, v5, hex("30 08 00 03 'a/b' 00 'hi'"));
}

TEST_CASE("PUBLISH 5: zero-length topic with a topic alias [MQTT-3.3.2.3.4]", "[packets][publish]") {
  publish p;
  p.properties.topic_alias = 1;
  check_wire(p, v5, hex("30 06 00 00 03 23 00 01"));
}

TEST_CASE("PUBLISH 5: every PUBLISH property, repeated ones in order [MQTT-3.3.2-18]", "[packets][publish][properties]") {
  const std::array user{user_property{"a", "1"}, user_property{"b", "2"}};
  const std::array<std::uint32_t, 2> subscription_ids{1, 128};
  const std::array<std::uint8_t, 3> correlation{'c', 'i', 'd'};
  publish p;
  p.topic = "a/b";
  p.payload = view("hello");
  p.qos = qos::at_least_once;
  p.retain = true;
  p.packet_id = 10;
  p.properties.payload_format_indicator = 1;
  p.properties.message_expiry_interval = 3600;
  p.properties.topic_alias = 7;
  p.properties.response_topic = "r/1";
  p.properties.correlation_data = correlation;
  p.properties.user_properties = user;
  p.properties.subscription_identifiers = subscription_ids;
  p.properties.content_type = "text/plain";
  const bytes wire = hex(R"(33 43 00 03 'a/b' 00 0a 36
      01 01 | 02 00 00 0e 10 | 23 00 07 | 08 00 03 'r/1' | 09 00 03 'cid' | 26 00 01 'a' 00 01 '1'
      | 26 00 01 'b' 00 01 '2' | 0b 01 | 0b 80 01 | 03 00 0a 'text/plain'
      'hello')");
  check_wire(p, v5, wire);
  const publish decoded = std::get<publish>(decode_whole(wire, v5));
  const std::vector<user_property> users(decoded.properties.user_properties.begin(),
                                         decoded.properties.user_properties.end());
  CHECK(users == std::vector<user_property>{{"a", "1"}, {"b", "2"}});
  const std::vector<std::uint32_t> ids(decoded.properties.subscription_identifiers.begin(),
                                       decoded.properties.subscription_identifiers.end());
  CHECK(ids == std::vector<std::uint32_t>{1, 128});
}

TEST_CASE("PUBLISH 5: properties decode in any order, repeated ones keep their relative order",
          "[packets][publish][properties]") {
  const bytes wire = hex(R"(30 18 00 01 't' 13
      26 00 01 'b' 00 01 '2' | 23 00 02 | 26 00 01 'a' 00 01 '1' | 01 00 'p')");
  const publish p = std::get<publish>(decode_whole(wire, v5));
  CHECK(p.properties.topic_alias == 2);
  CHECK(p.properties.payload_format_indicator == 0);
  REQUIRE(p.properties.user_properties.size() == 2);
  auto it = p.properties.user_properties.begin();
  CHECK(*it == user_property{"b", "2"});
  CHECK(*++it == user_property{"a", "1"});
  CHECK(text(p.payload) == "p");
}

TEST_CASE("PUBACK PUBREC PUBREL PUBCOMP 3.1.1: packet identifier only; PUBREL flags 0010 [MQTT-3.6.1-1]",
          "[packets][acks]") {
  check_wire(puback{.packet_id = 1}, v3, hex("40 02 00 01"));
  check_wire(pubrec{.packet_id = 2}, v3, hex("50 02 00 02"));
  check_wire(pubrel{.packet_id = 3}, v3, hex("62 02 00 03"));
  check_wire(pubcomp{.packet_id = 4}, v3, hex("70 02 00 04"));
  CHECK(encoded_size(puback{.packet_id = 1, .reason = reason_code::no_matching_subscribers}, v3).error == error::invalid_reason_code);
}

TEST_CASE("PUBACK 5: short forms and the full form [MQTT-3.4.2.1] [MQTT-3.4.2-1]", "[packets][acks]") {
  check_wire(puback{.packet_id = 1}, v5, hex("40 02 00 01"));
  check_wire(puback{.packet_id = 1, .reason = reason_code::no_matching_subscribers}, v5, hex("40 03 00 01 10"));
  const std::array user{user_property{"k", "v"}};
  puback full{.packet_id = 1, .reason = reason_code::unspecified_error};
  full.properties.reason_string = "bad";
  full.properties.user_properties = user;
  check_wire(full, v5, hex("40 11 00 01 80 0d 1f 00 03 'bad' 26 00 01 'k' 00 01 'v'"));
  // A sender may also write Success with an empty property block; it decodes to the same packet.
  CHECK(decode_whole(hex("40 04 00 01 00 00"), v5) == packet{puback{.packet_id = 1}});
  CHECK(decode_whole(hex("40 03 00 01 00"), v5) == packet{puback{.packet_id = 1}});
}

TEST_CASE("PUBREC PUBREL PUBCOMP 5: reason codes and properties", "[packets][acks]") {
  const std::array user{user_property{"k", "v"}};
  pubrec rec{.packet_id = 2, .reason = reason_code::quota_exceeded};
  rec.properties.user_properties = user;
  check_wire(rec, v5, hex("50 0b 00 02 97 07 26 00 01 'k' 00 01 'v'"));
  check_wire(pubrel{.packet_id = 5, .reason = reason_code::packet_identifier_not_found}, v5, hex("62 03 00 05 92"));
  pubcomp comp{.packet_id = 6, .reason = reason_code::packet_identifier_not_found};
  comp.properties.reason_string = "no";
  check_wire(comp, v5, hex("70 09 00 06 92 05 1f 00 02 'no'"));
}

TEST_CASE("SUBSCRIBE 3.1.1: flags 0010, filters with requested QoS [MQTT-3.8.1-1]", "[packets][subscribe]") {
  const std::array subs{subscription{"a/b", {.max_qos = qos::at_least_once}}, subscription{"c/#", {.max_qos = qos::exactly_once}}};
  subscribe p;
  p.packet_id = 10;
  p.subscriptions = subs;
  check_wire(p, v3, hex("82 0e 00 0a 00 03 'a/b' 01 00 03 'c/#' 02"));
}

TEST_CASE("SUBSCRIBE 5: subscription options, identifier, user property, shared subscription",
          "[packets][subscribe][properties]") {
  const std::array user{user_property{"k", "v"}};
  const std::array subs{
      subscription{"a/+", {qos::at_least_once, true, true, retain_handling::dont_send}},
      subscription{"$share/g/x/#", {}},
  };
  subscribe p;
  p.packet_id = 11;
  p.subscriptions = subs;
  p.properties.subscription_identifier = 5;
  p.properties.user_properties = user;
  const bytes wire = hex("82 21 00 0b 09 0b 05 26 00 01 'k' 00 01 'v' 00 03 'a/+' 2d 00 0c '$share/g/x/#' 00");
  check_wire(p, v5, wire);
  const subscribe decoded = std::get<subscribe>(decode_whole(wire, v5));
  REQUIRE(decoded.subscriptions.size() == 2);
  CHECK(*decoded.subscriptions.begin() == subs[0]);
}

TEST_CASE("SUBACK 3.1.1 and 5: one reason per filter [MQTT-3.9.3-1] [MQTT-3.9.3-2]", "[packets][suback]") {
  const std::array codes3{reason_code::granted_qos_1, reason_code::granted_qos_2, reason_code::unspecified_error};
  suback p3;
  p3.packet_id = 10;
  p3.reasons = codes3;
  check_wire(p3, v3, hex("90 05 00 0a 01 02 80"));

  const std::array codes5{reason_code::granted_qos_1, reason_code::granted_qos_2, reason_code::topic_filter_invalid,
                          reason_code::wildcard_subscriptions_not_supported};
  suback p5;
  p5.packet_id = 11;
  p5.reasons = codes5;
  p5.properties.reason_string = "ok";
  check_wire(p5, v5, hex("90 0c 00 0b 05 1f 00 02 'ok' 01 02 8f a2"));
}

TEST_CASE("UNSUBSCRIBE 3.1.1 and 5: flags 0010 [MQTT-3.10.1-1]", "[packets][unsubscribe]") {
  const std::array filters{std::string_view{"a/b"}, std::string_view{"#"}};
  unsubscribe p3;
  p3.packet_id = 12;
  p3.filters = filters;
  check_wire(p3, v3, hex("a2 0a 00 0c 00 03 'a/b' 00 01 '#'"));

  const std::array one{std::string_view{"a/b"}};
  const std::array user{user_property{"k", "v"}};
  unsubscribe p5;
  p5.packet_id = 13;
  p5.filters = one;
  p5.properties.user_properties = user;
  check_wire(p5, v5, hex("a2 0f 00 0d 07 26 00 01 'k' 00 01 'v' 00 03 'a/b'"));
}

TEST_CASE("UNSUBACK 3.1.1 (identifier only) and 5 (reason codes) [MQTT-3.11.3-2]", "[packets][unsuback]") {
  check_wire(unsuback{.packet_id = 12}, v3, hex("b0 02 00 0c"));
  const std::array codes{reason_code::success, reason_code::no_subscription_existed};
  unsuback p;
  p.packet_id = 13;
  p.reasons = codes;
  check_wire(p, v5, hex("b0 05 00 0d 00 00 11"));
  const std::array one{reason_code::not_authorized};
  unsuback q;
  q.packet_id = 13;
  q.reasons = one;
  q.properties.reason_string = "ok";
  check_wire(q, v5, hex("b0 09 00 0d 05 1f 00 02 'ok' 87"));
}

TEST_CASE("PINGREQ and PINGRESP: remaining length 0 in both versions", "[packets][ping]") {
  for (const auto version : {v3, v5}) {
    check_wire(pingreq{}, version, hex("c0 00"));
    check_wire(pingresp{}, version, hex("d0 00"));
  }
}

TEST_CASE("DISCONNECT 3.1.1 and 5: short forms and every DISCONNECT property [MQTT-3.14.2.1]",
          "[packets][disconnect][properties]") {
  check_wire(disconnect{}, v3, hex("e0 00"));
  check_wire(disconnect{}, v5, hex("e0 00"));
  check_wire(disconnect{.reason = reason_code::disconnect_with_will_message}, v5, hex("e0 01 04"));
  const std::array user{user_property{"k", "v"}};
  disconnect p{.reason = reason_code::server_shutting_down};
  p.properties.session_expiry_interval = 0;
  p.properties.reason_string = "bye!";
  p.properties.user_properties = user;
  p.properties.server_reference = "srv2";
  check_wire(p, v5, hex("e0 1c 8b 1a 11 00 00 00 00 1f 00 04 'bye!' 26 00 01 'k' 00 01 'v' 1c 00 04 'srv2'"));
  CHECK(decode_whole(hex("e0 02 00 00"), v5) == packet{disconnect{}});
}

TEST_CASE("AUTH 5: short form and every AUTH property [MQTT-3.15.2.1]", "[packets][auth][properties]") {
  check_wire(auth{}, v5, hex("f0 00"));
  const std::array user{user_property{"k", "v"}};
  const std::array<std::uint8_t, 2> data{0x01, 0x02};
  auth p{.reason = reason_code::continue_authentication};
  p.properties.authentication_method = "SCRAM";
  p.properties.authentication_data = data;
  p.properties.reason_string = "c";
  p.properties.user_properties = user;
  check_wire(p, v5, hex("f0 1a 18 18 15 00 05 'SCRAM' 16 00 02 01 02 1f 00 01 'c' 26 00 01 'k' 00 01 'v'"));
  CHECK(encoded_size(auth{}, v3).error == error::reserved_packet_type);
}

// ---------------------------------------------------------------------------------------------------------
// Remaining Length at every boundary of the Variable Byte Integer [MQTT-1.5.5] (table 1-1 of MQTT 5).

TEST_CASE("Remaining length at the boundaries of 1, 2, 3 and 4 bytes [MQTT-1.5.5-1]", "[packets][length]") {
  const std::pair<std::uint32_t, bytes> boundaries[] = {
      {0, hex("00")},
      {127, hex("7f")},
      {128, hex("80 01")},
      {16'383, hex("ff 7f")},
      {16'384, hex("80 80 01")},
      {2'097'151, hex("ff ff 7f")},
      {2'097'152, hex("80 80 80 01")},
      {268'435'455, hex("ff ff ff 7f")},
  };
  for (const auto& [remaining_length, length_bytes] : boundaries) {
    CAPTURE(remaining_length);
    if (remaining_length == 0) {
      check_wire(pingreq{}, v3, concat({{0xC0}, length_bytes}));
      continue;
    }
    // A 3.1.1 QoS 0 PUBLISH to "t": 3 bytes of topic, the rest payload.
    const std::vector<std::uint8_t> payload(remaining_length - 3, 0x5A);
    publish p;
    p.topic = "t";
    p.payload = payload;
    const bytes encoded = encode_packet(p, v3);
    REQUIRE(encoded.size() == 1 + length_bytes.size() + remaining_length);
    CHECK(bytes(encoded.begin() + 1, encoded.begin() + 1 + static_cast<std::ptrdiff_t>(length_bytes.size())) ==
          length_bytes);
    CHECK(decode_whole(encoded, v3) == packet{p});
  }
}

TEST_CASE("A packet over 268,435,455 bytes of remaining length cannot be encoded", "[packets][length]") {
  const std::vector<std::uint8_t> payload(268'435'455 - 2, 0);  // 3 bytes of topic + this = max + 1
  publish p;
  p.topic = "t";
  p.payload = payload;
  CHECK(encoded_size(p, v3).error == error::packet_too_large);
  std::array<std::uint8_t, 16> small{};
  CHECK(encode(p, v3, small) == 0);
}

// ---------------------------------------------------------------------------------------------------------
// Maximum-length strings and binary data [MQTT-1.5.4], [MQTT-1.5.6], [MQTT-4.7.3-3].

TEST_CASE("Strings and binary data of 65,535 bytes encode; 65,536 do not", "[packets][length]") {
  const std::string longest(65'535, 'a');
  const std::string too_long(65'536, 'a');
  const std::array user{user_property{longest, longest}};
  publish p;
  p.topic = longest;
  p.qos = qos::at_least_once;
  p.packet_id = 1;
  p.properties.user_properties = user;
  p.properties.correlation_data = view(longest);
  const bytes encoded = encode_packet(p, v5);
  CHECK(encoded.size() == 1 + 3 + (2 + 65'535) + 2 + 3 + (1 + 2 + 65'535 + 2 + 65'535) + (1 + 2 + 65'535));
  CHECK(decode_whole(encoded, v5) == packet{p});

  publish bad = p;
  bad.topic = too_long;
  CHECK(encoded_size(bad, v5).error == error::field_too_long);
  bad = p;
  bad.properties.correlation_data = view(too_long);
  CHECK(encoded_size(bad, v5).error == error::field_too_long);
  connect c;
  c.client_id = too_long;
  CHECK(encoded_size(c, v5).error == error::field_too_long);
}

TEST_CASE("Encode into storage that is too small writes nothing", "[packets]") {
  publish p;
  p.topic = "a/b";
  p.payload = view("hello");
  std::array<std::uint8_t, 11> small{};
  REQUIRE(encoded_size(p, v3).size == 12);
  CHECK(encode(p, v3, small) == 0);
  CHECK(small == std::array<std::uint8_t, 11>{});
}

}  // namespace
}  // namespace coromqtt::protocol::test

// The encoder of PUBLISH packets without properties (the session's publish fast path) writes the bytes the
// general encoder writes, and refuses, by returning 0, whatever the general encoder would refuse or not fit.
#include "protocol/plain_publish.hpp"

#include <coromqtt/protocol/codec.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace coromqtt::protocol;
using detail::encode_plain_publish;
using detail::plain_publish;

namespace {

publish general_of(const plain_publish& p) {
  publish g;
  g.topic = p.topic;
  g.payload = p.payload;
  g.qos = p.qos;
  g.retain = p.retain;
  g.dup = p.dup;
  g.packet_id = p.packet_id;
  return g;
}

std::vector<std::uint8_t> general_bytes(const plain_publish& p, protocol_version v) {
  const auto size = encoded_size(general_of(p), v);
  if (size.error) return {};
  std::vector<std::uint8_t> out(size.size);
  REQUIRE(encode(general_of(p), v, out) == out.size());
  return out;
}

byte_view bytes_of(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

}  // namespace

TEST_CASE("plain PUBLISH: the same bytes as the general encoder", "[publish][encode]") {
  // Payload sizes around the Remaining Length's one-, two- and three-byte forms [MQTT-1.5.5].
  const std::vector<std::size_t> payload_sizes{0, 1, 8, 15, 16, 17, 64, 100, 127, 128, 16'370, 16'383, 16'384, 70'000};
  const std::vector<std::string> topics{"t", "ab", "abc", "bench/0", "sensors/building-7/floor-3/temperature",
                                        std::string(300, 'x'), "caf\xc3\xa9/\xe2\x82\xac"};
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    for (const auto& topic : topics) {
      for (const auto size : payload_sizes) {
        const std::string payload(size, 'p');
        for (const auto q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
          for (const bool retain : {false, true}) {
            const bool dup = q != qos::at_most_once && retain;  // both values of dup where allowed
            const plain_publish p{topic, bytes_of(payload), q, retain, dup, std::uint16_t(q == qos::at_most_once ? 0 : 4711)};
            const auto expected = general_bytes(p, version);
            REQUIRE_FALSE(expected.empty());
            std::vector<std::uint8_t> out(expected.size());
            INFO("MQTT " << (version == protocol_version::v5 ? "5" : "3.1.1") << ", topic of " << topic.size()
                         << " bytes, payload of " << size << ", QoS " << int(q));
            REQUIRE(encode_plain_publish(p, version, out) == expected.size());
            CHECK(out == expected);
          }
        }
      }
    }
  }
}

TEST_CASE("plain PUBLISH: refuses what the general encoder refuses, and what does not fit", "[publish][encode]") {
  const std::string payload(10, 'p');
  std::vector<std::uint8_t> out(1024);
  const auto v = protocol_version::v3_1_1;
  CHECK(encode_plain_publish({"t", bytes_of(payload), qos::at_most_once, false, true, 0}, v, out) == 0);  // [MQTT-3.3.1-2]
  CHECK(encode_plain_publish({"t", bytes_of(payload), qos::at_least_once, false, false, 0}, v, out) == 0);  // [MQTT-2.2.1-3]
  CHECK(encode_plain_publish({"", bytes_of(payload), qos::at_most_once, false, false, 0}, v, out) == 0);
  CHECK(encode_plain_publish({"", bytes_of(payload), qos::at_most_once, false, false, 0}, protocol_version::v5, out) == 0);
  CHECK(encode_plain_publish({"t", bytes_of(payload), static_cast<qos>(3), false, false, 0}, v, out) == 0);  // [MQTT-3.3.1-4]
  const std::string long_topic(65'536, 'x');  // one byte more than a string field holds [MQTT-1.5.4]
  CHECK(encode_plain_publish({long_topic, bytes_of(payload), qos::at_most_once, false, false, 0}, v, out) == 0);
  // Exactly large enough, and one byte short: nothing written then.
  const plain_publish p{"bench/0", bytes_of(payload), qos::at_most_once, false, false, 0};
  const auto size = general_bytes(p, v).size();
  std::vector<std::uint8_t> exact(size), short_by_one(size - 1, 0xEE);
  CHECK(encode_plain_publish(p, v, exact) == size);
  CHECK(encode_plain_publish(p, v, short_by_one) == 0);
  CHECK(std::all_of(short_by_one.begin(), short_by_one.end(), [](std::uint8_t b) { return b == 0xEE; }));
}

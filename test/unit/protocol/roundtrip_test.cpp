// Round trips over many random packets of every type in both versions: decode(encode(p)) == p, encoded_size()
// equals the bytes written, and a decoded packet (whose lists are still on the wire) re-encodes to the same
// bytes. Seeded and reproducible: the seed is printed, and Catch's --rng-seed replaces it.
#include "helpers.hpp"
#include "random_packets.hpp"

#include <cstdio>

namespace coromqtt::protocol::test {
namespace {

std::uint64_t seed() {
  const unsigned from_command_line = Catch::getCurrentContext().getConfig()->rngSeed();
  return from_command_line != 0 ? from_command_line : 0x636f726f6d717474;  // "coromqtt"
}

TEST_CASE("Random packets of every type round-trip in both versions", "[roundtrip]") {
  const std::uint64_t s = seed();
  std::printf("round-trip seed: %llu (rerun with --rng-seed)\n", static_cast<unsigned long long>(s));
  packet_generator generator{s};
  constexpr int rounds = 300;
  std::size_t checked = 0;
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    for (const packet_type type : all_packet_types) {
      if (type == packet_type::auth && version == protocol_version::v3_1_1) continue;
      for (int round = 0; round < rounds; ++round) {
        generator.clear();
        const packet original = generator.make(type, version);
        CAPTURE(s, to_string(version), to_string(type), round);
        const encoded_size_result size = encoded_size(original, version);
        REQUIRE_FALSE(size.error);
        bytes wire(size.size + 8, 0xEE);  // room past the end, to see that nothing is written there
        REQUIRE(encode(original, version, wire) == size.size);
        CHECK(std::all_of(wire.begin() + static_cast<std::ptrdiff_t>(size.size), wire.end(),
                          [](std::uint8_t b) { return b == 0xEE; }));
        wire.resize(size.size);
        const decode_result decoded = decode(wire, version);
        INFO(to_hex(wire).substr(0, 600));
        REQUIRE(decoded.status == frame_status::complete);
        REQUIRE(decoded.size == wire.size());
        CHECK(type_of(decoded.packet) == type);
        CHECK(decoded.packet == original);
        CHECK(encode_packet(decoded.packet, version) == wire);
        ++checked;
      }
    }
  }
  CHECK(checked == 29 * rounds);
}

TEST_CASE("The PUBLISH fast path agrees with the variant path", "[roundtrip]") {
  packet_generator generator{seed() + 1};
  for (int round = 0; round < 500; ++round) {
    generator.clear();
    for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
      const publish p = std::get<publish>(generator.make(packet_type::publish, version));
      const encoded_size_result direct = encoded_size(p, version);
      const encoded_size_result through_variant = encoded_size(packet{p}, version);
      REQUIRE(direct.size == through_variant.size);
      bytes a(direct.size), b(direct.size);
      CHECK(encode(p, version, a) == direct.size);
      CHECK(encode(packet{p}, version, b) == direct.size);
      CHECK(a == b);
    }
  }
}

TEST_CASE("Packets decoded from a stream of many, one after another", "[roundtrip]") {
  packet_generator generator{seed() + 2};
  std::vector<packet> sent;
  bytes stream;
  for (int i = 0; i < 200; ++i) {
    const packet p = generator.make(all_packet_types[static_cast<std::size_t>(i) % 14], protocol_version::v5);
    const bytes wire = encode_packet(p, protocol_version::v5);
    stream.insert(stream.end(), wire.begin(), wire.end());
    sent.push_back(p);
  }
  byte_view rest = stream;
  for (const packet& expected : sent) {
    const decode_result result = decode(rest, protocol_version::v5);
    REQUIRE(result.status == frame_status::complete);
    CHECK(result.packet == expected);
    rest = rest.subspan(result.size);
  }
  CHECK(rest.empty());
}

}  // namespace
}  // namespace coromqtt::protocol::test

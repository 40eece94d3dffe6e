// Small helpers shared by the codec tests: bytes written as hex, encode into a vector, decode expecting
// success or a specific error.
#pragma once

#include <coromqtt/protocol.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::protocol::test {

using bytes = std::vector<std::uint8_t>;

// "10 0f 00 04 'MQTT' 04": hex pairs, and text in single quotes for readability of the vectors.
inline bytes hex(std::string_view text) {
  bytes out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == ' ' || c == '|' || c == '\n') {
      ++i;
    } else if (c == '\'') {
      const std::size_t close = text.find('\'', i + 1);
      for (std::size_t j = i + 1; j < close; ++j) out.push_back(static_cast<std::uint8_t>(text[j]));
      i = close + 1;
    } else {
      out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(text.substr(i, 2)), nullptr, 16)));
      i += 2;
    }
  }
  return out;
}

inline bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

inline byte_view view(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

inline std::string_view text(byte_view data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

inline std::string to_hex(byte_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : data) {
    if (!out.empty()) out += ' ';
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Variable Byte Integer, written independently of the codec for building test packets.
inline bytes vbi(std::uint32_t value) {
  bytes out;
  do {
    std::uint8_t digit = value % 128;
    value /= 128;
    if (value > 0) digit |= 0x80;
    out.push_back(digit);
  } while (value > 0);
  return out;
}

// A packet from its first byte and body: the remaining length is computed.
inline bytes framed(std::uint8_t first_byte, const bytes& body) {
  return concat({{first_byte}, vbi(static_cast<std::uint32_t>(body.size())), body});
}

inline bytes encode_packet(const packet& p, protocol_version version) {
  const encoded_size_result size = encoded_size(p, version);
  INFO("encoded_size error: " << size.error.message());
  REQUIRE_FALSE(size.error);
  bytes out(size.size);
  REQUIRE(encode(p, version, out) == size.size);
  return out;
}

// Decodes one whole packet; the packet's views point into `input`.
inline packet decode_whole(const bytes& input, protocol_version version) {
  const decode_result result = decode(input, version);
  INFO("bytes: " << to_hex(byte_view{input}.first(std::min<std::size_t>(input.size(), 256)))
                  << "\nerror: " << result.error.message());
  REQUIRE(result.status == frame_status::complete);
  REQUIRE(result.size == input.size());
  return result.packet;
}

inline std::error_code decode_error(const bytes& input, protocol_version version) {
  const decode_result result = decode(input, version);
  if (result.status != frame_status::error) return {};
  return result.error;
}

// The packet encodes to exactly `expected`, and `expected` decodes to the packet.
inline void check_wire(const packet& p, protocol_version version, const bytes& expected) {
  const bytes encoded = encode_packet(p, version);
  CHECK(to_hex(encoded) == to_hex(expected));
  CHECK(decode_whole(expected, version) == p);
}

}  // namespace coromqtt::protocol::test

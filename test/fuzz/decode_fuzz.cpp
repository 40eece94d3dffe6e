// libFuzzer target over the decoder, both versions. The first input byte picks the protocol version (its low
// bit) so that one corpus covers both; the rest is a byte stream decoded packet after packet.
//
// Besides "no crash, no undefined behaviour, no read out of bounds", it checks consistency: every decoded
// packet must be encodable, encode to exactly encoded_size() bytes, and decode again to an equal packet whose
// encoding is the same bytes (the encoder's output is a fixed point).
#include <coromqtt/protocol.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using namespace coromqtt::protocol;

[[noreturn]] void fail(const char* what, const packet& p, protocol_version version) {
  std::fprintf(stderr, "decode_fuzz: %s (%.*s, %.*s)\n", what, static_cast<int>(to_string(type_of(p)).size()),
               to_string(type_of(p)).data(), static_cast<int>(to_string(version).size()),
               to_string(version).data());
  std::abort();
}

std::vector<std::uint8_t> encode_checked(const packet& p, protocol_version version) {
  const encoded_size_result size = encoded_size(p, version);
  if (size.error) fail("a decoded packet cannot be encoded", p, version);
  std::vector<std::uint8_t> out(size.size);
  if (encode(p, version, out) != size.size) fail("encode wrote other than encoded_size bytes", p, version);
  return out;
}

void check_consistency(const packet& decoded, protocol_version version) {
  const std::vector<std::uint8_t> first = encode_checked(decoded, version);
  const decode_result again = decode(first, version);
  if (again.status != frame_status::complete || again.size != first.size())
    fail("the encoding of a decoded packet does not decode", decoded, version);
  if (!(again.packet == decoded)) fail("decode(encode(p)) != p", decoded, version);
  if (encode_checked(again.packet, version) != first) fail("re-encoding is not stable", decoded, version);
}

// Topic functions on the same bytes: they must not crash, and agree with each other.
void check_topics(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  const std::size_t half = size / 2;
  const std::string_view filter = text.substr(0, half), topic = text.substr(half);
  if (!validate_topic_filter(filter) && !validate_topic_name(topic)) {
    const bool matches = topic_matches(filter, topic);
    // A topic name used as a filter matches itself, unless it reads as "$share/{group}/{filter}": then the
    // inner filter is what matches.
    if (filter == topic && !parse_shared_subscription(filter) && !matches) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const protocol_version version = (data[0] & 1) ? protocol_version::v5 : protocol_version::v3_1_1;
  byte_view input{data + 1, size - 1};
  check_topics(input.data(), input.size());

  // A tight packet size limit must refuse what it refuses before the body is there.
  const frame_result limited = read_frame(input, 64);
  if (limited.status == frame_status::complete && limited.header.packet_size() > 64) std::abort();

  while (!input.empty()) {
    const decode_result result = decode(input, version);
    if (result.status != frame_status::complete) {
      if (result.status == frame_status::error && !is_error(reason_for(result.error))) std::abort();
      break;
    }
    if (result.size == 0 || result.size > input.size()) std::abort();
    check_consistency(result.packet, version);
    input = input.subspan(result.size);
  }
  return 0;
}

// UTF-8 validation [MQTT-1.5.4]: the well-formed byte sequences of RFC 3629 section 4, which already exclude
// overlong forms, surrogates and code points above U+10FFFF; plus the MQTT ban on U+0000.
#include <coromqtt/protocol/error.hpp>
#include <coromqtt/protocol/utf8.hpp>

#include "wire.hpp"

#include <cstdint>
#include <cstring>

namespace coromqtt::protocol {
namespace {

constexpr std::uint64_t repeated(std::uint8_t byte) noexcept { return 0x0101010101010101ull * byte; }

// Eight ASCII characters, none of them U+0000: the common case of topics and identifiers, checked a word at
// a time. (x - 0x01..) & ~x & 0x80.. is non-zero exactly when some byte of x is zero.
bool ascii_without_null(std::uint64_t word) noexcept {
  const std::uint64_t high_bits = word & repeated(0x80);
  const std::uint64_t zero_bytes = (word - repeated(0x01)) & ~word & repeated(0x80);
  return (high_bits | zero_bytes) == 0;
}

bool continuation(std::uint8_t byte) noexcept { return (byte & 0xC0) == 0x80; }

// The last 1 to 7 bytes as one word, for the same test: two overlapping four-byte loads (or the first, middle
// and last byte, padded with 'A'), which looks at some bytes twice but never past the end. Most topics end
// in such a tail, and a byte at a time cost more than the rest of the check.
std::uint64_t tail_word(const std::uint8_t* at, std::size_t n) noexcept {
  if (n >= 4) {
    std::uint32_t low, high;
    std::memcpy(&low, at, 4);
    std::memcpy(&high, at + n - 4, 4);
    return low | std::uint64_t{high} << 32;
  }
  return (repeated('A') << 24) | std::uint64_t{at[n - 1]} << 16 | std::uint64_t{at[n / 2]} << 8 | at[0];
}

}  // namespace

error detail::utf8_error(std::string_view text) noexcept {
  const auto* at = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto* const end = at + text.size();
  while (at != end) {
    if (end - at >= 8) {
      std::uint64_t word;
      std::memcpy(&word, at, sizeof word);
      if (ascii_without_null(word)) {
        at += 8;
        continue;
      }
    } else if (ascii_without_null(tail_word(at, static_cast<std::size_t>(end - at)))) {
      return detail::no_error;
    }
    const std::uint8_t lead = *at;
    if (lead < 0x80) {
      if (lead == 0) return error::utf8_null_character;
      ++at;
      continue;
    }
    // The range of the second byte depends on the lead byte: that is where RFC 3629 rules out overlong
    // forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
    std::size_t length;
    std::uint8_t second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return error::invalid_utf8;  // a stray continuation byte, C0/C1 (always overlong), or F5..FF
    }
    if (static_cast<std::size_t>(end - at) < length) return error::invalid_utf8;
    if (at[1] < second_min || at[1] > second_max) return error::invalid_utf8;
    for (std::size_t i = 2; i < length; ++i)
      if (!continuation(at[i])) return error::invalid_utf8;
    at += length;
  }
  return detail::no_error;
}

std::error_code validate_utf8(std::string_view text) noexcept { return detail::to_error_code(detail::utf8_error(text)); }

}  // namespace coromqtt::protocol

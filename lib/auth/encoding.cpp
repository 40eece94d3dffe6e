#include "auth/encoding.hpp"

#include <array>
#include <cstdint>

namespace coromqtt::detail {
namespace {

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t not_base64url = 0xFF;

constexpr std::array<std::uint8_t, 256> make_base64url_values() {
  std::array<std::uint8_t, 256> values{};
  values.fill(not_base64url);
  for (std::size_t i = 0; i < base64url_alphabet.size(); ++i) {
    values[static_cast<unsigned char>(base64url_alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return values;
}

constexpr std::array<std::uint8_t, 256> base64url_values = make_base64url_values();

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  // Whole groups: 3 bytes -> 4 characters.
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                                (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                                std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += base64url_alphabet[(group >> 18) & 0x3F];
    out += base64url_alphabet[(group >> 12) & 0x3F];
    out += base64url_alphabet[(group >> 6) & 0x3F];
    out += base64url_alphabet[group & 0x3F];
  }
  // The tail: 1 byte -> 2 characters, 2 bytes -> 3 characters, and no padding.
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t group = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    out += base64url_alphabet[(group >> 18) & 0x3F];
    out += base64url_alphabet[(group >> 12) & 0x3F];
  } else if (rest == 2) {
    const std::uint32_t group = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                                (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8);
    out += base64url_alphabet[(group >> 18) & 0x3F];
    out += base64url_alphabet[(group >> 12) & 0x3F];
    out += base64url_alphabet[(group >> 6) & 0x3F];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // A lone character carries 6 bits, less than a byte: no encoder produces it.
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;  // accumulated, most significant first
  int bit_count = 0;
  for (const char c : text) {
    const std::uint8_t value = base64url_values[static_cast<unsigned char>(c)];
    if (value == not_base64url) {
      return std::nullopt;
    }
    bits = (bits << 6) | value;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> bit_count) & 0xFF);
    }
  }
  // The 2 or 4 bits left over from the last character must be zero, or two texts would decode the same.
  if ((bits & ((1u << bit_count) - 1)) != 0) {
    return std::nullopt;
  }
  return out;
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The lead byte gives the length and, with the first continuation byte, the allowed range: that is where
    // overlong forms (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and code points above U+10FFFF
    // (F4 90-BF, F5-FF) are excluded (RFC 3629 section 4).
    std::size_t length = 0;
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
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
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < second_min || second > second_max) {
      return false;
    }
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < 0x80 || next > 0xBF) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

void append_json_string(std::string& out, std::string_view utf8) {
  constexpr std::string_view hex = "0123456789abcdef";
  out += '"';
  for (const char c : utf8) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {  // the other control characters may not appear raw in a JSON string
          out += "\\u00";
          out += hex[byte >> 4];
          out += hex[byte & 0x0F];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace coromqtt::detail

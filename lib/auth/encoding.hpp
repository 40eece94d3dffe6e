// Text encodings that tokens are made of: base64url without padding (JWS, RFC 7515 section 2), JSON strings
// (RFC 8259 section 7) and the UTF-8 check that JSON strings need.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coromqtt::detail {

// The URL- and filename-safe alphabet of RFC 4648 section 5, without '=' padding (RFC 7515 section 2).
std::string base64url_encode(std::string_view bytes);

// The inverse of base64url_encode. Strict, so that one token has exactly one spelling: nothing outside the
// alphabet (no padding, no white space), no length of 4n+1 characters, and the unused low bits of the last
// character must be zero. Returns nullopt for anything else.
std::optional<std::string> base64url_decode(std::string_view text);

// True when `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text) noexcept;

// Appends `utf8` as a quoted JSON string: '"' and '\' escaped, control characters as \n, \t... or \u00XX.
// The caller checks is_valid_utf8 first; other bytes are copied as they are.
void append_json_string(std::string& out, std::string_view utf8);

}  // namespace coromqtt::detail

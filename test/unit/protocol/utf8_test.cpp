// UTF-8 Encoded Strings [MQTT-1.5.4]: RFC 3629 well-formedness, no surrogates, no U+0000, U+FEFF kept.
#include "helpers.hpp"

namespace coromqtt::protocol::test {
namespace {

std::error_code check(std::string_view hex_bytes) {
  const bytes raw = hex(hex_bytes);
  return validate_utf8({reinterpret_cast<const char*>(raw.data()), raw.size()});
}

TEST_CASE("Well-formed UTF-8 of 1 to 4 bytes, at the edges of each length [MQTT-1.5.4-1]", "[utf8]") {
  const char* valid[] = {
      "",
      "'hello world'",
      "01",                // U+0001: a control character is discouraged, not forbidden
      "7f",                // U+007F
      "c2 80",             // U+0080, smallest 2-byte
      "df bf",             // U+07FF
      "e0 a0 80",          // U+0800, smallest 3-byte
      "ed 9f bf",          // U+D7FF, just below the surrogates
      "ee 80 80",          // U+E000, just above them
      "ef bf bf",          // U+FFFF (a noncharacter, but well-formed)
      "f0 90 80 80",       // U+10000, smallest 4-byte
      "f4 8f bf bf",       // U+10FFFF, the last code point
      "f0 9f 98 80",       // U+1F600
      "'abcdefgh' c3 a9 'abcdefghijklmnop'",  // the word-at-a-time path before and after a wide character
  };
  for (const char* text : valid) {
    CAPTURE(text);
    CHECK_FALSE(check(text));
  }
}

TEST_CASE("Ill-formed UTF-8: overlong, surrogates, out of range, truncated, stray bytes", "[utf8]") {
  const char* invalid[] = {
      "c0 80",        // overlong U+0000
      "c1 bf",        // overlong U+007F
      "e0 80 80",     // overlong 3-byte
      "e0 9f bf",     // overlong U+07FF
      "f0 80 80 80",  // overlong 4-byte
      "f0 8f bf bf",  // overlong U+FFFF
      "ed a0 80",     // U+D800, a surrogate
      "ed bf bf",     // U+DFFF
      "f4 90 80 80",  // U+110000
      "f5 80 80 80",
      "ff",
      "80",           // a continuation byte alone
      "c3",           // truncated 2-byte
      "e2 82",        // truncated 3-byte
      "f0 9f 98",     // truncated 4-byte
      "c3 28",        // second byte not a continuation
      "e2 28 a1",
      "f0 9f 28 80",
      "'abcdefgh' ff 'abcdefgh'",
  };
  for (const char* text : invalid) {
    CAPTURE(text);
    CHECK(check(text) == error::invalid_utf8);
  }
}

TEST_CASE("U+0000 is refused anywhere, also inside the word-at-a-time path [MQTT-1.5.4-2]", "[utf8]") {
  CHECK(check("00") == error::utf8_null_character);
  for (std::size_t at = 0; at < 24; ++at) {
    bytes text(24, 'a');
    text[at] = 0;
    CAPTURE(at);
    CHECK(validate_utf8({reinterpret_cast<const char*>(text.data()), text.size()}) == error::utf8_null_character);
  }
}

TEST_CASE("Every length and position: the last 1 to 7 bytes are checked as one word too", "[utf8]") {
  for (std::size_t length = 1; length < 24; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      CAPTURE(length, at);
      std::string text(length, 'a');
      CHECK_FALSE(validate_utf8(text));
      text[at] = '\0';
      CHECK(validate_utf8(text) == error::utf8_null_character);  // [MQTT-1.5.4-2]
      text[at] = '\xFF';
      CHECK(validate_utf8(text) == error::invalid_utf8);  // [MQTT-1.5.4-1]
      if (at + 1 < length) {
        text[at] = '\xC3';  // U+00E9, well formed
        text[at + 1] = '\xA9';
        CHECK_FALSE(validate_utf8(text));
        text[at + 1] = 'a';  // a lead byte without its continuation
        CHECK(validate_utf8(text) == error::invalid_utf8);
      }
    }
  }
}

TEST_CASE("U+FEFF is an ordinary character and is not stripped by the decoder [MQTT-1.5.4-3]", "[utf8]") {
  CHECK_FALSE(check("ef bb bf 'a'"));
  // A PUBLISH whose topic starts with a BOM keeps it.
  const bytes wire = hex("30 06 00 04 ef bb bf 'a'");
  const publish p = std::get<publish>(decode_whole(wire, protocol_version::v3_1_1));
  CHECK(p.topic == "\xEF\xBB\xBF" "a");
}

}  // namespace
}  // namespace coromqtt::protocol::test

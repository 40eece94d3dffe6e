// base64url (RFC 4648 section 5, unpadded as JWS wants it), JSON string escaping, UTF-8 validation.
#include "auth/encoding.hpp"

#include <catch2/catch.hpp>

#include <string>

using coromqtt::detail::append_json_string;
using coromqtt::detail::base64url_decode;
using coromqtt::detail::base64url_encode;
using coromqtt::detail::is_valid_utf8;
using namespace std::string_literals;

TEST_CASE("base64url encodes the RFC 4648 test vectors without padding", "[base64url]") {
  // RFC 4648 section 10, with the '=' padding removed as RFC 7515 section 2 requires.
  const auto [plain, encoded] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
  }));
  CAPTURE(plain);
  CHECK(base64url_encode(plain) == encoded);
  CHECK(base64url_decode(encoded) == plain);
}

TEST_CASE("base64url uses '-' and '_' where base64 has '+' and '/'", "[base64url]") {
  const auto [plain, encoded] = GENERATE(table<std::string, std::string>({
      {"\xfb\xff", "-_8"},       // base64: "+/8="
      {"\xff\xff\xff", "____"},  // base64: "////"
      {"\xfb\xef\xbe", "----"},  // base64: "++++"
      {"\x00\x00\x00"s, "AAAA"},
      {"\x00"s, "AA"},
      {"?\xbf", "P78"},                          // base64: "P78="
      {"\x14\xfb\x9c\x03\xd9\x7e", "FPucA9l-"},  // RFC 4648 section 9's example, URL-safe
  }));
  CAPTURE(encoded);
  CHECK(base64url_encode(plain) == encoded);
  CHECK(base64url_decode(encoded) == plain);
}

TEST_CASE("base64url maps every 6-bit value to its character of the alphabet", "[base64url]") {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (unsigned value = 0; value < 64; ++value) {
    // value in the top 6 bits of a 3-byte group: the first character is the value, the rest 'A' (zero).
    const std::string plain{static_cast<char>(value << 2), '\0', '\0'};
    const std::string encoded = base64url_encode(plain);
    CAPTURE(value);
    REQUIRE(encoded.size() == 4);
    CHECK(encoded[0] == alphabet[value]);
    CHECK(encoded.substr(1) == "AAA");
    CHECK(base64url_decode(encoded) == plain);
  }
}

TEST_CASE("base64url round-trips every byte value and every tail length", "[base64url]") {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) {
    all_bytes += static_cast<char>(b);
  }
  for (std::size_t length = 0; length <= all_bytes.size(); ++length) {
    const std::string plain = all_bytes.substr(0, length);
    const std::string encoded = base64url_encode(plain);
    CAPTURE(length);
    CHECK(encoded.size() == (length * 4 + 2) / 3);  // no padding
    CHECK(encoded.find_first_of("+/=") == std::string::npos);
    CHECK(base64url_decode(encoded) == plain);
  }
}

TEST_CASE("base64url decoding rejects what no encoder produces", "[base64url]") {
  const std::string bad = GENERATE(as<std::string>{},
                                   "Zg==",    // padding
                                   "Zm9v\n",  // white space
                                   "Zm+v",    // base64, not base64url
                                   "Zm/v",
                                   "A",      // 6 bits cannot make a byte
                                   "Zm9vY",  // 4n+1 characters
                                   "Zh",     // "f" is Zg: the unused low bits of 'h' are not zero
                                   "Zm9",    // "fo" is Zm8
                                   "Zm\x80v");
  CAPTURE(bad);
  CHECK_FALSE(base64url_decode(bad).has_value());
}

TEST_CASE("JSON strings escape quotes, backslashes and control characters", "[json]") {
  const auto [text, json] = GENERATE(table<std::string, std::string>({
      {"", R"("")"},
      {"project-1", R"("project-1")"},
      {"say \"hi\"", R"("say \"hi\"")"},
      {"C:\\dir", R"("C:\\dir")"},
      {"a\nb\tc\rd\be\ff", R"("a\nb\tc\rd\be\ff")"},
      {"\x01\x1f"s, R"("\u0001\u001f")"},
      {"\0x"s, R"("\u0000x")"},
      {"/ and \x7f", "\"/ and \x7f\""},                  // neither needs escaping
      {"gr\xc3\xbc\xc3\x9f", "\"gr\xc3\xbc\xc3\x9f\""},  // UTF-8 passes through
  }));
  std::string out = "prefix:";
  append_json_string(out, text);
  CHECK(out == "prefix:" + json);
}

TEST_CASE("UTF-8 validation accepts well-formed text and rejects the rest", "[utf8]") {
  SECTION("well-formed") {
    const std::string good = GENERATE(as<std::string>{}, "", "ascii", "\xc3\xa9", "\xe2\x82\xac",
                                      "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\0"s);
    CAPTURE(good);
    CHECK(is_valid_utf8(good));
  }
  SECTION("ill-formed") {
    const std::string bad = GENERATE(as<std::string>{},
                                     "\x80",              // continuation without lead
                                     "\xc3",              // truncated
                                     "\xe2\x82",          // truncated
                                     "\xc0\xaf",          // overlong '/'
                                     "\xc1\xbf",          // overlong
                                     "\xe0\x80\xaf",      // overlong
                                     "\xf0\x80\x80\xaf",  // overlong
                                     "\xed\xa0\x80",      // surrogate U+D800
                                     "\xf4\x90\x80\x80",  // above U+10FFFF
                                     "\xf5\x80\x80\x80", "\xff",
                                     "a\xc3(");  // bad continuation
    CAPTURE(bad);
    CHECK_FALSE(is_valid_utf8(bad));
  }
}

// The values on the command lines of pub and sub: numbers, durations, QoS, topics, protocol versions.
#include "cli_parsing.hpp"

#include <coromqtt/protocol/topic.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace coromqtt::tools::cli_parsing {

std::string in_quotes(std::string_view s) {
  // Appended piece by piece: g++ 12 at -O3 sees a false overlap (-Wrestrict) in "'" + std::string{s} + "'".
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::uint64_t parse_unsigned(std::string_view flag, std::string_view text, std::uint64_t min,
                             std::uint64_t max) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end || value < min || value > max) {
    throw usage_error(std::string{flag} + ": " + in_quotes(text) + " is not a whole number from " +
                      std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

std::uint32_t property_u32(std::string_view flag, std::string_view value) {
  return parse_integer<std::uint32_t>(flag, value, 0, std::numeric_limits<std::uint32_t>::max());
}

std::chrono::nanoseconds parse_seconds(std::string_view flag, std::string_view text, bool allow_zero) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  // A day in nanoseconds still fits comfortably; more than that is surely a typo.
  constexpr double max_seconds = 86'400.0 * 365;
  if (text.empty() || ec != std::errc{} || stop != end || !std::isfinite(value) || value < 0 ||
      (value == 0 && !allow_zero) || value > max_seconds) {
    throw usage_error(std::string{flag} + ": " + in_quotes(text) + " is not a number of seconds" +
                      (allow_zero ? "" : " greater than 0"));
  }
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(value * 1e9))};
}

coromqtt::qos parse_qos(std::string_view flag, std::string_view text) {
  return static_cast<coromqtt::qos>(parse_integer<std::uint8_t>(flag, text, 0, 2));
}

std::string check_topic_name(std::string_view flag, std::string_view topic) {
  if (const auto ec = protocol::validate_topic_name(topic))
    throw usage_error(std::string{flag} + ": " + in_quotes(topic) + " is not a valid topic name (" +
                      ec.message() + ")");
  return std::string{topic};
}

std::string check_topic_filter(std::string_view flag, std::string_view filter) {
  if (const auto ec = protocol::validate_topic_filter(filter))
    throw usage_error(std::string{flag} + ": " + in_quotes(filter) + " is not a valid topic filter (" +
                      ec.message() + ")");
  return std::string{filter};
}

protocol_version parse_version(std::string_view flag, std::string_view text) {
  if (text == "5" || text == "mqttv5") return protocol_version::v5;
  if (text == "311" || text == "mqttv311") return protocol_version::v3_1_1;
  if (text == "31" || text == "mqttv31")
    throw usage_error(std::string{flag} + ": MQTT 3.1 is not supported by coromqtt; use -V 311 or -V 5");
  throw usage_error(std::string{flag} + ": unknown protocol version " + in_quotes(text) +
                    " (5, 311, mqttv5 or mqttv311)");
}

}  // namespace coromqtt::tools::cli_parsing

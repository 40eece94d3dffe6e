// Internal to the option parser of `coromqtt pub` and `coromqtt sub` (the cli_*.cpp files that fill the
// structs of cli_options.hpp): the argument cursor, the value parsers, and the part of the command line each
// file handles. The rest of the tool uses cli_options.hpp only.
//
//   cli_values.cpp        numbers, durations, QoS, topics, protocol versions
//   cli_url.cpp           -L URLs, and the broker URL the flags add up to
//   cli_properties.cpp    -D: MQTT 5 properties
//   cli_common_flags.cpp  the flags pub and sub share, and the checks that need all of them
//   cli_options.cpp       the pub and sub command lines, client ids, client_options
//   cli_usage.cpp         the --help texts
#pragma once

#include "cli_options.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace coromqtt::tools::cli_parsing {

inline constexpr std::uint32_t session_never_expires = 0xFFFF'FFFF;

// The arguments, consumed left to right.
class argument_cursor {
 public:
  explicit argument_cursor(std::span<const std::string_view> args) : args_{args} {}

  bool done() const noexcept { return next_ >= args_.size(); }
  std::string_view take() noexcept { return args_[next_++]; }

  // The argument after `flag`, which must be there.
  std::string_view value(std::string_view flag, std::string_view what) {
    if (done()) throw usage_error(std::string{flag} + " needs " + std::string{what});
    return take();
  }

 private:
  std::span<const std::string_view> args_;
  std::size_t next_ = 0;
};

// What parsing remembers beyond the flags themselves, to check combinations at the end.
struct parse_state {
  std::optional<protocol_version> explicit_version;
  std::string needs_v5;  // the first flag that only MQTT 5 can honour
  bool will_detail_given = false;
  std::optional<std::uint32_t> property_session_expiry;

  void require_v5(std::string_view flag) {
    if (needs_v5.empty()) needs_v5 = flag;
  }
};

// --- Values (cli_values.cpp). Each throws usage_error naming `flag` when the text is not what it should be.

std::string in_quotes(std::string_view s);
std::string lowercase(std::string_view s);

// A whole number from `min` to `max`.
std::uint64_t parse_unsigned(std::string_view flag, std::string_view text, std::uint64_t min,
                             std::uint64_t max);
template <class Integer>
Integer parse_integer(std::string_view flag, std::string_view text, Integer min, Integer max) {
  return static_cast<Integer>(
      parse_unsigned(flag, text, static_cast<std::uint64_t>(min), static_cast<std::uint64_t>(max)));
}
std::uint32_t property_u32(std::string_view flag, std::string_view value);  // 0 to 2^32 - 1

// Seconds as the user writes them ("2", "0.25"), as a duration. Zero allowed only where `allow_zero` says.
std::chrono::nanoseconds parse_seconds(std::string_view flag, std::string_view text, bool allow_zero);
coromqtt::qos parse_qos(std::string_view flag, std::string_view text);
protocol_version parse_version(std::string_view flag, std::string_view text);
std::string check_topic_name(std::string_view flag, std::string_view topic);
std::string check_topic_filter(std::string_view flag, std::string_view filter);

// --- Parts of the command line ---

// -L URL (cli_url.cpp): the transport, host, port, credentials, WebSocket path and topic it names.
void parse_url(std::string_view flag, std::string_view url, common_flags& f);

// -D COMMAND NAME VALUE... (cli_properties.cpp); the -D itself is already taken from `args`.
void parse_property(argument_cursor& args, common_flags& f, parse_state& state, command which);

// The flags both commands share (cli_common_flags.cpp). Returns false when `flag` is not one of them.
bool parse_common_flag(std::string_view flag, argument_cursor& args, common_flags& f, parse_state& state,
                       command which);
// The checks that need every flag seen; settles the protocol version.
void finish_common(common_flags& f, parse_state& state);
[[noreturn]] void unknown_flag(std::string_view flag);

}  // namespace coromqtt::tools::cli_parsing

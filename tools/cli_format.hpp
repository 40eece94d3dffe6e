// How `coromqtt sub` prints a message: the payload alone, "topic payload" (-v), or a -F format string in the
// spirit of mosquitto_sub's (docs/cli.md lists what is supported).
#pragma once

#include <coromqtt/message.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::tools {

class message_format {
 public:
  // Compiles a -F format once, so that printing a message does no parsing. Throws usage_error for an unknown
  // sequence, a sequence coromqtt cannot honour (%m, %A, %J), or a dangling '%', '@' or '\'.
  static message_format parse(std::string_view format);
  static message_format payload_only();       // the default
  static message_format topic_and_payload();  // -v

  // Appends `m` as the format prints it, received at `when`. The end of line (which -N suppresses) is the
  // caller's.
  void render(const message& m, std::chrono::system_clock::time_point when, std::string& out) const;

  // Whether rendering needs the time of arrival (so the caller reads the clock only when it matters).
  bool uses_time() const noexcept { return uses_time_; }

 private:
  // One piece of the format: literal text, or a conversion with printf-like width, precision and flags.
  struct field {
    char conversion = 0;      // 0 for literal text; otherwise the character after '%', or '@' + strftime_char
    std::string literal;      // text to copy (conversion == 0)
    char strftime_char = 0;   // for '@': the strftime conversion, 'N' for nanoseconds
    bool left_align = false;  // '-' flag
    bool zero_pad = false;    // '0' flag
    std::optional<std::size_t> width;
    std::optional<std::size_t> precision;
  };

  void append_literal(char c);
  void render_field(const field& f, const message& m, std::chrono::system_clock::time_point when,
                    std::string& out) const;

  std::vector<field> fields_;
  bool uses_time_ = false;
};

// Appends `bytes` as a JSON string literal, quotes included. Well-formed UTF-8 is kept as it is; every other
// byte becomes the \u00XX escape of its value (so binary payloads stay printable, though not reversible).
void append_json_string(std::string_view bytes, std::string& out);

}  // namespace coromqtt::tools

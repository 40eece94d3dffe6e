// A trace of the client's life for the application's own logs: a sink the user supplies, called with a level
// and one line of text. Unset (the default), logging costs one test per log point: no line is built.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace coromqtt {

// From the most detailed to the most serious.
enum class log_level : std::uint8_t {
  trace,    // every packet sent and received: its type, packet identifier and size (never payloads or passwords)
  debug,    // the details of each step: the transport reached, what CONNACK announced, why DISCONNECT goes out
  info,     // the lifecycle: connecting, connected, disconnected, the next attempt and its delay
  warning,  // a failed attempt or a lost connection, with the diagnostic of the layer underneath
  error,    // the broker broke the protocol; the client gave up reconnecting
  off,      // as minimum_level: nothing is logged
};

std::string_view to_string(log_level) noexcept;

// client_options::log. The sink is called on the client's strand, one line per call, without a trailing
// newline; the text is valid during the call only. It must not block (the connection waits for it) and should
// not throw: an exception from it is caught and the line dropped. A line is built only when the sink is set and
// its level is at least minimum_level, so a filtered-out level costs no formatting and no allocation.
struct log_options {
  std::function<void(log_level, std::string_view)> sink;
  log_level minimum_level = log_level::info;

  bool enabled(log_level level) const noexcept { return sink && level >= minimum_level && level != log_level::off; }
};

}  // namespace coromqtt

// When and whether to reconnect after a connection attempt failed or a connection was lost.
#pragma once

#include <coromqtt/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace coromqtt {

// What the policy is told about each failure.
struct connection_failure {
  error_code error;                          // why (coromqtt::error, a transport or protocol error)
  reason_code reason = reason_code::success; // the broker's reason code (CONNACK or DISCONNECT), if any
  std::string reason_string;                 // the broker's explanation, if it sent one
  unsigned attempt = 1;                      // consecutive failures so far, this one included
  bool was_connected = false;                // an established connection was lost (vs. never connected)
  std::string broker;                        // the endpoint, e.g. "mqtts://broker:8883"
  std::string diagnostic;                    // what the layer underneath said (see event::diagnostic)
};

// Retry after `delay`, or stop (nullopt).
using reconnect_decision = std::optional<std::chrono::milliseconds>;

// Exponential backoff with jitter, plus an optional user decision per failure.
struct reconnect_policy {
  bool enabled = true;                                       // false: never reconnect automatically
  std::chrono::milliseconds initial_delay{500};              // after the first failure
  double multiplier = 2.0;                                   // each further failure
  std::chrono::milliseconds maximum_delay{30'000};
  // Each delay is drawn uniformly from [delay * (1 - jitter), delay], so that many clients cut off together
  // do not come back together.
  double jitter = 0.5;
  unsigned maximum_attempts = 0;                             // consecutive failures before giving up; 0 = never
  // Credentials refused (CONNACK 0x86 Bad user name or password, 0x87 Not authorized, 0x8A Banned,
  // 0x8C Bad authentication method): retrying with the same credentials only hammers the broker.
  bool stop_on_authentication_failure = true;
  // Sees every failure first and may decide (retry after a delay, or stop); returning std::nullopt from
  // `decide` stops. When unset, the rules above decide. An exception from it stops the client too: the
  // `stopped` event then carries error::callback_failed (the client stays usable: start() runs it again).
  std::function<reconnect_decision(const connection_failure&)> decide;
};

// The policy's decision for one failure: the backoff rules, or the user's callback when set. `random01`
// is a uniform draw in [0, 1) used for the jitter.
reconnect_decision decide_reconnect(const reconnect_policy&, const connection_failure&, double random01);

// Whether the broker refused the credentials themselves (see stop_on_authentication_failure).
bool is_authentication_failure(reason_code) noexcept;

}  // namespace coromqtt

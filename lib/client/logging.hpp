// The client layer's log points (client_options::log). Each builds its line inside a lambda that runs only
// when the sink wants that level, so an unset or filtering sink costs one test per log point.
#pragma once

#include <coromqtt/events.hpp>
#include <coromqtt/log.hpp>
#include <coromqtt/protocol/types.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace coromqtt::detail {

// Calls options.sink(level, compose()) when options.enabled(level); `compose` returns the line. A throwing
// sink (or an allocation failure while composing) loses the line, never the connection: log points sit in
// the run loop, where an exception would end it.
template <class Compose>
void write_log(const log_options& options, log_level level, Compose&& compose) noexcept {
  if (!options.enabled(level)) return;
  try {
    const std::string line = std::forward<Compose>(compose)();
    options.sink(level, line);
  } catch (...) {
  }
}

// One packet's bytes as a trace line: "PUBLISH qos 1 id 12, 57 bytes", "CONNACK Success, 9 bytes". Only the
// type, the flags that matter, the packet identifier and the reason code: never a topic, payload or password.
std::string describe_packet(protocol::byte_view packet, protocol::protocol_version version);

// Logs each complete packet in `bytes` at trace level ("sent PUBLISH qos 1 id 12, 57 bytes"): what one write
// carried. Inline, so that the writer pays only the level test when trace is not wanted.
void log_each_packet(const log_options& options, std::string_view verb, protocol::byte_view bytes,
                     protocol::protocol_version version);
inline void log_packets(const log_options& options, std::string_view verb, protocol::byte_view bytes,
                        protocol::protocol_version version) {
  if (options.enabled(log_level::trace)) log_each_packet(options, verb, bytes, version);
}

// The run loop's lifecycle lines (client_impl.cpp), each told the event it reports; each costs one test when
// its level is not wanted.
//   info     "connecting to mqtts://broker:8883 (attempt 2)"
//   debug    "transport up: tls broker:8883 (10.0.0.5:8883, TLSv1.3), sending CONNECT"
//   info     "connected to tls broker:8883 (...): CONNACK Success, session present", then at debug the limits
//   warning  "connecting to mqtts://broker:8883 failed: <error> (<reason>: <reason string>) -- <diagnostic>"
//            (info for a disconnect the user asked for, error for a protocol violation by the broker)
//   info     "reconnecting to mqtts://broker:8883 in 480 ms (attempt 3)"
//   info     "stopped: disconnect requested"; error when the reconnect policy gave up
void log_attempt(const log_options& options, const event& connecting);
void log_transport_up(const log_options& options, const std::string& peer);
void log_connected(const log_options& options, const std::string& peer, const connection_info& info);
void log_outcome(const log_options& options, const event& outcome, bool broker_broke_protocol);
void log_reconnect_scheduled(const log_options& options, const event& scheduled);
void log_stopped(const log_options& options, const event& stopped, bool policy_gave_up);

}  // namespace coromqtt::detail

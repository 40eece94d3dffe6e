// Send times carried in benchmark payloads: 8 bytes of magic, then the steady_clock time of sending in
// nanoseconds. CLOCK_MONOTONIC (steady_clock on Linux) is the same for every process of the machine, so a
// `bench sub` in one process measures the latency of what a `bench pub` in another sent. Payloads shorter than
// 16 bytes carry no time.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace coromqtt::tools {

inline constexpr std::uint64_t stamp_magic = 0x5453'4d41'5453'514dULL;  // "MQSTAMST"
inline constexpr std::size_t stamp_size = 16;

inline std::uint64_t nanoseconds(std::chrono::steady_clock::duration d) noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}
inline std::uint64_t nanoseconds(std::chrono::steady_clock::time_point t) noexcept {
  return nanoseconds(t.time_since_epoch());
}

inline void write_stamp(char* payload, std::size_t size, std::chrono::steady_clock::time_point t) noexcept {
  if (size < stamp_size) return;
  const std::uint64_t ns = nanoseconds(t);
  std::memcpy(payload, &stamp_magic, 8);
  std::memcpy(payload + 8, &ns, 8);
}
inline void write_stamp(std::string& payload, std::chrono::steady_clock::time_point t) noexcept {
  write_stamp(payload.data(), payload.size(), t);
}

inline std::optional<std::uint64_t> read_stamp(const void* payload, std::size_t size) noexcept {
  if (size < stamp_size) return std::nullopt;
  std::uint64_t magic = 0, ns = 0;
  std::memcpy(&magic, payload, 8);
  if (magic != stamp_magic) return std::nullopt;
  std::memcpy(&ns, static_cast<const char*>(payload) + 8, 8);
  return ns;
}
inline std::optional<std::uint64_t> read_stamp(const std::string& payload) noexcept {
  return read_stamp(payload.data(), payload.size());
}

}  // namespace coromqtt::tools

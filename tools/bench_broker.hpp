// A mosquitto started for one benchmark run: a free loopback port, a configuration without the limits that would
// measure the broker's policy instead of the client (inflight and queue limits, connection count), and a
// guarantee that it stops: when this object goes, when the tool is interrupted, and when the tool dies (the
// child asks the kernel for SIGTERM when its parent exits).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace coromqtt::tools {

class local_broker {
 public:
  // Starts `executable` and waits until it accepts connections (at most 10 s). On failure returns nullopt and
  // says why in `error` (with the end of the broker's log).
  static std::optional<local_broker> start(const std::string& executable, std::string& error);

  local_broker(local_broker&& other) noexcept;
  local_broker& operator=(local_broker&&) = delete;
  ~local_broker();

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const noexcept { return pid_; }
  std::string version() const { return version_; }

  // SIGTERM, then SIGKILL if it has not exited within 3 s; removes the configuration directory.
  void stop() noexcept;

 private:
  local_broker() = default;

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string directory_;
  std::string version_;
};

// Raises this process's open-file limit to its hard limit (children inherit it): each connection is a
// descriptor, and the default soft limit of 1024 ends a `conn` run early. Returns the new soft limit.
std::uint64_t raise_open_file_limit() noexcept;

}  // namespace coromqtt::tools

// Which broker the next connection attempt goes to, sans-I/O: the configured brokers in turn, moving on after
// each failed or lost connection, and an MQTT 5 Server Reference (CONNACK or DISCONNECT with 0x9C Use another
// server or 0x9D Server moved) taking precedence for the next attempt only. Stepped by hand in test/unit/client.
#pragma once

#include <coromqtt/endpoint.hpp>
#include <coromqtt/error.hpp>  // reason_code

#include <optional>
#include <string_view>
#include <vector>

namespace coromqtt::detail {

class broker_rotation {
 public:
  // `brokers` is not empty (the client refuses an empty list before it gets here).
  explicit broker_rotation(std::vector<endpoint> brokers);

  // Where the next attempt goes.
  const endpoint& next() const noexcept;
  // The broker accepted the connection: a redirect has been followed.
  void connected() noexcept { redirect_.reset(); }
  // A connection to `where` failed or was lost. With `follow` (client_options::follow_server_reference) and a
  // reason that names another server, the first server of `server_reference` (a space-separated list) is next,
  // in the scheme and WebSocket path of `where` unless the reference is a URL itself. Otherwise, and when the
  // reference cannot be parsed, the next configured broker.
  void failed(const endpoint& where, reason_code reason, std::string_view server_reference, bool follow);

 private:
  std::vector<endpoint> brokers_;
  std::size_t index_ = 0;
  std::optional<endpoint> redirect_;
};

}  // namespace coromqtt::detail

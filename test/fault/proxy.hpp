// A TCP proxy for fault tests: it sits between a client and a broker on loopback and, on command, cuts,
// stalls, delays, throttles and refuses connections.
//
//     coromqtt::fault::proxy proxy("127.0.0.1", broker.port());
//     client.connect("mqtt://127.0.0.1:" + std::to_string(proxy.port()));
//     proxy.blackhole(true);                 // the client's PINGREQ goes unanswered: keepalive must notice
//     ...
//     proxy.blackhole(false);
//     proxy.cut_after(7, coromqtt::fault::direction::client_to_server);  // 7 more bytes of the next PUBLISH
//     REQUIRE(proxy.wait_until([](const auto& c) { return c.connections_accepted == 2; }, 5s));
//
// The proxy runs its own io_context on its own thread. Every control function may be called from any
// thread; it returns once the proxy applies the change, so whatever the test does next sees it in effect.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace coromqtt::fault {

enum class direction {
  client_to_server,
  server_to_client,
};

// How a connection is closed: the way a process that exits closes it, or the way a reset by a middlebox,
// a crashed host that comes back, or an abortive close does.
enum class close_style {
  fin,    // shutdown(send), then close: the peer reads what was forwarded, then end of stream
  reset,  // RST: the peer gets "connection reset"; bytes not yet delivered may be lost
};

// What happens to new connections while refusing.
enum class refusal {
  reset_after_accept,  // accepted (and counted), then reset at once: the client's connect succeeds, then
                       // fails
  close_after_accept,  // accepted (and counted), then closed with FIN: the client reads end of stream
  not_listening,  // the listening socket is closed: connect fails with "connection refused" (not counted)
};

struct proxy_counters {
  std::uint64_t connections_accepted = 0;  // every connection accepted, refused ones included
  std::uint64_t connections_open = 0;      // client connections accepted and not yet closed
  std::uint64_t target_connect_failures =
      0;                                     // accepted connections closed because the target was unreachable
  std::uint64_t bytes_client_to_server = 0;  // bytes delivered to the server
  std::uint64_t bytes_server_to_client = 0;  // bytes delivered to the client
};

class proxy {
 public:
  // Listens on 127.0.0.1 on a free port and forwards each connection to target_host:target_port (resolved
  // per connection). Throws boost::system::system_error if it cannot listen.
  proxy(std::string target_host, std::uint16_t target_port);
  // Closes every connection (reset) and stops the proxy's thread.
  ~proxy();
  proxy(const proxy&) = delete;
  proxy& operator=(const proxy&) = delete;

  // The port the proxy listens on, 127.0.0.1. Stays the same across refuse(true, not_listening) and back.
  std::uint16_t port() const noexcept;

  // Closes every current connection, both sides at once.
  void cut_all(close_style how = close_style::fin);

  // Lets `bytes` more bytes through in `way`, counted over all connections (and the next ones if none is
  // open), then closes the connection that carried the last of them, both sides, at once. With 0, the next
  // connection to forward a byte that way is closed instead. One-shot: later bytes pass freely. A new call
  // replaces an armed one for that direction.
  void cut_after(std::size_t bytes, direction way, close_style how = close_style::fin);

  // On: nothing is forwarded either way, nothing is closed: to both ends the other looks frozen, as behind a
  // network partition. The proxy keeps reading into its bounded buffer (then stops reading, and the senders'
  // TCP windows fill), so nothing is lost: when turned off, the held bytes are delivered, unless the
  // connection was cut meanwhile. Applies to new connections too.
  void blackhole(bool on);

  // Delays every chunk by `latency` in each direction, in order. Applies to bytes read from now on.
  void set_latency(std::chrono::steady_clock::duration latency);

  // Limits each direction of each connection to `bytes_per_second` (0: unlimited).
  void set_bandwidth(std::size_t bytes_per_second);

  // While on, new connections are refused in the given way; current ones are not touched.
  void refuse(bool on, refusal how = refusal::reset_after_accept);

  // Forwards the connections accepted from now on to another target; current ones keep theirs.
  void set_target(std::string host, std::uint16_t port);

  proxy_counters counters() const;

  // Waits until `condition` holds for the counters (checked at once and after every change), at most
  // `timeout`. Returns whether it held.
  bool wait_until(const std::function<bool(const proxy_counters&)>& condition,
                  std::chrono::steady_clock::duration timeout) const;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace coromqtt::fault

// What `coromqtt pub` and `coromqtt sub` share while they run:
//   - one single-threaded io_context, and the command's coroutine on the client's strand, so that
//     publishing and receiving take the client's fast path (no scheduler round trip per message);
//   - a watcher of the client's connection events, which prints them under -d and tells the command when
//     the reconnect policy gave up;
//   - the reconnect policy of the tools: give up at once on a bad broker unless --retries says otherwise
//     (sub keeps reconnecting once it has been connected, like mosquitto_sub);
//   - SIGINT and SIGTERM, which cancel the command's current wait so that it can end cleanly; a second
//     signal stops waiting for the broker altogether.
#pragma once

#include "cli_options.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace coromqtt::tools {

namespace asio = boost::asio;

// "Not authorized (0x87)", with the broker's reason string when it sent one.
std::string describe_reason(reason_code reason, std::string_view reason_string = {});

// An error as a person reads it: the error's message, then the broker's reason code when there is one.
std::string describe_error(error_code ec, reason_code reason = reason_code::success,
                           std::string_view reason_string = {});

class tool_runtime {
 public:
  // Throws mqtt_error when the client rejects its options (an unusable broker URL).
  tool_runtime(const common_flags& flags, command which);
  ~tool_runtime();
  tool_runtime(const tool_runtime&) = delete;
  tool_runtime& operator=(const tool_runtime&) = delete;

  coromqtt::client& client() noexcept { return *client_; }
  const common_flags& flags() const noexcept { return flags_; }

  // Runs `main` on the client's strand until it returns, then destroys the client (aborting whatever is still
  // pending) and returns main's exit status once every handler has run. An exception escaping main is
  // reported and gives status 1.
  int run(const std::function<asio::awaitable<int>(tool_runtime&)>& main);

  // Cancels main's current wait, and any later one until main resets its cancellation state.
  void cancel_main();

  // Takes every message the broker sends and drops it (a line each under -d), until the client goes. For a
  // command that does not read messages (pub): messages still arrive, from the session a -c resumes or the
  // subscriptions it holds, and once the receive queue was full the client would stop reading, acks included,
  // and keep alive would then blame the broker. (The library acknowledges a message when it queues it.)
  void discard_received_messages();

  // Why main's wait was cancelled.
  bool interrupted() const noexcept { return signal_number_ != 0; }
  int signal_number() const noexcept { return signal_number_; }
  bool connection_gave_up() const noexcept { return gave_up_; }

  // co_connect failed, or the reconnect policy gave up later: reports why (unless interrupted) and returns
  // the exit status: the CONNACK reason code when the broker refused us (MQTT 3.1.1 return codes for 3.1.1,
  // as mosquitto_pub does), 128 + signal when interrupted, 1 otherwise.
  int connection_failed(error_code ec);

  // The graceful end: what is queued goes first, then DISCONNECT (with the -D disconnect properties). Never
  // throws; a failure to close cleanly is only worth a debug line, the connection is closed anyway.
  asio::awaitable<void> disconnect();

  // One line on stderr: an error (suppressed by --quiet), or a -d debug line.
  void report_error(std::string_view line) const;
  bool debugging() const noexcept { return flags_.debug; }
  void debug(std::string_view line) const;

 private:
  asio::awaitable<void> watch_events();
  asio::awaitable<void> discard_messages();
  void wait_for_signal();
  reconnect_decision decide_reconnect(const connection_failure& failure);

  const common_flags& flags_;
  command command_;
  asio::io_context io_{1};
  std::optional<coromqtt::client> client_;
  std::optional<coromqtt::client::executor_type> strand_;
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  asio::cancellation_signal main_cancellation_;
  std::optional<connection_failure> last_failure_;
  std::minstd_rand random_{std::random_device{}()};
  bool ever_connected_ = false;
  bool gave_up_ = false;
  bool main_done_ = false;
  bool disconnecting_ = false;
  int signal_number_ = 0;
};

}  // namespace coromqtt::tools

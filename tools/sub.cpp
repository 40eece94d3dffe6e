// coromqtt sub: subscribe and print what arrives, like mosquitto_sub.
#include "cli_format.hpp"
#include "cli_options.hpp"
#include "cli_runtime.hpp"
#include "commands.hpp"

#include <coromqtt/protocol/topic.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

namespace coromqtt::tools {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// mosquitto_sub's exit status when -W expires.
constexpr int timed_out_status = 27;

// Output is gathered and written when no other message is waiting (or when this much has piled up), so that a
// burst costs one write and a lone message is seen at once.
constexpr std::size_t output_flush_threshold = 64 * 1024;

// Prints messages to standard output, raw bytes and all.
class printer {
 public:
  printer(const sub_flags& f)
      : format_{f.format    ? message_format::parse(*f.format)
                : f.verbose ? message_format::topic_and_payload()
                            : message_format::payload_only()},
        end_of_line_{!f.no_end_of_line} {}

  void print(const message& m) {
    const auto now =
        format_.uses_time() ? std::chrono::system_clock::now() : std::chrono::system_clock::time_point{};
    format_.render(m, now, buffer_);
    if (end_of_line_) buffer_ += '\n';
  }

  bool has_much() const noexcept { return buffer_.size() >= output_flush_threshold; }

  void flush() {
    if (buffer_.empty()) return;
    std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
    std::fflush(stdout);
    buffer_.clear();
  }

 private:
  message_format format_;
  bool end_of_line_;
  std::string buffer_;
};

// --remove-retained: an empty retained message clears the retained message of its topic. These go out while
// messages keep arriving; their completions are counted so that the tool leaves only once all are done.
class retained_remover {
 public:
  explicit retained_remover(tool_runtime& runtime)
      : runtime_{runtime}, state_{std::make_shared<shared_state>(runtime.client().get_executor())} {}

  void remove(const std::string& topic) {
    message clear;
    clear.topic = topic;
    clear.retain = true;
    clear.qos = qos::at_least_once;
    runtime_.debug("clearing the retained message of '" + topic + "'");
    ++state_->outstanding;
    runtime_.client().async_publish(
        std::move(clear), [state = state_, &runtime = runtime_, topic](error_code ec, publish_result result) {
          --state->outstanding;
          if (ec && ec != asio::error::operation_aborted) {
            ++state->failures;
            runtime.report_error("Error: clearing the retained message of '" + topic +
                                 "' failed: " + describe_error(ec, result.reason, result.reason_string));
          }
          state->progress.cancel();
        });
  }

  asio::awaitable<void> drain() {
    while (state_->outstanding > 0) {
      state_->progress.expires_at(asio::steady_timer::time_point::max());
      co_await state_->progress.async_wait(use_tuple);
      const auto cancellation = co_await asio::this_coro::cancellation_state;
      if (cancellation.cancelled() != asio::cancellation_type::none) co_return;  // interrupted: stop waiting
    }
  }

  std::uint64_t failures() const noexcept { return state_->failures; }

 private:
  struct shared_state {
    explicit shared_state(const client::executor_type& strand) : progress{strand} {}
    asio::steady_timer progress;
    std::size_t outstanding = 0;
    std::uint64_t failures = 0;
  };
  tool_runtime& runtime_;
  std::shared_ptr<shared_state> state_;
};

// Subscribes to every -t filter; reports refusals. Returns false when nothing could be subscribed.
asio::awaitable<bool> subscribe_all(tool_runtime& runtime, const sub_flags& f) {
  if (f.topics.empty()) co_return true;
  std::vector<subscription> subscriptions;
  for (const auto& filter : f.topics) {
    auto& s = subscriptions.emplace_back();
    s.filter = filter;
    s.options.max_qos = f.common.qos;
    s.options.retain_as_published = f.retain_as_published;
  }
  auto properties =
      f.common.version == protocol_version::v5 ? f.common.properties.subscribe : subscribe_properties{};
  auto [ec, result] =
      co_await runtime.client().async_subscribe(std::move(subscriptions), std::move(properties), use_tuple);
  if (ec == asio::error::operation_aborted) throw boost::system::system_error{ec};
  if (ec && ec != make_error_code(error::subscription_refused)) {
    runtime.report_error("Error: subscribing failed: " +
                         describe_error(ec, reason_code::success, result.reason_string));
    co_return false;
  }
  std::size_t granted = 0;
  for (std::size_t i = 0; i < f.topics.size(); ++i) {
    const auto reason = i < result.reasons.size() ? result.reasons[i] : reason_code::unspecified_error;
    if (protocol::is_error(reason)) {
      runtime.report_error("Error: subscription to '" + f.topics[i] +
                           "' refused: " + describe_reason(reason, result.reason_string));
    } else {
      ++granted;
      runtime.debug("subscribed to '" + f.topics[i] + "' (granted QoS " +
                    std::to_string(static_cast<int>(reason)) + ")");
    }
  }
  co_return granted > 0;
}

bool filtered_out(const sub_flags& f, const std::string& topic) {
  return std::any_of(f.filter_out.begin(), f.filter_out.end(),
                     [&](const std::string& filter) { return protocol::topic_matches(filter, topic); });
}

// Receives and prints until -C is reached, --retained-only sees a fresh message, or main is cancelled (by a
// signal, -W, or the reconnect policy giving up), which throws.
asio::awaitable<void> print_messages(tool_runtime& runtime, const sub_flags& f, printer& out,
                                     retained_remover& remover) {
  auto& client = runtime.client();
  std::uint64_t printed = 0;
  for (;;) {
    // Written out before waiting, so nothing printed lingers in the buffer while the broker is quiet.
    if (out.has_much() || client.statistics().receive_queue == 0) out.flush();
    const message m = co_await client.co_receive();
    if (runtime.debugging()) {
      runtime.debug("received PUBLISH on '" + m.topic + "' (QoS " + std::to_string(static_cast<int>(m.qos)) +
                    ", retain " + (m.retain ? "1" : "0") + ", " + std::to_string(m.payload.size()) +
                    " bytes)");
    }
    if (filtered_out(f, m.topic)) continue;
    if (f.remove_retained && m.retain) remover.remove(m.topic);
    if (f.retained_only && !m.retain) co_return;
    if (f.no_retained && m.retain) continue;
    out.print(m);
    if (f.count && ++printed >= *f.count) co_return;
  }
}

asio::awaitable<int> subscribe_main(tool_runtime& runtime, const sub_flags& f) {
  auto& client = runtime.client();
  try {
    co_await client.co_connect();
  } catch (const boost::system::system_error& e) {
    const int status = runtime.connection_failed(e.code());
    co_return runtime.interrupted() ? 0 : status;
  }

  // -W counts from the connection, as mosquitto_sub's does. It cuts short the subscribing and the receiving,
  // never the leaving. The flags are shared with the timer's handler, which may run after this frame is gone.
  struct timeout_state {
    bool listening = true;
    bool timed_out = false;
  };
  const auto deadline = std::make_shared<timeout_state>();
  asio::steady_timer timeout{client.get_executor()};
  if (f.timeout) {
    timeout.expires_after(*f.timeout);
    timeout.async_wait([&runtime, deadline](error_code ec) {
      if (ec || !deadline->listening) return;  // cancelled, or expired just as the receiving ended
      deadline->timed_out = true;
      runtime.cancel_main();
    });
  }

  printer out{f};
  retained_remover remover{runtime};
  int status = 0;
  std::string problem;
  try {
    const bool subscribed = co_await subscribe_all(runtime, f);
    if (!subscribed) status = 1;
    if (subscribed && !f.unsubscribe.empty()) {
      auto filters = f.unsubscribe;  // a named value: see g++ 12's co_await temporaries
      co_await client.co_unsubscribe(std::move(filters));
      for (const auto& filter : f.unsubscribe) runtime.debug("unsubscribed from '" + filter + "'");
    }
    if (subscribed && !f.exit_once_subscribed) co_await print_messages(runtime, f, out, remover);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) problem = e.what();
  }
  out.flush();
  deadline->listening = false;
  timeout.cancel();

  if (runtime.connection_gave_up() && !runtime.interrupted())
    co_return runtime.connection_failed(make_error_code(error::client_stopped));
  if (!problem.empty()) {
    runtime.report_error("Error: " + problem);
    status = 1;
  }
  if (deadline->timed_out) {
    runtime.report_error("Timed out");
    status = timed_out_status;
  }

  // Leave gracefully: the removals of retained messages complete first, then DISCONNECT. A signal cancelled
  // our waits; a second one cancels these too.
  co_await asio::this_coro::reset_cancellation_state();
  co_await remover.drain();
  if (remover.failures() > 0 && status == 0) status = 1;
  co_await runtime.disconnect();
  co_return status;
}

}  // namespace

int run_sub(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  parsed_command_line<sub_flags> command_line;
  try {
    command_line = parse_sub_command_line(args);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "Error: %s\nUse 'coromqtt sub --help' to see usage.\n", e.what());
    return 1;
  }
  if (command_line.help) {
    std::fwrite(sub_usage().data(), 1, sub_usage().size(), stdout);
    return 0;
  }
  const auto& flags = command_line.flags;
  try {
    tool_runtime runtime{flags.common, command::sub};
    return runtime.run([&flags](tool_runtime& rt) { return subscribe_main(rt, flags); });
  } catch (const std::exception& e) {
    if (!flags.common.quiet) std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}

}  // namespace coromqtt::tools

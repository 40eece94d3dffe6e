// coromqtt pub: publish messages from the command line, a file or standard input, like mosquitto_pub.
#include "cli_input.hpp"
#include "cli_options.hpp"
#include "cli_runtime.hpp"
#include "commands.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include <unistd.h>

namespace coromqtt::tools {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// No MQTT packet can carry more (its Remaining Length is at most 268,435,455 bytes); the broker's Maximum
// Packet Size may be lower, and then the client refuses the message with packet_too_large.
constexpr std::size_t max_payload = protocol::max_variable_byte_integer;

// Publishes messages, many in flight at once, and keeps count of the failures.
//
// QoS 0 goes through co_publish, which completes as soon as the message is queued (and suspends while the
// queue is full). QoS 1 and 2 are started with async_publish and a completion handler, so that
// acknowledgements overlap instead of costing one round trip per message; at most `window` are outstanding,
// which keeps memory bounded whatever the input's size. Everything runs on the client's strand: no locks.
class publisher {
 public:
  // Every message goes to `topic` (the tool has one), which names it in error reports.
  publisher(tool_runtime& runtime, std::string topic, std::size_t window)
      : runtime_{runtime},
        state_{std::make_shared<shared_state>(runtime.client().get_executor(), std::move(topic))},
        window_{window} {}

  asio::awaitable<void> publish(message m) {
    auto& client = runtime_.client();
    if (runtime_.debugging()) {
      runtime_.debug("sending PUBLISH to '" + m.topic + "' (QoS " + std::to_string(static_cast<int>(m.qos)) +
                     ", retain " + (m.retain ? "1" : "0") + ", " + std::to_string(m.payload.size()) +
                     " bytes)");
    }
    if (m.qos == qos::at_most_once) {
      try {
        co_await client.co_publish(std::move(m));
      } catch (const mqtt_error& e) {
        if (e.code() == asio::error::operation_aborted) throw;  // main was cancelled: let it see why
        state_->failed(runtime_, e.code(), e.reason(), e.reason_string());
      }
      co_return;
    }
    while (state_->outstanding >= window_) co_await state_->wait_for_progress();
    ++state_->outstanding;
    client.async_publish(std::move(m),
                         [state = state_, &runtime = runtime_](error_code ec, publish_result result) {
                           --state->outstanding;
                           if (ec)
                             state->failed(runtime, ec, result.reason, result.reason_string);
                           else if (runtime.debugging())
                             runtime.debug("PUBLISH to '" + state->topic + "' acknowledged");
                           state->progress.cancel();
                         });
  }

  // Waits until every message handed to publish() is acknowledged or has failed.
  asio::awaitable<void> drain() {
    while (state_->outstanding > 0) co_await state_->wait_for_progress();
  }

  std::uint64_t failures() const noexcept { return state_->failures; }

 private:
  // Shared with the completion handlers, which may run after this publisher is gone (when the client is
  // destroyed with messages still unacknowledged).
  struct shared_state {
    shared_state(const client::executor_type& strand, std::string t)
        : progress{strand}, topic{std::move(t)} {}

    // A timer used as a condition variable: a completion cancels it. Throws when main is cancelled.
    asio::awaitable<void> wait_for_progress() {
      progress.expires_at(asio::steady_timer::time_point::max());
      co_await progress.async_wait(use_tuple);
      const auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error{asio::error::operation_aborted};
    }

    void failed(tool_runtime& runtime, error_code ec, reason_code reason, const std::string& reason_string) {
      ++failures;
      // Aborted publishes are the consequence of another failure, which is reported on its own.
      if (ec != asio::error::operation_aborted)
        runtime.report_error("Error: publish to '" + topic +
                             "' failed: " + describe_error(ec, reason, reason_string));
    }

    asio::steady_timer progress;
    std::string topic;
    std::size_t outstanding = 0;
    std::uint64_t failures = 0;
  };

  tool_runtime& runtime_;
  std::shared_ptr<shared_state> state_;
  std::size_t window_;
};

message make_message(const pub_flags& f, std::string payload) {
  message m;
  m.topic = f.topic;
  m.payload = std::move(payload);
  m.qos = f.common.qos;
  m.retain = f.retain;
  if (f.common.version == protocol_version::v5) m.properties = f.common.properties.publish;
  return m;
}

std::string read_file(const std::string& path) {
  std::ifstream file{path, std::ios::binary};
  if (!file) throw std::runtime_error("cannot open '" + path + "'");
  std::string content;
  std::vector<char> chunk(64 * 1024);
  while (file.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || file.gcount() > 0) {
    content.append(chunk.data(), static_cast<std::size_t>(file.gcount()));
    if (content.size() > max_payload)
      throw std::runtime_error("'" + path + "' is larger than an MQTT message can be (" +
                               std::to_string(max_payload) + " bytes)");
  }
  if (file.bad()) throw std::runtime_error("cannot read '" + path + "'");
  return content;
}

// The one payload of -m, -f, -n and -s. Read before connecting, as mosquitto_pub does, so that a missing file
// is reported without touching the broker.
asio::awaitable<std::string> single_payload(tool_runtime& runtime, const pub_flags& f) {
  switch (f.payload_source) {
    case pub_flags::source::message: co_return f.message;
    case pub_flags::source::file: co_return read_file(f.file);
    case pub_flags::source::stdin_whole: {
      input_stream input{runtime.client().get_executor(), STDIN_FILENO};
      co_return co_await read_all(input, max_payload);
    }
    default: co_return std::string{};
  }
}

asio::awaitable<void> publish_lines(tool_runtime& runtime, const pub_flags& f, publisher& out) {
  input_stream input{runtime.client().get_executor(), STDIN_FILENO};
  line_reader lines{input, max_payload};
  for (;;) {
    auto line = co_await lines.next_line();
    if (!line) co_return;
    auto m = make_message(f, std::move(*line));  // a named value: see g++ 12's co_await temporaries
    co_await out.publish(std::move(m));
  }
}

asio::awaitable<void> publish_repeatedly(tool_runtime& runtime, const pub_flags& f, publisher& out,
                                         const std::string& payload) {
  asio::steady_timer pause{runtime.client().get_executor()};
  for (std::uint64_t i = 0; i < f.repeat; ++i) {
    if (i > 0 && f.repeat_delay.count() > 0) {
      // mosquitto_pub's meaning: the delay runs from the delivery of one message to the start of the next.
      co_await out.drain();
      pause.expires_after(f.repeat_delay);
      co_await pause.async_wait(asio::use_awaitable);
    }
    auto m = make_message(f, payload);
    co_await out.publish(std::move(m));
  }
}

asio::awaitable<int> publish_main(tool_runtime& runtime, const pub_flags& f) {
  auto& client = runtime.client();
  // Before connecting: a resumed session (-c) may deliver its stored messages right after CONNACK.
  runtime.discard_received_messages();

  std::string payload;
  if (f.payload_source != pub_flags::source::stdin_lines) {
    std::string problem;
    try {
      payload = co_await single_payload(runtime, f);
    } catch (const boost::system::system_error& e) {
      if (runtime.interrupted()) co_return 128 + runtime.signal_number();
      problem = e.what();
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (!problem.empty()) {
      runtime.report_error("Error: " + problem);
      co_return 1;
    }
  }

  try {
    co_await client.co_connect();
  } catch (const boost::system::system_error& e) {
    co_return runtime.connection_failed(e.code());
  }

  // The inflight window is the client's; a few more outstanding keep it full while acknowledgements return.
  publisher out{runtime, f.topic, client.options().effective_inflight_window() + 16u};
  std::string problem;
  try {
    if (f.payload_source == pub_flags::source::stdin_lines)
      co_await publish_lines(runtime, f, out);
    else
      co_await publish_repeatedly(runtime, f, out, payload);
    co_await out.drain();
    co_await client.co_flush();  // QoS 0 counts as delivered once written to the connection
  } catch (const boost::system::system_error& e) {
    if (!runtime.interrupted() && !runtime.connection_gave_up()) problem = e.what();
  } catch (const std::exception& e) {
    problem = e.what();
  }

  if (runtime.connection_gave_up())
    co_return runtime.connection_failed(make_error_code(error::client_stopped));
  int status = 0;
  if (!problem.empty()) {
    runtime.report_error("Error: " + problem);
    status = 1;
  }
  if (out.failures() > 0) status = 1;
  if (runtime.interrupted()) status = 128 + runtime.signal_number();

  // Whatever happened, leave gracefully: what is queued goes first, then DISCONNECT. A signal cancelled our
  // waits; a second one cancels this one too.
  co_await asio::this_coro::reset_cancellation_state();
  co_await runtime.disconnect();
  co_return status;
}

}  // namespace

int run_pub(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  parsed_command_line<pub_flags> command_line;
  try {
    command_line = parse_pub_command_line(args);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "Error: %s\nUse 'coromqtt pub --help' to see usage.\n", e.what());
    return 1;
  }
  if (command_line.help) {
    std::fwrite(pub_usage().data(), 1, pub_usage().size(), stdout);
    return 0;
  }
  const auto& flags = command_line.flags;
  try {
    tool_runtime runtime{flags.common, command::pub};
    return runtime.run([&flags](tool_runtime& rt) { return publish_main(rt, flags); });
  } catch (const std::exception& e) {
    if (!flags.common.quiet) std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}

}  // namespace coromqtt::tools

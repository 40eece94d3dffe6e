// coromqtt bench: a load generator and latency meter (see print_bench_usage for the modes and options).
// This is the command: options, broker, signals, report. bench_run.hpp is the run itself.
#include "bench_broker.hpp"
#include "bench_options.hpp"
#include "bench_report.hpp"
#include "bench_run.hpp"
#include "commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace coromqtt::tools {

int run_bench(int argc, char** argv) {
  int exit_code = 0;
  const auto parsed = parse_bench_options(argc, argv, stderr, exit_code);
  if (!parsed) return exit_code;
  const bench_options& options = *parsed;

  raise_open_file_limit();
  std::vector<std::string> urls = options.urls;
  std::string broker_error;
  std::optional<local_broker> broker =
      urls.empty() ? local_broker::start(options.mosquitto_path, broker_error) : std::nullopt;
  if (urls.empty()) {
    if (!broker) {
      std::fprintf(stderr, "coromqtt bench: %s\n", broker_error.c_str());
      return 1;
    }
    urls.push_back(broker->url());
  }

  asio::io_context io{1};
  bench_run run{io, options, urls};
  describe_run(run.summary, options);
  run.summary.broker = urls.front() + (urls.size() > 1 ? " (+" + std::to_string(urls.size() - 1) + ")" : "");
  if (broker) run.summary.broker_version = broker->version();

  // Ctrl-C (or SIGTERM) ends the run early with a summary of what was done; a second one ends it at once.
  asio::signal_set signals{io, SIGINT, SIGTERM};
  std::function<void(error_code, int)> on_signal = [&](error_code ec, int) {
    if (ec) return;
    if (run.interrupted) {
      io.stop();
      return;
    }
    std::fputs("\ncoromqtt bench: interrupted, finishing\n", stderr);
    run.interrupt();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, run.run(), [&](std::exception_ptr e) {
    failure = e;
    done = true;
    signals.cancel();
  });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "coromqtt bench: %s\n", e.what());
    }
    return 1;
  }
  if (!done) return 130;  // stopped by a second Ctrl-C
  if (options.json)
    print_json(stdout, run.summary);
  else
    print_summary(stdout, run.summary);
  std::fflush(stdout);
  if (broker) broker->stop();
  const bool complete = run.summary.errors == 0 && !run.interrupted;
  return complete ? 0 : 1;
}

}  // namespace coromqtt::tools

// coromqtt bench: a load generator and latency meter (see print_bench_usage for the modes and options).
// This is the command: options, limits, broker, signals, report. bench_run.hpp is the run itself, and
// bench_workers.hpp spreads it over several processes.
#include "bench_broker.hpp"
#include "bench_limits.hpp"
#include "bench_options.hpp"
#include "bench_report.hpp"
#include "bench_run.hpp"
#include "bench_workers.hpp"
#include "commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace coromqtt::tools {

namespace {

// The run in this process reports to the command directly.
class local_observer final : public run_observer {
 public:
  local_observer(const bench_options& options, const std::vector<std::string>& urls)
      : options_{options}, urls_{urls} {}

  asio::awaitable<bool> ready(bool ok, std::size_t connected) override {
    if (ok && options_.mode == bench_mode::sub) {
      if (!options_.ready_file.empty()) std::ofstream{options_.ready_file} << "subscribed\n";
      // The broker's address is printed because with a broker started for the run, a publisher cannot know it
      // otherwise.
      if (!options_.quiet)
        std::fprintf(stderr, "coromqtt bench: %zu subscribed to %s, waiting for messages\n", connected,
                     urls_.front().c_str());
    }
    co_return ok;
  }

  void progress(long long seconds, const progress_counts& counts) override {
    print_progress(stderr, options_.mode, seconds, counts);
  }

 private:
  const bench_options& options_;
  const std::vector<std::string>& urls_;
};

// All the clients in this process. Returns the exit status; 130 (stopped by a second Ctrl-C) means that there
// is nothing to report.
int run_here(const bench_options& options, const std::vector<std::string>& urls, bench_summary& summary) {
  asio::io_context io{1};
  local_observer observer{options, urls};
  bench_run run{io, options, urls, observer};
  run.summary = summary;

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
  if (!done) return 130;
  summary = std::move(run.summary);
  return summary.errors == 0 && !run.interrupted ? 0 : 1;
}

}  // namespace

int run_bench(int argc, char** argv) {
  int exit_code = 0;
  const auto parsed = parse_bench_options(argc, argv, stderr, exit_code);
  if (!parsed) return exit_code;
  bench_options options = *parsed;
  // One prefix for every worker process, so that client ids are those of one process running all the clients.
  if (options.client_id_prefix.empty())
    options.client_id_prefix = "coromqtt-bench-" + std::to_string(::getpid());

  const auto limits = check_limits(options, options.urls.empty());
  if (!limits.error.empty()) {
    std::fprintf(stderr, "coromqtt bench: %s\n", limits.error.c_str());
    return 2;
  }
  for (const auto& warning : limits.warnings)
    std::fprintf(stderr, "coromqtt bench: warning: %s\n", warning.c_str());

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

  bench_summary summary;
  describe_run(summary, options);
  summary.broker = urls.front() + (urls.size() > 1 ? " (+" + std::to_string(urls.size() - 1) + ")" : "");
  if (broker) summary.broker_version = broker->version();

  const int status =
      options.processes > 1 ? run_workers(options, urls, summary) : run_here(options, urls, summary);
  if (status == 130) return status;  // stopped by a second Ctrl-C
  if (options.json)
    print_json(stdout, summary);
  else
    print_summary(stdout, summary);
  std::fflush(stdout);
  if (broker) broker->stop();
  return status;
}

}  // namespace coromqtt::tools

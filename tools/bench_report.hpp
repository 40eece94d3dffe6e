// What a benchmark run found, and how it is told: a readable summary, or one JSON object for scripts
// (bench/compare reads the same fields from every client it compares).
#pragma once

#include "bench_histogram.hpp"
#include "bench_options.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::tools {

// This process's CPU time (user + system, every thread) and memory, from getrusage and /proc. The first call
// opens /proc/self/statm and keeps it open: a process whose connections took every file descriptor it may
// open could not open it again (and would report no memory at all).
struct process_usage {
  double cpu_seconds = 0;
  std::uint64_t peak_rss_kib = 0;     // ru_maxrss
  std::uint64_t current_rss_kib = 0;  // VmRSS now
  static process_usage now() noexcept;
};

struct bench_summary {
  std::string client = "coromqtt";  // the peer programs of bench/compare print the same summary
  std::string client_version;       // empty: this build of coromqtt
  std::string mode;
  std::string version;  // "3.1.1" or "5"
  std::string broker;
  std::string broker_version;  // when the tool started the broker itself
  int qos = 0;
  std::size_t payload_size = 0;
  std::size_t clients = 0;
  std::size_t processes = 1;  // --processes
  unsigned inflight = 0;
  double rate = 0;  // per client; 0 = as fast as possible

  std::uint64_t messages = 0;      // completed: queued (QoS 0), acknowledged (QoS 1/2), received (sub, rtt)
  std::uint64_t errors = 0;
  std::uint64_t reconnects = 0;
  double elapsed_seconds = 0;
  latency_histogram latency;       // nanoseconds; empty where it means nothing (QoS 0 publish)
  double cpu_seconds = 0;          // during the measured interval
  std::uint64_t peak_rss_kib = 0;

  // Why operations failed (connect, subscribe, publish...), by reason, with how often: "connect: Too many open
  // files" -> 212. At most max_failure_reasons distinct reasons; the rest are counted under "other".
  std::map<std::string, std::uint64_t> failures;
  static constexpr std::size_t max_failure_reasons = 16;
  void count_failure(std::string_view reason, std::uint64_t n = 1);

  // conn
  std::size_t connected = 0;    // connections established (their first attempt succeeded)
  std::size_t connections = 0;  // still connected when the hold ended
  double bytes_per_connection = 0;  // client RSS growth over the connections established
  latency_histogram connect_time;

  // The measured interval on the steady clock (the same in every process of the machine), so that the figures
  // of several worker processes can be merged into one interval.
  std::uint64_t begin_ns = 0, end_ns = 0;
  std::uint64_t received = 0;  // sub: messages received (`messages` counts the intervals between them)

  // --processes: one entry per worker, in the merged summary.
  struct worker {
    long pid = 0;
    std::size_t clients = 0;
    std::string exit;  // "0", "1", "signal 9", "no report"
  };
  std::vector<worker> workers;

  double messages_per_second() const { return elapsed_seconds > 0 ? static_cast<double>(messages) / elapsed_seconds : 0; }
  double megabytes_per_second() const {
    return messages_per_second() * static_cast<double>(payload_size) / 1e6;
  }
  double cpu_ns_per_message() const {
    return messages ? cpu_seconds * 1e9 / static_cast<double>(messages) : 0;
  }
};

// Fills in what the run was asked to do (mode, version, QoS, sizes, clients, window, rate).
void describe_run(bench_summary&, const bench_options&);

void print_summary(std::FILE* out, const bench_summary&);
void print_json(std::FILE* out, const bench_summary&);

// The line printed on stderr each second while a run goes on.
struct progress_counts {
  std::uint64_t completed = 0;  // so far
  std::uint64_t per_second = 0;  // completed in the last second
  std::size_t in_flight = 0;
  std::size_t connected = 0;
  std::size_t clients = 0;
  std::uint64_t errors = 0;
  std::uint64_t reconnects = 0;
};
void print_progress(std::FILE* out, bench_mode, long long seconds, const progress_counts&);

}  // namespace coromqtt::tools

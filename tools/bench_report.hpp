// What a benchmark run found, and how it is told: a readable summary, or one JSON object for scripts
// (bench/compare reads the same fields from every client it compares).
#pragma once

#include "bench_histogram.hpp"
#include "bench_options.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

namespace coromqtt::tools {

// This process's CPU time (user + system, every thread) and memory, from getrusage and /proc.
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
  unsigned inflight = 0;
  double rate = 0;  // per client; 0 = as fast as possible

  std::uint64_t messages = 0;      // completed: queued (QoS 0), acknowledged (QoS 1/2), received (sub, rtt)
  std::uint64_t errors = 0;
  std::uint64_t reconnects = 0;
  double elapsed_seconds = 0;
  latency_histogram latency;       // nanoseconds; empty where it means nothing (QoS 0 publish)
  double cpu_seconds = 0;          // during the measured interval
  std::uint64_t peak_rss_kib = 0;

  // conn
  std::size_t connections = 0;
  double bytes_per_connection = 0;
  latency_histogram connect_time;

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

}  // namespace coromqtt::tools

#include "bench_report.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <string>
#include <utility>
#include <vector>

// The project version, from tools/meson.build.
#ifndef COROMQTT_BENCH_VERSION
#define COROMQTT_BENCH_VERSION "unknown"
#endif

namespace coromqtt::tools {

process_usage process_usage::now() noexcept {
  process_usage u;
  rusage r{};
  if (::getrusage(RUSAGE_SELF, &r) == 0) {
    u.cpu_seconds = static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
                    static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
    u.peak_rss_kib = static_cast<std::uint64_t>(r.ru_maxrss);
  }
  // statm: "size resident shared ..." in pages. Read with pread from the descriptor opened at the first call.
  static const int statm = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  char text[128];
  const auto n = statm >= 0 ? ::pread(statm, text, sizeof text - 1, 0) : -1;
  if (n > 0) {
    text[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(text, "%llu %llu", &size, &resident) == 2)
      u.current_rss_kib = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
  }
  return u;
}

void bench_summary::count_failure(std::string_view reason_text, std::uint64_t n) {
  // One line of printable ASCII: the reason goes into a text summary, a JSON string and a worker's report.
  std::string reason{reason_text};
  for (char& c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  auto it = failures.find(reason);
  if (it == failures.end()) {
    // Bounded: a broker's reason strings could otherwise make a new entry per failure.
    if (failures.size() >= max_failure_reasons) {
      failures["other"] += n;
      return;
    }
    it = failures.emplace(std::move(reason), 0).first;
  }
  it->second += n;
}

namespace {

// A duration in nanoseconds, readably: 812 ns, 45.3 us, 1.27 ms, 2.50 s.
std::string human_time(double ns) {
  char text[32];
  if (ns < 1e3)
    std::snprintf(text, sizeof text, "%.0f ns", ns);
  else if (ns < 1e6)
    std::snprintf(text, sizeof text, "%.1f us", ns / 1e3);
  else if (ns < 1e9)
    std::snprintf(text, sizeof text, "%.2f ms", ns / 1e6);
  else
    std::snprintf(text, sizeof text, "%.2f s", ns / 1e9);
  return text;
}

// 1234567 -> "1,234,567"
std::string grouped(double value) {
  const auto digits = std::to_string(static_cast<std::uint64_t>(value + 0.5));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void print_percentiles(std::FILE* out, const char* label, const latency_histogram& h) {
  std::fprintf(out, "%-11s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%s samples)\n", label,
               human_time(static_cast<double>(h.percentile(0.50))).c_str(),
               human_time(static_cast<double>(h.percentile(0.90))).c_str(),
               human_time(static_cast<double>(h.percentile(0.99))).c_str(),
               human_time(static_cast<double>(h.percentile(0.999))).c_str(),
               human_time(static_cast<double>(h.max())).c_str(), grouped(static_cast<double>(h.count())).c_str());
}

void json_percentiles(std::FILE* out, const char* name, const latency_histogram& h, double unit) {
  if (h.count() == 0) {
    std::fprintf(out, ",\"%s\":null", name);
    return;
  }
  std::fprintf(out,
               ",\"%s\":{\"count\":%" PRIu64 ",\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,"
               "\"mean\":%.3f}",
               name, h.count(), static_cast<double>(h.percentile(0.50)) / unit,
               static_cast<double>(h.percentile(0.90)) / unit, static_cast<double>(h.percentile(0.99)) / unit,
               static_cast<double>(h.percentile(0.999)) / unit, static_cast<double>(h.max()) / unit, h.mean() / unit);
}

// Strings here are URLs, versions and mode names: escaping quotes and backslashes is enough.
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

}  // namespace

void describe_run(bench_summary& s, const bench_options& o) {
  s.mode = to_string(o.mode);
  s.version = o.version == protocol_version::v5 ? "5" : "3.1.1";
  s.qos = static_cast<int>(o.qos);
  s.payload_size = o.payload_size;
  s.clients = o.clients;
  s.processes = o.processes;
  s.inflight = o.qos == qos::at_most_once ? 0 : o.window();
  s.rate = o.rate;
}

namespace {

// The failure reasons, most frequent first.
std::vector<std::pair<std::string, std::uint64_t>> by_count(const bench_summary& s) {
  std::vector<std::pair<std::string, std::uint64_t>> reasons(s.failures.begin(), s.failures.end());
  std::stable_sort(reasons.begin(), reasons.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return reasons;
}

}  // namespace

void print_summary(std::FILE* out, const bench_summary& s) {
  std::fprintf(out, "%s bench %s: %zu client%s, MQTT %s", s.client.c_str(), s.mode.c_str(), s.clients,
               s.clients == 1 ? "" : "s", s.version.c_str());
  if (s.processes > 1) std::fprintf(out, ", %zu processes", s.processes);
  if (s.mode != "conn") {
    std::fprintf(out, ", QoS %d, %zu B payload", s.qos, s.payload_size);
    if (s.qos > 0 && s.mode == "pub") std::fprintf(out, ", inflight window %u", s.inflight);
    if (s.rate > 0)
      std::fprintf(out, ", %s msg/s per client", grouped(s.rate).c_str());
    else if (s.mode == "rtt")
      std::fprintf(out, ", one at a time");
    else if (s.mode == "pub")
      std::fprintf(out, ", as fast as possible");
  }
  std::fprintf(out, "\nbroker      %s", s.broker.c_str());
  if (!s.broker_version.empty())
    std::fprintf(out, " (mosquitto %s, started for this run)", s.broker_version.c_str());
  std::fputc('\n', out);
  if (s.mode == "conn") {
    std::fprintf(out, "connections %s of %zu in %.3f s", grouped(static_cast<double>(s.connected)).c_str(),
                 s.clients, s.elapsed_seconds);
    if (s.connections != s.connected)
      std::fprintf(out, " (%s still connected at the end)", grouped(static_cast<double>(s.connections)).c_str());
    std::fputc('\n', out);
    if (s.connect_time.count()) print_percentiles(out, "connect", s.connect_time);
    if (s.connected > 0)
      std::fprintf(out, "memory      %.2f KiB of client RSS per connection (over the %s established)\n",
                   s.bytes_per_connection / 1024, grouped(static_cast<double>(s.connected)).c_str());
    else
      std::fprintf(out, "memory      - (no connection established)\n");
  } else {
    std::fprintf(out, "messages    %s in %.3f s: %s msg/s, %.2f MB/s of payload\n",
                 grouped(static_cast<double>(s.messages)).c_str(), s.elapsed_seconds,
                 grouped(s.messages_per_second()).c_str(), s.megabytes_per_second());
    if (s.latency.count()) print_percentiles(out, "latency", s.latency);
    std::fprintf(out, "client CPU  %.3f s: %s per message\n", s.cpu_seconds,
                 human_time(s.cpu_ns_per_message()).c_str());
  }
  std::fprintf(out, "peak RSS    %.1f MiB%s\n", static_cast<double>(s.peak_rss_kib) / 1024,
               s.processes > 1 ? " (the workers' peaks added up)" : "");
  std::fprintf(out, "errors      %s, reconnects %s\n", grouped(static_cast<double>(s.errors)).c_str(),
               grouped(static_cast<double>(s.reconnects)).c_str());
  for (const auto& [reason, count] : by_count(s))
    std::fprintf(out, "  %10s failed: %s\n", grouped(static_cast<double>(count)).c_str(), reason.c_str());
  for (const auto& w : s.workers) {
    if (w.exit != "0")
      std::fprintf(out, "worker      %ld (%zu clients) exited: %s\n", w.pid, w.clients, w.exit.c_str());
  }
}

void print_json(std::FILE* out, const bench_summary& s) {
  std::fprintf(out,
               "{\"client\":%s,\"client_version\":%s,\"mode\":%s,\"protocol\":%s,\"qos\":%d,"
               "\"payload\":%zu,\"clients\":%zu,\"processes\":%zu,\"inflight\":%u,\"rate\":%.3f,\"broker\":%s,"
               "\"broker_version\":%s",
               json_string(s.client).c_str(),
               json_string(s.client_version.empty() ? COROMQTT_BENCH_VERSION : s.client_version).c_str(),
               json_string(s.mode).c_str(), json_string(s.version).c_str(), s.qos, s.payload_size, s.clients,
               s.processes, s.inflight, s.rate, json_string(s.broker).c_str(),
               json_string(s.broker_version).c_str());
  std::fprintf(out,
               ",\"messages\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"reconnects\":%" PRIu64
               ",\"elapsed_s\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f",
               s.messages, s.errors, s.reconnects, s.elapsed_seconds, s.messages_per_second(),
               s.megabytes_per_second());
  json_percentiles(out, "latency_us", s.latency, 1e3);
  std::fprintf(out, ",\"cpu_s\":%.6f,\"cpu_ns_per_msg\":%.1f,\"peak_rss_kib\":%" PRIu64, s.cpu_seconds,
               s.cpu_ns_per_message(), s.peak_rss_kib);
  if (s.mode == "conn") {
    std::fprintf(out, ",\"connected\":%zu,\"connections\":%zu,\"bytes_per_connection\":%.1f", s.connected,
                 s.connections, s.bytes_per_connection);
    json_percentiles(out, "connect_ms", s.connect_time, 1e6);
  }
  std::fputs(",\"failures\":{", out);
  const char* separator = "";
  for (const auto& [reason, count] : by_count(s)) {
    std::fprintf(out, "%s%s:%" PRIu64, separator, json_string(reason).c_str(), count);
    separator = ",";
  }
  std::fputc('}', out);
  if (!s.workers.empty()) {
    std::fputs(",\"workers\":[", out);
    separator = "";
    for (const auto& w : s.workers) {
      std::fprintf(out, "%s{\"pid\":%ld,\"clients\":%zu,\"exit\":%s}", separator, w.pid, w.clients,
                   json_string(w.exit).c_str());
      separator = ",";
    }
    std::fputc(']', out);
  }
  std::fputs("}\n", out);
}

void print_progress(std::FILE* out, bench_mode mode, long long seconds, const progress_counts& p) {
  const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  if (mode == bench_mode::conn) {
    std::fprintf(out, "[%4llds] connected %zu of %zu  errors %llu  reconnects %llu\n", seconds, p.connected,
                 p.clients, u(p.errors), u(p.reconnects));
  } else {
    std::fprintf(out, "[%4llds] %10llu msg/s  done %llu  in flight %zu  errors %llu  reconnects %llu\n", seconds,
                 u(p.per_second), u(p.completed), p.in_flight, u(p.errors), u(p.reconnects));
  }
}

}  // namespace coromqtt::tools

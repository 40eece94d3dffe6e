#include "bench_report.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <fstream>
#include <string>

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
  // statm: size resident shared ... in pages.
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (statm >> size >> resident) u.current_rss_kib = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
  return u;
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
  s.inflight = o.qos == qos::at_most_once ? 0 : o.window();
  s.rate = o.rate;
}

void print_summary(std::FILE* out, const bench_summary& s) {
  std::fprintf(out, "%s bench %s: %zu client%s, MQTT %s", s.client.c_str(), s.mode.c_str(), s.clients, s.clients == 1 ? "" : "s",
               s.version.c_str());
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
  if (!s.broker_version.empty()) std::fprintf(out, " (mosquitto %s, started for this run)", s.broker_version.c_str());
  std::fputc('\n', out);
  if (s.mode == "conn") {
    std::fprintf(out, "connections %s of %zu in %.3f s\n", grouped(static_cast<double>(s.connections)).c_str(),
                 s.clients, s.elapsed_seconds);
    if (s.connect_time.count()) print_percentiles(out, "connect", s.connect_time);
    std::fprintf(out, "memory      %.2f KiB of client RSS per connection\n", s.bytes_per_connection / 1024);
  } else {
    std::fprintf(out, "messages    %s in %.3f s: %s msg/s, %.2f MB/s of payload\n",
                 grouped(static_cast<double>(s.messages)).c_str(), s.elapsed_seconds,
                 grouped(s.messages_per_second()).c_str(), s.megabytes_per_second());
    if (s.latency.count()) print_percentiles(out, "latency", s.latency);
    std::fprintf(out, "client CPU  %.3f s: %s per message\n", s.cpu_seconds, human_time(s.cpu_ns_per_message()).c_str());
  }
  std::fprintf(out, "peak RSS    %.1f MiB\n", static_cast<double>(s.peak_rss_kib) / 1024);
  std::fprintf(out, "errors      %s, reconnects %s\n", grouped(static_cast<double>(s.errors)).c_str(),
               grouped(static_cast<double>(s.reconnects)).c_str());
}

void print_json(std::FILE* out, const bench_summary& s) {
  std::fprintf(out, "{\"client\":%s,\"client_version\":%s,\"mode\":%s,\"protocol\":%s,\"qos\":%d,"
               "\"payload\":%zu,\"clients\":%zu,\"inflight\":%u,\"rate\":%.3f,\"broker\":%s,\"broker_version\":%s",
               json_string(s.client).c_str(),
               json_string(s.client_version.empty() ? COROMQTT_BENCH_VERSION : s.client_version).c_str(),
               json_string(s.mode).c_str(),
               json_string(s.version).c_str(), s.qos, s.payload_size, s.clients, s.inflight, s.rate,
               json_string(s.broker).c_str(), json_string(s.broker_version).c_str());
  std::fprintf(out,
               ",\"messages\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"reconnects\":%" PRIu64
               ",\"elapsed_s\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f",
               s.messages, s.errors, s.reconnects, s.elapsed_seconds, s.messages_per_second(),
               s.megabytes_per_second());
  json_percentiles(out, "latency_us", s.latency, 1e3);
  std::fprintf(out, ",\"cpu_s\":%.6f,\"cpu_ns_per_msg\":%.1f,\"peak_rss_kib\":%" PRIu64, s.cpu_seconds,
               s.cpu_ns_per_message(), s.peak_rss_kib);
  if (s.mode == "conn") {
    std::fprintf(out, ",\"connections\":%zu,\"bytes_per_connection\":%.1f", s.connections, s.bytes_per_connection);
    json_percentiles(out, "connect_ms", s.connect_time, 1e6);
  }
  std::fputs("}\n", out);
}

}  // namespace coromqtt::tools

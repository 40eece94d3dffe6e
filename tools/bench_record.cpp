#include "bench_record.hpp"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <limits>

namespace coromqtt::tools {

namespace {

void put(std::string& out, const char* name, std::uint64_t value) {
  char line[64];
  std::snprintf(line, sizeof line, "%s %" PRIu64 "\n", name, value);
  out += line;
}

void put(std::string& out, const char* name, double value) {
  char line[64];
  std::snprintf(line, sizeof line, "%s %.17g\n", name, value);  // 17 digits: the same double comes back
  out += line;
}

void put(std::string& out, const char* name, const latency_histogram& h) {
  char text[96];
  std::snprintf(text, sizeof text, "%s %.17g %" PRIu64 " %" PRIu64, name, h.sum(), h.min(), h.max());
  out += text;
  h.for_each_bucket([&](std::size_t index, std::uint64_t n) {
    std::snprintf(text, sizeof text, " %zu:%" PRIu64, index, n);
    out += text;
  });
  out += '\n';
}

// The words of a line, consumed left to right.
class words {
 public:
  explicit words(std::string_view line) : rest_{line} {}

  std::string_view next() {
    const auto start = rest_.find_first_not_of(' ');
    if (start == std::string_view::npos) return {};
    rest_.remove_prefix(start);
    const auto end = std::min(rest_.find(' '), rest_.size());
    const auto word = rest_.substr(0, end);
    rest_.remove_prefix(end);
    return word;
  }
  std::string_view rest() const {
    const auto start = rest_.find_first_not_of(' ');
    return start == std::string_view::npos ? std::string_view{} : rest_.substr(start);
  }

  template <class Number>
  bool number(Number& out) {
    const auto word = next();
    const auto [stop, ec] = std::from_chars(word.data(), word.data() + word.size(), out);
    return !word.empty() && ec == std::errc{} && stop == word.data() + word.size();
  }

 private:
  std::string_view rest_;
};

bool read_histogram(words& w, latency_histogram& h) {
  double sum = 0;
  std::uint64_t min = 0, max = 0;
  if (!w.number(sum) || !w.number(min) || !w.number(max)) return false;
  h = latency_histogram{};
  for (auto bucket = w.next(); !bucket.empty(); bucket = w.next()) {
    const auto colon = bucket.find(':');
    if (colon == std::string_view::npos) return false;
    words index_word{bucket.substr(0, colon)}, count_word{bucket.substr(colon + 1)};
    std::size_t index = 0;
    std::uint64_t n = 0;
    if (!index_word.number(index) || !count_word.number(n) || !h.add_bucket(index, n)) return false;
  }
  // An empty histogram keeps its own extremes (min above max), which merge() relies on.
  if (h.count() > 0) h.set_extremes(sum, min, max);
  return true;
}

}  // namespace

std::string to_record(const bench_summary& s) {
  std::string out;
  put(out, "messages", s.messages);
  put(out, "errors", s.errors);
  put(out, "reconnects", s.reconnects);
  put(out, "elapsed_s", s.elapsed_seconds);
  put(out, "cpu_s", s.cpu_seconds);
  put(out, "peak_rss_kib", s.peak_rss_kib);
  put(out, "connected", static_cast<std::uint64_t>(s.connected));
  put(out, "connections", static_cast<std::uint64_t>(s.connections));
  put(out, "bytes_per_connection", s.bytes_per_connection);
  put(out, "begin_ns", s.begin_ns);
  put(out, "end_ns", s.end_ns);
  put(out, "received", s.received);
  put(out, "latency", s.latency);
  put(out, "connect_time", s.connect_time);
  for (const auto& [reason, count] : s.failures) {
    put(out, "failure", count);
    out.pop_back();  // the reason follows on the same line (count_failure keeps it to printable ASCII)
    out += ' ' + reason + '\n';
  }
  return out;
}

bool from_record(std::string_view record, bench_summary& s) {
  while (!record.empty()) {
    const auto end = std::min(record.find('\n'), record.size());
    words w{record.substr(0, end)};
    record.remove_prefix(std::min(end + 1, record.size()));
    const auto name = w.next();
    std::uint64_t count = 0;
    bool ok = true;
    if (name.empty()) continue;
    if (name == "messages")
      ok = w.number(s.messages);
    else if (name == "errors")
      ok = w.number(s.errors);
    else if (name == "reconnects")
      ok = w.number(s.reconnects);
    else if (name == "elapsed_s")
      ok = w.number(s.elapsed_seconds);
    else if (name == "cpu_s")
      ok = w.number(s.cpu_seconds);
    else if (name == "peak_rss_kib")
      ok = w.number(s.peak_rss_kib);
    else if (name == "connected")
      ok = w.number(s.connected);
    else if (name == "connections")
      ok = w.number(s.connections);
    else if (name == "bytes_per_connection")
      ok = w.number(s.bytes_per_connection);
    else if (name == "begin_ns")
      ok = w.number(s.begin_ns);
    else if (name == "end_ns")
      ok = w.number(s.end_ns);
    else if (name == "received")
      ok = w.number(s.received);
    else if (name == "latency")
      ok = read_histogram(w, s.latency);
    else if (name == "connect_time")
      ok = read_histogram(w, s.connect_time);
    else if (name == "failure") {
      ok = w.number(count) && !w.rest().empty();
      if (ok) s.count_failure(w.rest(), count);
    } else {
      ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

void merge_into(bench_summary& total, const std::vector<bench_summary>& parts) {
  double connection_bytes = 0;
  std::uint64_t begin = std::numeric_limits<std::uint64_t>::max(), end = 0;
  for (const auto& p : parts) {
    total.messages += p.messages;
    total.errors += p.errors;
    total.reconnects += p.reconnects;
    total.cpu_seconds += p.cpu_seconds;
    total.peak_rss_kib += p.peak_rss_kib;
    total.connected += p.connected;
    total.connections += p.connections;
    total.received += p.received;
    connection_bytes += p.bytes_per_connection * static_cast<double>(p.connected);
    total.latency.merge(p.latency);
    total.connect_time.merge(p.connect_time);
    for (const auto& [reason, count] : p.failures) total.count_failure(reason, count);
    // A worker that never measured (it failed to set up, or a sub that received nothing) has no interval.
    const bool measured = p.begin_ns != 0 && (total.mode != "sub" || p.received > 0);
    if (measured) {
      begin = std::min(begin, p.begin_ns);
      end = std::max(end, p.end_ns);
    }
  }
  if (total.connected > 0)
    total.bytes_per_connection = connection_bytes / static_cast<double>(total.connected);
  if (end > begin) {
    total.begin_ns = begin;
    total.end_ns = end;
    total.elapsed_seconds = static_cast<double>(end - begin) / 1e9;
  } else {
    for (const auto& p : parts) total.elapsed_seconds = std::max(total.elapsed_seconds, p.elapsed_seconds);
  }
  // sub counts the intervals between arrivals: n messages, from the first to the last, over n - 1 intervals.
  if (total.mode == "sub" && total.received > 1 && end > begin) total.messages = total.received - 1;
}

}  // namespace coromqtt::tools

// coromqtt bench --processes: a worker's figures survive the trip to the parent, and the parent's merge gives
// the figures one process running every client would have measured.
#include "bench_record.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace coromqtt::tools;

namespace {

bench_summary worker_figures(std::uint64_t first_latency, std::uint64_t samples) {
  bench_summary s;
  s.messages = samples;
  s.errors = 2;
  s.cpu_seconds = 0.25;
  s.peak_rss_kib = 9000;
  s.begin_ns = 1'000'000'000;
  s.end_ns = 3'000'000'000;
  s.elapsed_seconds = 2.0;
  for (std::uint64_t i = 0; i < samples; ++i) s.latency.record(first_latency + i * 1000);
  s.count_failure("publish: Operation canceled", 2);
  return s;
}

}  // namespace

TEST_CASE("bench record: a worker's figures come back the same", "[bench]") {
  auto sent = worker_figures(5'000, 1000);
  sent.count_failure("connect: broker said \"no\"\n(twice)");  // made printable ASCII on one line
  bench_summary received;
  REQUIRE(from_record(to_record(sent), received));
  CHECK(received.messages == sent.messages);
  CHECK(received.errors == sent.errors);
  CHECK(received.cpu_seconds == sent.cpu_seconds);
  CHECK(received.begin_ns == sent.begin_ns);
  CHECK(received.end_ns == sent.end_ns);
  CHECK(received.latency.count() == 1000);
  CHECK(received.latency.min() == sent.latency.min());
  CHECK(received.latency.max() == sent.latency.max());
  CHECK(received.latency.mean() == sent.latency.mean());
  for (const double p : {0.5, 0.9, 0.99, 0.999}) CHECK(received.latency.percentile(p) == sent.latency.percentile(p));
  CHECK(received.connect_time.count() == 0);
  CHECK(received.failures == sent.failures);
}

TEST_CASE("bench record: text that is not a record is refused", "[bench]") {
  bench_summary s;
  CHECK_FALSE(from_record("messages many\n", s));
  CHECK_FALSE(from_record("latency 1 2 3 999999:1\n", s));  // no such bucket
  CHECK_FALSE(from_record("surprise 1\n", s));
}

TEST_CASE("bench merge: counts add up, the interval spans every worker, histograms merge", "[bench]") {
  auto a = worker_figures(5'000, 1000);
  auto b = worker_figures(2'000'000, 500);
  b.begin_ns = 1'500'000'000;
  b.end_ns = 4'000'000'000;
  bench_summary total;
  total.mode = "pub";
  merge_into(total, {a, b});
  CHECK(total.messages == 1500);
  CHECK(total.errors == 4);
  CHECK(total.cpu_seconds == 0.5);
  CHECK(total.peak_rss_kib == 18000);
  CHECK(total.elapsed_seconds == Approx(3.0));  // from a's start to b's end, not 2 + 2.5
  CHECK(total.latency.count() == 1500);
  CHECK(total.latency.min() == a.latency.min());
  CHECK(total.latency.max() == b.latency.max());
  latency_histogram one;  // what one process holding every sample would report
  one.merge(a.latency);
  one.merge(b.latency);
  CHECK(total.latency.percentile(0.99) == one.percentile(0.99));
  CHECK(total.failures.at("publish: Operation canceled") == 4);
}

TEST_CASE("bench merge: memory per connection is over every connection", "[bench]") {
  bench_summary a, b;
  a.connected = a.connections = 300;
  a.bytes_per_connection = 10'000;
  b.connected = b.connections = 100;
  b.bytes_per_connection = 20'000;
  bench_summary total;
  total.mode = "conn";
  merge_into(total, {a, b});
  CHECK(total.connected == 400);
  CHECK(total.bytes_per_connection == Approx(12'500.0));
}

TEST_CASE("bench merge: sub counts the intervals between the first and the last arrival", "[bench]") {
  bench_summary a, b, idle;
  a.received = 100, a.messages = 99, a.begin_ns = 2'000, a.end_ns = 10'000;
  b.received = 50, b.messages = 49, b.begin_ns = 1'000, b.end_ns = 8'000;
  idle.begin_ns = 500, idle.end_ns = 20'000;  // received nothing: its interval is not an arrival's
  bench_summary total;
  total.mode = "sub";
  merge_into(total, {a, b, idle});
  CHECK(total.messages == 149);
  CHECK(total.elapsed_seconds == Approx(9'000 / 1e9));
}

// Outgoing topic aliases with many topics: the bytes a publisher puts on the wire without aliases, with the
// first-come policy coromqtt used before (the first topics seen keep every alias for the whole connection) and
// with the least-recently-used table it uses now, for the same sequence of topics.
//
//   aliases/<workload>/max:<n>   n = the broker's Topic Alias Maximum (mosquitto's default is 10)
//     workloads over 1,000 topics of ~40 bytes, 8-byte payloads, QoS 0, MQTT 5, 200,000 messages:
//       shifting  a gateway whose active machines change: phases of 2,000 messages over 8 hot topics, the hot
//                 set moving on each phase (3 of 4 messages hot, the rest any topic);
//       zipf      topic popularity Zipf-distributed (s = 1.1), no phases.
//
// Counters: none_B/msg, first_come_B/msg, lru_B/msg (wire bytes per message), saved_vs_none_% and
// saved_vs_first_come_% (how much less LRU writes). The bytes come from the session itself (no alias, LRU) and,
// for first-come, from the codec's encoded_size() of exactly the PUBLISH packets that policy would write. The
// timed loop is the LRU path (ns and allocations per message).
//
// Run: build-release/bench/topic_alias_bench --benchmark_min_time=0.2
#include "session/session.hpp"

#include <coromqtt/protocol/codec.hpp>

#include "allocation_counting.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

using coromqtt::bench::allocation_counter;
namespace proto = coromqtt::protocol;
using coromqtt::detail::clock;

constexpr std::size_t topic_count = 1000;
constexpr std::size_t message_count = 200'000;
constexpr std::size_t batch = 64;

std::vector<std::string> make_topics() {
  std::vector<std::string> topics;
  for (std::size_t i = 0; i < topic_count; ++i)
    topics.push_back("factory/line-" + std::to_string(i / 100) + "/machine-" + std::to_string(i) +
                     "/temperature");
  return topics;
}

enum class workload { shifting, zipf };

std::vector<std::size_t> make_sequence(workload w) {
  std::mt19937_64 random{42};
  std::vector<std::size_t> sequence;
  sequence.reserve(message_count);
  if (w == workload::shifting) {
    std::uniform_int_distribution<std::size_t> any{0, topic_count - 1};
    std::vector<std::size_t> hot(8);
    for (std::size_t i = 0; i < message_count; ++i) {
      if (i % 2000 == 0)
        for (auto& h : hot) h = any(random);
      sequence.push_back(random() % 4 != 0 ? hot[random() % hot.size()] : any(random));
    }
  } else {
    std::vector<double> weights(topic_count);
    for (std::size_t i = 0; i < topic_count; ++i) weights[i] = 1.0 / std::pow(static_cast<double>(i + 1), 1.1);
    std::discrete_distribution<std::size_t> zipf{weights.begin(), weights.end()};
    for (std::size_t i = 0; i < message_count; ++i) sequence.push_back(zipf(random));
  }
  return sequence;
}

// A session connected to a broker that allows `maximum` topic aliases.
struct aliasing_session {
  aliasing_session(std::uint16_t maximum, bool auto_alias) {
    options.client_id = "bench";
    options.auto_topic_alias = auto_alias;
    session.emplace(options, stats);
    session->begin_connection({}, now);
    session->prepare_write();
    session->commit_write(now);
    proto::connack ack;
    ack.properties.topic_alias_maximum = maximum;
    std::vector<std::uint8_t> bytes(proto::encoded_size(proto::packet{ack}, options.version).size);
    proto::encode(proto::packet{ack}, options.version, bytes);
    const auto space = session->read_space();
    std::copy(bytes.begin(), bytes.end(), space.begin());
    if (session->on_read(bytes.size(), now) || session->state() != coromqtt::detail::session_state::connected)
      std::abort();
  }

  // Publishes `m`; every `batch` messages the pending bytes are written. Returns bytes written so far.
  void publish(const coromqtt::message& m) {
    coromqtt::error_code ec;
    if (!session->try_publish_now(m, now, ec) || ec) std::abort();
    if (++unwritten == batch) flush();
  }
  std::size_t flush() {
    if (session->has_output()) {
      written += session->prepare_write().size();
      session->commit_write(now);
    }
    unwritten = 0;
    return written;
  }

  coromqtt::client_options options;
  coromqtt::detail::statistics_counters stats;
  std::optional<coromqtt::detail::session> session;
  clock::time_point now = clock::now();
  std::size_t unwritten = 0;
  std::size_t written = 0;
};

std::size_t session_bytes(const std::vector<std::string>& topics, const std::vector<std::size_t>& sequence,
                          std::uint16_t maximum, bool auto_alias) {
  aliasing_session s{maximum, auto_alias};
  coromqtt::message m{"", "12345678", coromqtt::qos::at_most_once, false, {}};
  for (auto i : sequence) {
    m.topic = topics[i];
    s.publish(m);
  }
  return s.flush();
}

// The first-come policy: the first `maximum` distinct topics take the aliases for good; every other topic is
// sent in full. Bytes as the codec encodes exactly those packets.
std::size_t first_come_bytes(const std::vector<std::string>& topics, const std::vector<std::size_t>& sequence,
                             std::uint16_t maximum) {
  std::vector<std::uint16_t> alias_of(topics.size(), 0);
  std::vector<bool> announced(topics.size(), false);
  std::uint16_t next = 1;
  const std::string payload = "12345678";
  std::size_t total = 0;
  for (auto i : sequence) {
    proto::publish p;
    p.topic = topics[i];
    p.payload = {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()};
    if (alias_of[i] == 0 && next <= maximum) alias_of[i] = next++;
    if (alias_of[i] != 0) {
      p.properties.topic_alias = alias_of[i];
      if (announced[i]) p.topic = {};
      announced[i] = true;
    }
    total += proto::encoded_size(proto::packet{p}, coromqtt::protocol_version::v5).size;
  }
  return total;
}

void aliases(benchmark::State& state, workload w, std::uint16_t maximum) {
  const auto topics = make_topics();
  const auto sequence = make_sequence(w);
  const double n = static_cast<double>(sequence.size());
  const double none = static_cast<double>(session_bytes(topics, sequence, maximum, false)) / n;
  const double first_come = static_cast<double>(first_come_bytes(topics, sequence, maximum)) / n;
  const double lru = static_cast<double>(session_bytes(topics, sequence, maximum, true)) / n;

  aliasing_session s{maximum, true};
  coromqtt::message m{"", "12345678", coromqtt::qos::at_most_once, false, {}};
  std::size_t at = 0;
  const allocation_counter counter;
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch; ++i) {
      m.topic = topics[sequence[at]];  // fits: the capacity of the longest topic is kept
      at = at + 1 == sequence.size() ? 0 : at + 1;
      s.publish(m);
    }
  }
  counter.report_per_iteration(state, batch);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.counters["none_B/msg"] = none;
  state.counters["first_come_B/msg"] = first_come;
  state.counters["lru_B/msg"] = lru;
  state.counters["saved_vs_none_%"] = 100.0 * (none - lru) / none;
  state.counters["saved_vs_first_come_%"] = 100.0 * (first_come - lru) / first_come;
}

}  // namespace

int main(int argc, char** argv) {
  for (const auto& [name, w] : {std::pair{"shifting", workload::shifting}, std::pair{"zipf", workload::zipf}})
    for (const std::uint16_t maximum : {std::uint16_t{10}, std::uint16_t{64}})
      benchmark::RegisterBenchmark(("aliases/" + std::string{name} + "/max:" + std::to_string(maximum)).c_str(),
                                   aliases, w, maximum);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

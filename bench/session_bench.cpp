// Session microbenchmarks: the sans-I/O core on the client's hot paths, without sockets or a scheduler.
//
//   publish_qos0     try_publish_now() into the pending bytes, then prepare_write()/commit_write() once per 64
//                    messages, as the writer takes everything queued in one write;
//   publish_qos1     publish() with an operation, the write, and the PUBACK read back (64 in flight per round,
//                    one read for their 64 PUBACKs), until the operation completes;
//   receive          incoming PUBLISH packets decoded and queued (64 per read), then popped as co_receive does;
//                    QoS 1 also encodes the PUBACK and writes it.
//
// ns/op is per message. allocs/op counts heap allocations per message inside the timed loop (the replaced
// global operator new of allocation_counting.cpp). Messages whose topic and payload fit std::string's inline
// buffer (15 bytes) isolate the session's own allocations from the copy of the user's payload.
#include "session/session.hpp"

#include <coromqtt/protocol/codec.hpp>

#include "allocation_counting.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using coromqtt::bench::allocation_counter;

namespace proto = coromqtt::protocol;
using coromqtt::error_code;
using coromqtt::protocol_version;
using coromqtt::qos;
using coromqtt::detail::clock;

constexpr std::size_t batch = 64;

struct completion_counter final : coromqtt::detail::publish_op {
  std::size_t completed = 0;
  error_code last_error;
  void complete(error_code ec, coromqtt::publish_result) override {
    ++completed;
    last_error = ec;
  }
};

std::vector<std::uint8_t> encode(const proto::packet& p, protocol_version v) {
  std::vector<std::uint8_t> bytes(proto::encoded_size(p, v).size);
  proto::encode(p, v, bytes);
  return bytes;
}

// A session connected to a pretend broker that accepted with the default limits.
struct connected_session {
  explicit connected_session(protocol_version v) {
    options.version = v;
    options.client_id = "bench";
    options.inflight_window = 65535;
    session.emplace(options, stats);
    session->begin_connection({}, now);
    session->prepare_write();
    session->commit_write(now);
    feed(encode(proto::connack{}, v));
    if (session->state() != coromqtt::detail::session_state::connected) std::abort();
  }

  // As the reader does: as much as the read space takes per read (it grows while reads fill it).
  void feed(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
      const auto space = session->read_space();
      const auto n = std::min(space.size(), bytes.size());
      std::memcpy(space.data(), bytes.data(), n);
      if (session->on_read(n, now)) std::abort();
      bytes = bytes.subspan(n);
    }
  }

  coromqtt::client_options options;
  coromqtt::detail::statistics_counters stats;
  std::optional<coromqtt::detail::session> session;
  clock::time_point now = clock::now();
};

coromqtt::message make_message(std::size_t payload_size, qos level) {
  coromqtt::message m;
  m.topic = "bench/0";
  m.payload.assign(payload_size, 'x');
  m.qos = level;
  return m;
}

void publish_qos0(benchmark::State& state, std::size_t payload_size, protocol_version v) {
  connected_session c{v};
  const auto m = make_message(payload_size, qos::at_most_once);
  std::size_t written = 0;
  const allocation_counter counter;
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch; ++i) {
      error_code ec;
      if (!c.session->try_publish_now(m, c.now, ec) || ec) std::abort();
    }
    const auto bytes = c.session->prepare_write();
    written += bytes.size();
    benchmark::DoNotOptimize(bytes.data());
    c.session->commit_write(c.now);
  }
  counter.report_per_iteration(state, batch);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<std::int64_t>(written));
}

// The broker's answer to the QoS 1 PUBLISH packets in `bytes` (each with a 1-byte remaining length): one PUBACK
// (the short form, valid in both versions) per packet identifier, written into `acks`. Returns their size.
std::size_t acknowledge(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& acks) {
  std::size_t n = 0;
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t remaining = bytes[at + 1];
    const std::size_t topic_length = std::size_t{bytes[at + 2]} << 8 | bytes[at + 3];
    const std::size_t id_at = at + 4 + topic_length;
    const std::uint8_t ack[4] = {0x40, 0x02, bytes[id_at], bytes[id_at + 1]};
    std::memcpy(acks.data() + n, ack, 4);
    n += 4;
    at += 2 + remaining;
  }
  return n;
}

void publish_qos1(benchmark::State& state, std::size_t payload_size, protocol_version v) {
  connected_session c{v};
  const auto prototype = make_message(payload_size, qos::at_least_once);
  std::array<completion_counter, batch> ops;
  std::vector<std::uint8_t> acks(4 * batch);
  std::size_t completed = 0;
  const allocation_counter counter;
  for (auto _ : state) {
    for (auto& op : ops) {
      op.message = prototype;  // the user's message; the session keeps it until PUBACK
      c.session->publish(op, c.now);
    }
    const auto n = acknowledge(c.session->prepare_write(), acks);
    c.session->commit_write(c.now);
    c.feed({acks.data(), n});
  }
  for (const auto& op : ops) completed += op.completed;
  counter.report_per_iteration(state, batch);
  if (completed != state.iterations() * batch) state.SkipWithError("not every publish was acknowledged");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void receive(benchmark::State& state, std::size_t payload_size, qos level, protocol_version v) {
  connected_session c{v};
  const std::string payload(payload_size, 'x');
  std::vector<std::uint8_t> wire;
  for (std::size_t i = 0; i < batch; ++i) {
    proto::publish p;
    p.topic = "bench/0";
    p.qos = level;
    p.packet_id = level == qos::at_most_once ? 0 : static_cast<std::uint16_t>(i + 1);
    p.payload = {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()};
    const auto one = encode(p, v);
    wire.insert(wire.end(), one.begin(), one.end());
  }
  std::size_t delivered = 0;
  const allocation_counter counter;
  for (auto _ : state) {
    c.feed(wire);
    while (c.session->has_message()) {
      auto m = c.session->pop_message();
      benchmark::DoNotOptimize(m.payload.data());
      ++delivered;
    }
    if (c.session->has_output()) {  // the PUBACKs
      benchmark::DoNotOptimize(c.session->prepare_write().data());
      c.session->commit_write(c.now);
    }
  }
  counter.report_per_iteration(state, batch);
  if (delivered != state.iterations() * batch) state.SkipWithError("messages lost");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void register_all() {
  for (const auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    const std::string version = v == protocol_version::v5 ? "v5" : "v3";
    for (const std::size_t size : {std::size_t{8}, std::size_t{64}}) {
      const std::string suffix = "/" + std::to_string(size) + "B/" + version;
      benchmark::RegisterBenchmark(("session/publish_qos0" + suffix).c_str(), publish_qos0, size, v);
      benchmark::RegisterBenchmark(("session/publish_qos1" + suffix).c_str(), publish_qos1, size, v);
      benchmark::RegisterBenchmark(("session/receive_qos0" + suffix).c_str(), receive, size, qos::at_most_once, v);
      benchmark::RegisterBenchmark(("session/receive_qos1" + suffix).c_str(), receive, size, qos::at_least_once, v);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

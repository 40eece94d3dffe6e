// Codec microbenchmarks: encode and decode of PUBLISH (64 B and 1 KiB payloads, QoS 0 and 1, MQTT 3.1.1 and
// MQTT 5 with properties), SUBSCRIBE and the acknowledgements. Encoding goes into one reused buffer, as the
// client's writer does; decoding reads in place, as its reader does. Each benchmark reports bytes per second
// and heap allocations per operation, counted by the replaced global operator new of allocation_counting.cpp.
#include <coromqtt/protocol.hpp>

#include "allocation_counting.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using coromqtt::bench::allocation_counter;

using namespace coromqtt::protocol;

struct publish_case {
  std::size_t payload_size;
  qos level;
  protocol_version version;
  bool with_properties = true;  // MQTT 5 only
};

// A PUBLISH as an application sends it; in MQTT 5 with a few properties, user properties included.
struct publish_fixture {
  explicit publish_fixture(const publish_case& c) : payload(c.payload_size, 0x42) {
    message.topic = "sensors/building-7/floor-3/temperature";
    message.payload = payload;
    message.qos = c.level;
    if (c.level != qos::at_most_once) message.packet_id = 4711;
    if (c.version == protocol_version::v5 && c.with_properties) {
      message.properties.message_expiry_interval = 3600;
      message.properties.content_type = "application/json";
      message.properties.user_properties = users;
    }
  }
  std::vector<std::uint8_t> payload;
  std::array<user_property, 2> users{user_property{"trace-id", "4bf92f3577b34da6"}, user_property{"unit", "C"}};
  publish message;
};

void encode_publish(benchmark::State& state, publish_case c) {
  const publish_fixture fixture{c};
  std::vector<std::uint8_t> buffer(64 * 1024);
  std::size_t written = 0;
  const allocation_counter counter;
  for (auto _ : state) {
    const encoded_size_result size = encoded_size(fixture.message, c.version);
    written = encode(fixture.message, c.version, std::span{buffer}.first(size.size));
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  counter.report_per_iteration(state);
  if (written == 0) state.SkipWithError("encode failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * written));
}

// encode() alone into a buffer known to be large enough: a writer can encode straight into its buffer's
// free space and ask encoded_size() only when encode() returns 0.
void encode_publish_direct(benchmark::State& state, publish_case c) {
  const publish_fixture fixture{c};
  std::vector<std::uint8_t> buffer(64 * 1024);
  std::size_t written = 0;
  const allocation_counter counter;
  for (auto _ : state) {
    written = encode(fixture.message, c.version, buffer);
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  counter.report_per_iteration(state);
  if (written == 0) state.SkipWithError("encode failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * written));
}

void decode_publish(benchmark::State& state, publish_case c) {
  const publish_fixture fixture{c};
  std::vector<std::uint8_t> wire(encoded_size(fixture.message, c.version).size);
  encode(fixture.message, c.version, wire);
  bool ok = true;
  const allocation_counter counter;
  for (auto _ : state) {
    decode_result result = decode(wire, c.version);
    ok = ok && result.status == frame_status::complete;
    benchmark::DoNotOptimize(result);
  }
  counter.report_per_iteration(state);
  if (!ok) state.SkipWithError("decode failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
}

// Any other packet, through the variant interface.
void encode_packet(benchmark::State& state, packet p, protocol_version version) {
  std::vector<std::uint8_t> buffer(4096);
  std::size_t written = 0;
  const allocation_counter counter;
  for (auto _ : state) {
    const encoded_size_result size = encoded_size(p, version);
    written = encode(p, version, std::span{buffer}.first(size.size));
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  counter.report_per_iteration(state);
  if (written == 0) state.SkipWithError("encode failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * written));
}

void decode_packet_bench(benchmark::State& state, packet p, protocol_version version) {
  std::vector<std::uint8_t> wire(encoded_size(p, version).size);
  encode(p, version, wire);
  bool ok = true;
  const allocation_counter counter;
  for (auto _ : state) {
    decode_result result = decode(wire, version);
    ok = ok && result.status == frame_status::complete;
    benchmark::DoNotOptimize(result);
  }
  counter.report_per_iteration(state);
  if (!ok) state.SkipWithError("decode failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
}

const std::array<subscription, 3> subscriptions{
    subscription{"sensors/+/floor-3/#", {.max_qos = qos::at_least_once}},
    subscription{"alerts/#", {.max_qos = qos::exactly_once, .no_local = true}},
    subscription{"$share/workers/jobs/+", {.max_qos = qos::at_least_once}},
};

subscribe make_subscribe(protocol_version version) {
  subscribe s;
  s.packet_id = 17;
  s.subscriptions = subscriptions;
  if (version == protocol_version::v5) {
    s.properties.subscription_identifier = 42;
  } else {
    // 3.1.1 has the QoS bits only.
    static const std::array<subscription, 3> plain{
        subscription{"sensors/+/floor-3/#", {.max_qos = qos::at_least_once}},
        subscription{"alerts/#", {.max_qos = qos::exactly_once}},
        subscription{"$share/workers/jobs/+", {.max_qos = qos::at_least_once}},
    };
    s.subscriptions = plain;
  }
  return s;
}

const std::array<reason_code, 3> granted{reason_code::granted_qos_1, reason_code::granted_qos_2,
                                         reason_code::granted_qos_1};

void register_all() {
  const char* const qos_names[] = {"qos0", "qos1"};
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    const std::string v = version == protocol_version::v5 ? "v5" : "v3";
    for (const std::size_t size : {std::size_t{64}, std::size_t{1024}}) {
      for (const qos level : {qos::at_most_once, qos::at_least_once}) {
        const publish_case c{size, level, version};
        const std::string suffix = std::to_string(size) + "B/" + qos_names[static_cast<int>(level)] + "/" + v;
        benchmark::RegisterBenchmark(("encode_publish/" + suffix).c_str(), encode_publish, c);
        if (level == qos::at_least_once)
          benchmark::RegisterBenchmark(("encode_publish_only/" + suffix).c_str(), encode_publish_direct, c);
        benchmark::RegisterBenchmark(("decode_publish/" + suffix).c_str(), decode_publish, c);
      }
    }
    if (version == protocol_version::v5) {
      // Without properties: what MQTT 5 itself costs over 3.1.1 (one Property Length byte).
      const publish_case bare{64, qos::at_least_once, version, false};
      benchmark::RegisterBenchmark("encode_publish/64B/qos1/v5-no-properties", encode_publish, bare);
      benchmark::RegisterBenchmark("decode_publish/64B/qos1/v5-no-properties", decode_publish, bare);
    }
    benchmark::RegisterBenchmark(("encode_subscribe/" + v).c_str(), encode_packet, packet{make_subscribe(version)},
                                 version);
    benchmark::RegisterBenchmark(("decode_subscribe/" + v).c_str(), decode_packet_bench,
                                 packet{make_subscribe(version)}, version);
    suback ack;
    ack.packet_id = 17;
    ack.reasons = granted;
    benchmark::RegisterBenchmark(("encode_suback/" + v).c_str(), encode_packet, packet{ack}, version);
    benchmark::RegisterBenchmark(("decode_suback/" + v).c_str(), decode_packet_bench, packet{ack}, version);
    benchmark::RegisterBenchmark(("encode_puback/" + v).c_str(), encode_packet, packet{puback{.packet_id = 4711}},
                                 version);
    benchmark::RegisterBenchmark(("decode_puback/" + v).c_str(), decode_packet_bench,
                                 packet{puback{.packet_id = 4711}}, version);
    benchmark::RegisterBenchmark(("decode_pubrel/" + v).c_str(), decode_packet_bench,
                                 packet{pubrel{.packet_id = 4711}}, version);
  }
  puback refused{.packet_id = 4711, .reason = reason_code::quota_exceeded};
  benchmark::RegisterBenchmark("encode_puback_with_reason/v5", encode_packet, packet{refused}, protocol_version::v5);
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

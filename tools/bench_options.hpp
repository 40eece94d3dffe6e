// The command line of `coromqtt bench`: what to run, against which broker, with how much load.
#pragma once

#include <coromqtt/message.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace coromqtt::tools {

enum class bench_mode {
  pub,   // publishers; QoS 0 ends with a QoS 1 marker whose PUBACK shows the broker took everything before it
  sub,   // subscribers counting what arrives (and its latency, when the payload carries a send time)
  rtt,   // publish to a topic the same client subscribes to: latency through the broker
  conn,  // open many connections and hold them: connect time and memory per connection
};

struct bench_options {
  bench_mode mode = bench_mode::pub;

  // Where. No URL and no host: a local mosquitto is started on a free loopback port for the run.
  std::vector<std::string> urls;  // clients are spread over them, round robin
  std::string host;
  std::uint16_t port = 0;
  std::string mosquitto_path = "/usr/sbin/mosquitto";
  std::vector<std::string> bind_addresses;  // local source addresses, round robin over the clients
  std::string ca_file;
  bool insecure = false;

  // Who
  std::size_t clients = 1;
  std::string client_id_prefix;  // empty: coromqtt-bench-<process id>, so two bench runs never take over each other's sessions
  protocol_version version = protocol_version::v5;
  std::chrono::seconds keep_alive{60};

  // How much
  std::optional<std::uint64_t> count;               // messages per client
  std::optional<std::chrono::duration<double>> duration;  // instead of (or as well as) a count
  double rate = 0;                                   // messages per second per client; 0 = as fast as possible
  coromqtt::qos qos = qos::at_most_once;
  std::size_t payload_size = 64;
  std::string topic = "bench/%i";
  std::optional<std::uint16_t> inflight;             // QoS 1/2 window per client (default 100; rtt: 1)
  std::size_t connect_concurrency = 100;             // connection attempts at once (per process)
  std::size_t processes = 1;  // worker processes sharing the clients (each has its own file-descriptor limit)
  std::string store_directory;                       // pub: a file store per client under it (empty: none)
  bool store_fsync = true;                           // --store-no-fsync: store_durability::no_fsync
  std::chrono::duration<double> idle_timeout{2.0};   // sub: the run ends after this long without a message

  // Output
  bool json = false;
  bool quiet = false;           // no progress lines
  std::string ready_file;       // sub: created once every client is subscribed (for scripts)

  // Derived defaults
  std::uint64_t messages_per_client() const;
  std::uint16_t window() const;
  bool one_at_a_time() const { return mode == bench_mode::rtt && rate == 0; }
};

// Parses argv (argv[0] is "bench"). Returns nullopt after printing why (or the help) to `err`; `exit_code`
// says whether that was an error (2) or --help (0).
std::optional<bench_options> parse_bench_options(int argc, char** argv, std::FILE* err, int& exit_code);

void print_bench_usage(std::FILE* out);

const char* to_string(bench_mode) noexcept;

// "bench/%i" with client index 7 -> "bench/7".
std::string expand_topic(const std::string& pattern, std::size_t index);

}  // namespace coromqtt::tools

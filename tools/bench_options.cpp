#include "bench_options.hpp"

#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>

namespace coromqtt::tools {

void print_bench_usage(std::FILE* out) {
  std::fputs(
      "usage: coromqtt bench <pub|sub|rtt|conn> [options]\n"
      "\n"
      "modes:\n"
      "  pub    publish as fast as possible (or at -r per client); QoS 0 ends with a QoS 1 marker whose\n"
      "         PUBACK shows the broker took every message before it\n"
      "  sub    subscribe and count what arrives; latency too when the payload carries a send time\n"
      "         (payloads of `bench pub` and `bench rtt` of 16 bytes or more do)\n"
      "  rtt    publish to a topic the client itself subscribes to: latency through the broker, one message\n"
      "         at a time, or at -r messages per second\n"
      "  conn   open -c connections and hold them for -d seconds: connect time, memory per connection\n"
      "\n"
      "broker (none given: a local mosquitto is started on a free loopback port, and stopped after):\n"
      "  -L, --url URL            mqtt:// mqtts:// ws:// wss:// unix:// (repeatable: clients alternate)\n"
      "  -h, --host HOST          with -p, the same as -L mqtt://HOST:PORT\n"
      "  -p, --port PORT\n"
      "      --bind-address ADDR  local source address (repeatable: clients alternate), to go past the\n"
      "                           ephemeral ports of one address\n"
      "      --cafile FILE        CA certificates for mqtts:// and wss://\n"
      "      --insecure           TLS without verifying the broker (self-signed test brokers only)\n"
      "      --mosquitto PATH     broker started when none is given (default /usr/sbin/mosquitto)\n"
      "\n"
      "load:\n"
      "  -c, --clients N          connections (default 1)\n"
      "  -n, --count N            messages per client (default pub 100000, rtt 10000, sub: until idle)\n"
      "  -d, --duration SECONDS   run this long instead (conn: how long to hold the connections, default 5)\n"
      "  -r, --rate R             messages per second per client (default: as fast as possible; rtt: one at\n"
      "                           a time)\n"
      "  -q, --qos 0|1|2          (default 0)\n"
      "  -s, --size BYTES         payload size (default 64)\n"
      "  -t, --topic PATTERN      %i is replaced by the client index (default bench/%i)\n"
      "  -w, --inflight N         QoS 1/2 messages in flight per client (default 100; rtt one at a time: 1)\n"
      "  -V, --protocol 3.1.1|5   MQTT version (default 5)\n"
      "  -k, --keepalive SECONDS  (default 60)\n"
      "  -i, --id-prefix PREFIX   client identifiers PREFIX-<index> (default\n"
      "                           coromqtt-bench-<process id>)\n"
      "      --connect-concurrency N  connection attempts in progress at once, per process (default 100)\n"
      "      --processes N        spread the clients over N worker processes, each with its own\n"
      "                           file-descriptor limit; their figures are merged into one report\n"
      "      --store DIR          pub: each client keeps its session in a file store, DIR/<index> (QoS 1/2\n"
      "                           messages are on disk before they are sent; measures your disk)\n"
      "      --store-no-fsync     with --store: write without fsync (survives the process, not the machine)\n"
      "      --idle SECONDS       sub: end after this long without a message (default 2)\n"
      "\n"
      "output:\n"
      "      --json               the summary as one JSON object on stdout\n"
      "      --quiet              no progress line each second (on stderr)\n"
      "      --ready-file PATH    sub: create PATH once every client is subscribed\n"
      "      --help\n",
      out);
}

const char* to_string(bench_mode m) noexcept {
  switch (m) {
    case bench_mode::pub: return "pub";
    case bench_mode::sub: return "sub";
    case bench_mode::rtt: return "rtt";
    case bench_mode::conn: return "conn";
  }
  return "?";
}

std::uint64_t bench_options::messages_per_client() const {
  if (count) return *count;
  if (duration) return std::numeric_limits<std::uint64_t>::max();
  switch (mode) {
    case bench_mode::pub: return 100'000;
    case bench_mode::rtt: return 10'000;
    default: return std::numeric_limits<std::uint64_t>::max();
  }
}

std::uint16_t bench_options::window() const {
  if (inflight) return *inflight;
  return one_at_a_time() ? 1 : 100;
}

std::string expand_topic(const std::string& pattern, std::size_t index) {
  std::string out;
  out.reserve(pattern.size() + 8);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'i') {
      out += std::to_string(index);
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

namespace {

template <class Number>
bool parse_number(std::string_view text, Number& out) {
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && p == end;
}

constexpr std::size_t max_processes = 256;

bool parse_seconds(std::string_view text, double& out) {
  // std::from_chars for double is in libstdc++ 11 and later.
  return parse_number(text, out) && out >= 0;
}

std::optional<protocol_version> parse_version(std::string_view v) {
  if (v == "5" || v == "5.0" || v == "mqttv5") return protocol_version::v5;
  if (v == "3.1.1" || v == "311" || v == "4" || v == "mqttv311") return protocol_version::v3_1_1;
  return std::nullopt;
}

}  // namespace

std::optional<bench_options> parse_bench_options(int argc, char** argv, std::FILE* err, int& exit_code) {
  exit_code = 2;
  bench_options o;
  if (argc < 2) {
    print_bench_usage(err);
    return std::nullopt;
  }
  const std::string_view mode = argv[1];
  if (mode == "--help") {
    print_bench_usage(stdout);
    exit_code = 0;
    return std::nullopt;
  }
  if (mode == "pub") {
    o.mode = bench_mode::pub;
  } else if (mode == "sub") {
    o.mode = bench_mode::sub;
  } else if (mode == "rtt") {
    o.mode = bench_mode::rtt;
  } else if (mode == "conn") {
    o.mode = bench_mode::conn;
  } else {
    std::fprintf(err, "coromqtt bench: unknown mode '%s' (pub, sub, rtt or conn)\n", argv[1]);
    return std::nullopt;
  }

  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto fail = [&](const char* why) {
      std::fprintf(err, "coromqtt bench: %s: %s\n", std::string{arg}.c_str(), why);
      return std::nullopt;
    };
    if (arg == "--help") {
      print_bench_usage(stdout);
      exit_code = 0;
      return std::nullopt;
    }
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (arg == "--store-no-fsync") {
      o.store_fsync = false;
      continue;
    }
    if (arg == "--insecure") {
      o.insecure = true;
      continue;
    }
    // Everything else takes a value. A new option: a field in bench_options (with its default), a line in
    // print_bench_usage, and a branch below.
    if (i + 1 >= argc) return fail("needs a value");
    const std::string_view value = argv[++i];
    auto number = [&](auto& out) { return parse_number(value, out); };

    if (arg == "-L" || arg == "--url") {
      o.urls.emplace_back(value);
    } else if (arg == "-h" || arg == "--host") {
      o.host = value;
    } else if (arg == "-p" || arg == "--port") {
      if (!number(o.port) || o.port == 0) return fail("not a port number");
    } else if (arg == "--bind-address") {
      o.bind_addresses.emplace_back(value);
    } else if (arg == "--cafile") {
      o.ca_file = value;
    } else if (arg == "--store") {
      o.store_directory = value;
    } else if (arg == "--mosquitto") {
      o.mosquitto_path = value;
    } else if (arg == "-c" || arg == "--clients") {
      if (!number(o.clients) || o.clients == 0) return fail("not a positive number");
    } else if (arg == "-n" || arg == "--count") {
      std::uint64_t n = 0;
      if (!number(n) || n == 0) return fail("not a positive number");
      o.count = n;
    } else if (arg == "-d" || arg == "--duration") {
      double s = 0;
      if (!parse_seconds(value, s) || s == 0) return fail("not a positive number of seconds");
      o.duration = std::chrono::duration<double>{s};
    } else if (arg == "-r" || arg == "--rate") {
      if (!parse_number(value, o.rate) || o.rate < 0) return fail("not a rate");
    } else if (arg == "-q" || arg == "--qos") {
      int q = 0;
      if (!number(q) || q < 0 || q > 2) return fail("QoS is 0, 1 or 2");
      o.qos = static_cast<coromqtt::qos>(q);
    } else if (arg == "-s" || arg == "--size") {
      if (!number(o.payload_size) || o.payload_size > 256 * 1024 * 1024) return fail("not a payload size");
    } else if (arg == "-t" || arg == "--topic") {
      o.topic = value;
    } else if (arg == "-w" || arg == "--inflight") {
      std::uint16_t w = 0;
      if (!number(w) || w == 0) return fail("not a window of 1 to 65535");
      o.inflight = w;
    } else if (arg == "-V" || arg == "--protocol") {
      const auto v = parse_version(value);
      if (!v) return fail("MQTT version is 3.1.1 or 5");
      o.version = *v;
    } else if (arg == "-k" || arg == "--keepalive") {
      unsigned k = 0;
      if (!number(k) || k > 65535) return fail("not a keep alive in seconds");
      o.keep_alive = std::chrono::seconds{k};
    } else if (arg == "-i" || arg == "--id-prefix") {
      o.client_id_prefix = value;
    } else if (arg == "--processes") {
      if (!number(o.processes) || o.processes == 0 || o.processes > max_processes)
        return fail("not a number of processes from 1 to 256");
    } else if (arg == "--connect-concurrency") {
      if (!number(o.connect_concurrency) || o.connect_concurrency == 0) return fail("not a positive number");
    } else if (arg == "--idle") {
      double s = 0;
      if (!parse_seconds(value, s) || s == 0) return fail("not a positive number of seconds");
      o.idle_timeout = std::chrono::duration<double>{s};
    } else if (arg == "--ready-file") {
      o.ready_file = value;
    } else {
      --i;
      std::fprintf(err, "coromqtt bench: unknown option '%s' (see coromqtt bench --help)\n", argv[i]);
      return std::nullopt;
    }
  }

  if (!o.host.empty() || o.port != 0) {
    const std::string host = o.host.empty() ? "127.0.0.1" : o.host;
    const bool ipv6 = host.find(':') != std::string::npos;
    o.urls.push_back("mqtt://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(o.port ? o.port : 1883));
  }
  if (o.processes > o.clients) {
    std::fprintf(err, "coromqtt bench: --processes %zu: more processes than clients (-c %zu)\n", o.processes,
                 o.clients);
    return std::nullopt;
  }
  if (o.mode == bench_mode::rtt && o.payload_size < 16) o.payload_size = 16;  // room for the send time
  if (o.mode == bench_mode::conn && !o.duration) o.duration = std::chrono::duration<double>{5.0};
  return o;
}

}  // namespace coromqtt::tools

// The libmosquitto client of bench/compare: the same command line, measurements and JSON summary as
// `coromqtt bench` (pub, sub, rtt, conn), written against libmosquitto's public C API the way its
// documentation suggests for a single-threaded program: mosquitto_loop() in the main thread, callbacks that
// publish the next message.
//
//   mosquitto_bench pub -h HOST -p PORT -q 1 -w 100 -n 100000 -s 64 -V 3.1.1 --json
#include "bench_options.hpp"
#include "bench_report.hpp"
#include "bench_stamp.hpp"

#include <coromqtt/endpoint.hpp>

#include <mosquitto.h>
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace coromqtt::tools;
using clock_type = std::chrono::steady_clock;

struct run_state {
  const bench_options* options = nullptr;
  std::string topic;
  std::string payload;
  bench_summary* summary = nullptr;
  bool connected = false;
  bool subscribed = false;
  std::uint64_t issued = 0;
  std::uint64_t completed = 0;  // acknowledged (QoS 1/2), written (QoS 0), received (sub, rtt)
  std::uint64_t errors = 0;
  int marker_mid = -1;
  bool marker_acknowledged = false;
  std::vector<clock_type::time_point> sent_at;  // by message id (mid & 0xFFFF); sized for publishing runs only
  // rtt
  bool came_back = false;
  bool acknowledged = false;
  clock_type::time_point last_receive{};
  clock_type::time_point first_receive{};
};

run_state& state_of(void* user) { return *static_cast<run_state*>(user); }

void on_connect(mosquitto*, void* user, int rc) { state_of(user).connected = rc == 0; }
void on_subscribe(mosquitto*, void* user, int, int, const int*) { state_of(user).subscribed = true; }

bool publish_one(mosquitto* m, run_state& s, int qos) {
  if (s.payload.size() >= stamp_size) write_stamp(s.payload, clock_type::now());
  int mid = 0;
  const int rc = mosquitto_publish(m, &mid, s.topic.c_str(), static_cast<int>(s.payload.size()), s.payload.data(),
                                   qos, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    ++s.errors;
    return false;
  }
  s.sent_at[static_cast<std::size_t>(mid) & 0xFFFF] = clock_type::now();
  ++s.issued;
  return true;
}

// QoS 0: called once the message is written; QoS 1/2: once acknowledged. Keeps the window full.
void on_publish(mosquitto* m, void* user, int mid) {
  auto& s = state_of(user);
  if (mid == s.marker_mid) {
    s.marker_acknowledged = true;
    return;
  }
  const auto& o = *s.options;
  if (o.mode == bench_mode::rtt) {
    s.acknowledged = true;
    return;
  }
  ++s.completed;
  if (o.qos == coromqtt::qos::at_most_once) return;
  s.summary->latency.record(nanoseconds(clock_type::now() - s.sent_at[static_cast<std::size_t>(mid) & 0xFFFF]));
  if (s.issued < o.messages_per_client()) publish_one(m, s, static_cast<int>(o.qos));
}

void on_message(mosquitto*, void* user, const mosquitto_message* message) {
  auto& s = state_of(user);
  const auto now = clock_type::now();
  if (s.first_receive == clock_type::time_point{}) s.first_receive = now;
  s.last_receive = now;
  if (const auto sent = read_stamp(message->payload, static_cast<std::size_t>(message->payloadlen)))
    s.summary->latency.record(nanoseconds(now) > *sent ? nanoseconds(now) - *sent : 0);
  ++s.completed;
  s.came_back = true;
}

mosquitto* make_client(const bench_options& o, std::size_t index, run_state* state) {
  const auto id = o.client_id_prefix + "-libmosquitto-" + std::to_string(index);
  mosquitto* m = mosquitto_new(id.c_str(), true, state);
  if (!m) return nullptr;
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
                       o.version == coromqtt::protocol_version::v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  // The window: libmosquitto holds back QoS 1/2 publishes beyond it (its default is 20).
  mosquitto_max_inflight_messages_set(m, o.window());
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_publish_callback_set(m, on_publish);
  mosquitto_message_callback_set(m, on_message);
  mosquitto_subscribe_callback_set(m, on_subscribe);
  return m;
}

bool run_until(mosquitto* m, const bool& flag, run_state& s) {
  while (!flag) {
    if (mosquitto_loop(m, 1000, 1) != MOSQ_ERR_SUCCESS) {
      ++s.errors;
      return false;
    }
  }
  return true;
}

int run_single(const bench_options& o, const coromqtt::endpoint& where, bench_summary& summary) {
  run_state s;
  s.options = &o;
  s.summary = &summary;
  s.sent_at.resize(65536);
  s.topic = expand_topic(o.topic, 0);
  s.payload.assign(o.payload_size, 'x');
  mosquitto* m = make_client(o, 0, &s);
  const int keep_alive = static_cast<int>(o.keep_alive.count());
  if (!m || mosquitto_connect(m, where.host.c_str(), where.effective_port(), keep_alive) != MOSQ_ERR_SUCCESS ||
      !run_until(m, s.connected, s)) {
    std::fputs("mosquitto_bench: cannot connect\n", stderr);
    return 1;
  }
  const int qos = static_cast<int>(o.qos);
  const std::uint64_t count = o.messages_per_client();
  if (o.mode == bench_mode::sub || o.mode == bench_mode::rtt) {
    mosquitto_subscribe(m, nullptr, s.topic.c_str(), qos);
    run_until(m, s.subscribed, s);
    if (!o.ready_file.empty()) std::ofstream{o.ready_file} << "subscribed\n";
  }

  const auto usage = process_usage::now();
  const auto begin = clock_type::now();
  auto end = begin;
  if (o.mode == bench_mode::pub && qos == 0) {
    // Publish while libmosquitto keeps up writing; let its loop drain the queue when 1000 are unwritten.
    while (s.issued < count) {
      if (s.issued - s.completed < 1000) {
        publish_one(m, s, 0);
      } else if (mosquitto_loop(m, 1000, 1) != MOSQ_ERR_SUCCESS) {
        ++s.errors;
        break;
      }
    }
    int mid = 0;
    mosquitto_publish(m, &mid, s.topic.c_str(), 0, nullptr, 1, false);
    s.marker_mid = mid;
    run_until(m, s.marker_acknowledged, s);
    s.completed = s.issued;
    end = clock_type::now();
  } else if (o.mode == bench_mode::pub) {
    for (unsigned i = 0; i < o.window() && s.issued < count; ++i) publish_one(m, s, qos);
    while (s.completed < count && s.errors == 0)
      if (mosquitto_loop(m, 1000, 1) != MOSQ_ERR_SUCCESS) ++s.errors;
    end = clock_type::now();
  } else if (o.mode == bench_mode::rtt) {
    for (std::uint64_t i = 0; i < count && s.errors == 0; ++i) {
      s.came_back = false;
      s.acknowledged = qos == 0;
      publish_one(m, s, qos);
      while ((!s.came_back || !s.acknowledged) && s.errors == 0)
        if (mosquitto_loop(m, 1000, 1) != MOSQ_ERR_SUCCESS) ++s.errors;
    }
    end = s.last_receive;
  } else {  // sub
    const auto idle = std::chrono::duration_cast<clock_type::duration>(o.idle_timeout);
    while (s.completed < count) {
      if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS) {
        ++s.errors;
        break;
      }
      if (s.last_receive != clock_type::time_point{} && clock_type::now() - s.last_receive > idle) break;
    }
    end = s.last_receive;
  }
  const auto after = process_usage::now();
  summary.cpu_seconds = after.cpu_seconds - usage.cpu_seconds;
  summary.peak_rss_kib = after.peak_rss_kib;
  summary.messages = s.completed;
  summary.errors = s.errors;
  summary.elapsed_seconds = std::chrono::duration<double>(end - begin).count();
  if (o.mode == bench_mode::sub && s.completed > 1) {  // first to last message, as coromqtt bench sub
    summary.elapsed_seconds = std::chrono::duration<double>(s.last_receive - s.first_receive).count();
    summary.messages = s.completed - 1;
  }
  mosquitto_disconnect(m);
  mosquitto_loop(m, 100, 1);
  mosquitto_destroy(m);
  return s.errors == 0 ? 0 : 1;
}

// Many idle connections: blocking connects, then poll() over every socket (mosquitto_loop() uses select(),
// which cannot watch descriptors above 1023).
int run_connections(const bench_options& o, const coromqtt::endpoint& where, bench_summary& summary) {
  const auto rss_before = process_usage::now().current_rss_kib;
  const auto begin = clock_type::now();
  std::vector<std::unique_ptr<run_state>> states;
  std::vector<mosquitto*> clients;
  std::size_t connected = 0;
  const int keep_alive = static_cast<int>(o.keep_alive.count());
  std::vector<pollfd> fds;
  auto pump = [&](int timeout_ms) {
    fds.clear();
    for (auto* m : clients)
      fds.push_back({mosquitto_socket(m), static_cast<short>(POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0)), 0});
    ::poll(fds.data(), fds.size(), timeout_ms);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (fds[i].revents & POLLIN) mosquitto_loop_read(clients[i], 1);
      if (fds[i].revents & POLLOUT) mosquitto_loop_write(clients[i], 1);
      mosquitto_loop_misc(clients[i]);
    }
  };
  for (std::size_t i = 0; i < o.clients; ++i) {
    states.push_back(std::make_unique<run_state>());
    states.back()->options = &o;
    auto* m = make_client(o, i, states.back().get());
    if (!m || mosquitto_connect(m, where.host.c_str(), where.effective_port(), keep_alive) != MOSQ_ERR_SUCCESS) {
      ++summary.errors;
      if (m) mosquitto_destroy(m);
      continue;
    }
    clients.push_back(m);
    if (clients.size() % 100 == 0) pump(0);
  }
  const auto connect_deadline = clock_type::now() + std::chrono::seconds(30);
  for (;;) {
    connected = 0;
    for (const auto& st : states) connected += st->connected ? 1 : 0;
    if (connected == clients.size() || clock_type::now() > connect_deadline) break;
    pump(100);
  }
  summary.elapsed_seconds = std::chrono::duration<double>(clock_type::now() - begin).count();
  const auto rss_after = process_usage::now().current_rss_kib;
  summary.connections = connected;
  summary.connected = connected;
  if (connected)
    summary.bytes_per_connection =
        static_cast<double>(rss_after - std::min(rss_after, rss_before)) * 1024.0 / static_cast<double>(connected);
  const auto hold_until = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(*o.duration);
  while (clock_type::now() < hold_until) pump(100);
  summary.peak_rss_kib = process_usage::now().peak_rss_kib;
  for (auto* m : clients) mosquitto_destroy(m);
  return summary.errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto parsed = parse_bench_options(argc, argv, stderr, exit_code);
  if (!parsed) return exit_code;
  const bench_options& o = *parsed;
  boost::system::error_code ec;
  const auto where = o.urls.empty() ? std::nullopt : coromqtt::endpoint::parse(o.urls.front(), ec);
  if (!where || where->kind != coromqtt::transport_kind::tcp || (o.clients != 1 && o.mode != bench_mode::conn)) {
    std::fputs("mosquitto_bench: name the broker with -h/-p (mqtt:// only); one client except in conn mode\n",
               stderr);
    return 2;
  }
  mosquitto_lib_init();
  int major = 0, minor = 0, revision = 0;
  mosquitto_lib_version(&major, &minor, &revision);
  bench_summary summary;
  describe_run(summary, o);
  summary.client = "libmosquitto";
  summary.client_version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(revision);
  summary.broker = o.urls.front();
  const int rc = o.mode == bench_mode::conn ? run_connections(o, *where, summary) : run_single(o, *where, summary);
  mosquitto_lib_cleanup();
  if (o.json)
    print_json(stdout, summary);
  else
    print_summary(stdout, summary);
  return rc;
}

// The Paho C++ client of bench/compare (mqtt::async_client): the same command line, measurements and JSON
// summary as `coromqtt bench` (pub, sub, rtt, conn), written against Paho's public API the way its examples do:
// action listeners that publish the next message to keep the window full, a message callback for arrivals.
// Paho runs its own threads; CPU time counts all of them.
//
//   paho_bench pub -h HOST -p PORT -q 1 -w 100 -n 100000 -s 64 -V 3.1.1 --json
#include "bench_options.hpp"
#include "bench_report.hpp"
#include "bench_stamp.hpp"

#include <coromqtt/endpoint.hpp>

#include <mqtt/async_client.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace coromqtt::tools;
using clock_type = std::chrono::steady_clock;

int paho_version(const bench_options& o) {
  return o.version == coromqtt::protocol_version::v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
}

mqtt::connect_options connect_options_for(const bench_options& o) {
  mqtt::connect_options c;
  c.set_mqtt_version(paho_version(o));
  c.set_clean_session(true);
  if (o.version == coromqtt::protocol_version::v5) c.set_clean_start(true);
  c.set_keep_alive_interval(o.keep_alive);
  c.set_max_inflight(static_cast<int>(o.window()));
  return c;
}

std::unique_ptr<mqtt::async_client> make_client(const bench_options& o, const coromqtt::endpoint& where,
                                                std::size_t index) {
  const auto uri = "tcp://" + where.host + ":" + std::to_string(where.effective_port());
  // Paho counts every command not yet written against maxBufferedMessages (100 by default), connected or not:
  // room for the 1000 unwritten QoS 0 publishes run_qos0() allows, and for a full window.
  const int buffered = 2 * std::max(1000, static_cast<int>(o.window()));
  return std::make_unique<mqtt::async_client>(uri, o.client_id_prefix + "-paho-" + std::to_string(index),
                                              mqtt::create_options(paho_version(o), buffered), nullptr);
}

// Completion of publishes: counts them and, for QoS 1/2, publishes the next one to keep the window full.
class publisher final : public mqtt::iaction_listener {
 public:
  publisher(mqtt::async_client& c, const bench_options& o, bench_summary& s)
      : client_{c}, options_{o}, summary_{s}, topic_{expand_topic(o.topic, 0)}, payload_(o.payload_size, 'x') {}

  // Publishes message number `index`; its send time is kept by index, passed as the token's context.
  void publish(std::uint64_t index) {
    const auto now = clock_type::now();
    sent_at_[index % sent_at_.size()] = now;
    std::string payload = payload_;
    write_stamp(payload, now);
    client_.publish(topic_, payload.data(), payload.size(), static_cast<int>(options_.qos), false,
                    reinterpret_cast<void*>(static_cast<std::uintptr_t>(index)), *this);
  }

  void on_success(const mqtt::token& t) override {
    const auto index = reinterpret_cast<std::uintptr_t>(t.get_user_context());
    std::uint64_t next = 0;
    {
      std::lock_guard lock{mutex_};
      if (options_.qos != coromqtt::qos::at_most_once)
        summary_.latency.record(nanoseconds(clock_type::now() - sent_at_[index % sent_at_.size()]));
      ++completed_;
      if (options_.qos == coromqtt::qos::at_most_once || issued_ >= options_.messages_per_client()) {
        changed_.notify_all();
        return;
      }
      next = issued_++;
    }
    publish(next);
  }

  void on_failure(const mqtt::token&) override {
    std::lock_guard lock{mutex_};
    ++errors_;
    ++completed_;
    changed_.notify_all();
  }

  // QoS 0: publish everything, with at most 1000 not yet handed to the socket.
  void run_qos0() {
    const auto count = options_.messages_per_client();
    for (std::uint64_t i = 0; i < count; ++i) {
      {
        std::unique_lock lock{mutex_};
        changed_.wait(lock, [&] { return i - completed_ < 1000; });
      }
      publish(i);
    }
    std::unique_lock lock{mutex_};
    changed_.wait(lock, [&] { return completed_ >= count; });
  }

  // QoS 1/2: the window's worth of publishes; on_success keeps it full.
  void run_window() {
    const auto count = options_.messages_per_client();
    std::uint64_t first = 0;
    {
      std::lock_guard lock{mutex_};
      first = std::min<std::uint64_t>(options_.window(), count);
      issued_ = first;
    }
    for (std::uint64_t i = 0; i < first; ++i) publish(i);
    std::unique_lock lock{mutex_};
    changed_.wait(lock, [&] { return completed_ >= count; });
  }

  std::uint64_t completed() const { return completed_; }
  std::uint64_t errors() const { return errors_; }

 private:
  mqtt::async_client& client_;
  const bench_options& options_;
  bench_summary& summary_;
  const std::string topic_;
  const std::string payload_;
  std::vector<clock_type::time_point> sent_at_ = std::vector<clock_type::time_point>(65536);
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t issued_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t errors_ = 0;
};

// Arrivals for sub and rtt.
struct receiver {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t received = 0;
  clock_type::time_point first{}, last{};
  bench_summary* summary = nullptr;

  void on_message(const mqtt::const_message_ptr& m) {
    const auto now = clock_type::now();
    const auto& payload = m->get_payload_ref();
    std::lock_guard lock{mutex};
    if (first == clock_type::time_point{}) first = now;
    last = now;
    if (const auto sent = read_stamp(payload.data(), payload.size()))
      summary->latency.record(nanoseconds(now) > *sent ? nanoseconds(now) - *sent : 0);
    ++received;
    changed.notify_all();
  }
};

int run_single(const bench_options& o, const coromqtt::endpoint& where, bench_summary& summary) {
  auto client = make_client(o, where, 0);
  receiver arrivals;
  arrivals.summary = &summary;
  client->set_message_callback([&arrivals](mqtt::const_message_ptr m) { arrivals.on_message(m); });
  client->connect(connect_options_for(o))->wait();
  const auto topic = expand_topic(o.topic, 0);
  const int qos = static_cast<int>(o.qos);
  if (o.mode == bench_mode::sub || o.mode == bench_mode::rtt) {
    client->subscribe(topic, qos)->wait();
    if (!o.ready_file.empty()) std::ofstream{o.ready_file} << "subscribed\n";
  }
  const auto count = o.messages_per_client();
  const auto usage = process_usage::now();
  const auto begin = clock_type::now();
  auto end = begin;
  if (o.mode == bench_mode::pub) {
    publisher p{*client, o, summary};
    if (qos == 0) {
      p.run_qos0();
      client->publish(topic, "", 0, 1, false)->wait();  // the marker
    } else {
      p.run_window();
    }
    end = clock_type::now();
    summary.messages = p.completed() - p.errors();
    summary.errors = p.errors();
  } else if (o.mode == bench_mode::rtt) {
    std::string payload(o.payload_size, 'x');
    // Paho C cannot turn Nagle off, so every round trip waits for the broker's delayed ACK (about 40 ms here):
    // the run stops after 5 s rather than take minutes, and reports the messages it got through.
    const auto give_up = clock_type::now() + std::chrono::seconds{5};
    for (std::uint64_t i = 0; i < count && clock_type::now() < give_up; ++i) {
      write_stamp(payload, clock_type::now());
      auto token = client->publish(topic, payload.data(), payload.size(), qos, false);
      std::unique_lock lock{arrivals.mutex};
      arrivals.changed.wait(lock, [&] { return arrivals.received > i; });
      lock.unlock();
      token->wait();
    }
    end = arrivals.last;
    summary.messages = arrivals.received;
  } else {  // sub
    const auto idle = std::chrono::duration_cast<clock_type::duration>(o.idle_timeout);
    std::unique_lock lock{arrivals.mutex};
    while (arrivals.received < count) {
      arrivals.changed.wait_for(lock, std::chrono::milliseconds(100));
      if (arrivals.last != clock_type::time_point{} && clock_type::now() - arrivals.last > idle) break;
    }
    end = arrivals.last;
    summary.messages = arrivals.received;
    if (arrivals.received > 1) {  // first to last message, as coromqtt bench sub
      summary.messages = arrivals.received - 1;
      end = arrivals.last;
    }
  }
  const auto after = process_usage::now();
  summary.cpu_seconds = after.cpu_seconds - usage.cpu_seconds;
  summary.peak_rss_kib = after.peak_rss_kib;
  summary.elapsed_seconds = std::chrono::duration<double>(end - begin).count();
  if (o.mode == bench_mode::sub && arrivals.received > 1)
    summary.elapsed_seconds = std::chrono::duration<double>(arrivals.last - arrivals.first).count();
  client->disconnect()->wait();
  return summary.errors == 0 ? 0 : 1;
}

int run_connections(const bench_options& o, const coromqtt::endpoint& where, bench_summary& summary) {
  const auto rss_before = process_usage::now().current_rss_kib;
  const auto begin = clock_type::now();
  std::vector<std::unique_ptr<mqtt::async_client>> clients;
  std::vector<mqtt::token_ptr> pending;
  std::size_t connected = 0;
  // Bounded like the libmosquitto program's: connections not up within 30 s count as errors, so a client that
  // cannot get there (Paho at 10,000) ends the run instead of blocking bench/compare until its timeout.
  const auto connect_deadline = begin + std::chrono::seconds(30);
  auto settle = [&] {
    for (auto& t : pending) {
      try {
        const auto left = std::max(connect_deadline - clock_type::now(), clock_type::duration{});
        if (t->wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(left)))
          ++connected;
        else
          ++summary.errors;
      } catch (const mqtt::exception&) {
        ++summary.errors;
      }
    }
    pending.clear();
  };
  for (std::size_t i = 0; i < o.clients && clock_type::now() < connect_deadline; ++i) {
    try {
      clients.push_back(make_client(o, where, i));
      pending.push_back(clients.back()->connect(connect_options_for(o)));
    } catch (const mqtt::exception&) {
      ++summary.errors;
    }
    if (pending.size() >= o.connect_concurrency) settle();
  }
  settle();
  summary.elapsed_seconds = std::chrono::duration<double>(clock_type::now() - begin).count();
  const auto rss_after = process_usage::now().current_rss_kib;
  summary.connections = connected;
  summary.connected = connected;
  if (connected)
    summary.bytes_per_connection =
        static_cast<double>(rss_after - std::min(rss_after, rss_before)) * 1024.0 / static_cast<double>(connected);
  std::this_thread::sleep_for(*o.duration);
  summary.peak_rss_kib = process_usage::now().peak_rss_kib;
  // All disconnects first, then one bounded wait: one second per client in turn could take hours at 10,000.
  std::vector<mqtt::token_ptr> closing;
  for (auto& c : clients) {
    try {
      if (c->is_connected()) closing.push_back(c->disconnect(0));
    } catch (const mqtt::exception&) {
    }
  }
  const auto close_deadline = clock_type::now() + std::chrono::seconds(10);
  for (auto& t : closing) {
    try {
      const auto left = std::max(close_deadline - clock_type::now(), clock_type::duration{});
      t->wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    } catch (const mqtt::exception&) {
    }
  }
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
    std::fputs("paho_bench: name the broker with -h/-p (mqtt:// only); one client except in conn mode\n", stderr);
    return 2;
  }
  bench_summary summary;
  describe_run(summary, o);
  summary.client = "paho.mqtt.cpp";
  // mqtt::VERSION is 0xMMmmrr00: major, minor, revision.
  summary.client_version = std::to_string(mqtt::VERSION >> 24) + "." + std::to_string((mqtt::VERSION >> 16) & 0xFF) +
                           "." + std::to_string((mqtt::VERSION >> 8) & 0xFF);
  summary.broker = o.urls.front();
  int rc = 1;
  try {
    rc = o.mode == bench_mode::conn ? run_connections(o, *where, summary) : run_single(o, *where, summary);
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "paho_bench: %s\n", e.what());
    return 1;
  }
  if (o.json)
    print_json(stdout, summary);
  else
    print_summary(stdout, summary);
  return rc;
}

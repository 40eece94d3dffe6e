// The durable session store against a real mosquitto: clients killed with SIGKILL (child processes, see
// store_child.cpp) and restarted on the same file store, with connections cut under them by the fault proxy.
// What is asserted is what docs/reliability.md ("Across process restarts") promises: every message whose durable
// completion was reported arrives, QoS 1 at least once, QoS 2 exactly once, each topic in order; an incoming
// QoS 2 message is delivered once although the subscriber died between PUBREC and PUBREL.
#include "fault_support.hpp"
#include "unit/auth/child_process.hpp"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace coromqtt;
using namespace coromqtt::test;
namespace fs = std::filesystem;

namespace {

std::string child_program() {
  const char* path = std::getenv("COROMQTT_STORE_CHILD");
  REQUIRE(path != nullptr);
  return path;
}

struct scratch_directory {
  fs::path path = fs::temp_directory_path() / ("coromqtt-store-test-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(std::random_device{}()));
  ~scratch_directory() {
    std::error_code ec;
    if (std::getenv("COROMQTT_KEEP_STORE") != nullptr)
      std::cerr << "[store] kept " << path << "\n";  // to look at it after a failure
    else
      fs::remove_all(path, ec);
  }
};

// "<seq>:<run>" as the child publishes it.
std::pair<std::uint64_t, unsigned> parse_payload(const std::string& p) {
  const auto colon = p.find(':');
  if (colon == std::string::npos) return {0, 0};
  return {std::stoull(p.substr(0, colon)), static_cast<unsigned>(std::stoul(p.substr(colon + 1)))};
}

// A subscriber on a thread of its own (the test's own thread runs the child processes), with a persistent
// session straight to the broker, recording what arrives per topic.
class recording_subscriber {
 public:
  recording_subscriber(const mosquitto& broker, std::string filter) {
    thread_ = std::thread{[this, &broker, filter] {
      asio::io_context io;
      auto o = options_for(broker, protocol_version::v5, "store-test-subscriber");
      o.session_expiry_interval = 3600;
      o.clean_start = false;
      o.receive_queue_capacity = 100'000;
      client c{io, o};
      asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        co_await c.co_connect();
        co_await c.co_subscribe(filter, qos::exactly_once);
        ready_ = true;
        while (!stop_) {
          auto m = co_await receive_within(c, 200ms);
          if (!m) continue;
          std::lock_guard lock{mutex_};
          arrivals_[m->topic].push_back(parse_payload(m->payload));
        }
        co_await c.co_disconnect();
      }, [&](std::exception_ptr) { io.stop(); });
      io.run();
    }};
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!ready_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
    REQUIRE(ready_);
  }
  ~recording_subscriber() {
    stop_ = true;
    thread_.join();
  }
  std::map<std::string, std::vector<std::pair<std::uint64_t, unsigned>>> arrivals() {
    std::lock_guard lock{mutex_};
    return arrivals_;
  }

 private:
  std::thread thread_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<std::string, std::vector<std::pair<std::uint64_t, unsigned>>> arrivals_;
};

}  // namespace

TEST_CASE("Crash test: a publisher SIGKILLed at random and restarted on its file store loses nothing it "
          "reported durable: QoS 1 at least once, QoS 2 exactly once, in order [MQTT-4.4.0-1] [MQTT-4.6.0-1]",
          "[store][crash]") {
  const std::uint64_t total[3] = {0, 20'000, 5'000};
  const unsigned kills = 12;
  const auto seed = fault_seed("store crash");
  CAPTURE(seed);
  std::mt19937_64 random{seed};
  mosquitto broker{{.max_queued_messages = 1'000'000}};
  fault::proxy link{"127.0.0.1", broker.port(listener::tcp)};
  // 150 kB/s: the 25,000 messages (about 1 MB of packets) take several seconds on the wire, so that kills
  // and cuts strike while the inflight window is full.
  link.set_bandwidth(150'000);
  scratch_directory dir;
  recording_subscriber subscriber{broker, "crash/#"};

  // Connections cut under the publisher all along, FIN or RST, every 100-400 ms.
  std::atomic<bool> cutting{true};
  std::atomic<unsigned> cuts{0};
  std::thread cutter{[&, cut_random = std::mt19937_64{seed + 1}]() mutable {
    while (cutting) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{100 + cut_random() % 300};
      while (cutting && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
      link.cut_all(cut_random() % 2 ? fault::close_style::fin : fault::close_style::reset);
      ++cuts;
    }
  }};

  // What the publisher reported durable: (seq, run) per QoS.
  std::set<std::pair<std::uint64_t, unsigned>> reported[3];
  std::uint64_t highest[3] = {0, 0, 0};
  const auto take = [&](const std::string& line, unsigned run) {
    if (line.size() < 4 || line[0] != 'D') return;
    const int q = line[2] - '0';
    const std::uint64_t seq = std::stoull(line.substr(4));
    reported[q].insert({seq, run});
    highest[q] = std::max(highest[q], seq);
  };
  unsigned killed = 0;
  bool finished = false;
  for (unsigned run = 1; !finished && run <= kills + 1; ++run) {
    child_process child{child_program(),
                        {"publish", dir.path.string(), url_of(link), std::to_string(run), std::to_string(highest[1] + 1),
                         std::to_string(highest[2] + 1), std::to_string(total[1]), std::to_string(total[2])}};
    const bool kill_this_one = run <= kills;
    const auto deadline = std::chrono::steady_clock::now() +
                          (kill_this_one ? std::chrono::milliseconds{150 + random() % 650} : std::chrono::seconds{120});
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      auto line = child.read_stdout_line(left);
      if (!line) break;
      if (*line == "DONE") {
        finished = true;
        break;
      }
      take(*line, run);
    }
    if (kill_this_one && !finished) {
      ::kill(child.pid(), SIGKILL);
      ++killed;
    }
    auto outcome = child.wait(10s);  // the lines it wrote before it died count too
    std::istringstream rest{outcome.out};
    for (std::string line; std::getline(rest, line);) {
      if (line == "DONE") finished = true;
      take(line, run);
    }
    if (!kill_this_one && !finished) std::cerr << "[store crash] the last run did not finish: " << outcome.err;
  }
  cutting = false;
  cutter.join();
  REQUIRE(finished);
  CHECK(killed >= 10);
  CHECK(highest[1] == total[1]);
  CHECK(highest[2] == total[2]);

  // Everything reported must arrive; wait for it (the subscriber's session keeps what came meanwhile).
  const auto complete = [&] {
    const auto a = subscriber.arrivals();
    for (int q : {1, 2}) {
      const auto it = a.find(q == 1 ? "crash/q1" : "crash/q2");
      if (it == a.end()) return false;
      std::set<std::pair<std::uint64_t, unsigned>> got(it->second.begin(), it->second.end());
      for (const auto& key : reported[q])
        if (!got.count(key)) return false;
    }
    return true;
  };
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (!complete() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(300ms);  // and whatever duplicates were still on their way

  const auto arrivals = subscriber.arrivals();
  for (int q : {1, 2}) {
    const auto& topic = q == 1 ? "crash/q1" : "crash/q2";
    INFO("QoS " << q << " (" << reported[q].size() << " reported, " << killed << " kills, " << cuts << " cuts)");
    const auto it = arrivals.find(topic);
    REQUIRE(it != arrivals.end());
    std::map<std::pair<std::uint64_t, unsigned>, int> count;
    std::vector<std::int64_t> reported_order;  // arrivals of reported messages, by seq
    for (const auto& key : it->second) {
      ++count[key];
      if (reported[q].count(key)) reported_order.push_back(static_cast<std::int64_t>(key.first));
    }
    std::size_t missing = 0, duplicated = 0;
    for (const auto& key : reported[q]) {
      if (count[key] == 0) ++missing;
      if (count[key] > 1) ++duplicated;
    }
    CHECK(missing == 0);
    if (q == 2) CHECK(duplicated == 0);  // exactly once (v5 [MQTT-4.3.3-10])
    topic_record order;
    for (auto s : reported_order) order.add(s);
    if (q == 2)
      CHECK(order.strictly_increasing());
    else
      CHECK(order.first_final_copy_out_of_order() == -1);
    std::cerr << "[store crash] QoS " << q << ": " << reported[q].size() << " reported durable, " << it->second.size()
              << " arrivals, " << missing << " missing, " << duplicated << " duplicated (" << killed << " kills, "
              << cuts << " cuts)\n";
  }
}

TEST_CASE("Incoming exactly-once across a kill: a subscriber killed between PUBREC and PUBREL delivers each "
          "message once after its restart (v5 [MQTT-4.3.3-10])",
          "[store][incoming]") {
  mosquitto broker;
  fault::proxy link{"127.0.0.1", broker.port(listener::tcp)};
  scratch_directory dir;
  std::vector<std::string> delivered;
  const std::vector<std::string> args{"subscribe", dir.path.string(), url_of(link), "killed-subscriber"};
  {
    child_process first{child_program(), args};
    REQUIRE(first.read_stdout_line(10s) == std::optional<std::string>{"READY"});
    // One second each way: the PUBREC leaves the subscriber as it delivers, the broker's PUBREL can reach it
    // two seconds later at the earliest. The kill comes 300 ms after the delivery, between the two.
    link.set_latency(1s);
    std::this_thread::sleep_for(100ms);
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      client publisher{io, options_for(broker, protocol_version::v5, "incoming-publisher")};
      co_await publisher.co_connect();
      for (int i = 1; i <= 5; ++i) co_await publisher.co_publish("inc/x", "m" + std::to_string(i), qos::exactly_once);
      co_await publisher.co_disconnect();
    });
    auto line = first.read_stdout_line(10s);
    REQUIRE(line);
    delivered.push_back(line->substr(2));
    const auto delivered_at = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(300ms);
    ::kill(first.pid(), SIGKILL);
    REQUIRE(std::chrono::steady_clock::now() - delivered_at < 1500ms);  // no PUBREL can have arrived
    auto outcome = first.wait(5s);
    std::istringstream rest{outcome.out};
    for (std::string l; std::getline(rest, l);)
      if (l.rfind("R ", 0) == 0) delivered.push_back(l.substr(2));
  }
  link.set_latency(0ms);
  link.cut_all();
  child_process second{child_program(), args};
  REQUIRE(second.read_stdout_line(10s) == std::optional<std::string>{"READY"});
  for (;;) {
    auto line = second.read_stdout_line(3s);
    if (!line) break;
    if (line->rfind("R ", 0) == 0) delivered.push_back(line->substr(2));
  }
  std::sort(delivered.begin(), delivered.end());
  CHECK(delivered == std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"});
}

TEST_CASE("A new client on the store of the last one resumes its queue, and a live one keeps others out",
          "[store][resume]") {
  mosquitto broker;
  fault::proxy link{"127.0.0.1", broker.port(listener::tcp)};
  scratch_directory dir;
  const bool use_file = GENERATE(true, false);
  CAPTURE(use_file);
  auto store = use_file ? file_store(dir.path, {.durability = store_durability::no_fsync}) : memory_store();
  auto options = options_for(broker, protocol_version::v5, "resuming-publisher");
  options.brokers = {url_of(link)};
  options.session_expiry_interval = 3600;
  options.store = store;
  recording_subscriber subscriber{broker, "resume/#"};
  link.refuse(true, fault::refusal::not_listening);
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client first{io, options};
    first.start();
    for (std::uint64_t i = 1; i <= 200; ++i) {
      message m{i % 2 ? "resume/q1" : "resume/q2", std::to_string(i) + ":1",
                i % 2 ? qos::at_least_once : qos::exactly_once, false, {}};
      co_await first.co_publish_stored(std::move(m));
    }
    // The store is taken while this client lives.
    if (use_file) {
      auto second_options = options;
      second_options.store = file_store(dir.path);
      CHECK_THROWS_AS(client(io, second_options), mqtt_error);
    }
  });
  link.refuse(false);
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client second{io, options};
    co_await second.co_connect();
    co_await second.co_flush(true);
    co_await second.co_disconnect();
  });
  std::this_thread::sleep_for(300ms);
  const auto arrivals = subscriber.arrivals();
  for (const auto* topic : {"resume/q1", "resume/q2"}) {
    const auto it = arrivals.find(topic);
    REQUIRE(it != arrivals.end());
    CHECK(it->second.size() == 100);
    CHECK(std::is_sorted(it->second.begin(), it->second.end()));
  }
}

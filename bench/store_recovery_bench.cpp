// Recovery of a large file store: how long a new client takes to open a store that holds N queued messages,
// how long it then takes to send them all to a real mosquitto, and how much memory the process holds while it
// does (the backlog is read back in batches, never loaded whole).
//
//   store_recovery_bench [--messages N] [--size BYTES] [--dir DIR] [--mosquitto PATH]
//
// Steps: fill the store through the session_store interface (as a previous client would have left it), then
// time open() alone, then a client on the store (its constructor recovers) connected to a mosquitto started
// here on a free loopback port, until every message is acknowledged (co_flush(true)). Prints one line per step
// and the peak resident set size (VmHWM) before and after the replay.
#include <coromqtt/client.hpp>
#include <coromqtt/store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace coromqtt;
using clock_type = std::chrono::steady_clock;

namespace {

std::size_t status_kib(const char* field) {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::stoul(line.substr(std::strlen(field)));
  return 0;
}

// Resets the peak so that VmHWM measures the step that follows.
void reset_peak_rss() {
  std::ofstream clear{"/proc/self/clear_refs"};
  clear << "5";
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a{io, {asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t messages = 1'000'000;
  std::size_t size = 64;
  fs::path dir = fs::temp_directory_path() / ("coromqtt-recovery-bench-" + std::to_string(::getpid()));
  std::string mosquitto_path = "/usr/sbin/mosquitto";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--messages") messages = std::stoul(argv[i + 1]);
    else if (arg == "--size") size = std::stoul(argv[i + 1]);
    else if (arg == "--dir") dir = argv[i + 1];
    else if (arg == "--mosquitto") mosquitto_path = argv[i + 1];
  }
  fs::remove_all(dir);
  const file_store_options store_options{.durability = store_durability::no_fsync,
                                         .limits = {.max_messages = messages + 1,
                                                    .max_bytes = std::size_t{8} << 30,
                                                    .when_full = store_full_policy::wait,
                                                    .store_qos0 = false},
                                         .segment_bytes = 16 * 1024 * 1024};

  // 1. Fill: what a client would leave after a long outage.
  auto start = clock_type::now();
  {
    auto store = file_store(dir, store_options);
    recovered_session r;
    if (auto ec = store->open(r)) {
      std::fprintf(stderr, "open: %s\n", ec.message().c_str());
      return 1;
    }
    std::vector<store_record> batch(10'000);
    std::uint64_t seq = 0;
    while (seq < messages) {
      batch.resize(std::min<std::size_t>(10'000, messages - seq));
      for (auto& record : batch) {
        record.what = store_record::type::message_added;
        record.seq = ++seq;
        record.message.topic = "bench/recovery";
        record.message.payload.assign(size, 'p');
        record.message.qos = qos::at_least_once;
        record.bytes = stored_cost(record.message);
      }
      if (auto ec = store->write(batch)) {
        std::fprintf(stderr, "write: %s\n", ec.message().c_str());
        return 1;
      }
    }
    store->close();
  }
  std::uintmax_t disk = 0;
  for (const auto& e : fs::directory_iterator{dir}) disk += e.is_regular_file() ? e.file_size() : 0;
  std::printf("fill      %zu messages of %zu bytes: %.2f s, %.1f MiB on disk\n", messages, size,
              seconds_since(start), static_cast<double>(disk) / (1024.0 * 1024.0));

  // 2. Recovery alone: open() of a new store object.
  reset_peak_rss();
  const auto rss_before_open = status_kib("VmRSS:");
  start = clock_type::now();
  {
    auto store = file_store(dir, store_options);
    recovered_session r;
    store->open(r);
    std::printf("open      %.3f s, %zu messages recovered, peak RSS +%zu KiB\n", seconds_since(start), r.messages,
                status_kib("VmHWM:") - rss_before_open);
    store->close();
  }

  // 3. Replay through a client into mosquitto.
  const auto port = free_port();
  const pid_t broker = ::fork();
  if (broker == 0) {
    const auto p = std::to_string(port);
    ::execl(mosquitto_path.c_str(), mosquitto_path.c_str(), "-p", p.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  reset_peak_rss();
  const auto rss_before = status_kib("VmRSS:");
  start = clock_type::now();
  double constructed = 0;
  std::size_t peak_during = 0;
  {
    asio::io_context io;
    client_options o;
    o.brokers = {"mqtt://127.0.0.1:" + std::to_string(port)};
    o.client_id = "recovery-bench";
    o.store = file_store(dir, store_options);
    client c{io, o};
    constructed = seconds_since(start);
    bool done = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      co_await c.co_connect();
      co_await c.co_flush(true);
      done = true;
    }, [&](std::exception_ptr e) {
      if (e) std::fprintf(stderr, "replay failed\n");
      io.stop();
    });
    io.run();
    peak_during = status_kib("VmHWM:");
    if (!done) return 1;
  }
  const auto replay = seconds_since(start);
  ::kill(broker, SIGTERM);
  ::waitpid(broker, nullptr, 0);
  std::printf("client    constructed (recovered) in %.3f s; all %zu sent and acknowledged in %.2f s (%.0f msg/s)\n",
              constructed, messages, replay, static_cast<double>(messages) / replay);
  std::printf("memory    RSS before %zu KiB, peak during the replay %zu KiB (+%zu KiB)\n", rss_before, peak_during,
              peak_during - rss_before);
  fs::remove_all(dir);
  return 0;
}

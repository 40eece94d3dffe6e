// The worker's side of coromqtt bench --processes (see bench_workers.hpp): a bench_run whose observer is the
// parent, over a socket.
#include "bench_record.hpp"
#include "bench_run.hpp"
#include "bench_workers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <unistd.h>

namespace coromqtt::tools {

namespace {

class parent_link final : public run_observer {
 public:
  parent_link(asio::io_context& io, int socket) : io_{io}, socket_{io, socket}, decided_{io} {}

  void attach(bench_run& run) { run_ = &run; }

  // Reads the parent's commands until close(), or until the parent goes (then this worker stops at once).
  asio::awaitable<void> listen() {
    char command = 0;
    for (;;) {
      const auto [ec, n] = co_await socket_.async_read_some(asio::buffer(&command, 1), use_tuple);
      if (ec || n == 0 || command == 'k') {
        if (!closing_) io_.stop();
        co_return;
      }
      if (command == 'i' && run_ != nullptr) run_->interrupt();
      if ((command == 'g' || command == 'a' || command == 'i') && !decision_) {
        decision_ = command;
        decided_.cancel();
      }
    }
  }

  asio::awaitable<bool> ready(bool ok, std::size_t connected) override {
    send("ready " + std::string{ok ? "1" : "0"} + " " + std::to_string(connected) + "\n");
    while (!decision_) {
      decided_.expires_at(bench_clock::time_point::max());
      co_await decided_.async_wait(use_tuple);
    }
    co_return *decision_ == 'g';
  }

  void progress(long long, const progress_counts& p) override {
    char line[160];
    std::snprintf(line, sizeof line, "progress %llu %zu %zu %llu %llu\n",
                  static_cast<unsigned long long>(p.completed), p.in_flight, p.connected,
                  static_cast<unsigned long long>(p.errors), static_cast<unsigned long long>(p.reconnects));
    send(line);
  }

  // The run is over: stop listening (which lets the io_context finish).
  void close() {
    closing_ = true;
    socket_.cancel();
  }

  void report(const bench_summary& summary) { send("summary\n" + to_record(summary) + "end\n"); }

 private:
  // Blocking: the lines are short, and the parent reads all the time. A parent that is gone is noticed by
  // listen().
  void send(const std::string& text) {
    error_code ec;
    asio::write(socket_, asio::buffer(text), ec);
  }

  asio::io_context& io_;
  asio::posix::stream_descriptor socket_;
  asio::steady_timer decided_;
  std::optional<char> decision_;
  bench_run* run_ = nullptr;
  bool closing_ = false;
};

}  // namespace

int run_worker(const bench_options& share, const std::vector<std::string>& urls, std::size_t first_index,
               int parent_socket) {
  asio::io_context io{1};
  parent_link link{io, parent_socket};
  bench_run run{io, share, urls, link, first_index};
  link.attach(run);
  asio::co_spawn(io, link.listen(), asio::detached);

  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, run.run(), [&](std::exception_ptr e) {
    failure = e;
    done = true;
    link.close();
  });
  io.run();
  if (!done) return 130;  // told to stop at once, or the parent is gone: nothing to report
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "coromqtt bench: worker %ld: %s\n", static_cast<long>(::getpid()), e.what());
    }
    return 1;
  }
  link.report(run.summary);
  return run.summary.errors == 0 && !run.interrupted ? 0 : 1;
}

}  // namespace coromqtt::tools

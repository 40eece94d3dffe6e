// What the parts of `coromqtt bench` wait with. Everything of one run happens on its one io_context thread
// (the clients' strands included), so plain counters, and timers used as condition variables, are enough.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>

namespace coromqtt::tools {

namespace asio = boost::asio;
using bench_clock = std::chrono::steady_clock;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Coroutines spawned on the clients' strands, awaited together.
class task_group {
 public:
  explicit task_group(asio::io_context& io) : done_{io} {}

  template <class Executor>
  void spawn(const Executor& executor, asio::awaitable<void> task) {
    ++active_;
    asio::co_spawn(executor, std::move(task), [this](std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "coromqtt bench: %s\n", e.what());
        }
        ++failed_;
      }
      if (--active_ == 0) done_.cancel();
    });
  }

  asio::awaitable<void> wait() {
    while (active_ > 0) {
      done_.expires_at(bench_clock::time_point::max());
      co_await done_.async_wait(use_tuple);
    }
  }

  std::size_t failed() const noexcept { return failed_; }

 private:
  std::size_t active_ = 0;
  std::size_t failed_ = 0;
  asio::steady_timer done_;
};

// Spaces sends `1 / rate` apart. Behind schedule it sends at once (catching up), but forgives a lag of more
// than a second rather than bursting.
class pacer {
 public:
  pacer(const asio::any_io_executor& executor, double rate)
      : interval_{rate > 0 ? std::chrono::duration_cast<bench_clock::duration>(
                                 std::chrono::duration<double>{1.0 / rate})
                           : bench_clock::duration::zero()},
        next_{bench_clock::now()},
        timer_{executor} {}

  bool paced() const noexcept { return interval_ > bench_clock::duration::zero(); }

  asio::awaitable<void> wait_turn() {
    const auto now = bench_clock::now();
    if (next_ > now) {
      timer_.expires_at(next_);
      co_await timer_.async_wait(use_tuple);
    } else if (now - next_ > std::chrono::seconds{1}) {
      next_ = now;
    }
    next_ += interval_;
  }

 private:
  bench_clock::duration interval_;
  bench_clock::time_point next_;
  asio::steady_timer timer_;
};

}  // namespace coromqtt::tools

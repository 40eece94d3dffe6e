// coromqtt bench conn: open many connections and hold them; see bench_run.hpp for what is measured.
#include "bench_run.hpp"
#include "bench_stamp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace coromqtt::tools {

namespace {
using clock = bench_clock;
using namespace std::chrono_literals;
}  // namespace

asio::awaitable<void> bench_run::run_conn(std::uint64_t rss_before_kib) {
  // Every worker process connects at the same time, so that the connect rate is the command's.
  const bool go = co_await ready(true);  // (g++ 12: never `if (co_await ...)`)
  if (!go) co_return;
  begin_measurement();
  asio::co_spawn(io_, progress(), asio::detached);
  co_await connect_all();
  const auto connected_at = clock::now();
  summary.connected = connected_;
  // Memory over the connections established: the clients that failed were stopped, and hold little.
  const auto rss_connected = process_usage::now().current_rss_kib;
  if (connected_ > 0)
    summary.bytes_per_connection =
        static_cast<double>(rss_connected - std::min(rss_connected, rss_before_kib)) * 1024.0 /
        static_cast<double>(connected_);

  // Hold them.
  if (!stopping_) {
    stop_timer_ = std::make_unique<asio::steady_timer>(
        io_, std::chrono::duration_cast<clock::duration>(*options_.duration));
    co_await stop_timer_->async_wait(use_tuple);
  }
  std::size_t still = 0;
  for (const auto& c : clients_) still += c->statistics().connected ? 1 : 0;
  summary.connections = still;
  // The rate is the connect phase's; CPU and peak RSS cover the hold too.
  end_measurement(clock::now());
  summary.elapsed_seconds = std::chrono::duration<double>(connected_at - started_).count();
  summary.end_ns = nanoseconds(connected_at);
  summary.messages = 0;
}

}  // namespace coromqtt::tools

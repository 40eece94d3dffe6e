// coromqtt bench conn: open many connections and hold them; see bench_run.hpp for what is measured.
#include "bench_run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coromqtt::tools {

namespace {
using clock = bench_clock;
using namespace std::chrono_literals;
}  // namespace

asio::awaitable<void> bench_run::run_conn() {
  // Connected already by run(); hold them.
  if (!stopping_) {
    stop_timer_ = std::make_unique<asio::steady_timer>(
        io_, std::chrono::duration_cast<clock::duration>(*options_.duration));
    co_await stop_timer_->async_wait(use_tuple);
  }
  std::size_t still = 0;
  for (const auto& c : clients_) still += c->statistics().connected ? 1 : 0;
  summary.connections = still;
}

}  // namespace coromqtt::tools

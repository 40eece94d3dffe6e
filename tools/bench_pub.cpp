// coromqtt bench pub: publishers as fast as they can (or at -r per client); see bench_run.hpp for what is
// measured.
#include "bench_run.hpp"
#include "bench_stamp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coromqtt::tools {

namespace {
using clock = bench_clock;
using namespace std::chrono_literals;
}  // namespace

asio::awaitable<void> bench_run::publish_qos0(std::size_t index) {
  auto& c = *clients_[index];
  auto& state = state_[index];
  pacer pace{c.get_executor(), options_.rate};
  const std::uint64_t count = options_.messages_per_client();
  // A send time only means something when the publisher is not the bottleneck.
  const bool stamped = pace.paced();
  for (; state.issued < count && !stopping_; ++state.issued) {
    if (pace.paced()) co_await pace.wait_turn();
    auto m = make_message(index, qos::at_most_once);
    if (stamped) write_stamp(m.payload, clock::now());
    try {
      co_await c.co_publish(std::move(m));
      ++completed_;
    } catch (const mqtt_error& e) {
      count_error("publish", e.what());
    }
  }
  // The marker: its PUBACK comes after the broker has handled everything this connection sent before it.
  try {
    co_await c.co_publish(state.topic, {}, qos::at_least_once);
  } catch (const mqtt_error& e) {
    count_error("end marker", e.what());
  }
}

asio::awaitable<void> bench_run::publish_acknowledged(std::size_t index) {
  auto& c = *clients_[index];
  auto& state = state_[index];
  const std::uint64_t count = options_.messages_per_client();
  // One of `window` publishers of this client; each takes the next message. The pace is per client, so each
  // publisher keeps 1 / window of it.
  pacer pace{c.get_executor(), options_.rate / options_.window()};
  while (state.issued < count && !stopping_) {
    ++state.issued;
    if (pace.paced()) co_await pace.wait_turn();
    auto m = make_message(index, options_.qos);
    const auto begin = clock::now();
    write_stamp(m.payload, begin);
    try {
      co_await c.co_publish(std::move(m));
      summary.latency.record(nanoseconds(clock::now() - begin));
      ++completed_;
    } catch (const mqtt_error& e) {
      count_error("publish", e.what());
    }
  }
}

asio::awaitable<void> bench_run::run_pub() {
  const bool go = co_await ready(true);  // (g++ 12: never `if (co_await ...)`)
  if (!go) co_return;
  task_group publishers{io_};
  begin_measurement();
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    const auto executor = clients_[i]->get_executor();
    if (options_.qos == qos::at_most_once) {
      publishers.spawn(executor, publish_qos0(i));
    } else {
      for (unsigned w = 0; w < options_.window(); ++w) publishers.spawn(executor, publish_acknowledged(i));
    }
  }
  co_await publishers.wait();
  end_measurement(clock::now());
}

}  // namespace coromqtt::tools

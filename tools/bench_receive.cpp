// coromqtt bench sub and rtt: receivers counting what arrives, and the round trip through the broker to the
// publishing client itself; see bench_run.hpp for what is measured.
#include "bench_run.hpp"
#include "bench_stamp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <limits>

namespace coromqtt::tools {

namespace {
using clock = bench_clock;
using namespace std::chrono_literals;
}  // namespace

asio::awaitable<void> bench_run::receiver(std::size_t index) {
  auto& c = *clients_[index];
  auto& state = state_[index];
  const std::uint64_t count = options_.messages_per_client();
  try {
    while (state.received < count) {
      const auto m = co_await c.co_receive();
      const auto now = clock::now();
      if (first_receive_ == clock::time_point{}) first_receive_ = now;
      last_receive_ = now;
      if (const auto sent = read_stamp(m.payload)) {
        const auto at = nanoseconds(now);
        summary.latency.record(at > *sent ? at - *sent : 0);
      }
      ++state.received;
      ++completed_;
      if (state.received_signal) state.received_signal->cancel();
    }
  } catch (const mqtt_error&) {
    // operation_aborted: the run is over and the client was stopped.
  }
}

asio::awaitable<void> bench_run::rtt_publisher(std::size_t index) {
  auto& c = *clients_[index];
  auto& state = state_[index];
  const std::uint64_t count = options_.messages_per_client();
  pacer pace{c.get_executor(), options_.rate};
  std::uint64_t outstanding = 0;  // paced: publishes not yet completed, bounded by the window
  asio::steady_timer window_signal{c.get_executor()};
  for (; state.issued < count && !stopping_; ++state.issued) {
    if (pace.paced()) {
      co_await pace.wait_turn();
      while (outstanding >= options_.window() && !stopping_) {
        window_signal.expires_at(clock::time_point::max());
        co_await window_signal.async_wait(use_tuple);
      }
      auto m = make_message(index, options_.qos);
      write_stamp(m.payload, clock::now());
      ++outstanding;
      c.async_publish(std::move(m),
                      [this, &outstanding, &window_signal](error_code ec, const publish_result&) {
                        if (ec) count_error("publish", ec.message());
                        --outstanding;
                        window_signal.cancel();
                      });
      continue;
    }
    // One at a time: publish, then wait for it to come back before the next.
    auto m = make_message(index, options_.qos);
    write_stamp(m.payload, clock::now());
    try {
      co_await c.co_publish(std::move(m));
    } catch (const mqtt_error& e) {
      count_error("publish", e.what());
      continue;
    }
    const auto deadline = clock::now() + 10s;
    while (state.received <= state.issued && clock::now() < deadline) {
      state.received_signal->expires_at(deadline);
      co_await state.received_signal->async_wait(use_tuple);
    }
    if (state.received <= state.issued) {
      count_error("round trip", "the message did not come back within 10 s");
      break;
    }
  }
  while (outstanding > 0) {  // the callbacks above refer to this frame
    window_signal.expires_at(clock::time_point::max());
    co_await window_signal.async_wait(use_tuple);
  }
}

asio::awaitable<void> bench_run::run_rtt() {
  co_await subscribe_all();
  const bool go = co_await ready(true);
  if (!go) co_return;
  for (std::size_t i = 0; i < clients_.size(); ++i)
    state_[i].received_signal = std::make_unique<asio::steady_timer>(clients_[i]->get_executor());
  task_group receivers{io_};
  task_group publishers{io_};
  begin_measurement();
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    receivers.spawn(clients_[i]->get_executor(), receiver(i));
    publishers.spawn(clients_[i]->get_executor(), rtt_publisher(i));
  }
  co_await publishers.wait();
  // Whatever was sent and will still arrive, within a second.
  const auto grace = clock::now() + 1s;
  asio::steady_timer poll{io_};
  for (;;) {
    std::uint64_t issued = 0, received = 0;
    for (const auto& s : state_) issued += s.issued, received += s.received;
    if (received >= issued || clock::now() > grace) break;
    poll.expires_after(10ms);
    co_await poll.async_wait(use_tuple);
  }
  end_measurement(last_receive_ != clock::time_point{} ? last_receive_ : clock::now());
  for (auto& c : clients_) c->stop();  // ends the receivers (they wait for messages that will not come)
  for (auto& s : state_) s.received_signal->cancel();
  // co_receive completes with operation_aborted only when the client goes: destroy them.
  co_await disconnect_all();
  clients_.clear();
  co_await receivers.wait();
}

asio::awaitable<void> bench_run::run_sub() {
  co_await subscribe_all();
  const bool go = co_await ready(true);  // (g++ 12: never `if (co_await ...)`)
  if (!go) co_return;
  task_group receivers{io_};
  begin_measurement();
  for (std::size_t i = 0; i < clients_.size(); ++i) receivers.spawn(clients_[i]->get_executor(), receiver(i));
  // Ends when every client has its count, the duration passed, or nothing came for the idle time.
  const std::uint64_t count = options_.messages_per_client();
  asio::steady_timer poll{io_};
  const auto idle = std::chrono::duration_cast<clock::duration>(options_.idle_timeout);
  for (;;) {
    bool all = count != std::numeric_limits<std::uint64_t>::max();
    for (const auto& s : state_) all = all && s.received >= count;
    const auto now = clock::now();
    if (all || stopping_) break;
    if (last_receive_ != clock::time_point{} && now - last_receive_ > idle) break;
    poll.expires_after(20ms);
    co_await poll.async_wait(use_tuple);
  }
  // The rate counts from the first message to the last; CPU from subscribing to the end.
  const auto end = last_receive_ != clock::time_point{} ? last_receive_ : clock::now();
  end_measurement(end);
  summary.received = completed_;
  if (first_receive_ != clock::time_point{}) summary.begin_ns = nanoseconds(first_receive_);
  if (first_receive_ != clock::time_point{} && completed_ > 1) {
    // n messages arrive over n - 1 intervals.
    summary.elapsed_seconds = std::chrono::duration<double>(last_receive_ - first_receive_).count();
    summary.messages = completed_ - 1;
  }
  co_await disconnect_all();
  clients_.clear();
  co_await receivers.wait();
}

}  // namespace coromqtt::tools

// coromqtt bench, what every mode shares: the clients, connecting, subscribing and disconnecting them, the
// progress line, the measured interval, and run(), which puts them together around the mode's own part.
#include "bench_run.hpp"
#include "bench_stamp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <unistd.h>

namespace coromqtt::tools {

namespace {
using clock = bench_clock;
using namespace std::chrono_literals;
}  // namespace

void bench_run::interrupt() {
  interrupted = true;
  stopping_ = true;
  if (stop_timer_) stop_timer_->cancel();
}

client_options bench_run::options_for(std::size_t index) const {
  client_options o;
  o.brokers = {urls_[index % urls_.size()]};
  o.version = options_.version;
  // A fixed default prefix made a `bench sub` and a `bench pub` on the same broker share client ids, and the
  // broker then closed one to let the other in, over and over.
  const std::string prefix = options_.client_id_prefix.empty()
                                 ? "coromqtt-bench-" + std::to_string(::getpid())
                                 : options_.client_id_prefix;
  o.client_id = prefix + "-" + std::to_string(index);
  o.keep_alive = options_.keep_alive;
  o.inflight_window = options_.window();
  if (!options_.bind_addresses.empty())
    o.transport.local_address = options_.bind_addresses[index % options_.bind_addresses.size()];
  o.transport.tls.ca_file = options_.ca_file;
  o.transport.tls.insecure_skip_verify = options_.insecure;
  o.reconnect.initial_delay = 100ms;
  o.reconnect.maximum_delay = 2s;
  return o;
}

void bench_run::make_clients() {
  clients_.reserve(options_.clients);
  state_.resize(options_.clients);
  for (std::size_t i = 0; i < options_.clients; ++i) {
    clients_.push_back(std::make_unique<coromqtt::client>(io_, options_for(i)));
    state_[i].topic = expand_topic(options_.topic, i);
  }
}

coromqtt::message bench_run::make_message(std::size_t index, coromqtt::qos q) const {
  coromqtt::message m;
  m.topic = state_[index].topic;
  m.payload = payload_;
  m.qos = q;
  return m;
}

asio::awaitable<void> bench_run::connect_one(std::size_t index) {
  using namespace asio::experimental::awaitable_operators;
  auto& c = *clients_[index];
  const auto begin = clock::now();
  asio::steady_timer deadline{io_, 30s};
  // Bound the wait: the client itself retries for ever.
  auto outcome = co_await (c.async_connect(use_tuple) || deadline.async_wait(use_tuple));
  if (outcome.index() == 0) {
    const auto& [ec, info] = std::get<0>(outcome);
    if (!ec) {
      summary.connect_time.record(nanoseconds(clock::now() - begin));
      ++connected_;
      co_return;
    }
    if (first_error_.empty())
      first_error_ = ec.message() + (info.reason_string.empty() ? "" : ": " + info.reason_string);
  } else if (first_error_.empty()) {
    first_error_ = "no connection within 30 s";
  }
  ++errors_;
}

asio::awaitable<void> bench_run::connect_all() {
  // A fixed number of connectors, each taking the next client: a bounded number of handshakes in progress.
  task_group connectors{io_};
  const std::size_t workers = std::min(options_.connect_concurrency, options_.clients);
  for (std::size_t w = 0; w < workers; ++w) connectors.spawn(io_.get_executor(), connect_next());
  co_await connectors.wait();
}

asio::awaitable<void> bench_run::connect_next() {
  while (next_to_connect_ < clients_.size() && !stopping_) co_await connect_one(next_to_connect_++);
}

asio::awaitable<void> bench_run::subscribe_all() {
  task_group subscribers{io_};
  for (std::size_t i = 0; i < clients_.size(); ++i) subscribers.spawn(io_.get_executor(), subscribe_one(i));
  co_await subscribers.wait();
}

asio::awaitable<void> bench_run::subscribe_one(std::size_t index) {
  try {
    co_await clients_[index]->co_subscribe(state_[index].topic, options_.qos);
  } catch (const std::exception& e) {
    ++errors_;
    if (first_error_.empty()) first_error_ = std::string{"subscribe: "} + e.what();
  }
}

asio::awaitable<void> bench_run::disconnect_all() {
  task_group closers{io_};
  for (auto& c : clients_) closers.spawn(io_.get_executor(), disconnect_one(*c));
  co_await closers.wait();
}

asio::awaitable<void> bench_run::disconnect_one(coromqtt::client& c) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline{io_, 5s};
  co_await (c.async_disconnect(use_tuple) || deadline.async_wait(use_tuple));
}

void bench_run::count_reconnects() {
  std::uint64_t reconnects = 0;
  for (const auto& c : clients_) {
    const auto s = c->statistics();
    if (s.connects > 1) reconnects += s.connects - 1;
  }
  summary.reconnects = reconnects;
}

void bench_run::begin_measurement() {
  usage_at_start_ = process_usage::now();
  started_ = clock::now();
}

void bench_run::end_measurement(clock::time_point end) {
  const auto usage = process_usage::now();
  summary.cpu_seconds = usage.cpu_seconds - usage_at_start_.cpu_seconds;
  summary.peak_rss_kib = usage.peak_rss_kib;
  summary.elapsed_seconds = std::chrono::duration<double>(end - started_).count();
  summary.messages = completed_;
  finished_ = true;
  if (progress_timer_) progress_timer_->cancel();
}

asio::awaitable<void> bench_run::stop_after(std::chrono::duration<double> d) {
  stop_timer_ = std::make_unique<asio::steady_timer>(io_, std::chrono::duration_cast<clock::duration>(d));
  co_await stop_timer_->async_wait(use_tuple);  // cut short by Ctrl-C
  stopping_ = true;
}

asio::awaitable<void> bench_run::progress() {
  if (options_.quiet) co_return;
  progress_timer_ = std::make_unique<asio::steady_timer>(io_);
  const auto begin = clock::now();
  auto tick = begin;
  std::uint64_t last_completed = completed_;
  while (!finished_) {
    tick += 1s;
    progress_timer_->expires_at(tick);
    co_await progress_timer_->async_wait(use_tuple);
    if (finished_) break;
    std::size_t in_flight = 0, connected = 0;
    std::uint64_t reconnects = 0;
    for (const auto& c : clients_) {
      const auto s = c->statistics();
      in_flight += s.window_in_use;
      connected += s.connected ? 1 : 0;
      if (s.connects > 1) reconnects += s.connects - 1;
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - begin).count();
    if (options_.mode == bench_mode::conn) {
      std::fprintf(stderr, "[%4llds] connected %zu of %zu  errors %llu  reconnects %llu\n",
                   static_cast<long long>(seconds), connected, clients_.size(),
                   static_cast<unsigned long long>(errors_), static_cast<unsigned long long>(reconnects));
    } else {
      std::fprintf(stderr, "[%4llds] %10llu msg/s  done %llu  in flight %zu  errors %llu  reconnects %llu\n",
                   static_cast<long long>(seconds),
                   static_cast<unsigned long long>(completed_ - last_completed),
                   static_cast<unsigned long long>(completed_), in_flight,
                   static_cast<unsigned long long>(errors_), static_cast<unsigned long long>(reconnects));
    }
    last_completed = completed_;
  }
}

asio::awaitable<void> bench_run::run() {
  const auto rss_before = process_usage::now().current_rss_kib;
  make_clients();
  const auto connect_begin = clock::now();
  if (options_.mode == bench_mode::conn) {
    begin_measurement();
    asio::co_spawn(io_, progress(), asio::detached);
  }
  co_await connect_all();
  if (connected_ < clients_.size() && options_.mode != bench_mode::conn) {
    std::fprintf(stderr, "coromqtt bench: %zu of %zu clients connected: %s\n", connected_, clients_.size(),
                 first_error_.c_str());
    summary.errors = errors_;
    interrupted = true;
    finished_ = true;
    co_await disconnect_all();
    clients_.clear();
    co_return;
  }
  if (options_.mode == bench_mode::conn) {
    summary.elapsed_seconds = std::chrono::duration<double>(clock::now() - connect_begin).count();
    const auto rss_connected = process_usage::now().current_rss_kib;
    if (connected_ > 0)
      summary.bytes_per_connection =
          static_cast<double>(rss_connected - std::min(rss_connected, rss_before)) * 1024.0 /
          static_cast<double>(connected_);
    co_await run_conn();
    const auto elapsed = summary.elapsed_seconds;
    end_measurement(clock::now());
    summary.elapsed_seconds = elapsed;
    summary.messages = 0;
  } else {
    if (options_.duration) asio::co_spawn(io_, stop_after(*options_.duration), asio::detached);
    asio::co_spawn(io_, progress(), asio::detached);
    switch (options_.mode) {
      case bench_mode::pub:
        co_await run_pub();
        break;
      case bench_mode::sub:
        co_await run_sub();
        break;
      case bench_mode::rtt:
        co_await run_rtt();
        break;
      case bench_mode::conn:
        break;
    }
  }
  finished_ = true;
  if (stop_timer_) stop_timer_->cancel();
  if (progress_timer_) progress_timer_->cancel();
  if (!clients_.empty()) count_reconnects();
  summary.errors = errors_;
  if (!first_error_.empty() && !options_.quiet)
    std::fprintf(stderr, "coromqtt bench: first error: %s\n", first_error_.c_str());
  if (!clients_.empty()) {
    if (options_.mode == bench_mode::conn) {
      for (auto& c : clients_) c->stop();  // thousands of graceful goodbyes would only measure the broker
    } else {
      co_await disconnect_all();
    }
    clients_.clear();
  }
}

}  // namespace coromqtt::tools

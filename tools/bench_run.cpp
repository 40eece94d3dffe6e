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
#include <filesystem>
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

void bench_run::count_error(std::string_view what, std::string_view why) {
  ++errors_;
  summary.count_failure(std::string{what} + ": " + std::string{why});
}

// `index` is the client's number in the whole command (first_index_ + its place in this run).
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
  if (!options_.store_directory.empty()) {
    coromqtt::file_store_options store;
    store.durability = options_.store_fsync ? coromqtt::store_durability::fsync_batch
                                            : coromqtt::store_durability::no_fsync;
    o.store =
        coromqtt::file_store(std::filesystem::path{options_.store_directory} / std::to_string(index), store);
  }
  return o;
}

void bench_run::make_clients() {
  clients_.reserve(options_.clients);
  state_.resize(options_.clients);
  for (std::size_t i = 0; i < options_.clients; ++i) {
    clients_.push_back(std::make_unique<coromqtt::client>(io_, options_for(first_index_ + i)));
    state_[i].topic = expand_topic(options_.topic, first_index_ + i);
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
    count_error("connect", ec.message() + (info.reason_string.empty() ? "" : ": " + info.reason_string));
  } else {
    count_error("connect", "no connection within 30 s");
  }
  // conn measures those that connected: a failed client must not go on retrying (holding a descriptor, and
  // memory, and perhaps connecting later). The other modes end the run when a client fails to connect.
  if (options_.mode == bench_mode::conn) c.stop();
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
    count_error("subscribe", e.what());
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
  summary.begin_ns = nanoseconds(started_);
  summary.end_ns = nanoseconds(end);
  summary.messages = completed_;
  finished_ = true;
  if (progress_timer_) progress_timer_->cancel();
}

asio::awaitable<void> bench_run::stop_after(std::chrono::duration<double> d) {
  stop_timer_ = std::make_unique<asio::steady_timer>(io_, std::chrono::duration_cast<clock::duration>(d));
  co_await stop_timer_->async_wait(use_tuple);  // cut short by Ctrl-C
  stopping_ = true;
}

asio::awaitable<bool> bench_run::ready(bool ok) {
  const bool go = co_await observer_.ready(ok, connected_);
  if (!go) {
    stopping_ = true;
    interrupted = true;  // nothing was measured
  }
  co_return go && !stopping_;
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
    progress_counts counts;
    for (const auto& c : clients_) {
      const auto s = c->statistics();
      counts.in_flight += s.window_in_use;
      counts.connected += s.connected ? 1 : 0;
      if (s.connects > 1) counts.reconnects += s.connects - 1;
    }
    counts.clients = clients_.size();
    counts.completed = completed_;
    counts.per_second = completed_ - last_completed;
    counts.errors = errors_;
    observer_.progress(std::chrono::duration_cast<std::chrono::seconds>(clock::now() - begin).count(),
                       counts);
    last_completed = completed_;
  }
}

asio::awaitable<void> bench_run::run() {
  const auto rss_before = process_usage::now().current_rss_kib;
  make_clients();
  if (options_.mode == bench_mode::conn) {
    co_await run_conn(rss_before);
  } else {
    co_await connect_all();
    if (connected_ < clients_.size()) {
      std::fprintf(stderr, "coromqtt bench: %zu of %zu clients connected\n", connected_, clients_.size());
      interrupted = true;
      co_await ready(false);
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
  }
  finished_ = true;
  if (stop_timer_) stop_timer_->cancel();
  if (progress_timer_) progress_timer_->cancel();
  if (!clients_.empty()) count_reconnects();
  summary.errors = errors_;
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

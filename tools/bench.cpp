// coromqtt bench: a load generator and latency meter (see print_bench_usage for the modes and options).
//
// Every client runs on one io_context thread, and its publishing coroutines are spawned on the client's own
// executor (client::get_executor()): the fast path, where a QoS 0 publish is encoded straight into the write
// buffer with no scheduler round trip. QoS 1/2 keep the inflight window full with one publishing coroutine
// per window slot; the client suspends them while the window is full.
//
// What is measured, per mode:
//   pub   messages completed (QoS 0: handed to the client; QoS 1/2: acknowledged) over the time from the first
//         publish to the last completion. A QoS 0 run ends with one QoS 1 publish on the same connection: the
//         broker handles a connection's packets in order, so its PUBACK shows the broker has taken every QoS 0
//         message before it, and the rate is the rate the broker absorbed, not what the socket buffer swallowed.
//         Latency (QoS 1/2): publish call to PUBACK / PUBCOMP.
//   sub   messages received, from the first to the last; latency from the send time in the payload.
//   rtt   one client publishes to a topic it subscribes to; latency from the publish call to the arrival.
//   conn  connections established; client RSS growth per connection; connect time.
// Client CPU time is getrusage() of the whole process over the measured interval.
#include "bench_broker.hpp"
#include "bench_histogram.hpp"
#include "bench_options.hpp"
#include "bench_report.hpp"
#include "bench_stamp.hpp"
#include "commands.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace coromqtt::tools {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------------------------------
// Coordination. Everything runs on the one io_context thread (the clients' strands included), so plain counters
// and timers used as condition variables are enough.

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
      done_.expires_at(clock::time_point::max());
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
      : interval_{rate > 0 ? std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{1.0 / rate})
                           : clock::duration::zero()},
        next_{clock::now()},
        timer_{executor} {}

  bool paced() const noexcept { return interval_ > clock::duration::zero(); }

  asio::awaitable<void> wait_turn() {
    const auto now = clock::now();
    if (next_ > now) {
      timer_.expires_at(next_);
      co_await timer_.async_wait(use_tuple);
    } else if (now - next_ > 1s) {
      next_ = now;
    }
    next_ += interval_;
  }

 private:
  clock::duration interval_;
  clock::time_point next_;
  asio::steady_timer timer_;
};

// ---------------------------------------------------------------------------------------------------------------
// The run

struct client_state {
  std::string topic;
  std::uint64_t issued = 0;    // publishes started
  std::uint64_t received = 0;  // rtt / sub
  std::uint64_t sent_stamped = 0;
  std::unique_ptr<asio::steady_timer> received_signal;  // rtt one at a time: wakes the publisher
};

class bench_run {
 public:
  bench_run(asio::io_context& io, const bench_options& options, std::vector<std::string> urls)
      : io_{io}, options_{options}, urls_{std::move(urls)}, payload_(options.payload_size, 'x') {}

  asio::awaitable<void> run();
  void interrupt();  // Ctrl-C: stop issuing, finish what is in flight, report

  bench_summary summary;
  bool interrupted = false;

 private:
  client_options options_for(std::size_t index) const;
  void make_clients();
  asio::awaitable<void> connect_all();
  asio::awaitable<void> connect_next();
  asio::awaitable<void> connect_one(std::size_t index);
  asio::awaitable<void> subscribe_all();
  asio::awaitable<void> subscribe_one(std::size_t index);
  asio::awaitable<void> disconnect_all();
  asio::awaitable<void> disconnect_one(coromqtt::client& c);
  asio::awaitable<void> progress();
  asio::awaitable<void> stop_after(std::chrono::duration<double> d);

  asio::awaitable<void> run_pub();
  asio::awaitable<void> run_sub();
  asio::awaitable<void> run_rtt();
  asio::awaitable<void> run_conn();

  asio::awaitable<void> publish_qos0(std::size_t index);
  asio::awaitable<void> publish_acknowledged(std::size_t index);
  asio::awaitable<void> rtt_publisher(std::size_t index);
  asio::awaitable<void> receiver(std::size_t index);

  coromqtt::message make_message(std::size_t index, coromqtt::qos q) const;
  void count_reconnects();
  void begin_measurement();
  void end_measurement(clock::time_point end);

  asio::io_context& io_;
  const bench_options& options_;
  std::vector<std::string> urls_;
  const std::string payload_;
  std::vector<std::unique_ptr<coromqtt::client>> clients_;
  std::vector<client_state> state_;

  // Progress, all on the io thread.
  std::uint64_t completed_ = 0;
  std::uint64_t errors_ = 0;
  std::size_t connected_ = 0;
  std::size_t next_to_connect_ = 0;
  bool stopping_ = false;  // stop issuing new work (duration over, or interrupted)
  bool finished_ = false;  // the measured part is over: the progress line stops
  clock::time_point started_{};
  clock::time_point first_receive_{}, last_receive_{};
  process_usage usage_at_start_;
  std::string first_error_;
  std::unique_ptr<asio::steady_timer> stop_timer_;
  std::unique_ptr<asio::steady_timer> progress_timer_;
};

void bench_run::interrupt() {
  interrupted = true;
  stopping_ = true;
  if (stop_timer_) stop_timer_->cancel();
}

client_options bench_run::options_for(std::size_t index) const {
  client_options o;
  o.brokers = {urls_[index % urls_.size()]};
  o.version = options_.version;
  // A fixed default prefix made a `bench sub` and a `bench pub` on the same broker share client ids, and the broker
  // then closed one to let the other in, over and over.
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
    o.store = coromqtt::file_store(std::filesystem::path{options_.store_directory} / std::to_string(index), store);
  }
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
    if (first_error_.empty()) first_error_ = ec.message() + (info.reason_string.empty() ? "" : ": " + info.reason_string);
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
                   static_cast<long long>(seconds), static_cast<unsigned long long>(completed_ - last_completed),
                   static_cast<unsigned long long>(completed_), in_flight, static_cast<unsigned long long>(errors_),
                   static_cast<unsigned long long>(reconnects));
    }
    last_completed = completed_;
  }
}

// --- pub --------------------------------------------------------------------------------------------------------

asio::awaitable<void> bench_run::publish_qos0(std::size_t index) {
  auto& c = *clients_[index];
  auto& state = state_[index];
  pacer pace{c.get_executor(), options_.rate};
  const std::uint64_t count = options_.messages_per_client();
  const bool stamped = pace.paced();  // a send time only means something when the publisher is not the bottleneck
  for (; state.issued < count && !stopping_; ++state.issued) {
    if (pace.paced()) co_await pace.wait_turn();
    auto m = make_message(index, qos::at_most_once);
    if (stamped) write_stamp(m.payload, clock::now());
    try {
      co_await c.co_publish(std::move(m));
      ++completed_;
    } catch (const mqtt_error& e) {
      ++errors_;
      if (first_error_.empty()) first_error_ = e.what();
    }
  }
  // The marker: its PUBACK comes after the broker has handled everything this connection sent before it.
  try {
    co_await c.co_publish(state.topic, {}, qos::at_least_once);
  } catch (const mqtt_error& e) {
    ++errors_;
    if (first_error_.empty()) first_error_ = std::string{"end marker: "} + e.what();
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
      ++errors_;
      if (first_error_.empty()) first_error_ = e.what();
    }
  }
}

asio::awaitable<void> bench_run::run_pub() {
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

// --- sub and rtt ------------------------------------------------------------------------------------------------

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
      c.async_publish(std::move(m), [this, &outstanding, &window_signal](error_code ec, const publish_result&) {
        if (ec) ++errors_;
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
      ++errors_;
      if (first_error_.empty()) first_error_ = e.what();
      continue;
    }
    const auto deadline = clock::now() + 10s;
    while (state.received <= state.issued && clock::now() < deadline) {
      state.received_signal->expires_at(deadline);
      co_await state.received_signal->async_wait(use_tuple);
    }
    if (state.received <= state.issued) {
      ++errors_;
      if (first_error_.empty()) first_error_ = "a message did not come back within 10 s";
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
  if (!options_.ready_file.empty()) std::ofstream{options_.ready_file} << "subscribed\n";
  // The broker's address is printed because with a broker started for the run, a publisher cannot know it otherwise.
  if (!options_.quiet)
    std::fprintf(stderr, "coromqtt bench: %zu subscribed to %s, waiting for messages\n", connected_,
                 urls_.front().c_str());
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
  if (first_receive_ != clock::time_point{} && completed_ > 1) {
    // n messages arrive over n - 1 intervals.
    summary.elapsed_seconds = std::chrono::duration<double>(last_receive_ - first_receive_).count();
    summary.messages = completed_ - 1;
  }
  co_await disconnect_all();
  clients_.clear();
  co_await receivers.wait();
}

// --- conn -------------------------------------------------------------------------------------------------------

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
      case bench_mode::pub: co_await run_pub(); break;
      case bench_mode::sub: co_await run_sub(); break;
      case bench_mode::rtt: co_await run_rtt(); break;
      case bench_mode::conn: break;
    }
  }
  finished_ = true;
  if (stop_timer_) stop_timer_->cancel();
  if (progress_timer_) progress_timer_->cancel();
  if (!clients_.empty()) count_reconnects();
  summary.errors = errors_;
  if (!first_error_.empty() && !options_.quiet) std::fprintf(stderr, "coromqtt bench: first error: %s\n", first_error_.c_str());
  if (!clients_.empty()) {
    if (options_.mode == bench_mode::conn) {
      for (auto& c : clients_) c->stop();  // thousands of graceful goodbyes would only measure the broker
    } else {
      co_await disconnect_all();
    }
    clients_.clear();
  }
}

}  // namespace

int run_bench(int argc, char** argv) {
  int exit_code = 0;
  const auto parsed = parse_bench_options(argc, argv, stderr, exit_code);
  if (!parsed) return exit_code;
  const bench_options& options = *parsed;

  raise_open_file_limit();
  std::vector<std::string> urls = options.urls;
  std::string broker_error;
  std::optional<local_broker> broker =
      urls.empty() ? local_broker::start(options.mosquitto_path, broker_error) : std::nullopt;
  if (urls.empty()) {
    if (!broker) {
      std::fprintf(stderr, "coromqtt bench: %s\n", broker_error.c_str());
      return 1;
    }
    urls.push_back(broker->url());
  }

  asio::io_context io{1};
  bench_run run{io, options, urls};
  describe_run(run.summary, options);
  run.summary.broker = urls.front() + (urls.size() > 1 ? " (+" + std::to_string(urls.size() - 1) + ")" : "");
  if (broker) run.summary.broker_version = broker->version();

  // Ctrl-C (or SIGTERM) ends the run early with a summary of what was done; a second one ends it at once.
  asio::signal_set signals{io, SIGINT, SIGTERM};
  std::function<void(error_code, int)> on_signal = [&](error_code ec, int) {
    if (ec) return;
    if (run.interrupted) {
      io.stop();
      return;
    }
    std::fputs("\ncoromqtt bench: interrupted, finishing\n", stderr);
    run.interrupt();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, run.run(), [&](std::exception_ptr e) {
    failure = e;
    done = true;
    signals.cancel();
  });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "coromqtt bench: %s\n", e.what());
    }
    return 1;
  }
  if (!done) return 130;  // stopped by a second Ctrl-C
  if (options.json)
    print_json(stdout, run.summary);
  else
    print_summary(stdout, run.summary);
  std::fflush(stdout);
  if (broker) broker->stop();
  const bool complete = run.summary.errors == 0 && !run.interrupted;
  return complete ? 0 : 1;
}

}  // namespace coromqtt::tools

// One run of `coromqtt bench` in this process: its clients, the mode's coroutines, and what they count.
//
// Every client runs on one io_context thread, and its publishing coroutines are spawned on the client's own
// executor (client::get_executor()): the fast path, where a QoS 0 publish is encoded straight into the write
// buffer with no scheduler round trip. QoS 1/2 keep the inflight window full with one publishing coroutine
// per window slot; the client suspends them while the window is full.
//
// What is measured, per mode:
//   pub   messages completed (QoS 0: handed to the client; QoS 1/2: acknowledged) over the time from the
//   first
//         publish to the last completion. A QoS 0 run ends with one QoS 1 publish on the same connection: the
//         broker handles a connection's packets in order, so its PUBACK shows the broker has taken every QoS
//         0 message before it, and the rate is the rate the broker absorbed, not what the socket buffer
//         swallowed. Latency (QoS 1/2): publish call to PUBACK / PUBCOMP.
//   sub   messages received, from the first to the last; latency from the send time in the payload.
//   rtt   one client publishes to a topic it subscribes to; latency from the publish call to the arrival.
//   conn  connections established; client RSS growth per connection; connect time.
// Client CPU time is getrusage() of the whole process over the measured interval.
//
// The parts, by file:
//   bench_run.cpp      clients, connecting, subscribing, disconnecting, progress, measurement; run()
//   bench_pub.cpp      pub
//   bench_receive.cpp  sub and rtt
//   bench_conn.cpp     conn
// bench_workers.hpp spreads the clients of one command over several processes, each running a bench_run.
#pragma once

#include "bench_coordination.hpp"
#include "bench_options.hpp"
#include "bench_report.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::tools {

struct client_state {
  std::string topic;
  std::uint64_t issued = 0;    // publishes started
  std::uint64_t received = 0;  // rtt / sub
  std::uint64_t sent_stamped = 0;
  std::unique_ptr<asio::steady_timer> received_signal;  // rtt one at a time: wakes the publisher
};

// What a run reports to, and waits for, outside itself: the command in this process (bench.cpp), or the
// parent of a worker process (bench_workers.hpp).
class run_observer {
 public:
  virtual ~run_observer() = default;
  // The run is set up (connected, and subscribed where the mode subscribes; conn: before connecting) and
  // about to measure; `ok` is false when setting up failed. The run goes on to measure if this returns true.
  virtual asio::awaitable<bool> ready(bool ok, std::size_t connected) = 0;
  // Once a second while the run goes on (not with --quiet).
  virtual void progress(long long seconds, const progress_counts&) = 0;
};

class bench_run {
 public:
  // Runs options.clients clients, numbered from first_index on: a worker process runs a share of the clients
  // of the whole command, and the numbers pick client ids, topics, URLs and source addresses as one process
  // running all of them would.
  bench_run(asio::io_context& io, const bench_options& options, std::vector<std::string> urls,
            run_observer& observer, std::size_t first_index = 0)
      : io_{io},
        options_{options},
        urls_{std::move(urls)},
        observer_{observer},
        first_index_{first_index},
        payload_(options.payload_size, 'x') {}

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
  asio::awaitable<bool> ready(bool ok);

  asio::awaitable<void> run_pub();
  asio::awaitable<void> run_sub();
  asio::awaitable<void> run_rtt();
  asio::awaitable<void> run_conn(std::uint64_t rss_before_kib);

  asio::awaitable<void> publish_qos0(std::size_t index);
  asio::awaitable<void> publish_acknowledged(std::size_t index);
  asio::awaitable<void> rtt_publisher(std::size_t index);
  asio::awaitable<void> receiver(std::size_t index);

  coromqtt::message make_message(std::size_t index, coromqtt::qos q) const;
  // Counts a failure by what failed ("connect", "publish"...) and why.
  void count_error(std::string_view what, std::string_view why);
  void count_reconnects();
  void begin_measurement();
  void end_measurement(bench_clock::time_point end);

  asio::io_context& io_;
  const bench_options& options_;
  std::vector<std::string> urls_;
  run_observer& observer_;
  std::size_t first_index_;
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
  bench_clock::time_point started_{};
  bench_clock::time_point first_receive_{}, last_receive_{};
  process_usage usage_at_start_;
  std::unique_ptr<asio::steady_timer> stop_timer_;
  std::unique_ptr<asio::steady_timer> progress_timer_;
};

}  // namespace coromqtt::tools

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
#include <vector>

namespace coromqtt::tools {

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
  void end_measurement(bench_clock::time_point end);

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
  bench_clock::time_point started_{};
  bench_clock::time_point first_receive_{}, last_receive_{};
  process_usage usage_at_start_;
  std::string first_error_;
  std::unique_ptr<asio::steady_timer> stop_timer_;
  std::unique_ptr<asio::steady_timer> progress_timer_;
};

}  // namespace coromqtt::tools

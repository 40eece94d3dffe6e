// The process the store scenarios kill: a client on a file store that reports on stdout, with write(2) so that
// a line reported is a line the parent reads even when SIGKILL comes right after (nothing waits in a buffer).
//
//   store_child publish   <store dir> <broker url> <run> <first q1> <first q2> <last q1> <last q2>
//       publishes with async_publish_stored; "D <qos> <seq>" once each is durable; after the last, waits until
//       every message is acknowledged and prints "DONE".
//   store_child subscribe <store dir> <broker url> <client id>
//       subscribes to "inc/#" at QoS 2, prints "READY", then "R <payload>" for each message delivered.
#include <coromqtt/client.hpp>
#include <coromqtt/store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <unistd.h>

using namespace coromqtt;
namespace asio = boost::asio;

namespace {

void say(const std::string& line) {
  const auto text = line + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(1, text.data() + done, text.size() - done);
    if (n <= 0) std::_Exit(3);  // the parent is gone
    done += static_cast<std::size_t>(n);
  }
}

client_options options_for(const std::string& dir, const std::string& url, std::string id) {
  client_options o;
  o.brokers = {url};
  o.client_id = std::move(id);
  o.session_expiry_interval = 3600;
  o.clean_start = false;  // mosquitto restores after its own crash only sessions begun without a clean start
  o.reconnect.initial_delay = std::chrono::milliseconds{10};
  o.reconnect.maximum_delay = std::chrono::milliseconds{100};
  o.store = file_store(dir, {.durability = store_durability::fsync_batch});
  return o;
}

struct publisher {
  client& c;
  unsigned run;
  std::uint64_t next[3];
  std::uint64_t last[3];
  int outstanding = 0;
  bool finishing = false;

  bool more() const { return next[1] <= last[1] || next[2] <= last[2]; }

  // At most 25 new messages per 10 ms (2,500 a second), so that the kills strike while messages are still
  // being handed over, not only while they are delivered.
  // What the client is doing, every 5 s (on stderr, for a failure report).
  asio::awaitable<void> report() {
    asio::steady_timer tick{c.get_executor()};
    for (;;) {
      tick.expires_after(std::chrono::seconds{5});
      co_await tick.async_wait(asio::use_awaitable);
      const auto s = c.statistics();
      std::cerr << "sent " << s.messages_sent << " acked " << s.publishes_acked << " retransmitted "
                << s.retransmitted << " resent " << s.resent << " connects " << s.connects << " inflight "
                << s.inflight << " queued " << s.queued_messages << " write buffer " << s.write_buffer_bytes
                << " connected " << s.connected << " outstanding " << outstanding << " next " << next[1] << "/"
                << next[2] << "\n";
    }
  }

  asio::awaitable<void> pace() {
    asio::steady_timer tick{c.get_executor()};
    while (more()) {
      budget = 25;
      pump();
      tick.expires_after(std::chrono::milliseconds{10});
      co_await tick.async_wait(asio::use_awaitable);
    }
    pump();  // nothing left to publish (perhaps from the start: an earlier run had it all): finish
  }
  int budget = 0;

  void pump() {
    while (outstanding < 400 && budget > 0 && more()) {
      --budget;
      // Four QoS 1 for each QoS 2, interleaved, so that both flows are in flight at every kill.
      const int q = next[2] <= last[2] && (next[1] > last[1] || next[1] % 4 == 0) ? 2 : 1;
      const auto seq = next[q]++;
      message m;
      m.topic = q == 1 ? "crash/q1" : "crash/q2";
      m.payload = std::to_string(seq) + ":" + std::to_string(run);
      m.qos = q == 1 ? qos::at_least_once : qos::exactly_once;
      ++outstanding;
      c.async_publish_stored(std::move(m), [this, q, seq](error_code ec, const publish_result&) {
        --outstanding;
        if (ec) {
          std::cerr << "publish " << q << " " << seq << " failed: " << ec.message() << "\n";
          std::_Exit(4);
        }
        say("D " + std::to_string(q) + " " + std::to_string(seq));
        pump();
      });
    }
    if (!more() && outstanding == 0 && !finishing) {
      finishing = true;
      asio::co_spawn(c.get_executor(), finish(), asio::detached);
    }
  }

  asio::awaitable<void> finish() {
    co_await c.co_flush(true);  // every message acknowledged by the broker
    say("DONE");
    std::_Exit(0);
  }
};

asio::awaitable<void> subscribe(client& c) {
  co_await c.co_connect();
  co_await c.co_subscribe("inc/#", qos::exactly_once);
  say("READY");
  for (;;) {
    auto m = co_await c.co_receive();
    say("R " + m.payload);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    asio::io_context io;
    if (mode == "publish" && argc == 9) {
      client c{io, options_for(argv[2], argv[3], "crash-publisher")};
      publisher p{c, static_cast<unsigned>(std::stoul(argv[4])),
                  {0, std::stoull(argv[5]), std::stoull(argv[6])},
                  {0, std::stoull(argv[7]), std::stoull(argv[8])}};
      c.start();
      asio::co_spawn(c.get_executor(), p.pace(), asio::detached);
      asio::co_spawn(c.get_executor(), p.report(), asio::detached);
      io.run();
      return 0;
    }
    if (mode == "subscribe" && argc == 5) {
      client c{io, options_for(argv[2], argv[3], argv[4])};
      asio::co_spawn(c.get_executor(), subscribe(c), [](std::exception_ptr e) {
        if (e) std::_Exit(5);
      });
      io.run();
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "store_child: " << e.what() << "\n";
    return 2;
  }
  std::cerr << "usage: store_child publish|subscribe ...\n";
  return 1;
}

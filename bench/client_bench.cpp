// Client microbenchmarks: the whole client (coroutines, strand, transport, session) against a scripted broker in
// the same process and on the same thread, over loopback TCP. The broker does the least a broker can: it
// acknowledges every PUBLISH (PUBACK, or PUBREC then PUBCOMP), answers SUBSCRIBE, and when asked floods
// PUBLISH packets. So the figures are the client's own cost per message, plus a small constant for the
// scripted broker and the kernel's loopback, without a real broker's variance: what to look at when changing
// the client layer (bench/compare measures against mosquitto, side by side with the other clients).
//
//   publish_qos0     co_publish at QoS 0 from a coroutine on the client's strand (the fast path);
//   publish_qos1     co_publish at QoS 1 with the inflight window kept full by 100 publishing coroutines;
//   publish_qos2     the same at QoS 2;
//   receive_qos0/1   co_receive of messages the broker floods (QoS 1: the client acknowledges each).
//
// ns/op is the CPU time per message of the process (client, scripted broker and both ends' system calls);
// allocs/op the heap allocations per message (allocation_counting.cpp). Run it under
// `valgrind --tool=callgrind` to count instructions instead of time.
#include <coromqtt/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "allocation_counting.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>


namespace {

using coromqtt::bench::allocation_counter;

namespace asio = boost::asio;
using asio::ip::tcp;
using coromqtt::qos;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// --- The scripted broker ----------------------------------------------------------------------------------------

void put_u16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xFF);
}

// MQTT 3.1.1 PUBLISH to "bench/0" (QoS 0 or 1, identifier 1).
std::string publish_packet(std::size_t payload_size, qos level) {
  std::string body;
  put_u16(body, 7);
  body += "bench/0";
  if (level != qos::at_most_once) put_u16(body, 1);
  body.append(payload_size, 'x');
  std::string out(1, static_cast<char>(0x30 | (static_cast<int>(level) << 1)));
  for (std::size_t n = body.size();;) {  // remaining length
    std::uint8_t byte = n % 128;
    n /= 128;
    out += static_cast<char>(n ? byte | 0x80 : byte);
    if (!n) break;
  }
  return out + body;
}

class scripted_broker {
 public:
  explicit scripted_broker(asio::io_context& io) : acceptor_{io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}} {}

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // Floods this many copies of `packet` (after the SUBSCRIBE was answered, or at once when already subscribed).
  void flood(std::string packet, std::size_t count) {
    flood_packet_ = std::move(packet);
    flood_count_ = count;
    if (socket_ && subscribed_) start_flood();
  }

  asio::awaitable<void> serve() {
    auto [accept_error, socket] = co_await acceptor_.async_accept(use_tuple);
    if (accept_error) co_return;
    socket_.emplace(std::move(socket));
    socket_->set_option(tcp::no_delay(true));
    std::vector<char> in(256 * 1024);
    std::size_t size = 0;
    for (;;) {
      auto [ec, n] = co_await socket_->async_read_some(asio::buffer(in.data() + size, in.size() - size), use_tuple);
      if (ec) co_return;
      size += n;
      std::string out;
      std::size_t at = 0;
      while (at + 2 <= size) {
        std::size_t length = 0, shift = 0, header = 1;
        bool complete = false;
        while (at + header < size) {
          const auto byte = static_cast<std::uint8_t>(in[at + header++]);
          length |= std::size_t{byte & 0x7Fu} << shift;
          shift += 7;
          if (!(byte & 0x80)) {
            complete = true;
            break;
          }
        }
        if (!complete || at + header + length > size) break;
        const auto type = static_cast<std::uint8_t>(in[at]) >> 4;
        const char* body = in.data() + at + header;
        auto id = [&](std::size_t offset) {
          return static_cast<std::uint16_t>(static_cast<std::uint8_t>(body[offset]) << 8 |
                                            static_cast<std::uint8_t>(body[offset + 1]));
        };
        auto ack = [&](char first, std::uint16_t packet_id) {
          out += first;
          out += '\x02';
          put_u16(out, packet_id);
        };
        switch (type) {
          case 1: out += std::string("\x20\x02\x00\x00", 4); break;  // CONNECT -> CONNACK
          case 3: {                                                  // PUBLISH
            const int level = (static_cast<std::uint8_t>(in[at]) >> 1) & 3;
            const std::size_t topic_length = id(0);
            if (level == 1) ack('\x40', id(2 + topic_length));
            if (level == 2) ack('\x50', id(2 + topic_length));
            break;
          }
          case 6: ack('\x70', id(0)); break;                         // PUBREL -> PUBCOMP
          case 8: {  // SUBSCRIBE (one filter) -> SUBACK granting the QoS asked for
            ack('\x90', id(0));
            out[out.size() - 3] = '\x03';
            out += static_cast<char>(body[4 + id(2)] & 3);
            subscribed_ = true;
            break;
          }
          case 12: out += std::string("\xD0\x00", 2); break;         // PINGREQ -> PINGRESP
          case 14: co_return;                                        // DISCONNECT
          default: break;                                            // PUBACK of flooded QoS 1 messages
        }
        at += header + length;
      }
      std::memmove(in.data(), in.data() + at, size - at);
      size -= at;
      if (!out.empty()) {
        auto [write_error, written] = co_await asio::async_write(*socket_, asio::buffer(out), use_tuple);
        if (write_error) co_return;
      }
      if (subscribed_ && flood_count_) start_flood();
    }
  }

 private:
  // One writer of flood packets at a time (serve() writes only answers, which a flood never needs).
  void start_flood() {
    if (flooding_) return;
    flooding_ = true;
    asio::co_spawn(acceptor_.get_executor(), send_flood(), asio::detached);
  }

  asio::awaitable<void> send_flood() {
    std::string chunk;
    while (flood_count_ > 0) {
      chunk.clear();
      while (flood_count_ > 0 && chunk.size() < 64 * 1024) {
        chunk += flood_packet_;
        --flood_count_;
      }
      auto [ec, n] = co_await asio::async_write(*socket_, asio::buffer(chunk), use_tuple);
      if (ec) break;
    }
    flooding_ = false;
  }

  tcp::acceptor acceptor_;
  std::optional<tcp::socket> socket_;
  bool subscribed_ = false;
  bool flooding_ = false;
  std::string flood_packet_;
  std::size_t flood_count_ = 0;
};

// --- The fixture: one client connected to the scripted broker ---------------------------------------------------

struct connected_client {
  connected_client() : broker{io} {
    asio::co_spawn(io, broker.serve(), asio::detached);
    coromqtt::client_options o;
    o.brokers = {"mqtt://127.0.0.1:" + std::to_string(broker.port())};
    o.version = coromqtt::protocol_version::v3_1_1;
    o.client_id = "client-bench";
    o.inflight_window = 100;
    client = std::make_unique<coromqtt::client>(io, o);
    bool connected = false;
    asio::co_spawn(client->get_executor(), connect(connected), asio::detached);
    while (!connected) io.run_one();
  }
  ~connected_client() {
    client.reset();
    io.run_for(std::chrono::milliseconds(50));
  }

  asio::awaitable<void> connect(bool& connected) {
    co_await client->co_connect();
    connected = true;
  }

  // Runs the io_context until `remaining` reaches zero; false (and the client's counters on stderr) when that
  // takes more than 30 s.
  bool run_until_done(const std::size_t& remaining) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (remaining > 0) {
      io.run_one_until(deadline);
      if (std::chrono::steady_clock::now() < deadline) continue;
      const auto s = client->statistics();
      std::fprintf(stderr, "client_bench: stuck: sent %llu received %llu delivered %llu acked %llu in flight %zu "
                   "receive queue %zu connects %llu\n",
                   static_cast<unsigned long long>(s.messages_sent), static_cast<unsigned long long>(s.messages_received),
                   static_cast<unsigned long long>(s.messages_delivered), static_cast<unsigned long long>(s.publishes_acked),
                   s.inflight, s.receive_queue, static_cast<unsigned long long>(s.connects));
      return false;
    }
    return true;
  }

  asio::io_context io{1};
  scripted_broker broker;
  std::unique_ptr<coromqtt::client> client;
};

coromqtt::message make_message(std::size_t payload_size, qos level) {
  coromqtt::message m;
  m.topic = "bench/0";
  m.payload.assign(payload_size, 'x');
  m.qos = level;
  return m;
}

// One publishing coroutine: `count` messages, each a copy of `prototype` (the user's payload allocation is
// part of what a real publisher pays, so it is counted: one per message above 15 bytes of payload).
asio::awaitable<void> publisher(coromqtt::client& c, const coromqtt::message& prototype, std::size_t count,
                                std::size_t& remaining) {
  for (std::size_t i = 0; i < count; ++i) {
    auto m = prototype;
    co_await c.co_publish(std::move(m));
  }
  --remaining;
}

void publish(benchmark::State& state, qos level, std::size_t payload_size) {
  connected_client f;
  const auto prototype = make_message(payload_size, level);
  // QoS 0: one publisher; QoS 1/2: the window (100) kept full by as many publishers.
  const std::size_t publishers = level == qos::at_most_once ? 1 : 100;
  const std::size_t per_publisher = level == qos::at_most_once ? 10000 : 100;
  const std::size_t messages = publishers * per_publisher;
  const allocation_counter counter;
  for (auto _ : state) {
    std::size_t remaining = publishers;
    for (std::size_t p = 0; p < publishers; ++p)
      asio::co_spawn(f.client->get_executor(), publisher(*f.client, prototype, per_publisher, remaining),
                     asio::detached);
    if (!f.run_until_done(remaining)) {
      state.SkipWithError("stuck");
      break;
    }
  }
  counter.report_per_message(state, static_cast<double>(state.iterations() * messages));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
}

asio::awaitable<void> subscribe(coromqtt::client& c, qos level, bool& done) {
  co_await c.co_subscribe("bench/0", level);
  done = true;
}

asio::awaitable<void> receiver(coromqtt::client& c, std::size_t count, std::size_t& remaining) {
  for (std::size_t i = 0; i < count; ++i) {
    auto m = co_await c.co_receive();
    benchmark::DoNotOptimize(m.payload.data());
  }
  remaining = 0;
}

void receive(benchmark::State& state, qos level, std::size_t payload_size) {
  connected_client f;
  bool subscribed = false;
  asio::co_spawn(f.client->get_executor(), subscribe(*f.client, level, subscribed), asio::detached);
  while (!subscribed) f.io.run_one();
  const auto packet = publish_packet(payload_size, level);
  const std::size_t messages = 10000;
  const allocation_counter counter;
  for (auto _ : state) {
    std::size_t remaining = 1;
    f.broker.flood(packet, messages);
    asio::co_spawn(f.client->get_executor(), receiver(*f.client, messages, remaining), asio::detached);
    if (!f.run_until_done(remaining)) {
      state.SkipWithError("stuck");
      break;
    }
  }
  counter.report_per_message(state, static_cast<double>(state.iterations() * messages));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
}

void register_all() {
  // 8 bytes fit in std::string's inline buffer, so copying the prototype costs nothing on the heap: whatever
  // allocs/op remains is the client's own (the 64 B variants include one allocation for the user's payload copy).
  benchmark::RegisterBenchmark("client/publish_qos0/8B", publish, qos::at_most_once, std::size_t{8});
  for (const std::size_t size : {std::size_t{64}}) {
    const auto s = "/" + std::to_string(size) + "B";
    benchmark::RegisterBenchmark(("client/publish_qos0" + s).c_str(), publish, qos::at_most_once, size);
    benchmark::RegisterBenchmark(("client/publish_qos1" + s).c_str(), publish, qos::at_least_once, size);
    benchmark::RegisterBenchmark(("client/publish_qos2" + s).c_str(), publish, qos::exactly_once, size);
    benchmark::RegisterBenchmark(("client/receive_qos0" + s).c_str(), receive, qos::at_most_once, size);
    benchmark::RegisterBenchmark(("client/receive_qos1" + s).c_str(), receive, qos::at_least_once, size);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

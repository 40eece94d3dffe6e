// A broker played by a script, for tests that need exact bytes or misbehaviour no real broker shows: it
// listens on 127.0.0.1, and for every connection it accepts runs the script, a coroutine, on its own thread.
//
//     scripted_broker broker{[](scripted_connection& c) -> asio::awaitable<void> {
//       auto connect = co_await c.receive();                  // the client's CONNECT
//       co_await c.send(hex("20 03 00 00 00"));               // CONNACK (MQTT 5)
//       co_await c.send(hex("30 ff ff ff ff 7f"));            // a remaining length of 5 bytes
//       co_await c.drain_until_closed(2s);                    // records what the client answers
//     }};
//     client c{io, options_with(broker.url())};
//     ...
//     broker.log()[0].received                               // every packet of the first connection
//
// The packets are whole packets framed by mqtt_bytes::read_packet (the codec under test is not used here);
// what the script does not read stays in the socket, so a script that stops reading is a broker that stops
// reading.
#pragma once

#include "integration/mqtt_bytes.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace coromqtt::test {

namespace asio = boost::asio;
using mqtt_bytes::bytes;
using mqtt_bytes::received_packet;
using namespace std::chrono_literals;

// "30 03 00 01 'a'" -> bytes: hex pairs, and quoted ASCII.
inline bytes hex(std::string_view text) {
  bytes out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == ' ') {
      ++i;
    } else if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      out.insert(out.end(), text.begin() + static_cast<std::ptrdiff_t>(i + 1),
                 text.begin() + static_cast<std::ptrdiff_t>(end));
      i = end + 1;
    } else {
      out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(text.substr(i, 2)), nullptr, 16)));
      i += 2;
    }
  }
  return out;
}

// What one connection saw, as the test thread reads it.
struct connection_log {
  std::vector<received_packet> received;  // every packet the script read, in order
  bool closed_by_client = false;  // the script saw the client end the connection (end of stream, reset)
  std::uint64_t bytes_sent = 0;   // written by the script so far
  bool finished = false;          // the script returned
};

class scripted_broker;

// One accepted connection, as its script sees it. Every call runs on the broker's thread.
class scripted_connection {
 public:
  using clock = std::chrono::steady_clock;

  std::size_t index() const noexcept { return index_; }  // 0 for the first connection accepted

  // The next whole packet from the client; nullopt when the client closed the connection or `timeout` passed
  // (closed() tells which).
  // With `record` false the packet is not kept in the log (floods).
  asio::awaitable<std::optional<received_packet>> receive(clock::duration timeout = 5s, bool record = true);
  // Writes all of `data`, however long it takes (a client that does not read makes it wait); false when the
  // connection failed.
  asio::awaitable<bool> send(bytes data);
  // Sleeps, in short naps, so that the broker's end cuts it short.
  asio::awaitable<void> sleep(clock::duration d);
  // Reads (and records) every packet until the client closes (true) or `timeout` passes (false).
  asio::awaitable<bool> drain_until_closed(clock::duration timeout) {
    const auto until = clock::now() + timeout;
    while (!closed_) {
      const auto now = clock::now();
      if (now >= until) co_return false;
      co_await receive(until - now);
    }
    co_return true;
  }
  bool closed() const noexcept { return closed_; }
  // The broker is being destroyed: scripts that loop should end.
  bool stopping() const noexcept;
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  // mqtt_bytes::read_packet's view of the socket.
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, boost::system::error_code& ec);

 private:
  friend class scripted_broker;
  scripted_connection(scripted_broker& broker, asio::ip::tcp::socket socket, std::size_t index)
      : broker_{broker}, socket_{std::move(socket)}, index_{index} {}

  scripted_broker& broker_;
  asio::ip::tcp::socket socket_;
  std::size_t index_;
  bytes pending_;  // read and not yet framed
  bool closed_ = false;
  std::optional<clock::time_point> read_deadline_;
};

class scripted_broker {
 public:
  using script = std::function<asio::awaitable<void>(scripted_connection&)>;

  explicit scripted_broker(script s) : script_{std::move(s)} {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  // Ends every connection (the scripts' waits fail) and stops the thread.
  ~scripted_broker() {
    stopping_ = true;
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (auto& c : connections_) c.close();
    });
    work_.reset();
    // Scripts that sleep or write to a client that no longer reads would keep the context busy: give them a
    // moment to see their sockets closed, then stop.
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (running_scripts_ > 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    io_.stop();
    thread_.join();
  }
  scripted_broker(const scripted_broker&) = delete;
  scripted_broker& operator=(const scripted_broker&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

  std::vector<connection_log> log() const {
    std::lock_guard lock{mutex_};
    return logs_;
  }
  // Waits until `condition` holds for the logs (checked at each change), at most `timeout`.
  bool wait_until(const std::function<bool(const std::vector<connection_log>&)>& condition,
                  std::chrono::steady_clock::duration timeout) const {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [&] { return condition(logs_); });
  }

 private:
  friend class scripted_connection;

  template <class Change>
  void update(std::size_t index, Change change) {
    {
      std::lock_guard lock{mutex_};
      change(logs_[index]);
    }
    changed_.notify_all();
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      std::size_t index = 0;
      {
        std::lock_guard lock{mutex_};
        index = logs_.size();
        logs_.emplace_back();
      }
      changed_.notify_all();
      auto& connection = connections_.emplace_back(scripted_connection{*this, std::move(socket), index});
      ++running_scripts_;
      asio::co_spawn(io_, run_script(connection), asio::detached);
    }
  }

  asio::awaitable<void> run_script(scripted_connection& connection) {
    try {
      co_await script_(connection);
    } catch (...) {
      // A script that throws (a failed REQUIRE on this thread) ends its connection; the test sees the log.
    }
    connection.close();
    update(connection.index(), [](connection_log& l) { l.finished = true; });
    --running_scripts_;
  }

  script script_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  asio::ip::tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::list<scripted_connection> connections_;  // the broker thread's only; stable addresses
  std::atomic<int> running_scripts_{0};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<connection_log> logs_;
  std::thread thread_;
};

inline asio::awaitable<std::size_t> scripted_connection::read_some(asio::mutable_buffer buffer,
                                                                   boost::system::error_code& ec) {
  using namespace asio::experimental::awaitable_operators;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  asio::steady_timer timer{socket_.get_executor(), read_deadline_.value_or(clock::time_point::max())};
  auto result = co_await (socket_.async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
  if (result.index() == 1) {
    ec = asio::error::timed_out;
    co_return 0;
  }
  auto [read_error, n] = std::get<0>(result);
  ec = read_error;
  co_return n;
}

inline bool scripted_connection::stopping() const noexcept { return broker_.stopping_; }

inline asio::awaitable<void> scripted_connection::sleep(clock::duration d) {
  const auto until = clock::now() + d;
  asio::steady_timer timer{socket_.get_executor()};
  do {  // at least one wait, so that a loop around sleep() never spins without yielding
    timer.expires_at(std::min(until, clock::now() + 10ms));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  } while (!broker_.stopping_ && clock::now() < until);
}

inline asio::awaitable<std::optional<received_packet>> scripted_connection::receive(clock::duration timeout,
                                                                                    bool record) {
  if (closed_) co_return std::nullopt;
  read_deadline_ = clock::now() + timeout;
  boost::system::error_code ec;
  auto packet = co_await mqtt_bytes::read_packet(*this, pending_, ec);
  read_deadline_.reset();
  if (ec == asio::error::timed_out) co_return std::nullopt;
  if (ec) {
    closed_ = true;
    broker_.update(index_, [](connection_log& l) { l.closed_by_client = true; });
    co_return std::nullopt;
  }
  if (record) broker_.update(index_, [&](connection_log& l) { l.received.push_back(packet); });
  co_return packet;
}

inline asio::awaitable<bool> scripted_connection::send(bytes data) {
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  broker_.update(index_, [n = n](connection_log& l) { l.bytes_sent += n; });
  co_return !ec;
}

// --- Packets the scripts send and check
// -----------------------------------------------------------------------

// CONNACK accepting the connection: MQTT 5 with `properties` (already encoded, without their length),
// or 3.1.1.
inline bytes connack(mqtt_bytes::version v, const bytes& properties = {}) {
  if (v == mqtt_bytes::version::v3_1_1) return hex("20 02 00 00");
  bytes body{0x00, 0x00};
  mqtt_bytes::append_variable_length(body, properties.size());
  body.insert(body.end(), properties.begin(), properties.end());
  return mqtt_bytes::packet(0x20, body);
}

// The reason code of a DISCONNECT the client sent (0x00 when it has none).
inline std::uint8_t disconnect_reason(const received_packet& p) {
  return p.body.empty() ? 0x00 : p.body[0];
}

// The whole packet again, fixed header included, for exact comparisons.
inline bytes wire_bytes(const received_packet& p) {
  bytes out{p.first_byte};
  mqtt_bytes::append_variable_length(out, p.body.size());
  out.insert(out.end(), p.body.begin(), p.body.end());
  return out;
}

}  // namespace coromqtt::test

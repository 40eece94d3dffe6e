// The two ends the proxy tests put around the proxy: a scriptable loopback server on its own thread, and a
// client whose every read has a timeout, so that a test waits for "nothing happens" without hanging.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace coromqtt::fault::test {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// Accepts connections on 127.0.0.1 and, for each, records what arrives and how the connection ended,
// answering each chunk read with reply(chunk) when that is not empty. Optionally sends a greeting on accept
// and a farewell when the client ends its side (before closing its own).
class loopback_server {
 public:
  using responder = std::function<std::string(std::string_view received)>;

  struct options {
    responder reply;       // nullptr: answer nothing
    std::string greeting;  // sent as soon as a connection is accepted
    std::string farewell;  // sent when the client's side ends, before closing
  };

  struct connection_record {
    std::string received;
    bool ended = false;    // the client's side ended (end of stream)
    error_code end_error;  // eof, connection_reset...
  };

  static std::string echo(std::string_view received) { return std::string(received); }

  explicit loopback_server(options how) : options_(std::move(how)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~loopback_server() {
    asio::post(io_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      for (auto& socket : sockets_) {
        socket->close(ignored);
      }
    });
    work_.reset();
    thread_.join();
  }

  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  std::uint16_t port() const { return port_; }

  std::vector<connection_record> connections() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

  // Waits until `condition` holds for the records (checked after each change), at most `timeout`.
  bool wait_until(const std::function<bool(const std::vector<connection_record>&)>& condition,
                  std::chrono::steady_clock::duration timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return condition(records_); });
  }

  // Sends `data` on every open connection, unprompted.
  void send_to_all(std::string data) {
    asio::post(io_, [this, data = std::move(data)] {
      for (auto& socket : sockets_) {
        if (socket->is_open()) {
          auto copy = std::make_shared<std::string>(data);
          asio::async_write(*socket, asio::buffer(*copy), [copy, socket](error_code, std::size_t) {});
        }
      }
    });
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, accepted] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      auto socket = std::make_shared<tcp::socket>(std::move(accepted));
      sockets_.push_back(socket);
      std::size_t index = 0;
      {
        std::lock_guard lock(mutex_);
        index = records_.size();
        records_.emplace_back();
      }
      changed_.notify_all();
      asio::co_spawn(io_, serve(socket, index), asio::detached);
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<tcp::socket> socket, std::size_t index) {
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    if (!options_.greeting.empty()) {
      co_await asio::async_write(*socket, asio::buffer(options_.greeting), use_tuple);
    }
    std::vector<char> buffer(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await socket->async_read_some(asio::buffer(buffer), use_tuple);
      if (ec) {
        {
          std::lock_guard lock(mutex_);
          records_[index].ended = true;
          records_[index].end_error = ec;
        }
        changed_.notify_all();
        if (ec == asio::error::eof && !options_.farewell.empty()) {
          co_await asio::async_write(*socket, asio::buffer(options_.farewell), use_tuple);
        }
        error_code ignored;
        socket->close(ignored);
        co_return;
      }
      const std::string_view received(buffer.data(), n);
      {
        std::lock_guard lock(mutex_);
        records_[index].received.append(received);
      }
      changed_.notify_all();
      if (options_.reply) {
        const std::string answer = options_.reply(received);
        if (!answer.empty()) {
          co_await asio::async_write(*socket, asio::buffer(answer), use_tuple);
        }
      }
    }
  }

  const options options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;  // the server thread's only

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<connection_record> records_;

  std::thread thread_;
};

// A client driven from the test thread. Each call runs the client's own io_context for at most its timeout.
class loopback_client {
 public:
  struct read_result {
    std::string data;
    error_code ec;  // eof, connection_reset; asio::error::timed_out if the time ran out first
    bool timed_out() const { return ec == asio::error::timed_out; }
  };

  explicit loopback_client(std::uint16_t port) { connect_error_ = connect(port); }

  // The result of the connection attempt (connection_refused when nothing listens).
  error_code connect_error() const { return connect_error_; }

  void send(std::string_view data) {
    error_code ec;
    asio::write(socket_, asio::buffer(data), ec);
    last_send_error_ = ec;
  }
  error_code last_send_error() const { return last_send_error_; }

  // Half-closes: the peer reads end of stream, and this client can still read.
  void shutdown_send() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  void close() {
    error_code ignored;
    socket_.close(ignored);
  }

  // Reads exactly `size` bytes, or fewer if the connection ends or the time runs out.
  read_result read_exactly(std::size_t size, std::chrono::steady_clock::duration timeout) {
    read_result result;
    result.data.resize(size);
    std::size_t got = 0;
    run_with_timeout(
        [&](auto done) {
          asio::async_read(socket_, asio::buffer(result.data), [&, done](error_code ec, std::size_t n) {
            got = n;
            result.ec = ec;
            done();
          });
        },
        timeout, result.ec);
    result.data.resize(got);
    return result;
  }

  // Reads until the connection ends or the time runs out.
  read_result read_until_closed(std::chrono::steady_clock::duration timeout) {
    read_result result;
    run_with_timeout(
        [&](auto done) {
          asio::async_read(socket_, asio::dynamic_buffer(result.data), [&, done](error_code ec, std::size_t) {
            result.ec = ec;
            done();
          });
        },
        timeout, result.ec);
    return result;
  }

 private:
  error_code connect(std::uint16_t port) {
    error_code ec;
    socket_.connect({asio::ip::address_v4::loopback(), port}, ec);
    if (!ec) {
      socket_.set_option(tcp::no_delay(true), ec);
    }
    return ec;
  }

  // Starts an operation and runs until it completes or `timeout` passes; on timeout, cancels it and sets
  // `ec` to timed_out once the cancellation completed (so nothing refers to the caller's data afterwards).
  template <class Start>
  void run_with_timeout(Start start, std::chrono::steady_clock::duration timeout, error_code& ec) {
    bool completed = false;
    start([&completed] { completed = true; });
    io_.restart();
    io_.run_for(timeout);
    if (!completed) {
      socket_.cancel();
      io_.restart();
      io_.run();
      ec = asio::error::timed_out;
    }
  }

  asio::io_context io_;
  tcp::socket socket_{io_};
  error_code connect_error_;
  error_code last_send_error_;
};

}  // namespace coromqtt::fault::test

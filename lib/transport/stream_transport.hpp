// The transport over one stream type: what differs between streams is in stream_ops<Stream>, specialised next
// to the code that connects that stream (tcp.cpp, tls.cpp, websocket.cpp). Internal to lib/transport.
#pragma once

#include "transport/steps.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <memory>
#include <string>
#include <utility>

namespace coromqtt::detail {

// Specialised per stream type with:
//   static asio::awaitable<error_code> read_some(Stream&, asio::mutable_buffer, std::size_t& bytes_read);
//   static asio::awaitable<error_code> write(Stream&, asio::const_buffer);
//   static asio::awaitable<void> graceful_close(Stream&);   // may fail or hang: it is bounded and followed
//   by close static void close(Stream&) noexcept;                      // closes the socket underneath
template <class Stream>
struct stream_ops;

template <class Stream>
class stream_transport final : public transport {
 public:
  // `keep_alive` holds what the stream was made from and must outlive it (the TLS context).
  stream_transport(Stream stream, std::string description, steady_duration close_timeout,
                   std::shared_ptr<void> keep_alive = nullptr)
      : keep_alive_(std::move(keep_alive)),
        stream_(std::move(stream)),
        description_(std::move(description)),
        close_timeout_(close_timeout) {}

  ~stream_transport() override { close(); }

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override {
    std::size_t bytes_read = 0;
    bool cancelled = co_await is_cancelled();
    if (cancelled) {
      ec = asio::error::operation_aborted;
    } else {
      ec = co_await ops::read_some(stream_, buffer, bytes_read);
    }
    co_return bytes_read;
  }

  asio::awaitable<void> write(asio::const_buffer buffer, error_code& ec) override {
    bool cancelled = co_await is_cancelled();
    if (cancelled) {
      ec = asio::error::operation_aborted;
    } else {
      ec = co_await ops::write(stream_, buffer);
    }
  }

  asio::awaitable<void> shutdown() override {
    using namespace asio::experimental::awaitable_operators;
    bool cancelled = co_await is_cancelled();
    if (!cancelled) {
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer deadline(executor, close_timeout_);
      auto closing = ops::graceful_close(stream_);
      auto deadline_passed = deadline.async_wait(use_nothrow_awaitable);
      auto race = std::move(closing) || std::move(deadline_passed);
      co_await std::move(race);
    }
    close();
  }

  void close() noexcept override { ops::close(stream_); }

  std::string description() const override { return description_; }

 private:
  using ops = stream_ops<Stream>;

  std::shared_ptr<void> keep_alive_;  // declared first: destroyed after the stream
  Stream stream_;
  std::string description_;
  steady_duration close_timeout_;
};

}  // namespace coromqtt::detail

// Helpers for client tests against a real mosquitto: run a coroutine to completion with a deadline, make
// clients for a broker, wait for conditions.
#pragma once

#include "support/mosquitto.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace coromqtt::test {

namespace asio = boost::asio;

// Whether the resident set size follows the memory the program holds. Not under AddressSanitizer: it keeps
// freed memory in quarantine (256 MB by default), so RSS grows whatever the program does. Memory bounds are
// checked in the plain builds; the sanitizer builds still check the queue bounds.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool rss_tracks_live_memory = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool rss_tracks_live_memory = false;
#else
inline constexpr bool rss_tracks_live_memory = true;
#endif
#else
inline constexpr bool rss_tracks_live_memory = true;
#endif
using namespace std::chrono_literals;

// Runs `body(io)` on a fresh io_context until it completes, failing the test if it takes longer than
// `deadline` (then the context is stopped, so a hung test ends instead of blocking the suite).
inline void run_async(const std::function<asio::awaitable<void>(asio::io_context&)>& body,
                      std::chrono::steady_clock::duration deadline = 30s) {
  asio::io_context io;
  std::exception_ptr failure;
  bool finished = false;
  asio::co_spawn(io, body(io), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
    io.stop();  // clients left running must not keep the context busy
  });
  io.run_for(deadline);
  REQUIRE(finished);  // otherwise: the test hung
  if (failure) std::rethrow_exception(failure);
}

inline client_options options_for(const mosquitto& broker, protocol_version version, std::string client_id = {}) {
  client_options o;
  o.brokers = {broker.url(listener::tcp)};
  o.version = version;
  o.client_id = std::move(client_id);
  if (o.client_id.empty() && version == protocol_version::v3_1_1) o.client_id = "coromqtt-test";
  o.reconnect.initial_delay = 50ms;
  o.reconnect.maximum_delay = 500ms;
  return o;
}

inline asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  asio::steady_timer timer{co_await asio::this_coro::executor, d};
  co_await timer.async_wait(asio::use_awaitable);
}

// Polls `condition` every few milliseconds until it holds or `deadline` passes; returns the last value.
inline asio::awaitable<bool> eventually(std::function<bool()> condition,
                                        std::chrono::steady_clock::duration deadline = 10s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) co_return false;
    co_await sleep_for(5ms);
  }
  co_return true;
}

// Receives one message or gives up after `deadline` (nullopt). The losing operation is cancelled through its
// cancellation slot, which also exercises the client's cancellation of a waiting receive. Both outcomes are
// looked at: a message that arrived as the timer fired is returned, not dropped.
inline asio::awaitable<std::optional<message>> receive_within(client& c, std::chrono::steady_clock::duration deadline) {
  asio::steady_timer timer{co_await asio::this_coro::executor, deadline};
  auto [order, receive_error, received, timer_error] =
      co_await asio::experimental::make_parallel_group(c.async_receive(asio::deferred), timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)order;
  (void)timer_error;
  if (!receive_error) co_return std::move(received);
  co_return std::nullopt;
}

}  // namespace coromqtt::test

// Runs a test's coroutine to completion on an io_context of its own.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>

namespace coromqtt::test {

// Runs the coroutine `make()` returns until it finishes, then rethrows what it threw (a failed REQUIRE inside
// it fails the test). One still running after `limit` is abandoned, and std::runtime_error thrown: a hung
// test must fail, not hang the suite.
void run_coroutine(const std::function<boost::asio::awaitable<void>()>& make,
                   std::chrono::steady_clock::duration limit = std::chrono::seconds(30));

// The same on a given io_context, run by the calling thread and `extra_threads` more.
void run_coroutine(boost::asio::io_context& context,
                   const std::function<boost::asio::awaitable<void>()>& make,
                   std::chrono::steady_clock::duration limit = std::chrono::seconds(30),
                   int extra_threads = 0);

}  // namespace coromqtt::test

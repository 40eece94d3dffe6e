#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <stdexcept>
#include <thread>
#include <vector>

namespace coromqtt::test {

void run_coroutine(boost::asio::io_context& context,
                   const std::function<boost::asio::awaitable<void>()>& make,
                   std::chrono::steady_clock::duration limit, int extra_threads) {
  bool finished = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(context, make(), [&](std::exception_ptr thrown) {
    finished = true;
    failure = thrown;
    context.stop();  // the test is over, whatever it left running
  });
  std::vector<std::jthread> threads;
  for (int i = 0; i < extra_threads; ++i) threads.emplace_back([&] { context.run_for(limit); });
  context.run_for(limit);
  threads.clear();  // joins
  if (failure) std::rethrow_exception(failure);
  if (!finished) throw std::runtime_error("the test coroutine did not finish in time");
}

void run_coroutine(const std::function<boost::asio::awaitable<void>()>& make,
                   std::chrono::steady_clock::duration limit) {
  boost::asio::io_context context;
  run_coroutine(context, make, limit);
}

}  // namespace coromqtt::test

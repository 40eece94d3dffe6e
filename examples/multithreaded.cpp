// One client shared by four threads of a thread pool: calls from any thread hop onto the client's strand.
//
//   multithreaded [broker-url]
#include <coromqtt/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <iostream>

namespace asio = boost::asio;

int main(int argc, char** argv) {
  asio::thread_pool pool{4};
  coromqtt::client_options options;
  options.brokers = {argc > 1 ? argv[1] : "mqtt://127.0.0.1:1883"};
  coromqtt::client client{pool.get_executor(), options};
  try {
    client.async_connect(asio::use_future).get();
    client.async_subscribe({{"coromqtt/example/mt/#", {coromqtt::qos::at_least_once}}}, asio::use_future).get();

    // Four coroutines on the pool publish at once; none waits for another's acknowledgement.
    std::atomic<int> published{0};
    std::vector<std::future<void>> publishers;
    for (int worker = 0; worker < 4; ++worker) {
      publishers.push_back(asio::co_spawn(
          pool,
          [&, worker]() -> asio::awaitable<void> {
            for (int i = 0; i < 100; ++i) {
              co_await client.co_publish("coromqtt/example/mt/" + std::to_string(worker), std::to_string(i),
                                         coromqtt::qos::at_least_once);
              ++published;
            }
          },
          asio::use_future));
    }
    for (auto& f : publishers) f.get();

    int received = 0;
    while (received < 400) {
      client.async_receive(asio::use_future).get();
      ++received;
    }
    std::cout << "published " << published << ", received " << received << "\n";
    client.async_disconnect({}, asio::use_future).get();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    pool.stop();
    pool.join();
    return 1;
  }
  pool.join();
  return 0;
}

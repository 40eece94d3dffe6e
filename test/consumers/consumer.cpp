// A program built against an installed coromqtt (pkg-config, CMake) or coromqtt as a meson subproject, by
// test/consumers/run. It uses only the public headers, as a user would:
//
//   consumer URL     connects, subscribes to a topic of its own, publishes one QoS 1 message, receives it back,
//                    disconnects; prints "received TOPIC PAYLOAD" and exits 0
//                    on any failure (a broker that is not there) prints "error: ..." and exits 1
#include <coromqtt/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <unistd.h>

namespace asio = boost::asio;

namespace {

asio::awaitable<void> round_trip(coromqtt::client& client, std::string topic) {
  co_await client.co_connect();
  co_await client.co_subscribe(topic, coromqtt::qos::at_least_once);
  co_await client.co_publish(topic, "hello from a consumer", coromqtt::qos::at_least_once);
  const auto m = co_await client.co_receive();
  std::cout << "received " << m.topic << " " << m.payload << "\n";
  co_await client.co_disconnect();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer URL\n";
    return 2;
  }
  asio::io_context io;
  coromqtt::client_options options;
  options.brokers = {argv[1]};
  coromqtt::client client{io, options};
  int status = 0;
  const std::string topic = "coromqtt/consumer/" + std::to_string(::getpid());
  asio::co_spawn(client.get_executor(), round_trip(client, topic), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "error: " << x.what() << "\n";
    }
    status = 1;
    client.stop();  // otherwise the client keeps reconnecting and io.run() does not return
  });
  io.run();
  return status;
}

// A coroutine that subscribes, publishes at each QoS and reads its own messages back.
//
//   publish_subscribe [broker-url]        (default mqtt://127.0.0.1:1883)
#include <coromqtt/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

namespace asio = boost::asio;

namespace {

asio::awaitable<void> demo(coromqtt::client& client) {
  const auto info = co_await client.co_connect();
  std::cout << "connected (session present: " << info.session_present << ")\n";

  co_await client.co_subscribe("coromqtt/example/#", coromqtt::qos::exactly_once);
  for (auto q : {coromqtt::qos::at_most_once, coromqtt::qos::at_least_once, coromqtt::qos::exactly_once}) {
    // Completes once queued (QoS 0), on PUBACK (QoS 1) or on PUBCOMP (QoS 2).
    co_await client.co_publish("coromqtt/example/qos" + std::to_string(int(q)), "hello", q);
  }
  for (int i = 0; i < 3; ++i) {
    const auto m = co_await client.co_receive();
    std::cout << m.topic << ": " << m.payload << " (QoS " << int(m.qos) << ")\n";
  }
  co_await client.co_disconnect();
}

}  // namespace

int main(int argc, char** argv) {
  asio::io_context io;
  coromqtt::client_options options;
  options.brokers = {argc > 1 ? argv[1] : "mqtt://127.0.0.1:1883"};
  coromqtt::client client{io, options};
  int status = 0;
  // Spawned on the client's strand, publishes take the fast path (no scheduler round trip).
  asio::co_spawn(client.get_executor(), demo(client), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "error: " << x.what() << "\n";
      status = 1;
      client.stop();  // otherwise it keeps reconnecting, and io.run() never returns
    }
  });
  io.run();
  return status;
}

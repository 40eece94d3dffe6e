// The client inside a plain Asio program that does not use coroutines: completion handlers only.
// A steady timer stands in for the rest of a server's work, sharing the io_context with the client.
//
//   callbacks [broker-url]
#include <coromqtt/client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <iostream>
#include <memory>

namespace asio = boost::asio;
using coromqtt::error_code;

class telemetry {
 public:
  telemetry(asio::io_context& io, std::string broker) : timer_{io}, client_{io, make_options(std::move(broker))} {}

  void start() {
    client_.async_connect([this](error_code ec, coromqtt::connection_info) {
      if (ec) return fail("connect", ec);
      client_.async_subscribe({{"coromqtt/example/telemetry", {coromqtt::qos::at_least_once}}},
                              [this](error_code subscribe_error, coromqtt::subscribe_result) {
                                if (subscribe_error) return fail("subscribe", subscribe_error);
                                receive();
                                tick();
                              });
    });
  }

  int status() const { return status_; }

 private:
  static coromqtt::client_options make_options(std::string broker) {
    coromqtt::client_options o;
    o.brokers = {std::move(broker)};
    return o;
  }

  void tick() {
    if (sent_ == 5) return;
    timer_.expires_after(std::chrono::milliseconds(20));
    timer_.async_wait([this](error_code ec) {
      if (ec) return;
      coromqtt::message m{"coromqtt/example/telemetry", "reading " + std::to_string(sent_++),
                          coromqtt::qos::at_least_once, false, {}};
      client_.async_publish(std::move(m), [this](error_code publish_error, coromqtt::publish_result) {
        if (publish_error) return fail("publish", publish_error);
        tick();
      });
    });
  }

  void receive() {
    client_.async_receive([this](error_code ec, coromqtt::message m) {
      if (ec) return fail("receive", ec);
      std::cout << "received " << m.payload << "\n";
      if (++received_ == 5)
        finish_when_done();
      else
        receive();
    });
  }

  // Every reading came back, but the broker's PUBACK for the last one may still be on its way. A QoS 1 publish
  // in flight at disconnect stays queued for a later connection (and its handler keeps io_context::run()
  // going), so wait for every acknowledgement first.
  void finish_when_done() {
    client_.async_flush(true, [this](error_code flush_error) {
      if (flush_error) return fail("flush", flush_error);
      client_.async_disconnect({}, [](error_code) { std::cout << "done\n"; });
    });
  }

  void fail(const char* what, error_code ec) {
    std::cerr << what << " failed: " << ec.message() << "\n";
    status_ = 1;
    client_.stop();
  }

  asio::steady_timer timer_;
  coromqtt::client client_;
  int sent_ = 0;
  int received_ = 0;
  int status_ = 0;
};

int main(int argc, char** argv) {
  asio::io_context io;
  telemetry app{io, argc > 1 ? argv[1] : "mqtt://127.0.0.1:1883"};
  app.start();
  io.run();
  return app.status();
}

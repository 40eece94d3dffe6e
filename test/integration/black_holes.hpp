// Loopback listeners where a connection attempt hangs, for tests of what ends an attempt before its timeout.
// Neither holds work on the io_context (no accept is pending), so io_context::run() returns when the client
// under test is done.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>

namespace coromqtt::test {

// A port where a TCP connect hangs like one to a black-holed address: a listener with a backlog of 0 whose
// accept queue is already full (one connection nobody accepts); Linux then drops further SYNs.
class full_backlog_listener {
 public:
  explicit full_backlog_listener(boost::asio::io_context& context) : acceptor_(context), filler_(context) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::address_v4::loopback(), 0});
    acceptor_.listen(0);
    filler_.connect(acceptor_.local_endpoint());
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket filler_;
};

// A port where the TCP connect succeeds (the kernel completes it into the accept queue) and then nothing ever
// answers: the client's CONNECT, TLS ClientHello or WebSocket upgrade request waits forever.
class unaccepted_listener {
 public:
  explicit unaccepted_listener(boost::asio::io_context& context) : acceptor_(context) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::address_v4::loopback(), 0});
    acceptor_.listen(64);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace coromqtt::test

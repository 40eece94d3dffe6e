// Connection attempts that fail, each with its own error: timeouts of every step, refused and unresolvable
// hosts, bad local addresses; and the bounds of the graceful close. All traffic stays on loopback.
#include "integration/black_holes.hpp"
#include "integration/transport_helpers.hpp"
#include "support/run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <list>

using namespace coromqtt;
using namespace coromqtt::test;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

// A loopback listener that accepts connections and never says a word: every handshake on it hangs.
class silent_listener {
 public:
  explicit silent_listener(asio::io_context& context)
      : acceptor_(context, {asio::ip::address_v4::loopback(), 0}) {
    accept_next();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept_next() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      accepted_.push_back(std::move(socket));  // held open, never read
      accept_next();
    });
  }
  tcp::acceptor acceptor_;
  std::list<tcp::socket> accepted_;
};

transport_options short_timeouts() {
  auto options = options_for(listener::tls);
  options.connect_timeout = 300ms;
  options.handshake_timeout = 300ms;
  return options;
}

}  // namespace

TEST_CASE("A TCP connect that gets no answer fails with connect_timeout", "[faults][integration]") {
  asio::io_context context;
  full_backlog_listener black_hole(context);
  auto kind = GENERATE(transport_kind::tcp, transport_kind::tls, transport_kind::websocket);
  endpoint where{.kind = kind, .host = "127.0.0.1", .port = black_hole.port()};
  auto options = short_timeouts();
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto started = std::chrono::steady_clock::now();
    auto result = co_await try_connect(where, options);
    auto elapsed = std::chrono::steady_clock::now() - started;
    CAPTURE(result.ec.message(), result.diagnostic);
    CHECK(result.ec == error::connect_timeout);
    CHECK(result.connected == nullptr);
    CHECK(result.diagnostic ==
          "connecting to 127.0.0.1:" + std::to_string(black_hole.port()) + " timed out after 300 ms");
    CHECK(elapsed >= 300ms);
    CHECK(elapsed < 2s);
  });
}

TEST_CASE("A server that accepts but never answers the handshake fails it with handshake_timeout",
          "[faults][integration]") {
  asio::io_context context;
  silent_listener silent(context);
  auto kind = GENERATE(transport_kind::tls, transport_kind::websocket, transport_kind::secure_websocket);
  endpoint where{.kind = kind, .host = "localhost", .port = silent.port(), .path = "/mqtt"};
  auto options = short_timeouts();
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto started = std::chrono::steady_clock::now();
    auto result = co_await try_connect(where, options);
    auto elapsed = std::chrono::steady_clock::now() - started;
    CAPTURE(result.ec.message(), result.diagnostic);
    CHECK(result.ec == error::handshake_timeout);
    CHECK(result.diagnostic.find("no answer within 300 ms") != std::string::npos);
    CHECK(elapsed >= 300ms);
    CHECK(elapsed < 2s);
  });
}

TEST_CASE("A host name that cannot be resolved fails with the resolver's error", "[faults][integration]") {
  // glibc rejects a name with '!' before asking any DNS server (res_hnok): nothing leaves this machine.
  endpoint where{.kind = transport_kind::tcp, .host = "no!such!host.invalid", .port = 1883};
  auto options = short_timeouts();
  run_coroutine([&]() -> asio::awaitable<void> {
    auto result = co_await try_connect(where, options);
    CAPTURE(result.ec.message(), result.diagnostic);
    CHECK(result.ec == asio::error::host_not_found);
    CHECK(result.diagnostic.starts_with("resolving no!such!host.invalid failed: "));
  });
}

TEST_CASE("A closed port fails with connection_refused, naming the address tried", "[faults][integration]") {
  std::uint16_t closed_port = 0;
  {
    asio::io_context context;
    tcp::acceptor probe(context, {asio::ip::address_v4::loopback(), 0});
    closed_port = probe.local_endpoint().port();
  }
  endpoint where{.kind = transport_kind::tcp, .host = "localhost", .port = closed_port};
  auto options = short_timeouts();
  run_coroutine([&]() -> asio::awaitable<void> {
    auto result = co_await try_connect(where, options);
    CAPTURE(result.diagnostic);
    CHECK(result.ec == asio::error::connection_refused);
    CHECK(result.diagnostic.find("connecting to 127.0.0.1:" + std::to_string(closed_port) + " failed") !=
          std::string::npos);
  });
}

TEST_CASE("An endpoint without a host fails with invalid_url", "[faults][integration]") {
  endpoint where{.kind = transport_kind::tcp, .port = 1883};
  transport_options options;
  run_coroutine([&]() -> asio::awaitable<void> {
    auto result = co_await try_connect(where, options);
    CHECK(result.ec == error::invalid_url);
  });
}

TEST_CASE("local_address binds the socket before connecting", "[faults][integration]") {
  mosquitto broker;
  auto where = broker.endpoint(listener::tcp);
  auto options = options_for(listener::tcp);

  SECTION("another loopback address: the broker sees the connection come from it") {
    options.local_address = "127.0.0.2";
    run_coroutine([&]() -> asio::awaitable<void> { co_await connect_or_fail(where, options); });
    CHECK(broker.wait_for_log("New connection from 127.0.0.2:"));
  }
  SECTION("not an address: invalid_argument") {
    options.local_address = "not-an-address";
    run_coroutine([&]() -> asio::awaitable<void> {
      auto result = co_await try_connect(where, options);
      CHECK(result.ec == error::invalid_argument);
      CHECK(result.diagnostic == "local_address \"not-an-address\" is not an IP address");
    });
  }
  SECTION("an IPv6 address for an IPv4 broker: no address of that family to try") {
    options.local_address = "::1";
    run_coroutine([&]() -> asio::awaitable<void> {
      auto result = co_await try_connect(where, options);
      CHECK(result.ec == asio::error::address_family_not_supported);
      CHECK(result.diagnostic == "no address of the local_address's IP family to connect to");
    });
  }
}

TEST_CASE("Unix socket paths that cannot work fail clearly", "[faults][integration]") {
  transport_options options;
  SECTION("no such socket") {
    endpoint where{.kind = transport_kind::unix_socket, .host = "/nonexistent/mosquitto.sock"};
    run_coroutine([&]() -> asio::awaitable<void> {
      auto result = co_await try_connect(where, options);
      CHECK(result.ec == boost::system::errc::no_such_file_or_directory);
    });
  }
  SECTION("a path longer than sockaddr_un holds") {
    endpoint where{.kind = transport_kind::unix_socket, .host = "/" + std::string(200, 'x')};
    run_coroutine([&]() -> asio::awaitable<void> {
      auto result = co_await try_connect(where, options);
      CHECK(result.ec == asio::error::name_too_long);
    });
  }
}

TEST_CASE("shutdown() is graceful with a broker that closes too, and bounded with one that does not",
          "[faults][integration]") {
  SECTION("with mosquitto, every transport's close completes well within close_timeout") {
    auto kind = GENERATE(listener::tcp, listener::tls, listener::websocket, listener::secure_websocket,
                         listener::unix_socket);
    CAPTURE(name_of(kind));
    mosquitto broker({.listeners = {kind}});
    auto where = broker.endpoint(kind);
    auto options = options_for(kind);
    options.close_timeout = 3s;
    run_coroutine([&]() -> asio::awaitable<void> {
      auto connection = co_await connect_or_fail(where, options);
      bytes pending;
      co_await mqtt_connect(*connection, version::v3_1_1, "closing", pending);
      auto disconnect = mqtt_bytes::disconnect();
      co_await write_or_fail(*connection, disconnect);
      auto started = std::chrono::steady_clock::now();
      co_await connection->shutdown();
      // The broker answered our close (FIN, close_notify or close frame) rather than the timer ending it.
      CHECK(std::chrono::steady_clock::now() - started < 1s);
    });
    CHECK(broker.wait_for_log("Client closing disconnected."));
  }
  SECTION("with a peer that never closes, shutdown() returns after close_timeout") {
    asio::io_context context;
    silent_listener silent(context);
    endpoint where{.kind = transport_kind::tcp, .host = "127.0.0.1", .port = silent.port()};
    auto options = short_timeouts();
    options.close_timeout = 200ms;
    run_coroutine(context, [&]() -> asio::awaitable<void> {
      auto connection = co_await connect_or_fail(where, options);
      auto started = std::chrono::steady_clock::now();
      co_await connection->shutdown();
      auto elapsed = std::chrono::steady_clock::now() - started;
      CHECK(elapsed >= 200ms);
      CHECK(elapsed < 2s);
      // And the transport is closed: a read fails at once.
      std::array<std::uint8_t, 16> buffer;
      error_code ec;
      co_await connection->read_some(asio::buffer(buffer), ec);
      CHECK(ec);
    });
  }
}

TEST_CASE("Cancelling connect_transport stops the attempt at once with operation_aborted",
          "[faults][integration]") {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context context;
  full_backlog_listener black_hole(context);
  endpoint where{.kind = transport_kind::tcp, .host = "127.0.0.1", .port = black_hole.port()};
  transport_options options;  // 10 s connect timeout: the cancellation must come first
  run_coroutine(context, [&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer give_up(executor, 100ms);
    attempt outcome;
    bool finished = false;
    auto attempt_and_record = [&]() -> asio::awaitable<void> {
      outcome = co_await try_connect(where, options);
      finished = true;
    };
    auto started = std::chrono::steady_clock::now();
    auto attempting = attempt_and_record();
    auto waiting = give_up.async_wait(asio::use_awaitable);
    auto race = std::move(attempting) || std::move(waiting);
    auto winner = co_await std::move(race);
    CHECK(winner.index() == 1);
    CHECK(finished);  // the cancelled attempt was awaited to its end
    CHECK(outcome.ec == asio::error::operation_aborted);
    CHECK(outcome.connected == nullptr);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  });
}

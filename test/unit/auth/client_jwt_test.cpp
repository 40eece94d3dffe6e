// The coromqtt client presenting JWTs to a real verifier: an aedes broker (node) that checks each token's
// signature, expiry and audience with the device's public key. RS256 and ES256 are let in, a token signed by
// another key is refused (reported once, no retry storm), and a token about to expire is replaced when the
// client reconnects. aedes 0.51 speaks MQTT 3.1.1 only. Without node or its packages: exit 77 (SKIP).
#define CATCH_CONFIG_RUNNER
#include "child_process.hpp"
#include "test_keys.hpp"

#include <coromqtt/client.hpp>
#include <coromqtt/jwt.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <string>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace coromqtt;
using coromqtt::test::child_process;
using coromqtt::test::temp_dir;
using coromqtt::test::test_key;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::filesystem::path scripts() { return environment("COROMQTT_NODE_SCRIPTS"); }

std::string why_cannot_run() {
  if (scripts().empty() || environment("COROMQTT_NODE").empty()) return "node or the test scripts were not found";
  for (const char* package : {"jsonwebtoken", "aedes"})
    if (!std::filesystem::exists(scripts() / "node_modules" / package / "package.json"))
      return std::string("test/node/node_modules has no ") + package;
  return {};
}

// An aedes broker trusting the given public keys, on a free loopback port.
class jwt_broker {
 public:
  explicit jwt_broker(const std::vector<std::filesystem::path>& public_keys) {
    std::vector<std::string> arguments{(scripts() / "aedes_jwt_broker.js").string(), "--audience", "coromqtt-test",
                                       "--port", "0"};
    for (const auto& key : public_keys) arguments.insert(arguments.end(), {"--public-key", key.string()});
    process_.emplace(environment("COROMQTT_NODE"), arguments);
    const auto line = process_->read_stdout_line(10s);
    INFO("broker stderr: " << process_->stderr_so_far());
    REQUIRE(line);
    REQUIRE(line->rfind("PORT ", 0) == 0);
    url_ = "mqtt://127.0.0.1:" + line->substr(5);
  }
  const std::string& url() const { return url_; }
  std::string log() { return process_->stderr_so_far(); }

 private:
  std::optional<child_process> process_;
  std::string url_;
};

client_options jwt_client(const jwt_broker& broker, const test_key& key, jwt_algorithm algorithm,
                          std::chrono::seconds lifetime = 60min, std::chrono::seconds margin = 5min) {
  jwt_options jwt;
  jwt.algorithm = algorithm;
  jwt.private_key_pem = key.private_pem();
  jwt.audience = "coromqtt-test";
  jwt.lifetime = lifetime;
  jwt.refresh_margin = margin;
  auto provider = jwt_credentials::create(jwt);
  REQUIRE(provider.has_value());
  client_options o;
  o.brokers = {broker.url()};
  o.version = protocol_version::v3_1_1;
  o.client_id = algorithm == jwt_algorithm::rs256 ? "rs256-device" : "es256-device";
  o.credentials = std::move(*provider);
  o.reconnect.initial_delay = 50ms;
  return o;
}

void run(const std::function<asio::awaitable<void>(asio::io_context&)>& body) {
  asio::io_context io;
  std::exception_ptr failure;
  bool finished = false;
  asio::co_spawn(io, body(io), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
    io.stop();
  });
  io.run_for(30s);
  REQUIRE(finished);
  if (failure) std::rethrow_exception(failure);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("RS256 and ES256 tokens let the client in; it publishes and receives", "[jwt][client]") {
  const temp_dir dir;
  jwt_broker broker{{dir.write("rsa.pem", test::rsa_2048_key().public_pem()),
                     dir.write("ec.pem", test::p256_key().public_pem())}};
  for (const auto algorithm : {jwt_algorithm::rs256, jwt_algorithm::es256}) {
    const test_key& key = algorithm == jwt_algorithm::rs256 ? test::rsa_2048_key() : test::p256_key();
    run([&](asio::io_context& io) -> asio::awaitable<void> {
      client c{io, jwt_client(broker, key, algorithm)};
      co_await c.co_connect();
      co_await c.co_subscribe("jwt/echo", qos::at_least_once);
      co_await c.co_publish("jwt/echo", "signed in", qos::at_least_once);
      const auto echo = co_await c.co_receive();  // never co_await inside a Catch2 macro
      CHECK(echo.payload == "signed in");
      co_await c.co_disconnect();
    });
  }
  const auto log = broker.log();
  CHECK(count(log, "accepted client=rs256-device alg=RS256") == 1);
  CHECK(count(log, "accepted client=es256-device alg=ES256") == 1);
}

TEST_CASE("a token signed with another key is refused once, without a retry storm", "[jwt][client]") {
  const temp_dir dir;
  jwt_broker broker{{dir.write("rsa.pem", test::rsa_2048_key().public_pem())}};
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    client c{io, jwt_client(broker, test::other_rsa_2048_key(), jwt_algorithm::rs256)};
    try {
      co_await c.co_connect();
      FAIL("the broker accepted a token signed with the wrong key");
    } catch (const mqtt_error& e) {
      CHECK(e.code() == error::connection_refused);
      CHECK(e.reason() == reason_code::bad_user_name_or_password);
    }
    asio::steady_timer settle{io, 300ms};
    co_await settle.async_wait(asio::use_awaitable);
    CHECK(c.statistics().connection_attempts == 1);
  });
  CHECK(count(broker.log(), "rejected client=rs256-device reason=JsonWebTokenError: invalid signature") == 1);
}

TEST_CASE("a token about to expire is replaced on reconnect", "[jwt][client]") {
  const temp_dir dir;
  jwt_broker broker{{dir.write("ec.pem", test::p256_key().public_pem())}};
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    // Tokens live 3 s and are renewed within 2 s of expiry: after 1.5 s the first one must not be reused.
    client c{io, jwt_client(broker, test::p256_key(), jwt_algorithm::es256, 3s, 2s)};
    co_await c.co_connect();
    asio::steady_timer wait{io, 1500ms};
    co_await wait.async_wait(asio::use_awaitable);
    c.reconnect();
    // The second connection: a new token (new iat/exp) accepted.
    for (int i = 0; i < 200 && count(broker.log(), "accepted client=es256-device") < 2; ++i) {
      asio::steady_timer poll{io, 20ms};
      co_await poll.async_wait(asio::use_awaitable);
    }
    co_await c.co_disconnect();
  });
  const auto log = broker.log();
  INFO(log);
  REQUIRE(count(log, "accepted client=es256-device") == 2);
  const std::regex accepted{"accepted client=es256-device alg=ES256 iat=(\\d+) exp=(\\d+)"};
  std::vector<long long> expiries;
  for (std::sregex_iterator it{log.begin(), log.end(), accepted}, end; it != end; ++it)
    expiries.push_back(std::stoll((*it)[2]));
  REQUIRE(expiries.size() == 2);
  CHECK(expiries[1] > expiries[0]);  // a fresh token, not the cached one
}

int main(int argc, char* argv[]) {
  if (const auto why = why_cannot_run(); !why.empty()) {
    std::cout << "SKIP: " << why << '\n';
    return 77;
  }
  return Catch::Session().run(argc, argv);
}

// MQTT 5 enhanced authentication [MQTT-4.12], scripted: the harness plays the broker's side of the exchange.
#include "session_harness.hpp"

#include <coromqtt/authenticator.hpp>

#include <stdexcept>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

// A toy challenge/response: answers each challenge with "response:<challenge>", aborts on "stop".
class scripted_authenticator final : public authenticator {
 public:
  std::string method() const override { return "TOY-1"; }
  std::optional<std::string> initial_data() override { return "hello:" + std::to_string(++starts); }
  authentication_step challenge(std::string_view data) override {
    challenges.emplace_back(data);
    if (data == "stop") return {std::nullopt, true};
    return {"response:" + std::string(data), false};
  }
  void succeeded(std::string_view data) override { successes.emplace_back(data); }

  int starts = 0;
  std::vector<std::string> challenges;
  std::vector<std::string> successes;
};

proto::auth broker_auth(reason_code reason, std::string_view method, const std::string& data) {
  proto::auth a;
  a.reason = reason;
  a.properties.authentication_method = method;
  a.properties.authentication_data = proto::byte_view{reinterpret_cast<const std::uint8_t*>(data.data()), data.size()};
  return a;
}

std::string text(const std::optional<proto::byte_view>& b) {
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : "<none>";
}

struct auth_harness {
  std::shared_ptr<scripted_authenticator> auth = std::make_shared<scripted_authenticator>();
  harness h{[this] {
    client_options o;
    o.authenticator = auth;
    return o;
  }()};
};

}  // namespace

TEST_CASE("enhanced authentication: CONNECT carries the method and initial data [MQTT-4.12.0-5]", "[session][auth]") {
  auth_harness a;
  a.h.session->begin_connection({}, a.h.now);
  const auto w = a.h.take_one();
  const auto& c = w.as<proto::connect>();
  CHECK(c.properties.authentication_method == std::optional<std::string_view>{"TOY-1"});
  CHECK(text(c.properties.authentication_data) == "hello:1");
}

TEST_CASE("enhanced authentication: challenge, response, success", "[session][auth]") {
  auth_harness a;
  a.h.session->begin_connection({}, a.h.now);
  a.h.take_written();
  REQUIRE_FALSE(a.h.feed(broker_auth(reason_code::continue_authentication, "TOY-1", "nonce-1")));
  const auto w = a.h.take_one();
  const auto& response = w.as<proto::auth>();
  CHECK(response.reason == reason_code::continue_authentication);
  CHECK(response.properties.authentication_method == std::optional<std::string_view>{"TOY-1"});
  CHECK(text(response.properties.authentication_data) == "response:nonce-1");
  // AUTH 0x18 with its method: the fixed header 0xF0 [MQTT-3.15.1-1].
  CHECK(w.bytes[0] == 0xF0);

  proto::connack ok;
  ok.properties.authentication_method = "TOY-1";
  const std::string final_data = "welcome";
  ok.properties.authentication_data =
      proto::byte_view{reinterpret_cast<const std::uint8_t*>(final_data.data()), final_data.size()};
  REQUIRE_FALSE(a.h.feed(ok));
  CHECK(a.h.session->state() == detail::session_state::connected);
  CHECK(a.auth->challenges == std::vector<std::string>{"nonce-1"});
  CHECK(a.auth->successes == std::vector<std::string>{"welcome"});
}

TEST_CASE("enhanced authentication: the authenticator gives up", "[session][auth]") {
  auth_harness a;
  a.h.session->begin_connection({}, a.h.now);
  a.h.take_written();
  CHECK(a.h.feed(broker_auth(reason_code::continue_authentication, "TOY-1", "stop")) == error::authentication_failed);
}

TEST_CASE("enhanced authentication: the broker refuses", "[session][auth]") {
  auth_harness a;
  a.h.session->begin_connection({}, a.h.now);
  a.h.take_written();
  proto::connack refused;
  refused.reason = reason_code::bad_authentication_method;
  CHECK(a.h.feed(refused) == error::connection_refused);
  CHECK(a.h.session->last_error().reason == reason_code::bad_authentication_method);
}

TEST_CASE("enhanced authentication: AUTH with another method is a protocol error [MQTT-4.12.0-5]",
          "[session][auth]") {
  auth_harness a;
  a.h.session->begin_connection({}, a.h.now);
  a.h.take_written();
  CHECK(a.h.feed(broker_auth(reason_code::continue_authentication, "OTHER", "x")) == error::protocol_violation);
  CHECK(a.h.session->last_error().reason == reason_code::protocol_error);
}

TEST_CASE("AUTH without an authenticator is a protocol error [MQTT-4.12.0-6]", "[session][auth]") {
  harness h;
  h.connect();
  CHECK(h.feed(broker_auth(reason_code::continue_authentication, "TOY-1", "x")) == error::protocol_violation);
}

TEST_CASE("re-authentication: AUTH 0x19, challenge, success [MQTT-4.12.1]", "[session][auth]") {
  auth_harness a;
  a.h.session->begin_connection({}, a.h.now);
  a.h.take_written();
  proto::connack ok;
  ok.properties.authentication_method = "TOY-1";
  REQUIRE_FALSE(a.h.feed(ok));

  REQUIRE_FALSE(a.h.session->reauthenticate());
  const auto start = a.h.take_one();
  CHECK(start.as<proto::auth>().reason == reason_code::re_authenticate);
  CHECK(text(start.as<proto::auth>().properties.authentication_data) == "hello:2");

  REQUIRE_FALSE(a.h.feed(broker_auth(reason_code::continue_authentication, "TOY-1", "nonce-2")));
  CHECK(text(a.h.take_one().as<proto::auth>().properties.authentication_data) == "response:nonce-2");
  CHECK(a.h.session->reauthentications() == 0);
  REQUIRE_FALSE(a.h.feed(broker_auth(reason_code::success, "TOY-1", "again")));
  CHECK(a.h.session->reauthentications() == 1);
  CHECK(a.auth->successes.back() == "again");

  // A success nobody asked for is a protocol error.
  CHECK(a.h.feed(broker_auth(reason_code::success, "TOY-1", "")) == error::protocol_violation);
}

TEST_CASE("re-authentication needs MQTT 5, an authenticator and a connection", "[session][auth]") {
  harness plain;
  plain.connect();
  CHECK(plain.session->reauthenticate() == error::invalid_argument);
  auth_harness a;
  CHECK(a.h.session->reauthenticate() == error::not_connected);
}

namespace {

// Throws from the one call it is told to (issue 12, point 2): user code the session must contain.
class throwing_authenticator final : public authenticator {
 public:
  enum class call { method, initial_data, challenge, succeeded };
  explicit throwing_authenticator(call c) : throws_in{c} {}
  std::string method() const override {
    if (throws_in == call::method) throw std::runtime_error{"method"};
    return "TOY-1";
  }
  std::optional<std::string> initial_data() override {
    if (throws_in == call::initial_data && ++starts > starts_before_throwing) throw std::runtime_error{"start"};
    return "hello";
  }
  authentication_step challenge(std::string_view) override {
    if (throws_in == call::challenge) throw std::runtime_error{"challenge"};
    return {"response", false};
  }
  void succeeded(std::string_view) override {
    if (throws_in == call::succeeded) throw std::runtime_error{"succeeded"};
  }

  call throws_in;
  int starts = 0;
  int starts_before_throwing = 0;  // 1: the CONNECT goes out, the re-authentication throws
};

harness with_authenticator(std::shared_ptr<authenticator> a) {
  client_options o;
  o.authenticator = std::move(a);
  return harness{o};
}

}  // namespace

TEST_CASE("enhanced authentication: an authenticator that throws before CONNECT fails the attempt",
          "[session][auth][callbacks]") {
  const auto which = GENERATE(throwing_authenticator::call::method, throwing_authenticator::call::initial_data);
  auto h = with_authenticator(std::make_shared<throwing_authenticator>(which));
  h.session->begin_connection({}, h.now);
  CHECK(h.session->last_error().error == error::authentication_failed);
  CHECK_FALSE(h.session->has_output());  // no CONNECT half made
  CHECK(h.session->state() == detail::session_state::disconnected);
}

TEST_CASE("enhanced authentication: a challenge step that throws gives up like an abort", "[session][auth][callbacks]") {
  auto h = with_authenticator(std::make_shared<throwing_authenticator>(throwing_authenticator::call::challenge));
  h.session->begin_connection({}, h.now);
  h.take_written();
  CHECK(h.feed(broker_auth(reason_code::continue_authentication, "TOY-1", "nonce")) == error::authentication_failed);
  CHECK(h.session->last_error().error == error::authentication_failed);
  CHECK_FALSE(h.session->has_output());  // no AUTH answer
}

TEST_CASE("enhanced authentication: a success callback that throws fails the attempt", "[session][auth][callbacks]") {
  auto h = with_authenticator(std::make_shared<throwing_authenticator>(throwing_authenticator::call::succeeded));
  h.session->begin_connection({}, h.now);
  h.take_written();
  proto::connack ok;
  ok.properties.authentication_method = "TOY-1";
  CHECK(h.feed(ok) == error::authentication_failed);
}

TEST_CASE("re-authentication: an authenticator that throws fails it, and nothing is sent", "[session][auth][callbacks]") {
  auto thrower = std::make_shared<throwing_authenticator>(throwing_authenticator::call::initial_data);
  thrower->starts_before_throwing = 1;
  auto h = with_authenticator(thrower);
  h.session->begin_connection({}, h.now);
  h.take_written();
  proto::connack ok;
  ok.properties.authentication_method = "TOY-1";
  REQUIRE_FALSE(h.feed(ok));
  CHECK(h.session->reauthenticate() == error::authentication_failed);
  CHECK(h.session->last_error().error == error::authentication_failed);
  CHECK_FALSE(h.session->has_output());
}

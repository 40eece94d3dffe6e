// coromqtt's JWTs checked by independent implementations in node: npm jsonwebtoken verifies them
// ([verifier]), and an aedes broker authenticating with them lets MQTT.js in or not ([aedes]).
// Without node or test/node/node_modules, the executable exits 77 (SKIP) and says why.
#define CATCH_CONFIG_RUNNER
#include "child_process.hpp"
#include "test_keys.hpp"

#include <coromqtt/jwt.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using coromqtt::jwt_algorithm;
using coromqtt::jwt_credentials;
using coromqtt::jwt_options;
using coromqtt::test::child_process;
using coromqtt::test::other_rsa_2048_key;
using coromqtt::test::p256_key;
using coromqtt::test::rsa_2048_key;
using coromqtt::test::run_process;
using coromqtt::test::temp_dir;
using coromqtt::test::test_key;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string node() {
  return environment("COROMQTT_NODE");
}
std::filesystem::path scripts() {
  return environment("COROMQTT_NODE_SCRIPTS");
}

// Empty when everything the tests need is there; otherwise why not.
std::string why_node_tests_cannot_run() {
  if (scripts().empty()) {
    return "COROMQTT_NODE_SCRIPTS is not set (run this through meson test)";
  }
  if (node().empty()) {
    return "node was not found when the build was configured";
  }
  if (::access(node().c_str(), X_OK) != 0) {
    return "cannot execute " + node();
  }
  for (const char* package : {"jsonwebtoken", "aedes", "mqtt"}) {
    if (!std::filesystem::exists(scripts() / "node_modules" / package / "package.json")) {
      return "test/node/node_modules has no " + std::string(package) + " (run `npm ci` in test/node)";
    }
  }
  return {};
}

std::string sign(const test_key& key, jwt_algorithm algorithm, std::chrono::system_clock::time_point now,
                 const std::string& audience = "coromqtt-test") {
  jwt_options options;
  options.algorithm = algorithm;
  options.private_key_pem = key.private_pem();
  options.audience = audience;
  options.extra_claims = {{"sub", "device-1"}};
  const auto provider = jwt_credentials::create(options);
  REQUIRE(provider.has_value());
  coromqtt::credential_request request;
  request.system_now = now;
  const auto presented = provider.value()(request);
  REQUIRE(presented.has_value());
  return presented.value().password.value();
}

std::chrono::system_clock::time_point whole_seconds_now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

long long seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

child_process::outcome verify(const std::string& token, const std::filesystem::path& public_key,
                              const std::string& audience = "coromqtt-test") {
  return run_process(node(), {(scripts() / "verify_jwt.js").string(), token, public_key.string(), audience});
}

}  // namespace

TEST_CASE("jsonwebtoken accepts RS256 and ES256 tokens and reads the claims coromqtt put in", "[verifier]") {
  const temp_dir dir;
  const auto algorithm = GENERATE(jwt_algorithm::rs256, jwt_algorithm::es256);
  const test_key& key = algorithm == jwt_algorithm::rs256 ? rsa_2048_key() : p256_key();
  const auto now = whole_seconds_now();
  const auto result = verify(sign(key, algorithm, now), dir.write("public.pem", key.public_pem()));
  INFO(result.err);
  REQUIRE(result.exit_status == 0);
  const std::string alg = algorithm == jwt_algorithm::rs256 ? "RS256" : "ES256";
  CHECK(result.out == R"({"header":{"alg":")" + alg + R"(","typ":"JWT"},"payload":{"iat":)" +
                          std::to_string(seconds_since_epoch(now)) +
                          ",\"exp\":" + std::to_string(seconds_since_epoch(now + 60min)) +
                          R"(,"aud":"coromqtt-test","sub":"device-1"}})" + "\n");
}

TEST_CASE("jsonwebtoken rejects a token signed with another key", "[verifier]") {
  const temp_dir dir;
  const auto now = whole_seconds_now();
  SECTION("RS256") {
    const auto result = verify(sign(rsa_2048_key(), jwt_algorithm::rs256, now),
                               dir.write("other.pem", other_rsa_2048_key().public_pem()));
    CHECK(result.exit_status == 1);
    CHECK(result.err == "JsonWebTokenError: invalid signature\n");
  }
  SECTION("ES256") {
    const auto result = verify(sign(p256_key(), jwt_algorithm::es256, now),
                               dir.write("other.pem", test_key::ec("P-256").public_pem()));
    CHECK(result.exit_status == 1);
    CHECK(result.err == "JsonWebTokenError: invalid signature\n");
  }
}

TEST_CASE("jsonwebtoken rejects an expired token and one for another audience", "[verifier]") {
  const temp_dir dir;
  const auto public_key = dir.write("public.pem", p256_key().public_pem());
  SECTION("issued two hours ago with the default 60 minute lifetime") {
    const auto result = verify(sign(p256_key(), jwt_algorithm::es256, whole_seconds_now() - 2h), public_key);
    CHECK(result.exit_status == 1);
    CHECK(result.err == "TokenExpiredError: jwt expired\n");
  }
  SECTION("audience") {
    const auto result =
        verify(sign(p256_key(), jwt_algorithm::es256, whole_seconds_now()), public_key, "elsewhere");
    CHECK(result.exit_status == 1);
    CHECK(result.err == "JsonWebTokenError: jwt audience invalid. expected: elsewhere\n");
  }
}

TEST_CASE("an aedes broker lets MQTT.js in with a valid coromqtt JWT and refuses bad ones", "[aedes]") {
  const temp_dir dir;
  const auto rsa_public = dir.write("rsa.pem", rsa_2048_key().public_pem());
  const auto ec_public = dir.write("ec.pem", p256_key().public_pem());
  child_process broker(node(),
                       {(scripts() / "aedes_jwt_broker.js").string(), "--public-key", rsa_public.string(),
                        "--public-key", ec_public.string(), "--audience", "coromqtt-test", "--port", "0"});
  const auto port_line = broker.read_stdout_line(10s);
  INFO("broker stderr: " << broker.stderr_so_far());
  REQUIRE(port_line.has_value());
  REQUIRE(port_line->rfind("PORT ", 0) == 0);
  const std::string port = port_line->substr(5);

  const auto connect = [&](const std::string& client_id, std::optional<std::string> password) {
    std::vector<std::string> arguments{(scripts() / "mqtt_connect.js").string(),
                                       "--port",
                                       port,
                                       "--client-id",
                                       client_id,
                                       "--username",
                                       "unused"};
    if (password) {
      arguments.insert(arguments.end(), {"--password", *password});
    }
    const auto result = run_process(node(), arguments);
    INFO("mqtt_connect stderr: " << result.err);
    CHECK(result.exit_status == 0);
    return result.out;
  };
  const auto now = whole_seconds_now();

  CHECK(connect("rs256-valid", sign(rsa_2048_key(), jwt_algorithm::rs256, now)) == "CONNACK 0\n");
  CHECK(connect("es256-valid", sign(p256_key(), jwt_algorithm::es256, now)) == "CONNACK 0\n");
  // 4: "bad user name or password" in MQTT 3.1.1.
  CHECK(connect("other-key", sign(other_rsa_2048_key(), jwt_algorithm::rs256, now)) == "CONNACK 4\n");
  CHECK(connect("expired", sign(p256_key(), jwt_algorithm::es256, now - 2h)) == "CONNACK 4\n");
  CHECK(connect("audience", sign(p256_key(), jwt_algorithm::es256, now, "elsewhere")) == "CONNACK 4\n");
  CHECK(connect("no-password", std::nullopt) == "CONNACK 4\n");

  const auto stopped = broker.terminate(5s);
  CHECK_FALSE(stopped.timed_out);
  CHECK(stopped.exit_status == 0);
  const std::string& log = stopped.err;
  INFO("broker log:\n" << log);
  CHECK(log.find("accepted client=rs256-valid alg=RS256 iat=" + std::to_string(seconds_since_epoch(now))) !=
        std::string::npos);
  CHECK(log.find("accepted client=es256-valid alg=ES256") != std::string::npos);
  CHECK(log.find("rejected client=other-key reason=JsonWebTokenError: invalid signature") !=
        std::string::npos);
  CHECK(log.find("rejected client=expired reason=TokenExpiredError: jwt expired") != std::string::npos);
  CHECK(log.find("rejected client=audience reason=JsonWebTokenError: jwt audience invalid") !=
        std::string::npos);
  CHECK(log.find("rejected client=no-password reason=no password") != std::string::npos);
}

int main(int argc, char* argv[]) {
  if (const std::string why = why_node_tests_cannot_run(); !why.empty()) {
    std::cout << "SKIP: " << why << '\n';
    return 77;  // meson's "skipped"
  }
  return Catch::Session().run(argc, argv);
}

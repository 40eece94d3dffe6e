// The JWT signer and the caching JWT credential provider, checked in-process: exact header and claims, the
// signature against the public key, key loading errors, and the refresh logic on a fake clock.
// jwt_node_test.cpp checks the same tokens with an independent verifier.
#include "auth/encoding.hpp"
#include "test_keys.hpp"

#include <coromqtt/jwt.hpp>

#include <catch2/catch.hpp>
#include <openssl/err.h>

#include <array>
#include <string>

namespace {

using namespace std::chrono_literals;
using coromqtt::auth_error;
using coromqtt::credential_request;
using coromqtt::jwt_algorithm;
using coromqtt::jwt_credentials;
using coromqtt::jwt_options;
using coromqtt::jwt_signer;
using coromqtt::test::other_rsa_2048_key;
using coromqtt::test::p256_key;
using coromqtt::test::rsa_2048_key;
using coromqtt::test::temp_dir;
using coromqtt::test::test_key;

// 2023-11-14T22:13:20Z, a whole second.
const std::chrono::system_clock::time_point fixed_time{std::chrono::seconds(1'700'000'000)};

struct decoded_token {
  std::string header;
  std::string claims;
  std::string signature;
};

decoded_token decode(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  REQUIRE(token.find('.', second + 1) == std::string::npos);
  auto header = coromqtt::detail::base64url_decode(std::string_view(token).substr(0, first));
  auto claims =
      coromqtt::detail::base64url_decode(std::string_view(token).substr(first + 1, second - first - 1));
  auto signature = coromqtt::detail::base64url_decode(std::string_view(token).substr(second + 1));
  REQUIRE(header.has_value());
  REQUIRE(claims.has_value());
  REQUIRE(signature.has_value());
  return {*header, *claims, *signature};
}

jwt_options options_for(const test_key& key, jwt_algorithm algorithm) {
  jwt_options options;
  options.algorithm = algorithm;
  options.private_key_pem = key.private_pem();
  options.audience = "my-project";
  return options;
}

std::string sign_once(const jwt_options& options, std::chrono::system_clock::time_point now = fixed_time) {
  auto signer = jwt_signer::create(options);
  REQUIRE(signer.has_value());
  auto token = signer->sign(now);
  REQUIRE(token.has_value());
  return *token;
}

boost::system::error_code creation_error(const jwt_options& options) {
  auto signer = jwt_signer::create(options);
  REQUIRE(signer.has_error());
  // A failure leaves nothing on OpenSSL's per-thread error queue for the next TLS handshake to trip over.
  CHECK(ERR_peek_error() == 0);
  return signer.error();
}

credential_request request_at(std::chrono::system_clock::time_point now, bool rejected = false) {
  credential_request request;
  request.system_now = now;
  request.steady_now = std::chrono::steady_clock::time_point{} + now.time_since_epoch();
  request.previous_attempt_rejected_credentials = rejected;
  return request;
}

std::string password_at(const jwt_credentials& provider, std::chrono::system_clock::time_point now,
                        bool rejected = false) {
  const auto presented = provider(request_at(now, rejected));
  REQUIRE(presented.has_value());
  return presented.value().password.value();
}

}  // namespace

TEST_CASE("RS256 token: exact header and claims, a 256-byte signature the public key verifies", "[jwt]") {
  const std::string token = sign_once(options_for(rsa_2048_key(), jwt_algorithm::rs256));
  const auto parts = decode(token);
  CHECK(parts.header == R"({"alg":"RS256","typ":"JWT"})");
  CHECK(parts.claims == R"({"iat":1700000000,"exp":1700003600,"aud":"my-project"})");
  CHECK(parts.signature.size() == 256);
  CHECK(token.find('=') == std::string::npos);
  CHECK(rsa_2048_key().verifies(token, jwt_algorithm::rs256));
  CHECK_FALSE(other_rsa_2048_key().verifies(token, jwt_algorithm::rs256));
}

TEST_CASE("ES256 token: the signature is R || S, 64 bytes, not DER, and verifies", "[jwt]") {
  const std::string token = sign_once(options_for(p256_key(), jwt_algorithm::es256));
  const auto parts = decode(token);
  CHECK(parts.header == R"({"alg":"ES256","typ":"JWT"})");
  CHECK(parts.claims == R"({"iat":1700000000,"exp":1700003600,"aud":"my-project"})");
  CHECK(parts.signature.size() == 64);  // DER would be SEQUENCE { INTEGER, INTEGER }, 70 to 72 bytes
  CHECK(p256_key().verifies(token, jwt_algorithm::es256));
  CHECK_FALSE(test_key::ec("P-256").verifies(token, jwt_algorithm::es256));
}

TEST_CASE("a token whose claims were altered no longer verifies", "[jwt]") {
  const auto algorithm = GENERATE(jwt_algorithm::rs256, jwt_algorithm::es256);
  const test_key& key = algorithm == jwt_algorithm::rs256 ? rsa_2048_key() : p256_key();
  const std::string token = sign_once(options_for(key, algorithm));
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  const std::string forged_claims =
      coromqtt::detail::base64url_encode(R"({"iat":1700000000,"exp":1900000000,"aud":"my-project"})");
  const std::string forged = token.substr(0, first + 1) + forged_claims + token.substr(second);
  CHECK(key.verifies(token, algorithm));
  CHECK_FALSE(key.verifies(forged, algorithm));
}

TEST_CASE("RS256 signatures are deterministic, ES256 signatures are not but all verify", "[jwt]") {
  const auto rs256 = jwt_signer::create(options_for(rsa_2048_key(), jwt_algorithm::rs256));
  REQUIRE(rs256.has_value());
  CHECK(rs256->sign(fixed_time).value() == rs256->sign(fixed_time).value());

  const auto es256 = jwt_signer::create(options_for(p256_key(), jwt_algorithm::es256));
  REQUIRE(es256.has_value());
  const std::string first = es256->sign(fixed_time).value();
  const std::string second = es256->sign(fixed_time).value();
  CHECK(first != second);  // a fresh random nonce per signature
  CHECK(p256_key().verifies(first, jwt_algorithm::es256));
  CHECK(p256_key().verifies(second, jwt_algorithm::es256));
}

TEST_CASE("claims: configurable lifetime, whole seconds, extra claims in order, kid, JSON escaping",
          "[jwt]") {
  jwt_options options = options_for(rsa_2048_key(), jwt_algorithm::rs256);
  options.lifetime = 20min;
  options.audience = "proj \"x\"\\y";
  options.extra_claims = {{"sub", "device-42"}, {"note", "line\nbreak"}, {"ünï", "çødé"}};
  options.key_id = "key-1";
  const auto parts = decode(sign_once(options, fixed_time + 999ms));  // iat is truncated, not rounded
  CHECK(parts.header == R"({"alg":"RS256","typ":"JWT","kid":"key-1"})");
  CHECK(parts.claims == R"({"iat":1700000000,"exp":1700001200,"aud":"proj \"x\"\\y","sub":"device-42",)"
                        R"("note":"line\nbreak","ünï":"çødé"})");
}

TEST_CASE("an empty audience leaves the aud claim out", "[jwt]") {
  jwt_options options = options_for(p256_key(), jwt_algorithm::es256);
  options.audience.clear();
  CHECK(decode(sign_once(options)).claims == R"({"iat":1700000000,"exp":1700003600})");
}

TEST_CASE("the private key may come in every PEM form a device holds it in", "[jwt][key]") {
  const temp_dir dir;
  SECTION("traditional RSA PRIVATE KEY") {
    jwt_options options = options_for(rsa_2048_key(), jwt_algorithm::rs256);
    options.private_key_pem = rsa_2048_key().traditional_private_pem();
    REQUIRE(options.private_key_pem.find("BEGIN RSA PRIVATE KEY") != std::string::npos);
    CHECK(rsa_2048_key().verifies(sign_once(options), jwt_algorithm::rs256));
  }
  SECTION("EC PRIVATE KEY after an EC PARAMETERS block, as `openssl ecparam -genkey` writes it") {
    jwt_options options = options_for(p256_key(), jwt_algorithm::es256);
    options.private_key_pem = p256_key().parameters_pem() + p256_key().traditional_private_pem();
    REQUIRE(options.private_key_pem.rfind("-----BEGIN EC PARAMETERS-----", 0) == 0);
    CHECK(p256_key().verifies(sign_once(options), jwt_algorithm::es256));
  }
  SECTION("encrypted PKCS#8 with its password") {
    jwt_options options = options_for(p256_key(), jwt_algorithm::es256);
    options.private_key_pem = p256_key().encrypted_private_pem("correct horse");
    options.private_key_password = "correct horse";
    REQUIRE(options.private_key_pem.find("BEGIN ENCRYPTED PRIVATE KEY") != std::string::npos);
    CHECK(p256_key().verifies(sign_once(options), jwt_algorithm::es256));
  }
  SECTION("from a file, encrypted") {
    jwt_options options = options_for(rsa_2048_key(), jwt_algorithm::rs256);
    options.private_key_pem.clear();
    options.private_key_file = dir.write("device.pem", rsa_2048_key().encrypted_private_pem("pw"));
    options.private_key_password = "pw";
    CHECK(rsa_2048_key().verifies(sign_once(options), jwt_algorithm::rs256));
  }
}

TEST_CASE("key problems are reported as clear errors when the signer is made", "[jwt][key][error]") {
  const temp_dir dir;
  jwt_options options = options_for(rsa_2048_key(), jwt_algorithm::rs256);

  SECTION("no key, or both a PEM and a file") {
    options.private_key_pem.clear();
    CHECK(creation_error(options) == auth_error::jwt_key_source);
    options.private_key_pem = rsa_2048_key().private_pem();
    options.private_key_file = dir.write("key.pem", rsa_2048_key().private_pem());
    CHECK(creation_error(options) == auth_error::jwt_key_source);
  }
  SECTION("a missing file, a directory") {
    options.private_key_pem.clear();
    options.private_key_file = dir.path() / "missing.pem";
    CHECK(creation_error(options) == boost::system::errc::no_such_file_or_directory);
    options.private_key_file = dir.path();
    CHECK(creation_error(options) == boost::system::errc::is_a_directory);
  }
  SECTION("not a private key: garbage, a truncated PEM, a public key, an empty file") {
    const std::string pem = rsa_2048_key().private_pem();
    const std::string not_a_key = GENERATE_COPY(as<std::string>{}, "hello", pem.substr(0, pem.size() / 2),
                                                rsa_2048_key().public_pem(), std::string("\0\xff\x30", 3));
    options.private_key_pem = not_a_key;
    CHECK(creation_error(options) == auth_error::jwt_key_invalid);
    options.private_key_pem.clear();
    options.private_key_file = dir.write("empty.pem", "");
    CHECK(creation_error(options) == auth_error::jwt_key_invalid);
  }
  SECTION("an encrypted key without its password, or with a wrong one") {
    options.private_key_pem = rsa_2048_key().encrypted_private_pem("right");
    const auto error_without = creation_error(options);
    CHECK(error_without == auth_error::jwt_key_password_required);
    CHECK(error_without.message() == "JWT: the private key is encrypted and no password was given");
    options.private_key_password = "wrong";
    CHECK(creation_error(options) == auth_error::jwt_key_password_wrong);
  }
  SECTION("a key of the wrong type for the algorithm") {
    options = options_for(p256_key(), jwt_algorithm::rs256);
    CHECK(creation_error(options) == auth_error::jwt_key_algorithm_mismatch);
    options = options_for(rsa_2048_key(), jwt_algorithm::es256);
    CHECK(creation_error(options) == auth_error::jwt_key_algorithm_mismatch);
    options = options_for(test_key::ec("P-384"), jwt_algorithm::es256);  // ES256 is P-256 only
    CHECK(creation_error(options) == auth_error::jwt_key_algorithm_mismatch);
    const auto algorithm = GENERATE(jwt_algorithm::rs256, jwt_algorithm::es256);
    options = options_for(test_key::ed25519(), algorithm);
    CHECK(creation_error(options) == auth_error::jwt_key_algorithm_mismatch);
  }
  SECTION("an RSA key below 2048 bits (RFC 7518 section 3.3)") {
    options = options_for(test_key::rsa(1024), jwt_algorithm::rs256);
    CHECK(creation_error(options) == auth_error::jwt_key_too_small);
  }
}

TEST_CASE("option problems are reported as clear errors when the provider is made", "[jwt][error]") {
  jwt_options options = options_for(p256_key(), jwt_algorithm::es256);
  SECTION("lifetime") {
    options.lifetime = GENERATE(as<std::chrono::seconds>{}, 0s, -5s);
    CHECK(creation_error(options) == auth_error::jwt_invalid_lifetime);
    CHECK(jwt_credentials::create(options).error() == auth_error::jwt_invalid_lifetime);
  }
  SECTION("refresh margin") {
    options.lifetime = 10min;
    options.refresh_margin = GENERATE(as<std::chrono::seconds>{}, 10min, 11min, -1s);
    CHECK(jwt_credentials::create(options).error() == auth_error::jwt_invalid_lifetime);
  }
  SECTION("extra claims that repeat a claim, or text that is not UTF-8") {
    using claims = std::vector<std::pair<std::string, std::string>>;
    options.extra_claims =
        GENERATE(claims{{"iat", "0"}}, claims{{"exp", "0"}}, claims{{"aud", "other"}},
                 claims{{"sub", "a"}, {"sub", "b"}}, claims{{"sub", "\xff"}}, claims{{"\xc0\xaf", "x"}});
    CHECK(creation_error(options) == auth_error::jwt_invalid_claim);
  }
  SECTION("aud may be given as an extra claim when audience is empty") {
    options.audience.clear();
    options.extra_claims = {{"aud", "other"}};
    CHECK(jwt_signer::create(options).error() == auth_error::jwt_invalid_claim);
  }
  SECTION("audience or kid not UTF-8") {
    options.audience = "\xed\xa0\x80";
    CHECK(creation_error(options) == auth_error::jwt_invalid_claim);
    options.audience = "ok";
    options.key_id = "\x80";
    CHECK(creation_error(options) == auth_error::jwt_invalid_claim);
  }
}

TEST_CASE("the JWT provider presents the token as the password with a configurable user name",
          "[jwt][provider]") {
  jwt_options options = options_for(p256_key(), jwt_algorithm::es256);
  SECTION("default user name") {
    const auto provider = jwt_credentials::create(options).value();
    const auto presented = provider(request_at(fixed_time)).value();
    CHECK(presented.username == "unused");
    REQUIRE(presented.password.has_value());
    CHECK(p256_key().verifies(*presented.password, jwt_algorithm::es256));
    CHECK_FALSE(presented.authentication_method.has_value());
  }
  SECTION("no user name (MQTT 5)") {
    options.username.reset();
    const auto presented = jwt_credentials::create(options).value()(request_at(fixed_time)).value();
    CHECK_FALSE(presented.username.has_value());
    CHECK(presented.password.has_value());
  }
  SECTION("usable as a coromqtt::credential_provider") {
    options.username = "device-1";
    const coromqtt::credential_provider provider = jwt_credentials::create(options).value();
    const auto presented = provider(request_at(fixed_time)).value();
    CHECK(presented.username == "device-1");
    CHECK(decode(*presented.password).claims == R"({"iat":1700000000,"exp":1700003600,"aud":"my-project"})");
  }
}

TEST_CASE("the JWT provider reuses a fresh token and signs a new one within the refresh margin",
          "[jwt][provider]") {
  jwt_options options = options_for(rsa_2048_key(), jwt_algorithm::rs256);
  options.lifetime = 60min;
  options.refresh_margin = 5min;
  const auto provider = jwt_credentials::create(options).value();

  const std::string first = password_at(provider, fixed_time);
  CHECK(decode(first).claims == R"({"iat":1700000000,"exp":1700003600,"aud":"my-project"})");

  // Reconnects while the token is fresh present the same token (RS256 being deterministic, an unwanted
  // re-signing would also give the same bytes if iat did not move: the clock moves here, so it would show).
  CHECK(password_at(provider, fixed_time + 1s) == first);
  CHECK(password_at(provider, fixed_time + 30min) == first);
  CHECK(password_at(provider, fixed_time + 55min - 1s) == first);

  // 5 minutes before exp: signed anew, with the time of this request.
  const std::string second = password_at(provider, fixed_time + 55min);
  CHECK(second != first);
  CHECK(decode(second).claims == R"({"iat":1700003300,"exp":1700006900,"aud":"my-project"})");
  CHECK(password_at(provider, fixed_time + 56min) == second);

  // Long after expiry (the device was offline): a new token, not the stale one.
  const std::string third = password_at(provider, fixed_time + 10h);
  CHECK(decode(third).claims == R"({"iat":1700036000,"exp":1700039600,"aud":"my-project"})");
}

TEST_CASE("the JWT provider signs anew after the broker refused the token or the clock went back",
          "[jwt][provider]") {
  const auto provider = jwt_credentials::create(options_for(rsa_2048_key(), jwt_algorithm::rs256)).value();
  const std::string first = password_at(provider, fixed_time);

  SECTION("refused") {
    const std::string after_refusal = password_at(provider, fixed_time + 10s, true);
    CHECK(after_refusal != first);
    CHECK(decode(after_refusal).claims == R"({"iat":1700000010,"exp":1700003610,"aud":"my-project"})");
  }
  SECTION("the system clock was set back before the token's iat") {
    const std::string after_step_back = password_at(provider, fixed_time - 2min);
    CHECK(decode(after_step_back).claims == R"({"iat":1699999880,"exp":1700003480,"aud":"my-project"})");
  }
}

TEST_CASE("copies of the JWT provider share one cached token", "[jwt][provider]") {
  const auto provider = jwt_credentials::create(options_for(p256_key(), jwt_algorithm::es256)).value();
  const coromqtt::credential_provider copy = provider;
  // ES256 signatures differ every time, so equal tokens prove the cache was shared, not re-signed.
  const std::string from_original = password_at(provider, fixed_time);
  CHECK(copy(request_at(fixed_time + 1min)).value().password == from_original);
}

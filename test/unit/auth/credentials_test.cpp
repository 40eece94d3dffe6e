// The credential providers that need no OpenSSL: fixed credentials and a password read from a file.
#include <coromqtt/credentials.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

using coromqtt::auth_error;
using coromqtt::credential_request;
using coromqtt::credentials;

// A private directory for the file-based provider, removed afterwards.
struct scratch_dir {
  std::filesystem::path path;
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "coromqtt-cred-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary | std::ios::trunc) << content;
    return path / name;
  }
};

credential_request attempt(std::uint32_t number) {
  credential_request request;
  request.attempt = number;
  request.steady_now = std::chrono::steady_clock::now();
  request.system_now = std::chrono::system_clock::now();
  return request;
}

}  // namespace

TEST_CASE("static_credentials presents the same user name and password on every attempt", "[credentials]") {
  const coromqtt::credential_provider provider = coromqtt::static_credentials("device-7", "s3cret");
  for (std::uint32_t n = 1; n <= 3; ++n) {
    const auto presented = provider(attempt(n));
    REQUIRE(presented.has_value());
    CHECK(presented->username == "device-7");
    CHECK(presented->password == "s3cret");
    CHECK_FALSE(presented->authentication_method.has_value());
    CHECK_FALSE(presented->authentication_data.has_value());
  }
}

TEST_CASE("static_credentials keeps every field it is given, MQTT 5 enhanced authentication included",
          "[credentials]") {
  credentials fixed;
  fixed.username = "user";
  fixed.authentication_method = "SCRAM-SHA-256";
  fixed.authentication_data = std::string("\x00\x01 client-first", 15);
  const auto presented = coromqtt::static_credentials(fixed)(attempt(1));
  REQUIRE(presented.has_value());
  CHECK(*presented == fixed);
  CHECK_FALSE(presented->password.has_value());
}

TEST_CASE("password_from_file reads the token anew on every attempt", "[credentials][file]") {
  const scratch_dir dir;
  const auto token_file = dir.write("token", "first-token\n");
  const auto provider = coromqtt::password_from_file("unused", token_file);

  auto presented = provider(attempt(1));
  REQUIRE(presented.has_value());
  CHECK(presented->username == "unused");
  CHECK(presented->password == "first-token");  // the line break is not part of the token

  // Another process refreshes the token the way it should: a new file renamed over the old one.
  const auto replacement = dir.write("token.new", "second-token \r\n\t");
  std::filesystem::rename(replacement, token_file);
  presented = provider(attempt(2));
  REQUIRE(presented.has_value());
  CHECK(presented->password == "second-token");
}

TEST_CASE("password_from_file keeps leading and inner white space and binary bytes", "[credentials][file]") {
  const scratch_dir dir;
  const std::string token("  a b\0c", 7);
  const auto presented = coromqtt::password_from_file("u", dir.write("token", token))(attempt(1));
  REQUIRE(presented.has_value());
  CHECK(presented->password == token);
}

TEST_CASE("password_from_file reports a missing, empty, oversized or unreadable file as an error",
          "[credentials][file]") {
  const scratch_dir dir;
  SECTION("missing") {
    const auto presented = coromqtt::password_from_file("u", dir.path / "absent")(attempt(1));
    REQUIRE(presented.has_error());
    CHECK(presented.error() == boost::system::errc::no_such_file_or_directory);
  }
  SECTION("a directory") {
    const auto presented = coromqtt::password_from_file("u", dir.path)(attempt(1));
    REQUIRE(presented.has_error());
    CHECK(presented.error() == boost::system::errc::is_a_directory);
  }
  SECTION("empty, or only a line break: the token is not there yet") {
    const std::string content = GENERATE(as<std::string>{}, "", "\n", " \r\n");
    const auto presented = coromqtt::password_from_file("u", dir.write("token", content))(attempt(1));
    REQUIRE(presented.has_error());
    CHECK(presented.error() == auth_error::password_file_empty);
    CHECK(presented.error().message() == "the password file is empty");
  }
  SECTION("exactly the largest MQTT password is fine, one byte more is not") {
    const auto largest =
        coromqtt::password_from_file("u", dir.write("max", std::string(65535, 'x')))(attempt(1));
    REQUIRE(largest.has_value());
    CHECK(largest->password->size() == 65535);
    const auto too_large =
        coromqtt::password_from_file("u", dir.write("big", std::string(65536, 'x')))(attempt(1));
    REQUIRE(too_large.has_error());
    CHECK(too_large.error() == auth_error::password_file_too_large);
  }
  SECTION("no read permission") {
    const auto file = dir.write("secret", "token");
    std::filesystem::permissions(file, std::filesystem::perms::none);
    if (std::ifstream(file).is_open()) {
      WARN(
          "running with privileges that ignore file permissions (root?): the permission case is not checked");
    } else {
      const auto presented = coromqtt::password_from_file("u", file)(attempt(1));
      REQUIRE(presented.has_error());
      CHECK(presented.error() == boost::system::errc::permission_denied);
    }
  }
}

TEST_CASE("auth errors have their own category and a message for every value", "[credentials][error]") {
  for (int value = static_cast<int>(auth_error::password_file_empty);
       value <= static_cast<int>(auth_error::jwt_signing_failed); ++value) {
    const boost::system::error_code ec = static_cast<auth_error>(value);
    CAPTURE(value);
    CHECK(std::string(ec.category().name()) == "coromqtt.auth");
    CHECK(ec.message() != "unknown coromqtt.auth error");
    CHECK_FALSE(ec.message().empty());
  }
  CHECK(boost::system::error_code(auth_error::jwt_key_password_wrong).message() ==
        "JWT: the password does not decrypt the private key");
}

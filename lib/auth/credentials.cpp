#include "auth/file.hpp"

#include <coromqtt/credentials.hpp>

#include <utility>

namespace coromqtt {
namespace {

class auth_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "coromqtt.auth"; }

  std::string message(int value) const override {
    switch (static_cast<auth_error>(value)) {
      case auth_error::password_file_empty:
        return "the password file is empty";
      case auth_error::password_file_too_large:
        return "the password file holds more than 65,535 bytes, the largest MQTT password";
      case auth_error::jwt_key_source:
        return "JWT: give exactly one of private_key_pem and private_key_file";
      case auth_error::jwt_key_invalid:
        return "JWT: the key is not a PEM private key";
      case auth_error::jwt_key_password_required:
        return "JWT: the private key is encrypted and no password was given";
      case auth_error::jwt_key_password_wrong:
        return "JWT: the password does not decrypt the private key";
      case auth_error::jwt_key_algorithm_mismatch:
        return "JWT: wrong key type for the algorithm (RS256 needs an RSA key, ES256 an EC P-256 key)";
      case auth_error::jwt_key_too_small:
        return "JWT: RS256 needs an RSA key of at least 2048 bits";
      case auth_error::jwt_invalid_lifetime:
        return "JWT: the lifetime must be positive and the refresh margin shorter than the lifetime";
      case auth_error::jwt_invalid_claim:
        return "JWT: an extra claim repeats iat, exp, aud or another claim, or is not valid UTF-8";
      case auth_error::jwt_signing_failed:
        return "JWT: signing failed";
    }
    return "unknown coromqtt.auth error";
  }
};

constexpr std::size_t largest_mqtt_password = 65535;  // a Two Byte Integer length [MQTT-1.5.6]

std::string read_password_file(const std::filesystem::path& file, boost::system::error_code& ec) {
  std::string content = detail::read_small_file(file, largest_mqtt_password, ec);
  if (ec) {
    return {};
  }
  if (content.size() > largest_mqtt_password) {
    ec = auth_error::password_file_too_large;
    return {};
  }
  // Tools write tokens with a trailing newline; no token ends in white space.
  const auto end = content.find_last_not_of(" \t\r\n");
  content.erase(end == std::string::npos ? 0 : end + 1);
  if (content.empty()) {
    ec = auth_error::password_file_empty;
  }
  return content;
}

}  // namespace

const boost::system::error_category& auth_error_category() noexcept {
  static const auth_category instance;
  return instance;
}

credential_provider static_credentials(std::string username, std::string password) {
  credentials fixed;
  fixed.username = std::move(username);
  fixed.password = std::move(password);
  return static_credentials(std::move(fixed));
}

credential_provider static_credentials(credentials fixed) {
  return [fixed = std::move(fixed)](const credential_request&) -> boost::system::result<credentials> {
    return fixed;
  };
}

credential_provider password_from_file(std::string username, std::filesystem::path password_file) {
  return [username = std::move(username), password_file = std::move(password_file)](
             const credential_request&) -> boost::system::result<credentials> {
    boost::system::error_code ec;
    std::string password = read_password_file(password_file, ec);
    if (ec) {
      return ec;
    }
    credentials fresh;
    fresh.username = username;
    fresh.password = std::move(password);
    return fresh;
  };
}

}  // namespace coromqtt

// What the client presents in CONNECT, and where it gets it from: a credential provider that the client asks
// on every connection attempt, because tokens expire and a reconnect an hour later needs a fresh one.
#pragma once

#include <coromqtt/endpoint.hpp>
#include <coromqtt/protocol/types.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

namespace coromqtt {

// Errors of the built-in credential providers (category "coromqtt.auth"). File access errors are reported as
// the system's own (errc::no_such_file_or_directory, errc::permission_denied...).
enum class auth_error {
  password_file_empty = 1,  // the password file exists but holds no token (yet)
  password_file_too_large,  // the password file holds more than 65,535 bytes, the largest MQTT password
  // jwt.hpp
  jwt_key_source,              // give exactly one of private_key_pem and private_key_file
  jwt_key_invalid,             // the key is not a PEM private key that OpenSSL can read
  jwt_key_password_required,   // the key is encrypted and no password was given
  jwt_key_password_wrong,      // the key is encrypted and the password does not decrypt it
  jwt_key_algorithm_mismatch,  // RS256 needs an RSA key, ES256 an EC key on P-256
  jwt_key_too_small,           // RS256 needs an RSA key of 2048 bits or more (RFC 7518, 3.3)
  jwt_invalid_lifetime,        // lifetime <= 0, or refresh margin < 0 or >= lifetime
  jwt_invalid_claim,           // a claim repeats iat, exp, aud or another claim, or is not UTF-8
  jwt_signing_failed,          // OpenSSL could not sign (out of memory, a broken provider)
};

const boost::system::error_category& auth_error_category() noexcept;

inline boost::system::error_code make_error_code(auth_error e) noexcept {
  return {static_cast<int>(e), auth_error_category()};
}

// The authentication fields of CONNECT. An empty optional leaves the field (and its flag) out of the packet.
struct credentials {
  std::optional<std::string> username;  // UTF-8, at most 65,535 bytes [MQTT-3.1.3-11]
  // Binary data, at most 65,535 bytes. MQTT 3.1.1 allows a password only together with a user name
  // [MQTT-3.1.2-22]; MQTT 5 allows it alone.
  std::optional<std::string> password;

  // MQTT 5 enhanced authentication: the Authentication Method and initial Authentication Data properties
  // of CONNECT (MQTT 5 only; MQTT 3.1.1 has no such fields).
  std::optional<std::string> authentication_method;
  std::optional<std::string> authentication_data;

  friend bool operator==(const credentials&, const credentials&) = default;
};

// What the client knows when it asks for credentials.
struct credential_request {
  // 1 for the first attempt after the client starts or after a connection was lost; then 2, 3... for each
  // retry until a CONNACK accepts a connection.
  std::uint32_t attempt = 1;
  // True when the previous attempt was refused for its credentials (CONNACK "bad user name or password" or
  // "not authorized"): a caching provider should make fresh credentials rather than present the same ones.
  bool previous_attempt_rejected_credentials = false;
  // The broker this attempt connects to (a client configured with several brokers goes through them in turn).
  endpoint broker;
  protocol::protocol_version version = protocol::protocol_version::v5;
  // The time of the attempt. Providers take time from here rather than from the clocks, so tests can move it:
  // system time for what goes on the wire (token claims), steady time for anything measured locally.
  std::chrono::steady_clock::time_point steady_now;
  std::chrono::system_clock::time_point system_now;
};

// Called by the client once per connection attempt, right before it sends CONNECT, on the client's strand:
// it must return quickly (it delays this connection and everything else on the strand) and must not wait for
// the network. Credentials that take a round trip to obtain (an OAuth token endpoint, a vault) are fetched in
// the background by the application and handed out from here. Reading a small local file is fine.
//
// Returning an error fails the attempt with that error (reported in the connection events); the client's
// reconnect policy then decides whether and when to try again, and asks the provider again.
//
// The provider is copied into the client; copies of a stateful provider should share their state.
using credential_provider = std::function<boost::system::result<credentials>(const credential_request&)>;

// Presents the same user name and password on every attempt.
credential_provider static_credentials(std::string username, std::string password);

// Presents the given credentials on every attempt.
credential_provider static_credentials(credentials fixed);

// Presents `username` with the content of `password_file` as the password, read anew on every attempt: for a
// token that another process (an agent, a sidecar, a cron job) rewrites before it expires. Trailing
// whitespace and line breaks are removed, so `echo "$TOKEN" > file` works. Replace the file atomically
// (write a temporary file, then rename it over the old one) so that a reader never sees half a token.
// Errors: the file's own (e.g. errc::no_such_file_or_directory, errc::permission_denied),
// auth_error::password_file_empty, auth_error::password_file_too_large.
credential_provider password_from_file(std::string username, std::filesystem::path password_file);

}  // namespace coromqtt

template <>
struct boost::system::is_error_code_enum<coromqtt::auth_error> : std::true_type {};

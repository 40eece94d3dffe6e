// A JSON Web Token as the MQTT password, signed by the device's own private key: the scheme of Google Cloud
// IoT Core and of brokers modelled on it. Needs OpenSSL 3 (COROMQTT_HAS_TLS).
//
//     coromqtt::jwt_options jwt;
//     jwt.algorithm = coromqtt::jwt_algorithm::es256;
//     jwt.private_key_file = "/etc/device/ec_private.pem";
//     jwt.audience = "my-project";
//     auto provider = coromqtt::jwt_credentials::create(std::move(jwt));
//     if (!provider) { /* provider.error().message() says what is wrong with the key or the options */ }
//     coromqtt::credential_provider credentials = *provider;  // for the client's options
#pragma once

#include <coromqtt/config.hpp>

#if COROMQTT_HAS_TLS

#include <coromqtt/credentials.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coromqtt {

// The JWS "alg" (RFC 7518 section 3.1).
enum class jwt_algorithm {
  rs256,  // RSASSA-PKCS1-v1_5 with SHA-256; an RSA key of 2048 bits or more
  es256,  // ECDSA on P-256 with SHA-256; the signature is R || S, 64 bytes (RFC 7518 section 3.4)
};

struct jwt_options {
  jwt_algorithm algorithm = jwt_algorithm::rs256;

  // The private key in PEM: PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY") or the traditional "RSA PRIVATE
  // KEY" and "EC PRIVATE KEY" forms. Give exactly one of the PEM text and the file.
  std::string private_key_pem;
  std::filesystem::path private_key_file;
  std::string private_key_password;  // for an encrypted key

  // "aud". Google Cloud IoT Core wanted the project id here. Empty leaves the claim out.
  std::string audience;
  // More string claims, in this order after iat, exp and aud; e.g. {"sub", "device-42"}.
  std::vector<std::pair<std::string, std::string>> extra_claims;
  // "kid" in the header, for a verifier that holds several keys. Empty leaves it out.
  std::string key_id;

  // exp - iat. Brokers cap it (Google Cloud IoT Core: 24 hours).
  std::chrono::seconds lifetime = std::chrono::minutes(60);
  // A cached token closer than this to its expiry is signed anew, so that a connection made with it does
  // not fail a moment later at a broker that checks expiry again, and to absorb clock skew between device and
  // broker. Must be shorter than the lifetime.
  std::chrono::seconds refresh_margin = std::chrono::minutes(5);

  // The user name presented beside the token (Google Cloud IoT Core ignored it). nullopt sends none, which
  // only MQTT 5 allows [MQTT-3.1.2-22].
  std::optional<std::string> username = "unused";
};

// Signs tokens with one private key. Cheap to copy (copies share the key); safe to use from several threads.
class jwt_signer {
 public:
  // Loads and checks the key. Errors: the key file's own (errc::no_such_file_or_directory...),
  // auth_error::jwt_key_source, jwt_key_invalid, jwt_key_password_required, jwt_key_password_wrong,
  // jwt_key_algorithm_mismatch, jwt_key_too_small, jwt_invalid_lifetime, jwt_invalid_claim.
  // The key material in `options` (PEM text, password) is not kept once the key is loaded.
  static boost::system::result<jwt_signer> create(const jwt_options& options);

  // A token with iat = `now` (in whole seconds) and exp = iat + lifetime.
  // Error: auth_error::jwt_signing_failed (OpenSSL could not sign; not expected with a key create()
  // accepted).
  boost::system::result<std::string> sign(std::chrono::system_clock::time_point now) const;

  std::chrono::seconds lifetime() const noexcept { return lifetime_; }

 private:
  struct key;
  jwt_signer(std::shared_ptr<const key> signing_key, jwt_algorithm algorithm, std::chrono::seconds lifetime,
             std::string encoded_header, std::string claims_tail);

  std::shared_ptr<const key> key_;
  jwt_algorithm algorithm_;
  std::chrono::seconds lifetime_;
  std::string encoded_header_;  // base64url of the header JSON, with the '.' that follows it
  std::string claims_tail_;     // the claims after iat and exp: ,"aud":"..." and the extra claims
};

// A credential provider presenting `username` and a JWT as the password. The token is signed at the first
// request and presented again on later attempts until it comes within refresh_margin of its expiry, or until
// the broker refused it (credential_request::previous_attempt_rejected_credentials), or the clock went back
// before its iat; then a new one is signed. Time comes from credential_request::system_now.
// Copies share the cached token; calls may come from several threads.
class jwt_credentials {
 public:
  // Errors: those of jwt_signer::create, and auth_error::jwt_invalid_lifetime for a refresh margin that is
  // negative or not shorter than the lifetime.
  static boost::system::result<jwt_credentials> create(const jwt_options& options);

  // Error: auth_error::jwt_signing_failed.
  boost::system::result<credentials> operator()(const credential_request& request) const;

 private:
  struct state;
  explicit jwt_credentials(std::shared_ptr<state> shared_state) : state_(std::move(shared_state)) {}

  std::shared_ptr<state> state_;
};

}  // namespace coromqtt

#endif  // COROMQTT_HAS_TLS

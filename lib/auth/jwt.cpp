// JWS compact serialization (RFC 7515 section 7.1) of a JWT (RFC 7519), signed with OpenSSL 3's EVP API:
//
//     base64url(header) '.' base64url(claims) '.' base64url(signature over the first two parts)
//
// Only OpenSSL 3 interfaces that are not deprecated; the macros below make the compiler hold us to that.
#ifndef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 30000
#endif
#ifndef OPENSSL_NO_DEPRECATED
#define OPENSSL_NO_DEPRECATED
#endif

#include "auth/encoding.hpp"
#include "auth/file.hpp"

#include <coromqtt/jwt.hpp>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>

#include <climits>
#include <cstring>
#include <mutex>
#include <set>
#include <string_view>

#if OPENSSL_VERSION_MAJOR < 3
#error "coromqtt's JWT signer needs OpenSSL 3"
#endif

namespace coromqtt {
namespace {

using boost::system::error_code;
using boost::system::result;

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

struct bio_deleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct md_context_deleter {
  void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};
struct ecdsa_signature_deleter {
  void operator()(ECDSA_SIG* signature) const noexcept { ECDSA_SIG_free(signature); }
};

// OpenSSL reports failures on a per-thread error queue; whoever uses OpenSSL next on this thread (a TLS
// handshake) must not find our leftovers there.
struct clear_openssl_errors_on_exit {
  clear_openssl_errors_on_exit() = default;
  clear_openssl_errors_on_exit(const clear_openssl_errors_on_exit&) = delete;
  clear_openssl_errors_on_exit& operator=(const clear_openssl_errors_on_exit&) = delete;
  ~clear_openssl_errors_on_exit() { ERR_clear_error(); }
};

// Overwrites a copy of key material before its memory is freed, in a way the compiler may not optimise away.
struct wipe_on_exit {
  std::string& secret;
  ~wipe_on_exit() { OPENSSL_cleanse(secret.data(), secret.size()); }
};

// A PEM private key takes a few kilobytes; anything much larger is not one.
constexpr std::size_t largest_key_file = 1024 * 1024;

// Tells "no password for an encrypted key" and "wrong password" apart from "not a key": OpenSSL asks for the
// password only when the PEM block is encrypted.
struct password_request {
  const std::string* password = nullptr;
  bool asked = false;
};

int supply_password(char* buffer, int size, int /*rwflag*/, void* user_data) {
  auto* request = static_cast<password_request*>(user_data);
  request->asked = true;
  const std::string& password = *request->password;
  if (password.empty() || password.size() > static_cast<std::size_t>(size)) {
    return -1;
  }
  std::memcpy(buffer, password.data(), password.size());
  return static_cast<int>(password.size());
}

pkey_ptr load_private_key(std::string_view pem, const std::string& password, error_code& ec) {
  clear_openssl_errors_on_exit clear_errors;
  ec = auth_error::jwt_key_invalid;
  if (pem.size() > static_cast<std::size_t>(INT_MAX)) {
    return nullptr;
  }
  std::unique_ptr<BIO, bio_deleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return nullptr;
  }
  password_request request{&password, false};
  // Skips PEM blocks of other kinds, such as the "EC PARAMETERS" that `openssl ecparam -genkey` writes first.
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, supply_password, &request));
  if (!key) {
    if (request.asked) {
      ec = password.empty() ? auth_error::jwt_key_password_required : auth_error::jwt_key_password_wrong;
    }
    return nullptr;
  }
  ec.clear();
  return key;
}

error_code check_key_fits_algorithm(EVP_PKEY* key, jwt_algorithm algorithm) {
  switch (algorithm) {
    case jwt_algorithm::rs256:
      // Plain RSA only: an RSA-PSS key is restricted to PSS padding, and RS256 is PKCS#1 v1.5.
      if (EVP_PKEY_is_a(key, "RSA") != 1) {
        return auth_error::jwt_key_algorithm_mismatch;
      }
      if (EVP_PKEY_get_bits(key) < 2048) {  // RFC 7518 section 3.3
        return auth_error::jwt_key_too_small;
      }
      return {};
    case jwt_algorithm::es256: {
      if (EVP_PKEY_is_a(key, "EC") != 1) {
        return auth_error::jwt_key_algorithm_mismatch;
      }
      clear_openssl_errors_on_exit clear_errors;
      char curve[64] = {};
      std::size_t curve_length = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
                                         &curve_length) != 1) {
        return auth_error::jwt_key_algorithm_mismatch;
      }
      // OpenSSL names P-256 by its X9.62 name.
      const std::string_view name(curve, curve_length);
      if (name != "prime256v1" && name != "P-256") {
        return auth_error::jwt_key_algorithm_mismatch;
      }
      return {};
    }
  }
  return auth_error::jwt_key_algorithm_mismatch;
}

// OpenSSL gives ECDSA signatures as DER, SEQUENCE { INTEGER r, INTEGER s }, of varying length; JWS wants the
// two integers as fixed-width big-endian octets, R || S, 32 bytes each for P-256 (RFC 7518 section 3.4).
std::string ecdsa_der_to_jws(std::string_view der, error_code& ec) {
  ec = auth_error::jwt_signing_failed;
  constexpr int integer_size = 32;
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, ecdsa_signature_deleter> signature(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  if (!signature) {
    return {};
  }
  std::string raw(2 * integer_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(signature.get()), out, integer_size) != integer_size ||
      BN_bn2binpad(ECDSA_SIG_get0_s(signature.get()), out + integer_size, integer_size) != integer_size) {
    return {};
  }
  ec.clear();
  return raw;
}

void append_number(std::string& out, long long value) {
  out += std::to_string(value);
}

}  // namespace

struct jwt_signer::key {
  pkey_ptr private_key;
};

jwt_signer::jwt_signer(std::shared_ptr<const key> signing_key, jwt_algorithm algorithm,
                       std::chrono::seconds lifetime, std::string encoded_header, std::string claims_tail)
    : key_(std::move(signing_key)),
      algorithm_(algorithm),
      lifetime_(lifetime),
      encoded_header_(std::move(encoded_header)),
      claims_tail_(std::move(claims_tail)) {}

result<jwt_signer> jwt_signer::create(const jwt_options& options) {
  if (options.lifetime <= std::chrono::seconds::zero()) {
    return auth_error::jwt_invalid_lifetime;
  }

  // Claims first: they are cheap to check, and a mistake there is worth reporting before key trouble.
  std::string claims_tail;
  std::set<std::string_view> claim_names{"iat", "exp"};
  if (!options.audience.empty()) {
    if (!detail::is_valid_utf8(options.audience)) {
      return auth_error::jwt_invalid_claim;
    }
    claim_names.insert("aud");
    claims_tail += ",\"aud\":";
    detail::append_json_string(claims_tail, options.audience);
  }
  for (const auto& [name, value] : options.extra_claims) {
    // A repeated name makes verifiers disagree on which value counts (RFC 7519 section 4 lets them reject
    // it).
    if (!detail::is_valid_utf8(name) || !detail::is_valid_utf8(value) || name == "aud" ||
        !claim_names.insert(name).second) {
      return auth_error::jwt_invalid_claim;
    }
    claims_tail += ',';
    detail::append_json_string(claims_tail, name);
    claims_tail += ':';
    detail::append_json_string(claims_tail, value);
  }
  if (!detail::is_valid_utf8(options.key_id)) {
    return auth_error::jwt_invalid_claim;
  }

  const bool has_pem = !options.private_key_pem.empty();
  const bool has_file = !options.private_key_file.empty();
  if (has_pem == has_file) {
    return auth_error::jwt_key_source;
  }
  error_code ec;
  std::string pem_from_file;
  const wipe_on_exit wipe_pem{pem_from_file};
  if (has_file) {
    pem_from_file = detail::read_small_file(options.private_key_file, largest_key_file, ec);
    if (ec) {
      return ec;
    }
    if (pem_from_file.size() > largest_key_file) {
      return auth_error::jwt_key_invalid;
    }
  }
  pkey_ptr private_key =
      load_private_key(has_file ? pem_from_file : options.private_key_pem, options.private_key_password, ec);
  if (ec) {
    return ec;
  }
  ec = check_key_fits_algorithm(private_key.get(), options.algorithm);
  if (ec) {
    return ec;
  }

  std::string header = options.algorithm == jwt_algorithm::rs256 ? R"({"alg":"RS256","typ":"JWT")"
                                                                 : R"({"alg":"ES256","typ":"JWT")";
  if (!options.key_id.empty()) {
    header += ",\"kid\":";
    detail::append_json_string(header, options.key_id);
  }
  header += '}';

  auto signing_key = std::make_shared<key>(key{std::move(private_key)});
  return jwt_signer(std::move(signing_key), options.algorithm, options.lifetime,
                    detail::base64url_encode(header) + '.', std::move(claims_tail));
}

result<std::string> jwt_signer::sign(std::chrono::system_clock::time_point now) const {
  // NumericDate: whole seconds since the epoch (RFC 7519 section 2).
  const auto issued_at = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  std::string claims = "{\"iat\":";
  append_number(claims, issued_at);
  claims += ",\"exp\":";
  append_number(claims, issued_at + lifetime_.count());
  claims += claims_tail_;
  claims += '}';

  std::string token = encoded_header_ + detail::base64url_encode(claims);

  clear_openssl_errors_on_exit clear_errors;
  std::unique_ptr<EVP_MD_CTX, md_context_deleter> context(EVP_MD_CTX_new());
  if (!context ||
      EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key_->private_key.get()) != 1) {
    return auth_error::jwt_signing_failed;
  }
  const auto* signing_input = reinterpret_cast<const unsigned char*>(token.data());
  std::size_t signature_size = 0;  // first the upper bound, then the actual size
  if (EVP_DigestSign(context.get(), nullptr, &signature_size, signing_input, token.size()) != 1) {
    return auth_error::jwt_signing_failed;
  }
  std::string signature(signature_size, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &signature_size,
                     signing_input, token.size()) != 1) {
    return auth_error::jwt_signing_failed;
  }
  signature.resize(signature_size);

  if (algorithm_ == jwt_algorithm::es256) {
    error_code ec;
    signature = ecdsa_der_to_jws(signature, ec);
    if (ec) {
      return ec;
    }
  }
  token += '.';
  token += detail::base64url_encode(signature);
  return token;
}

struct jwt_credentials::state {
  state(jwt_signer token_signer, std::chrono::seconds margin, std::optional<std::string> user_name)
      : signer(std::move(token_signer)), refresh_margin(margin), username(std::move(user_name)) {}

  const jwt_signer signer;
  const std::chrono::seconds refresh_margin;
  const std::optional<std::string> username;

  std::mutex mutex;
  std::string token;  // empty until the first request
  std::chrono::system_clock::time_point issued_at;
  std::chrono::system_clock::time_point expires_at;
};

result<jwt_credentials> jwt_credentials::create(const jwt_options& options) {
  if (options.refresh_margin < std::chrono::seconds::zero() || options.refresh_margin >= options.lifetime) {
    return auth_error::jwt_invalid_lifetime;
  }
  auto signer = jwt_signer::create(options);
  if (signer.has_error()) {
    return signer.error();
  }
  auto shared_state =
      std::make_shared<state>(std::move(signer).value(), options.refresh_margin, options.username);
  return jwt_credentials(std::move(shared_state));
}

result<credentials> jwt_credentials::operator()(const credential_request& request) const {
  const auto now = request.system_now;
  std::lock_guard lock(state_->mutex);
  const bool fresh_enough =
      !state_->token.empty() && now >= state_->issued_at && now + state_->refresh_margin < state_->expires_at;
  if (!fresh_enough || request.previous_attempt_rejected_credentials) {
    auto token = state_->signer.sign(now);
    if (token.has_error()) {
      return token.error();
    }
    state_->token = std::move(token).value();
    state_->issued_at = std::chrono::floor<std::chrono::seconds>(now);
    state_->expires_at = state_->issued_at + state_->signer.lifetime();
  }
  credentials presented;
  presented.username = state_->username;
  presented.password = state_->token;
  return presented;
}

}  // namespace coromqtt

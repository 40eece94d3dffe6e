#include "auth/encoding.hpp"
#include "test_keys.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace coromqtt::test {
namespace {

struct bio_deleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("OpenSSL: ") + what);
  }
}

// Runs a PEM writer into a memory BIO and returns what it wrote.
template <class Write>
std::string to_pem(Write write) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  check(bio != nullptr, "BIO_new");
  check(write(bio.get()) == 1, "writing PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

test_key::test_key(EVP_PKEY* key) : key_(key, EVP_PKEY_free) {
  check(key != nullptr, "key generation");
}

test_key test_key::rsa(int bits) {
  return test_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
}

test_key test_key::ec(const char* curve) {
  return test_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

test_key test_key::ed25519() {
  return test_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}

std::string test_key::private_pem() const {
  return to_pem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
}

std::string test_key::encrypted_private_pem(std::string_view password) const {
  const std::string pass(password);
  return to_pem([&](BIO* bio) {
    return PEM_write_bio_PKCS8PrivateKey(bio, key_.get(), EVP_aes_256_cbc(), pass.data(),
                                         static_cast<int>(pass.size()), nullptr, nullptr);
  });
}

std::string test_key::traditional_private_pem() const {
  return to_pem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey_traditional(bio, key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
}

std::string test_key::parameters_pem() const {
  return to_pem([&](BIO* bio) { return PEM_write_bio_Parameters(bio, key_.get()); });
}

std::string test_key::public_pem() const {
  return to_pem([&](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key_.get()); });
}

bool test_key::verifies(std::string_view token, jwt_algorithm algorithm) const {
  const auto last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos) {
    return false;
  }
  const std::string_view signing_input = token.substr(0, last_dot);
  auto signature = detail::base64url_decode(token.substr(last_dot + 1));
  if (!signature) {
    return false;
  }
  if (algorithm == jwt_algorithm::es256) {
    if (signature->size() != 64) {
      return false;
    }
    const auto* raw = reinterpret_cast<const unsigned char*>(signature->data());
    ECDSA_SIG* ecdsa = ECDSA_SIG_new();
    check(ecdsa != nullptr, "ECDSA_SIG_new");
    ECDSA_SIG_set0(ecdsa, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* der = nullptr;
    const int der_size = i2d_ECDSA_SIG(ecdsa, &der);
    ECDSA_SIG_free(ecdsa);
    check(der_size > 0, "i2d_ECDSA_SIG");
    signature->assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_size));
    OPENSSL_free(der);
  }
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  check(context != nullptr, "EVP_MD_CTX_new");
  const bool valid =
      EVP_DigestVerifyInit(context, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
      EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) == 1;
  EVP_MD_CTX_free(context);
  return valid;
}

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "coromqtt-auth-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path temp_dir::write(const std::string& name, std::string_view content) const {
  const auto file = path_ / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + file.string());
  }
  return file;
}

const test_key& rsa_2048_key() {
  static const test_key key = test_key::rsa(2048);
  return key;
}

const test_key& other_rsa_2048_key() {
  static const test_key key = test_key::rsa(2048);
  return key;
}

const test_key& p256_key() {
  static const test_key key = test_key::ec("P-256");
  return key;
}

}  // namespace coromqtt::test

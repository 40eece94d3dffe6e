// Keys made at test time with OpenSSL, in the PEM forms a device might hold them in, and an in-process
// signature check that the JWT tests use beside the independent verifier (node's jsonwebtoken).
#pragma once

#include <coromqtt/jwt.hpp>

#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace coromqtt::test {

class test_key {
 public:
  static test_key rsa(int bits);
  static test_key ec(const char* curve);  // "P-256", "P-384"...
  static test_key ed25519();

  std::string private_pem() const;                                     // PKCS#8 "PRIVATE KEY"
  std::string encrypted_private_pem(std::string_view password) const;  // PKCS#8, AES-256-CBC
  std::string traditional_private_pem() const;                         // "RSA PRIVATE KEY" / "EC PRIVATE KEY"
  std::string parameters_pem() const;                                  // "EC PARAMETERS"
  std::string public_pem() const;                                      // SubjectPublicKeyInfo "PUBLIC KEY"

  // Checks a compact JWS with this key's public half: EVP_DigestVerify over header.claims, with the ES256
  // R || S signature turned back into DER first.
  bool verifies(std::string_view token, jwt_algorithm algorithm) const;

 private:
  explicit test_key(EVP_PKEY* key);
  std::shared_ptr<EVP_PKEY> key_;
};

// A fresh directory under the system's temporary directory, removed with everything in it at the end of
// scope.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to a file in the directory and returns its path.
  std::filesystem::path write(const std::string& name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

// Cached keys: RSA generation takes a while, and one key of each kind serves every test.
const test_key& rsa_2048_key();
const test_key& other_rsa_2048_key();
const test_key& p256_key();

}  // namespace coromqtt::test

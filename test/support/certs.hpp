// Certificates for TLS tests, made at test time with OpenSSL (EC P-256 keys, SHA-256 signatures): no key or
// certificate is checked into the repository, and none expires under a long-lived checkout.
#pragma once

#include <string>

namespace coromqtt::test {

// PEM files.
struct certificate_files {
  std::string certificate = {};
  std::string key = {};
};

struct test_certificates {
  std::string ca = {};            // the CA that signs every certificate below
  std::string ca_directory = {};  // a hashed directory holding `ca` (for tls_options::ca_path)
  std::string other_ca = {};  // an unrelated CA: trusting only it, the broker's certificate must be rejected
  certificate_files server = {};                 // localhost: SAN DNS:localhost, IP:127.0.0.1, IP:::1
  certificate_files server_for_other_host = {};  // SAN DNS:other-host.example only
  certificate_files server_expired = {};         // localhost, expired a day ago
  certificate_files server_not_yet_valid = {};   // localhost, valid from tomorrow
  certificate_files client = {};                 // CN coromqtt-test-client, for mutual TLS
  certificate_files client_encrypted_key =
      {};  // the same certificate; its key encrypted with client_key_password
  std::string client_key_password = {};
  certificate_files client_of_other_ca =
      {};  // a client certificate signed by other_ca: a mutual-TLS broker refuses it
};

// Made on the first call, into a temporary directory removed when the process exits. Thread-safe.
const test_certificates& certificates();

}  // namespace coromqtt::test

#include "support/certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <stdlib.h>  // mkdtemp
#include <vector>

namespace coromqtt::test {
namespace {

namespace fs = std::filesystem;

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using certificate_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("making test certificates: ") + what + " failed");
}

key_ptr make_key() {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> context(
      EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  check(context && EVP_PKEY_keygen_init(context.get()) == 1 &&
            EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context.get(), NID_X9_62_prime256v1) == 1 &&
            EVP_PKEY_keygen(context.get(), &key) == 1,
        "EC key generation");
  return key_ptr(key, &EVP_PKEY_free);
}

struct certificate_request {
  std::string common_name = {};
  std::string subject_alt_names = {};  // "DNS:localhost,IP:127.0.0.1"; empty = none
  bool is_ca = false;
  bool is_client = false;
  long valid_from = -3600;             // seconds from now
  long valid_until = 30L * 24 * 3600;  // seconds from now
};

void add_extension(X509* certificate, X509V3_CTX& context, int nid, const std::string& value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  check(extension != nullptr, "building a certificate extension");
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

// Issues a certificate for `subject_key`, signed by `issuer` (nullptr: self-signed) with `issuer_key`.
certificate_ptr issue(const certificate_request& request, EVP_PKEY* subject_key, X509* issuer,
                      EVP_PKEY* issuer_key) {
  certificate_ptr certificate(X509_new(), &X509_free);
  check(certificate != nullptr, "X509_new");
  X509_set_version(certificate.get(), 2);  // v3

  // Random serials: two certificates from one issuer must never share one.
  unsigned char serial_bytes[16];
  check(RAND_bytes(serial_bytes, sizeof serial_bytes) == 1, "RAND_bytes");
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate.get()));
  BN_free(serial);

  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), request.valid_from);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), request.valid_until);

  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("coromqtt tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : certificate.get();
  X509_set_issuer_name(certificate.get(), X509_get_subject_name(signer));
  X509_set_pubkey(certificate.get(), subject_key);

  X509V3_CTX context;
  X509V3_set_ctx(&context, signer, certificate.get(), nullptr, nullptr, 0);
  if (request.is_ca) {
    add_extension(certificate.get(), context, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(certificate.get(), context, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(certificate.get(), context, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(certificate.get(), context, NID_key_usage, "critical,digitalSignature");
    add_extension(certificate.get(), context, NID_ext_key_usage,
                  request.is_client ? "clientAuth" : "serverAuth");
  }
  add_extension(certificate.get(), context, NID_subject_key_identifier, "hash");
  if (issuer != nullptr)
    add_extension(certificate.get(), context, NID_authority_key_identifier, "keyid:always");
  if (!request.subject_alt_names.empty()) {
    add_extension(certificate.get(), context, NID_subject_alt_name, request.subject_alt_names);
  }
  check(X509_sign(certificate.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
  return certificate;
}

class pem_file {
 public:
  explicit pem_file(const fs::path& path) : file_(std::fopen(path.c_str(), "wb")) {
    check(file_ != nullptr, "creating a PEM file");
  }
  ~pem_file() { std::fclose(file_); }
  pem_file(const pem_file&) = delete;
  pem_file& operator=(const pem_file&) = delete;
  FILE* get() const { return file_; }

 private:
  FILE* file_;
};

std::string write_certificate(const fs::path& path, X509* certificate) {
  pem_file file(path);
  check(PEM_write_X509(file.get(), certificate) == 1, "writing a certificate");
  return path.string();
}

std::string write_key(const fs::path& path, EVP_PKEY* key, const std::string& password = {}) {
  {
    pem_file file(path);
    const EVP_CIPHER* cipher = password.empty() ? nullptr : EVP_aes_256_cbc();
    check(PEM_write_PKCS8PrivateKey(file.get(), key, cipher, password.empty() ? nullptr : password.c_str(),
                                    static_cast<int>(password.size()), nullptr, nullptr) == 1,
          "writing a key");
  }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  return path.string();
}

struct issued {
  certificate_files files;
  key_ptr key;
};

// The directory and its files live as long as the process.
class certificate_directory {
 public:
  certificate_directory() {
    std::string pattern = (fs::temp_directory_path() / "coromqtt-certs-XXXXXX").string();
    check(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    path_ = pattern;
    make();
  }
  ~certificate_directory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  certificate_directory(const certificate_directory&) = delete;
  certificate_directory& operator=(const certificate_directory&) = delete;

  const test_certificates& files() const { return files_; }

 private:
  void make() {
    auto ca_key = make_key();
    auto ca = issue({.common_name = "coromqtt test CA", .is_ca = true}, ca_key.get(), nullptr, ca_key.get());
    files_.ca = write_certificate(path_ / "ca.pem", ca.get());

    // ca_path wants each CA under the hash of its subject name, as `openssl rehash` names it.
    fs::create_directory(path_ / "ca.d");
    char hashed_name[16];
    std::snprintf(hashed_name, sizeof hashed_name, "%08lx.0", X509_subject_name_hash(ca.get()));
    files_.ca_directory = (path_ / "ca.d").string();
    write_certificate(path_ / "ca.d" / hashed_name, ca.get());

    auto other_ca_key = make_key();
    auto other_ca = issue({.common_name = "coromqtt unrelated CA", .is_ca = true}, other_ca_key.get(),
                          nullptr, other_ca_key.get());
    files_.other_ca = write_certificate(path_ / "other-ca.pem", other_ca.get());

    auto leaf = [&](const std::string& name, certificate_request request, X509* issuer,
                    EVP_PKEY* issuer_key) {
      auto key = make_key();
      auto certificate = issue(request, key.get(), issuer, issuer_key);
      return issued{{write_certificate(path_ / (name + ".pem"), certificate.get()),
                     write_key(path_ / (name + ".key"), key.get())},
                    std::move(key)};
    };
    const std::string localhost_names = "DNS:localhost,IP:127.0.0.1,IP:::1";
    files_.server = leaf("server", {.common_name = "localhost", .subject_alt_names = localhost_names},
                         ca.get(), ca_key.get())
                        .files;
    files_.server_for_other_host =
        leaf("server-other-host",
             {.common_name = "other-host.example", .subject_alt_names = "DNS:other-host.example"}, ca.get(),
             ca_key.get())
            .files;
    files_.server_expired = leaf("server-expired",
                                 {.common_name = "localhost",
                                  .subject_alt_names = localhost_names,
                                  .valid_from = -30L * 24 * 3600,
                                  .valid_until = -24L * 3600},
                                 ca.get(), ca_key.get())
                                .files;
    files_.server_not_yet_valid = leaf("server-not-yet-valid",
                                       {.common_name = "localhost",
                                        .subject_alt_names = localhost_names,
                                        .valid_from = 24L * 3600,
                                        .valid_until = 30L * 24 * 3600},
                                       ca.get(), ca_key.get())
                                      .files;

    auto client =
        leaf("client", {.common_name = "coromqtt-test-client", .is_client = true}, ca.get(), ca_key.get());
    files_.client = client.files;
    files_.client_key_password = "correct horse battery staple";
    files_.client_encrypted_key = {
        client.files.certificate,
        write_key(path_ / "client-encrypted.key", client.key.get(), files_.client_key_password)};
    files_.client_of_other_ca =
        leaf("client-other-ca", {.common_name = "coromqtt-test-client", .is_client = true}, other_ca.get(),
             other_ca_key.get())
            .files;
  }

  fs::path path_;
  test_certificates files_;
};

}  // namespace

const test_certificates& certificates() {
  static const certificate_directory directory;
  return directory.files();
}

}  // namespace coromqtt::test

#include "gatekeeper/tls/certificate_authority.hpp"

#include "openssl_util.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace gatekeeper::tls {
namespace {

namespace fs = std::filesystem;
using detail::BioPtr;
using detail::openssl_errors;
using detail::report;

constexpr int kCaValidityDays = 3650;
constexpr long kBackdateSeconds = 3600;  // tolerate clients whose clock is a little behind
constexpr std::size_t kMaxCommonName = 64;  // ub-common-name (RFC 5280)

struct BignumDeleter { void operator()(BIGNUM* p) const noexcept { BN_free(p); } };
struct Asn1IntegerDeleter {
  void operator()(ASN1_INTEGER* p) const noexcept { ASN1_INTEGER_free(p); }
};
struct X509NameDeleter { void operator()(X509_NAME* p) const noexcept { X509_NAME_free(p); } };
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Asn1IntegerDeleter>;

boost::system::error_code tls_error() { return make_error_code(Errc::TlsSetupFailed); }

// A positive serial of up to 128 random bits (RFC 5280: positive, at most 20 octets), so that
// two leaves for the same name are never confused by a client's certificate cache.
Asn1IntegerPtr random_serial() {
  std::array<unsigned char, 16> bytes{};
  do {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return nullptr;
    bytes[0] &= 0x7f;  // the top bit clear keeps the DER integer positive
  } while (std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0; }));
  std::unique_ptr<BIGNUM, BignumDeleter> bn(
      BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn) return nullptr;
  return Asn1IntegerPtr(BN_to_ASN1_INTEGER(bn.get(), nullptr));
}

EvpPkeyPtr generate_p256_key() { return EvpPkeyPtr(EVP_EC_gen("P-256")); }

std::string local_hostname() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') return "localhost";
  return std::string(buffer.data());
}

bool add_ca_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

X509Ptr build_ca_certificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return nullptr;
  Asn1IntegerPtr serial = random_serial();
  if (!serial || X509_set_serialNumber(cert.get(), serial.get()) != 1) return nullptr;

  const std::string prefix = "gatekeeper local CA (";
  const std::string common_name =
      prefix + local_hostname().substr(0, kMaxCommonName - prefix.size() - 1) + ")";
  std::unique_ptr<X509_NAME, X509NameDeleter> name(X509_NAME_new());
  if (!name) return nullptr;
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
  const auto* org = reinterpret_cast<const unsigned char*>("gatekeeper");
  if (X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8, org, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_set_subject_name(cert.get(), name.get()) != 1 ||
      X509_set_issuer_name(cert.get(), name.get()) != 1) {
    return nullptr;
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kCaValidityDays, 0, nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return nullptr;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  if (!add_ca_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_ca_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_ca_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash")) {
    return nullptr;
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return nullptr;
  return cert;
}

std::optional<std::string> read_whole_file(const fs::path& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return data;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Writes `data` to a fresh file created with `mode` from the start (O_CREAT|O_EXCL: never an
// existing file, never a symlink), flushed to disk.
bool write_new_file(const fs::path& path, std::string_view data, mode_t mode, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  const bool ok = write_all(fd, data.data(), data.size()) && ::fsync(fd) == 0;
  if (!ok) error = std::strerror(errno);
  if (::close(fd) != 0 && ok) {
    error = std::strerror(errno);
    return false;
  }
  return ok;
}

// Moves `from` to `to`. Without `replace`, fails when `to` exists (link + unlink), so that two
// processes starting at once never overwrite each other's CA.
bool install_file(const fs::path& from, const fs::path& to, bool replace, std::string& error) {
  const int rc = replace ? ::rename(from.c_str(), to.c_str()) : ::link(from.c_str(), to.c_str());
  if (rc != 0) {
    error = std::strerror(errno);
    ::unlink(from.c_str());
    return false;
  }
  if (!replace) ::unlink(from.c_str());
  return true;
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string key_to_pem(EVP_PKEY* key) {
  // Secure-heap memory BIO: the PEM is wiped when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Never prompts on the terminal for a passphrase: an encrypted key is reported as unusable.
int no_passphrase(char*, int, int, void*) { return 0; }

bool is_dns_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool add_leaf_extension(X509* cert, int nid, void* value, bool critical) {
  return X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) == 1;
}

}  // namespace

bool is_ip_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  const std::string text(host);
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

Result<std::string> normalize_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (is_ip_literal(host)) {
    std::string ip(host);
    std::transform(ip.begin(), ip.end(), ip.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ip;
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return tls_error();
  std::string name;
  name.reserve(host.size());
  std::size_t label_length = 0;
  for (char c : host) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == '.') {
      if (label_length == 0) return tls_error();
      label_length = 0;
    } else if (is_dns_char(lower)) {
      if (++label_length > 63) return tls_error();
    } else {
      return tls_error();
    }
    name.push_back(lower);
  }
  if (label_length == 0) return tls_error();
  return name;
}

bool CertificateAuthority::exists(const fs::path& data_dir) {
  std::error_code ec;
  return fs::exists(data_dir / kCaCertFileName, ec) && fs::exists(data_dir / kCaKeyFileName, ec);
}

Result<std::shared_ptr<CertificateAuthority>> CertificateAuthority::with_new_leaf_key(
    X509Ptr cert, EvpPkeyPtr key, bool created, Diagnostics* diagnostics) {
  std::shared_ptr<CertificateAuthority> ca(new CertificateAuthority());
  ca->leaf_key_ = generate_p256_key();
  if (!ca->leaf_key_) {
    report(diagnostics, {}, "cannot generate the leaf key: " + openssl_errors());
    return tls_error();
  }
  // Computes and caches the decoded extensions (SKI) now, before threads share the certificate.
  X509_check_purpose(cert.get(), -1, 0);
  ca->ca_cert_ = std::move(cert);
  ca->ca_key_ = std::move(key);
  ca->created_ = created;
  return ca;
}

Result<std::shared_ptr<CertificateAuthority>> CertificateAuthority::create(
    const fs::path& data_dir, bool force, Diagnostics* diagnostics) {
  const fs::path cert_path = data_dir / kCaCertFileName;
  const fs::path key_path = data_dir / kCaKeyFileName;
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) {
    report(diagnostics, data_dir.string(), "cannot create the data directory: " + ec.message());
    return make_error_code(Errc::IoError);
  }
  if (!force && (fs::exists(cert_path, ec) || fs::exists(key_path, ec))) {
    report(diagnostics, data_dir.string(),
           "a CA already exists here; pass --force to replace it (every user must then install "
           "the new certificate)");
    return tls_error();
  }

  EvpPkeyPtr key = generate_p256_key();
  X509Ptr cert = key ? build_ca_certificate(key.get()) : nullptr;
  std::string key_pem = cert ? key_to_pem(key.get()) : std::string();
  const std::string cert_pem = cert ? cert_to_pem(cert.get()) : std::string();
  if (key_pem.empty() || cert_pem.empty()) {
    report(diagnostics, data_dir.string(), "cannot build the CA: " + openssl_errors());
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    return tls_error();
  }

  // Written aside then moved in, so a crash never leaves a half-written key or a key without
  // its certificate under the final names.
  // Per-process names: two gatekeeper processes starting at once never mix their files.
  const std::string suffix = ".new." + std::to_string(::getpid());
  const fs::path key_temp = data_dir / ("." + std::string(kCaKeyFileName) + suffix);
  const fs::path cert_temp = data_dir / ("." + std::string(kCaCertFileName) + suffix);
  ::unlink(key_temp.c_str());  // left over by a crashed process that had the same id
  ::unlink(cert_temp.c_str());
  std::string error;
  const bool key_written = write_new_file(key_temp, key_pem, 0600, error);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!key_written) {
    report(diagnostics, key_path.string(), "cannot write the CA key: " + error);
    ::unlink(key_temp.c_str());
    return make_error_code(Errc::IoError);
  }
  if (!write_new_file(cert_temp, cert_pem, 0644, error)) {
    report(diagnostics, cert_path.string(), "cannot write the CA certificate: " + error);
    ::unlink(key_temp.c_str());
    ::unlink(cert_temp.c_str());
    return make_error_code(Errc::IoError);
  }
  if (!install_file(key_temp, key_path, force, error)) {
    report(diagnostics, key_path.string(), "cannot install the CA key: " + error);
    ::unlink(cert_temp.c_str());
    return make_error_code(Errc::IoError);
  }
  if (!install_file(cert_temp, cert_path, force, error)) {
    report(diagnostics, cert_path.string(), "cannot install the CA certificate: " + error);
    return make_error_code(Errc::IoError);
  }
  sync_directory(data_dir);
  return with_new_leaf_key(std::move(cert), std::move(key), true, diagnostics);
}

Result<std::shared_ptr<CertificateAuthority>> CertificateAuthority::load_or_create(
    const fs::path& data_dir, Diagnostics* diagnostics) {
  const fs::path cert_path = data_dir / kCaCertFileName;
  const fs::path key_path = data_dir / kCaKeyFileName;
  std::error_code ec;
  const bool has_cert = fs::exists(cert_path, ec);
  const bool has_key = fs::exists(key_path, ec);
  if (!has_cert && !has_key) return create(data_dir, false, diagnostics);
  if (!has_key || !has_cert) {
    const fs::path& missing = has_key ? cert_path : key_path;
    report(diagnostics, missing.string(),
           "missing while its pair is present; restore it from a backup, or run `gatekeeper ca "
           "init --force` to make a new CA (every user must then install the new certificate)");
    return tls_error();
  }

  std::string error;
  std::optional<std::string> key_pem = read_whole_file(key_path, error);
  if (!key_pem) {
    report(diagnostics, key_path.string(), "cannot read the CA key: " + error);
    return make_error_code(Errc::IoError);
  }
  EvpPkeyPtr key;
  {
    BioPtr bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
    if (bio) key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    OPENSSL_cleanse(key_pem->data(), key_pem->size());
  }
  if (!key) {
    report(diagnostics, key_path.string(),
           "not a readable unencrypted PEM private key (" + openssl_errors() +
               "); restore it from a backup or run `gatekeeper ca init --force`");
    return tls_error();
  }

  std::optional<std::string> cert_pem = read_whole_file(cert_path, error);
  if (!cert_pem) {
    report(diagnostics, cert_path.string(), "cannot read the CA certificate: " + error);
    return make_error_code(Errc::IoError);
  }
  X509Ptr cert;
  {
    BioPtr bio(BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
    if (bio) cert.reset(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  }
  if (!cert) {
    report(diagnostics, cert_path.string(),
           "not a readable PEM certificate (" + openssl_errors() +
               "); restore it from a backup or run `gatekeeper ca init --force`");
    return tls_error();
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    report(diagnostics, key_path.string(),
           "this key does not belong to " + cert_path.filename().string() +
               "; restore the matching pair or run `gatekeeper ca init --force`");
    return tls_error();
  }
  if (X509_check_ca(cert.get()) < 1) {
    report(diagnostics, cert_path.string(), "this certificate is not a CA certificate");
    return tls_error();
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    report(diagnostics, cert_path.string(),
           "the CA certificate has expired; run `gatekeeper ca init --force` and install the new "
           "certificate");
    return tls_error();
  }
  struct stat key_stat {};
  if (::stat(key_path.c_str(), &key_stat) == 0 && (key_stat.st_mode & 077) != 0) {
    report(diagnostics, key_path.string(),
           "the CA key is readable by other users; run `chmod 600` on it",
           Diagnostic::Severity::Warning);
  }
  return with_new_leaf_key(std::move(cert), std::move(key), false, diagnostics);
}

std::string CertificateAuthority::certificate_pem() const { return cert_to_pem(ca_cert_.get()); }

std::string CertificateAuthority::fingerprint_sha256() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(ca_cert_.get(), EVP_sha256(), digest, &length) != 1) return {};
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    if (i != 0) out.push_back(':');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

Result<X509Ptr> CertificateAuthority::mint_leaf(std::string_view host) const {
  auto name = normalize_host(host);
  if (!name) return name.error();
  const std::string& hostname = *name;
  const bool ip = is_ip_literal(hostname);

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return detail::tls_failure("leaf certificate");
  }
  Asn1IntegerPtr serial = random_serial();
  if (!serial || X509_set_serialNumber(cert.get(), serial.get()) != 1) {
    return detail::tls_failure("leaf serial");
  }
  std::unique_ptr<X509_NAME, X509NameDeleter> subject(X509_NAME_new());
  const std::string common_name = hostname.substr(0, kMaxCommonName);
  if (!subject ||
      X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert_.get())) != 1) {
    return detail::tls_failure("leaf names");
  }
  const long validity_seconds =
      static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(validity_).count());
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_seconds) == nullptr ||
      X509_set_pubkey(cert.get(), leaf_key_.get()) != 1) {
    return detail::tls_failure("leaf validity");
  }

  // Extensions are built as structures, not parsed from config strings: the host name can then
  // never smuggle a second SAN entry in.
  bool ok = true;
  {
    BASIC_CONSTRAINTS* constraints = BASIC_CONSTRAINTS_new();
    ok = constraints != nullptr &&
         add_leaf_extension(cert.get(), NID_basic_constraints, constraints, true);
    BASIC_CONSTRAINTS_free(constraints);
  }
  if (ok) {
    ASN1_BIT_STRING* usage = ASN1_BIT_STRING_new();
    ok = usage != nullptr && ASN1_BIT_STRING_set_bit(usage, 0, 1) == 1 &&  // digitalSignature
         add_leaf_extension(cert.get(), NID_key_usage, usage, true);
    ASN1_BIT_STRING_free(usage);
  }
  if (ok) {
    EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
    ok = eku != nullptr && sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) > 0 &&
         add_leaf_extension(cert.get(), NID_ext_key_usage, eku, false);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  }
  if (ok) {
    GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME* entry = GENERAL_NAME_new();
    if (names == nullptr || entry == nullptr) {
      ok = false;
      GENERAL_NAME_free(entry);
    } else {
      if (ip) {
        ASN1_OCTET_STRING* address = a2i_IPADDRESS(hostname.c_str());
        ok = address != nullptr;
        if (ok) GENERAL_NAME_set0_value(entry, GEN_IPADD, address);
      } else {
        ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
        ok = dns != nullptr &&
             ASN1_STRING_set(dns, hostname.data(), static_cast<int>(hostname.size())) == 1;
        if (ok) {
          GENERAL_NAME_set0_value(entry, GEN_DNS, dns);
        } else {
          ASN1_IA5STRING_free(dns);
        }
      }
      if (ok && sk_GENERAL_NAME_push(names, entry) > 0) {
        ok = add_leaf_extension(cert.get(), NID_subject_alt_name, names, false);
      } else {
        ok = false;
        GENERAL_NAME_free(entry);
      }
    }
    GENERAL_NAMES_free(names);
  }
  if (ok) {
    if (const ASN1_OCTET_STRING* ca_key_id = X509_get0_subject_key_id(ca_cert_.get())) {
      AUTHORITY_KEYID* authority = AUTHORITY_KEYID_new();
      ok = authority != nullptr &&
           (authority->keyid = ASN1_OCTET_STRING_dup(ca_key_id)) != nullptr &&
           add_leaf_extension(cert.get(), NID_authority_key_identifier, authority, false);
      AUTHORITY_KEYID_free(authority);
    }
  }
  if (!ok) return detail::tls_failure("leaf extensions for " + hostname);
  if (X509_sign(cert.get(), ca_key_.get(), EVP_sha256()) <= 0) {
    return detail::tls_failure("leaf signature for " + hostname);
  }
  return cert;
}

}  // namespace gatekeeper::tls

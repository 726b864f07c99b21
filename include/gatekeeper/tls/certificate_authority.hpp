#pragma once

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gatekeeper::tls {

struct X509Deleter { void operator()(X509* p) const noexcept { X509_free(p); } };
struct EvpPkeyDeleter { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };
struct SslCtxDeleter { void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); } };
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// File names inside the data directory.
inline constexpr char kCaCertFileName[] = "ca.pem";
inline constexpr char kCaKeyFileName[] = "ca.key";

// Canonical form of a TLS server name: lower case, no trailing dot, IPv6 literal without
// brackets. Fails (TlsSetupFailed) on anything that is neither a DNS name (letters, digits, '-',
// '_', '.', at most 253 bytes, labels of 1..63 bytes) nor an IPv4/IPv6 literal, so that a hostile
// SNI or CONNECT target can never inject extra names into a certificate.
Result<std::string> normalize_host(std::string_view host);
// True for an IPv4 or IPv6 literal (IPv6 with or without brackets).
bool is_ip_literal(std::string_view host);

// The local CA: ECDSA P-256, created on first run in the data directory (ca.key mode 0600,
// ca.pem world-readable). Leaf certificates are signed with it over one shared leaf key generated
// at start-up (no key generation on the request path; the CA key only ever signs).
//
// Loading and creation report every problem as a Diagnostic (file + a message an operator can
// act on, with the OpenSSL reason when there is one) into `diagnostics` when given, and to the
// log otherwise. Key material never appears in either.
class CertificateAuthority {
 public:
  // Loads data_dir/ca.pem + ca.key, creating them (and data_dir) when both are absent. A lone
  // ca.pem or ca.key, a corrupted file or a key that does not match the certificate is an error
  // (never silently replaced: users have the old certificate installed).
  static Result<std::shared_ptr<CertificateAuthority>> load_or_create(
      const std::filesystem::path& data_dir, Diagnostics* diagnostics = nullptr);
  // Creates a new CA. When one exists, fails unless `force` (used by `gatekeeper ca init
  // --force`), in which case both files are replaced atomically (written aside, then renamed).
  static Result<std::shared_ptr<CertificateAuthority>> create(
      const std::filesystem::path& data_dir, bool force, Diagnostics* diagnostics = nullptr);
  // True when both CA files exist in data_dir (whether or not they are valid).
  static bool exists(const std::filesystem::path& data_dir);

  // PEM of the CA certificate (what users install in their trust store).
  std::string certificate_pem() const;
  X509* certificate() const noexcept { return ca_cert_.get(); }
  // "AB:CD:..." SHA-256 fingerprint of the CA certificate, so users can check what they install.
  std::string fingerprint_sha256() const;
  // True when this object was created (not loaded) by the call that returned it.
  bool created() const noexcept { return created_; }

  // Mints a leaf for `host` (DNS name or IP literal, normalized with normalize_host): random
  // positive 128-bit serial, SAN (DNS or IP), serverAuth EKU, digitalSignature key usage, AKI from
  // the CA's SKI, CN = host truncated to 64 bytes, valid from now-1h for `validity()`, SHA-256.
  Result<X509Ptr> mint_leaf(std::string_view host) const;
  EVP_PKEY* leaf_key() const noexcept { return leaf_key_.get(); }
  std::chrono::hours validity() const noexcept { return validity_; }

 private:
  CertificateAuthority() = default;
  static Result<std::shared_ptr<CertificateAuthority>> with_new_leaf_key(
      X509Ptr cert, EvpPkeyPtr key, bool created, Diagnostics* diagnostics);

  X509Ptr ca_cert_;
  EvpPkeyPtr ca_key_;
  EvpPkeyPtr leaf_key_;
  std::chrono::hours validity_{24 * 7};
  bool created_ = false;
};

// Per-host leaf certificate cache: LRU-bounded, one mint per host even when many handshakes for
// the same host race (the others wait for the first). Thread-safe. A failed mint is not cached:
// the next lookup for that host tries again.
//
// Only the leaf certificate is kept per host (about 3.3 KB with the cache's bookkeeping, against
// 17 KB for a whole SSL_CTX): the private key (the CA's shared leaf key), the chain (the CA) and
// every TLS setting are shared, and the bootstrap server context installs the leaf on each
// connection's SSL (see make_sni_server_context). The leaf is kept decoded rather than as DER:
// decoding costs about as much as minting with OpenSSL 3.0.
class LeafContextCache {
 public:
  LeafContextCache(std::shared_ptr<const CertificateAuthority> ca, std::size_t capacity);
  // Returns the leaf certificate for `host` (normalized first, see normalize_host), minting it on
  // a miss. It is signed over authority().leaf_key() by authority().certificate(). Shared and
  // never modified once minted (non-const only because OpenSSL's setters take X509*): it stays
  // valid after eviction for as long as a handshake or an SSL holds it.
  Result<std::shared_ptr<X509>> get_certificate(std::string_view host);
  std::size_t size() const;
  std::size_t mint_count() const;  // for tests: how many certificates were minted
  const CertificateAuthority& authority() const noexcept { return *ca_; }

 private:
  struct Entry;
  std::shared_ptr<const CertificateAuthority> ca_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::string> lru_;  // most recently used first
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  std::size_t mints_ = 0;
};

// Bootstrap server context for intercepted connections (one context for every host).
//
// Contract:
// - Create one SSL per client connection from this context (e.g. asio::ssl::stream over a
//   boost::asio::ssl::context wrapping it, or SSL_new) and, before the handshake, call
//   set_fallback_host(ssl, connect_host) with the CONNECT target.
// - During the handshake, the servername callback takes the client's SNI, or the fallback host
//   when the client sent none, gets the host's leaf from `cache` (minting on a miss; the
//   handshake thread waits for it, a fraction of a millisecond) and installs it on that SSL
//   with the shared leaf key and the CA as chain. TLS 1.2+, ALPN http/1.1 only.
// - With neither SNI nor fallback host, or when minting fails, the handshake is aborted with a
//   fatal alert (unrecognized_name / internal_error) and the reason is logged.
// - The context holds a raw pointer to `cache`: the cache must outlive it and every SSL made
//   from it (keep both in the same long-lived ProxyContext).
Result<SslCtxPtr> make_sni_server_context(LeafContextCache& cache);
// Stores the CONNECT host on `ssl` (copied; freed with the SSL), used when there is no SNI.
void set_fallback_host(SSL* ssl, std::string host);
// The fallback host stored on `ssl`, or nullptr.
const std::string* fallback_host(const SSL* ssl);

// Client context for upstream connections: system trust store + optional extra bundle, peer
// verification on, TLS 1.2+, ALPN http/1.1. Host name verification is set per connection with
// configure_upstream_ssl().
Result<SslCtxPtr> make_upstream_context(const std::optional<std::filesystem::path>& extra_ca_file);
// Sets SNI (not for IP literals) and the expected host name (or IP address) on an upstream SSL
// handle; the handshake then fails unless the certificate is valid for `host`.
Result<void> configure_upstream_ssl(SSL* ssl, std::string_view host);

}  // namespace gatekeeper::tls

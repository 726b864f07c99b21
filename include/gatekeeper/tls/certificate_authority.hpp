#pragma once

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

// The local CA: ECDSA P-256, created on first run in the data directory (ca.key mode 0600,
// ca.pem world-readable). Leaf certificates are signed with it over one shared leaf key generated
// at start-up (no key generation on the request path; the CA key only ever signs).
class CertificateAuthority {
 public:
  // Loads data_dir/ca.pem + ca.key, creating them (and data_dir) when absent.
  static Result<std::shared_ptr<CertificateAuthority>> load_or_create(const std::filesystem::path& data_dir);
  // Creates a new CA even if one exists only when `force` (used by `gatekeeper ca init --force`).
  static Result<std::shared_ptr<CertificateAuthority>> create(const std::filesystem::path& data_dir, bool force);

  // PEM of the CA certificate (what users install in their trust store).
  std::string certificate_pem() const;
  X509* certificate() const noexcept { return ca_cert_.get(); }

  // Mints a leaf for `host` (DNS name or IP literal): random 128-bit serial, SAN, serverAuth EKU,
  // AKI from the CA's SKI, valid from now-1h for `validity` (short: default 7 days).
  Result<X509Ptr> mint_leaf(std::string_view host) const;
  EVP_PKEY* leaf_key() const noexcept { return leaf_key_.get(); }

 private:
  X509Ptr ca_cert_;
  EvpPkeyPtr ca_key_;
  EvpPkeyPtr leaf_key_;
  std::chrono::hours validity_{24 * 7};
};

// Per-host server SSL_CTX cache: LRU-bounded, one mint per host even when many handshakes for the
// same host race (the others wait for the first). Thread-safe.
class LeafContextCache {
 public:
  LeafContextCache(std::shared_ptr<const CertificateAuthority> ca, std::size_t capacity);
  // Returns a server context presenting a leaf for `host` (ALPN http/1.1 only).
  Result<std::shared_ptr<SSL_CTX>> get(std::string_view host);
  std::size_t size() const;
  std::size_t mint_count() const;  // for tests: how many certificates were minted

 private:
  struct Entry;
  std::shared_ptr<const CertificateAuthority> ca_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  std::size_t mints_ = 0;
};

// Client context for upstream connections: system trust store + optional extra bundle, peer
// verification on, ALPN http/1.1. Host name verification is set per connection with
// configure_upstream_ssl().
Result<SslCtxPtr> make_upstream_context(const std::optional<std::filesystem::path>& extra_ca_file);
// Sets SNI and the expected host name on an upstream SSL handle.
Result<void> configure_upstream_ssl(SSL* ssl, std::string_view host);

}  // namespace gatekeeper::tls

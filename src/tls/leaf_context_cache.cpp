#include "gatekeeper/tls/certificate_authority.hpp"

#include "openssl_util.hpp"

#include <openssl/x509v3.h>

#include <cstring>
#include <future>

namespace gatekeeper::tls {
namespace {

constexpr unsigned char kSessionIdContext[] = "gatekeeper";

// Offers http/1.1 only: the inspector speaks HTTP/1.1. A client that does not offer it gets no
// ALPN answer (and may still speak HTTP/1.1, or give up) rather than a handshake failure.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* in, unsigned int in_length, void*) {
  static constexpr char kHttp11[] = "http/1.1";
  constexpr unsigned int kHttp11Length = sizeof(kHttp11) - 1;
  unsigned int i = 0;
  while (i < in_length) {
    const unsigned int length = in[i];
    if (i + 1 + length > in_length) break;
    if (length == kHttp11Length && std::memcmp(in + i + 1, kHttp11, kHttp11Length) == 0) {
      *out = in + i + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// The one server context's settings; per host, only the certificate differs.
bool configure_server_context(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1) ==
             1;
}

void free_fallback_host(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int fallback_host_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_fallback_host);
  return index;
}

int select_leaf_context(SSL* ssl, int* alert, void* arg) {
  auto* cache = static_cast<LeafContextCache*>(arg);
  std::string_view host;
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name); sni && *sni) {
    host = sni;
  } else if (const std::string* fallback = fallback_host(ssl)) {
    host = *fallback;
  }
  if (host.empty()) {
    spdlog::warn("tls: client handshake without server name and no CONNECT host to fall back on");
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  auto leaf = cache->get_certificate(host);
  if (!leaf) {
    spdlog::warn("tls: no certificate for the requested server name: {}",
                 leaf.error().message());
    *alert = leaf.error() == Errc::TlsSetupFailed && !normalize_host(host)
                 ? SSL_AD_UNRECOGNIZED_NAME
                 : SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  // The SSL owns a copy of its context's certificate slots: setting them here touches this
  // connection only. The chain is cleared first because the callback runs again on the second
  // ClientHello after a HelloRetryRequest, and a chain only grows.
  const CertificateAuthority& ca = cache->authority();
  if (SSL_use_certificate(ssl, leaf->get()) != 1 || SSL_use_PrivateKey(ssl, ca.leaf_key()) != 1 ||
      SSL_clear_chain_certs(ssl) != 1 || SSL_add1_chain_cert(ssl, ca.certificate()) != 1) {
    detail::tls_failure("installing the leaf certificate on the connection");
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

struct LeafContextCache::Entry {
  std::shared_future<Result<std::shared_ptr<X509>>> certificate;
  std::list<std::string>::iterator position;
};

LeafContextCache::LeafContextCache(std::shared_ptr<const CertificateAuthority> ca,
                                   std::size_t capacity)
    : ca_(std::move(ca)), capacity_(capacity == 0 ? 1 : capacity) {}

Result<std::shared_ptr<X509>> LeafContextCache::get_certificate(std::string_view host) {
  auto name = normalize_host(host);
  if (!name) return name.error();

  std::shared_future<Result<std::shared_ptr<X509>>> future;
  std::promise<Result<std::shared_ptr<X509>>> promise;
  std::shared_ptr<Entry> minted_here;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(*name); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second->position);
      future = it->second->certificate;
    } else {
      minted_here = std::make_shared<Entry>();
      minted_here->certificate = promise.get_future().share();
      lru_.push_front(*name);
      minted_here->position = lru_.begin();
      entries_.emplace(*name, minted_here);
      ++mints_;
      future = minted_here->certificate;
      while (entries_.size() > capacity_) {
        // Handshakes still waiting on an evicted entry hold their own copy of its future.
        entries_.erase(lru_.back());
        lru_.pop_back();
      }
    }
  }
  if (minted_here) {
    // Minted outside the lock: other hosts are served meanwhile; same-host callers wait on
    // the future.
    Result<std::shared_ptr<X509>> result = make_error_code(Errc::TlsSetupFailed);
    if (auto leaf = ca_->mint_leaf(*name)) {
      // Decodes and caches the extensions now, before other threads share the certificate.
      X509_check_purpose(leaf->get(), -1, 0);
      result = std::shared_ptr<X509>(std::move(*leaf));
    } else {
      result = leaf.error();
      std::lock_guard lock(mutex_);
      if (auto it = entries_.find(*name); it != entries_.end() && it->second == minted_here) {
        lru_.erase(it->second->position);
        entries_.erase(it);
      }
    }
    promise.set_value(std::move(result));
  }
  return future.get();
}

std::size_t LeafContextCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t LeafContextCache::mint_count() const {
  std::lock_guard lock(mutex_);
  return mints_;
}

Result<SslCtxPtr> make_sni_server_context(LeafContextCache& cache) {
  if (fallback_host_index() < 0) return detail::tls_failure("SSL ex_data index");
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || !configure_server_context(ctx.get())) {
    return detail::tls_failure("bootstrap server context");
  }
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), select_leaf_context);
  SSL_CTX_set_tlsext_servername_arg(ctx.get(), &cache);
  return ctx;
}

void set_fallback_host(SSL* ssl, std::string host) {
  const int index = fallback_host_index();
  if (index < 0) return;
  auto* previous = static_cast<std::string*>(SSL_get_ex_data(ssl, index));
  auto* stored = new std::string(std::move(host));
  if (SSL_set_ex_data(ssl, index, stored) == 1) {
    delete previous;
  } else {
    delete stored;
  }
}

const std::string* fallback_host(const SSL* ssl) {
  const int index = fallback_host_index();
  if (index < 0) return nullptr;
  return static_cast<const std::string*>(SSL_get_ex_data(ssl, index));
}

}  // namespace gatekeeper::tls

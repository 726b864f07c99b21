#include "gatekeeper/tls/certificate_authority.hpp"

#include "openssl_util.hpp"

#include <openssl/x509v3.h>

namespace gatekeeper::tls {

Result<SslCtxPtr> make_upstream_context(const std::optional<std::filesystem::path>& extra_ca_file) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return detail::tls_failure("upstream client context");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // The system store (honours SSL_CERT_FILE / SSL_CERT_DIR like every OpenSSL client).
  if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return detail::tls_failure("system trust store");
  }
  if (extra_ca_file) {
    if (SSL_CTX_load_verify_locations(ctx.get(), extra_ca_file->c_str(), nullptr) != 1) {
      spdlog::error("tls: {}: cannot load the extra upstream CA bundle: {}",
                    extra_ca_file->string(), detail::openssl_errors());
      return make_error_code(Errc::TlsSetupFailed);
    }
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(ctx.get()),
                                  X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  // Unlike most of OpenSSL, set_alpn_protos returns 0 on success.
  if (SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn)) != 0) {
    return detail::tls_failure("upstream ALPN");
  }
  return ctx;
}

Result<void> configure_upstream_ssl(SSL* ssl, std::string_view host) {
  auto name = normalize_host(host);
  if (!name) return name.error();
  if (is_ip_literal(*name)) {
    // RFC 6066: no SNI for address literals; the certificate must carry the IP in its SAN.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name->c_str()) != 1) {
      return detail::tls_failure("upstream IP verification");
    }
    return {};
  }
  if (SSL_set_tlsext_host_name(ssl, name->c_str()) != 1) {
    return detail::tls_failure("upstream SNI");
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, name->c_str()) != 1) {
    return detail::tls_failure("upstream host name verification");
  }
  return {};
}

}  // namespace gatekeeper::tls

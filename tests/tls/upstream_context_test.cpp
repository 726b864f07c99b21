#include "gatekeeper/tls/certificate_authority.hpp"

#include "support/tls_test_support.hpp"

#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace gatekeeper::tls {
namespace {

using test_support::HandshakeOutcome;
using test_support::SslPtr;
using test_support::TempDir;

// A stand-in for a platform: a server whose certificates come from a test CA that no system
// trust store knows.
class UpstreamContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CertificateAuthority::load_or_create(ca_dir_.path());
    ASSERT_TRUE(ca.has_value());
    test_ca_ = *ca;
    cache_ = std::make_unique<LeafContextCache>(test_ca_, 16);
    bundle_ = ca_dir_.path() / kCaCertFileName;
  }

  // A server context presenting the leaf for `host` whatever the client asks for (leaf + CA).
  SslCtxPtr fixed_host_server_context(std::string_view host) {
    auto leaf = cache_->get_certificate(host);
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!leaf || !ctx || SSL_CTX_use_certificate(ctx.get(), leaf->get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx.get(), test_ca_->leaf_key()) != 1 ||
        SSL_CTX_add1_chain_cert(ctx.get(), test_ca_->certificate()) != 1) {
      return nullptr;
    }
    return ctx;
  }

  // Handshake of an upstream client for `host` with a server presenting `server_ctx`.
  HandshakeOutcome connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx, std::string_view host,
                           const char* fallback = nullptr) {
    SslPtr client(SSL_new(client_ctx));
    SslPtr server(SSL_new(server_ctx));
    EXPECT_TRUE(configure_upstream_ssl(client.get(), host).has_value());
    if (fallback != nullptr) set_fallback_host(server.get(), fallback);
    server_name_seen_.clear();
    HandshakeOutcome outcome = test_support::run_handshake(client.get(), server.get());
    if (const char* name = SSL_get_servername(server.get(), TLSEXT_NAMETYPE_host_name)) {
      server_name_seen_ = name;
    }
    return outcome;
  }

  TempDir ca_dir_;
  std::shared_ptr<CertificateAuthority> test_ca_;
  std::unique_ptr<LeafContextCache> cache_;
  std::filesystem::path bundle_;
  std::string server_name_seen_;
};

TEST_F(UpstreamContextTest, UnknownCaIsRejected) {
  auto client_ctx = make_upstream_context(std::nullopt);
  ASSERT_TRUE(client_ctx.has_value());
  SslCtxPtr server_ctx = fixed_host_server_context("upstream.test");
  ASSERT_TRUE(server_ctx);
  HandshakeOutcome outcome = connect(client_ctx->get(), server_ctx.get(), "upstream.test");
  EXPECT_FALSE(outcome.client_ok);
  // The server sends leaf + CA, so OpenSSL reports the untrusted self-signed root.
  EXPECT_TRUE(outcome.client_verify_result == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
              outcome.client_verify_result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      << outcome.client_verify_result;
}

TEST_F(UpstreamContextTest, SelfSignedCertificateIsRejected) {
  auto client_ctx = make_upstream_context(std::nullopt);
  ASSERT_TRUE(client_ctx.has_value());
  // The test CA's own self-signed certificate, served with its key.
  FILE* key_file = std::fopen((ca_dir_.path() / kCaKeyFileName).c_str(), "r");
  ASSERT_NE(key_file, nullptr);
  EvpPkeyPtr key(PEM_read_PrivateKey(key_file, nullptr, nullptr, nullptr));
  std::fclose(key_file);
  ASSERT_TRUE(key);
  SslCtxPtr server_ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_EQ(SSL_CTX_use_certificate(server_ctx.get(), test_ca_->certificate()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx.get(), key.get()), 1);
  HandshakeOutcome outcome = connect(client_ctx->get(), server_ctx.get(), "upstream.test");
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_EQ(outcome.client_verify_result, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
}

TEST_F(UpstreamContextTest, ExtraBundleIsTrustedAndHttp11Negotiated) {
  auto client_ctx = make_upstream_context(bundle_);
  ASSERT_TRUE(client_ctx.has_value());
  auto server_ctx = make_sni_server_context(*cache_);
  ASSERT_TRUE(server_ctx.has_value());
  HandshakeOutcome outcome = connect(client_ctx->get(), server_ctx->get(), "Upstream.Test");
  ASSERT_TRUE(outcome.client_ok);
  EXPECT_EQ(outcome.client_verify_result, X509_V_OK);
  EXPECT_EQ(outcome.alpn, "http/1.1");
  EXPECT_EQ(server_name_seen_, "upstream.test");
}

TEST_F(UpstreamContextTest, WrongHostNameIsRejectedEvenWithTrustedCa) {
  auto client_ctx = make_upstream_context(bundle_);
  ASSERT_TRUE(client_ctx.has_value());
  SslCtxPtr server_ctx = fixed_host_server_context("other.test");
  ASSERT_TRUE(server_ctx);
  HandshakeOutcome outcome = connect(client_ctx->get(), server_ctx.get(), "upstream.test");
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_EQ(outcome.client_verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(UpstreamContextTest, IpLiteralIsVerifiedAgainstTheIpSanWithoutSni) {
  auto client_ctx = make_upstream_context(bundle_);
  ASSERT_TRUE(client_ctx.has_value());
  auto server_ctx = make_sni_server_context(*cache_);
  ASSERT_TRUE(server_ctx.has_value());
  HandshakeOutcome ok = connect(client_ctx->get(), server_ctx->get(), "127.0.0.1", "127.0.0.1");
  ASSERT_TRUE(ok.client_ok);
  EXPECT_EQ(ok.client_verify_result, X509_V_OK);
  EXPECT_EQ(server_name_seen_, "");  // no SNI for an address literal

  HandshakeOutcome wrong =
      connect(client_ctx->get(), server_ctx->get(), "127.0.0.1", "127.0.0.2");
  EXPECT_FALSE(wrong.client_ok);
  EXPECT_EQ(wrong.client_verify_result, X509_V_ERR_IP_ADDRESS_MISMATCH);
}

TEST_F(UpstreamContextTest, MissingOrInvalidExtraBundleFails) {
  auto missing = make_upstream_context(ca_dir_.path() / "no-such-bundle.pem");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), Errc::TlsSetupFailed);

  const auto garbage = ca_dir_.path() / "garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  EXPECT_FALSE(make_upstream_context(garbage).has_value());
}

TEST_F(UpstreamContextTest, InvalidHostIsRefused) {
  auto client_ctx = make_upstream_context(std::nullopt);
  ASSERT_TRUE(client_ctx.has_value());
  SslPtr client(SSL_new(client_ctx->get()));
  EXPECT_FALSE(configure_upstream_ssl(client.get(), "bad host").has_value());
}

}  // namespace
}  // namespace gatekeeper::tls

#include "gatekeeper/tls/certificate_authority.hpp"

#include "support/tls_test_support.hpp"

#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

namespace gatekeeper::tls {
namespace {

using test_support::HandshakeOutcome;
using test_support::SslPtr;
using test_support::TempDir;

class LeafContextCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CertificateAuthority::load_or_create(dir_.path());
    ASSERT_TRUE(ca.has_value());
    ca_ = *ca;
  }

  TempDir dir_;
  std::shared_ptr<CertificateAuthority> ca_;
};

TEST_F(LeafContextCacheTest, SecondLookupIsACacheHit) {
  LeafContextCache cache(ca_, 16);
  auto first = cache.get_certificate("chatgpt.com");
  ASSERT_TRUE(first.has_value());
  auto second = cache.get_certificate("CHATGPT.com.");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ(cache.mint_count(), 1u);
  EXPECT_EQ(cache.size(), 1u);
  X509* leaf = first->get();
  EXPECT_EQ(X509_check_host(leaf, "chatgpt.com", 0, 0, nullptr), 1);
  // Signed by the CA, over the shared leaf key the server context installs with it.
  EXPECT_EQ(X509_verify(leaf, X509_get0_pubkey(ca_->certificate())), 1);
  EXPECT_EQ(X509_check_private_key(leaf, ca_->leaf_key()), 1);
}

TEST_F(LeafContextCacheTest, ConcurrentLookupsForOneHostMintOnce) {
  LeafContextCache cache(ca_, 16);
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<X509*> seen(kThreads, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto leaf = cache.get_certificate("same.host");
      if (leaf) seen[i] = leaf->get();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.mint_count(), 1u);
  EXPECT_EQ(cache.size(), 1u);
  for (X509* leaf : seen) {
    ASSERT_NE(leaf, nullptr);
    EXPECT_EQ(leaf, seen.front());
  }
}

TEST_F(LeafContextCacheTest, ConcurrentLookupsForDifferentHostsMintEach) {
  LeafContextCache cache(ca_, 64);
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int round = 0; round < 4; ++round) {
        const std::string host = "host" + std::to_string((i + round) % kThreads) + ".test";
        auto leaf = cache.get_certificate(host);
        EXPECT_TRUE(leaf.has_value());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.mint_count(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(cache.size(), static_cast<std::size_t>(kThreads));
}

TEST_F(LeafContextCacheTest, LeastRecentlyUsedHostIsEvicted) {
  LeafContextCache cache(ca_, 3);
  ASSERT_TRUE(cache.get_certificate("a.test").has_value());
  ASSERT_TRUE(cache.get_certificate("b.test").has_value());
  ASSERT_TRUE(cache.get_certificate("c.test").has_value());
  ASSERT_TRUE(cache.get_certificate("a.test").has_value());  // a is now the most recently used
  ASSERT_TRUE(cache.get_certificate("d.test").has_value());  // evicts b
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.mint_count(), 4u);
  ASSERT_TRUE(cache.get_certificate("a.test").has_value());
  ASSERT_TRUE(cache.get_certificate("c.test").has_value());
  ASSERT_TRUE(cache.get_certificate("d.test").has_value());
  EXPECT_EQ(cache.mint_count(), 4u);  // still cached
  ASSERT_TRUE(cache.get_certificate("b.test").has_value());
  EXPECT_EQ(cache.mint_count(), 5u);  // b had been evicted
  EXPECT_EQ(cache.size(), 3u);
}

TEST_F(LeafContextCacheTest, InvalidHostIsNotCached) {
  LeafContextCache cache(ca_, 3);
  auto leaf = cache.get_certificate("bad host");
  ASSERT_FALSE(leaf.has_value());
  EXPECT_EQ(leaf.error(), Errc::TlsSetupFailed);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(LeafContextCacheTest, EvictedCertificateStaysValidForItsHolder) {
  LeafContextCache cache(ca_, 1);
  auto held = cache.get_certificate("first.test");
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE(cache.get_certificate("second.test").has_value());  // evicts first.test
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(X509_check_host(held->get(), "first.test", 0, 0, nullptr), 1);
}

class SniServerContextTest : public LeafContextCacheTest {
 protected:
  void SetUp() override {
    LeafContextCacheTest::SetUp();
    cache_ = std::make_unique<LeafContextCache>(ca_, 16);
    auto server = make_sni_server_context(*cache_);
    ASSERT_TRUE(server.has_value());
    server_ctx_ = std::move(*server);
  }

  HandshakeOutcome handshake(const char* sni, const char* expected_host,
                             std::string_view alpn = std::string_view("\x02h2\x08http/1.1", 12),
                             const char* fallback = nullptr) {
    auto client_ctx = test_support::make_test_client_context(ca_->certificate(), alpn);
    SslPtr client(SSL_new(client_ctx.get()));
    SslPtr server(SSL_new(server_ctx_.get()));
    if (sni != nullptr) SSL_set_tlsext_host_name(client.get(), sni);
    SSL_set1_host(client.get(), expected_host);
    if (fallback != nullptr) set_fallback_host(server.get(), fallback);
    return test_support::run_handshake(client.get(), server.get());
  }

  std::unique_ptr<LeafContextCache> cache_;
  SslCtxPtr server_ctx_;
};

TEST_F(SniServerContextTest, ClientSeesACertificateForItsSniAndHttp11) {
  HandshakeOutcome outcome = handshake("api.openai.com", "api.openai.com");
  ASSERT_TRUE(outcome.client_ok);
  EXPECT_TRUE(outcome.server_ok);
  EXPECT_EQ(outcome.client_verify_result, X509_V_OK);
  EXPECT_EQ(outcome.alpn, "http/1.1");
  ASSERT_TRUE(outcome.server_certificate);
  EXPECT_EQ(X509_check_host(outcome.server_certificate.get(), "api.openai.com", 0, 0, nullptr),
            1);
  EXPECT_EQ(outcome.peer_chain_length, 2);  // leaf + CA
  EXPECT_EQ(cache_->mint_count(), 1u);

  // A second connection for the same host reuses the cached certificate.
  HandshakeOutcome again = handshake("api.openai.com", "api.openai.com");
  EXPECT_TRUE(again.client_ok);
  EXPECT_EQ(again.peer_chain_length, 2);
  EXPECT_EQ(cache_->mint_count(), 1u);
}

TEST_F(SniServerContextTest, EachConnectionGetsTheCertificateOfItsOwnHost) {
  // One bootstrap context serves every host: installing a leaf on one connection must not
  // leak into the next one or into the context.
  HandshakeOutcome first = handshake("claude.ai", "claude.ai");
  HandshakeOutcome second = handshake("chat.mistral.ai", "chat.mistral.ai");
  ASSERT_TRUE(first.client_ok);
  ASSERT_TRUE(second.client_ok);
  EXPECT_EQ(X509_check_host(second.server_certificate.get(), "chat.mistral.ai", 0, 0, nullptr),
            1);
  EXPECT_NE(X509_check_host(second.server_certificate.get(), "claude.ai", 0, 0, nullptr), 1);
  EXPECT_EQ(SSL_CTX_get0_certificate(server_ctx_.get()), nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(server_ctx_.get()), TLS1_2_VERSION);
  EXPECT_EQ(cache_->mint_count(), 2u);
}

TEST_F(SniServerContextTest, HelloRetryRequestStillSendsLeafAndCaOnly) {
  // The client's first key share (P-256) is one the server refuses, so the server asks for
  // another ClientHello and the servername callback runs twice on the same SSL.
  auto client_ctx = test_support::make_test_client_context(ca_->certificate(), "");
  SslPtr client(SSL_new(client_ctx.get()));
  SslPtr server(SSL_new(server_ctx_.get()));
  ASSERT_EQ(SSL_set1_groups_list(client.get(), "P-256:X25519"), 1);
  ASSERT_EQ(SSL_set1_groups_list(server.get(), "X25519"), 1);
  SSL_set_tlsext_host_name(client.get(), "copilot.microsoft.com");
  SSL_set1_host(client.get(), "copilot.microsoft.com");
  HandshakeOutcome outcome = test_support::run_handshake(client.get(), server.get());
  ASSERT_TRUE(outcome.client_ok);
  EXPECT_EQ(outcome.client_verify_result, X509_V_OK);
  EXPECT_EQ(SSL_version(client.get()), TLS1_3_VERSION);
  EXPECT_EQ(outcome.peer_chain_length, 2);
  EXPECT_EQ(cache_->mint_count(), 1u);
}

TEST_F(SniServerContextTest, Tls12ClientGetsTheLeafAndHttp11) {
  // In TLS 1.2 the cipher suite is chosen from the certificate installed by the callback.
  auto client_ctx = test_support::make_test_client_context(
      ca_->certificate(), std::string_view("\x08http/1.1", 9));
  ASSERT_EQ(SSL_CTX_set_max_proto_version(client_ctx.get(), TLS1_2_VERSION), 1);
  SslPtr client(SSL_new(client_ctx.get()));
  SslPtr server(SSL_new(server_ctx_.get()));
  SSL_set_tlsext_host_name(client.get(), "api.mistral.ai");
  SSL_set1_host(client.get(), "api.mistral.ai");
  HandshakeOutcome outcome = test_support::run_handshake(client.get(), server.get());
  ASSERT_TRUE(outcome.client_ok);
  EXPECT_EQ(SSL_version(client.get()), TLS1_2_VERSION);
  EXPECT_EQ(outcome.client_verify_result, X509_V_OK);
  EXPECT_EQ(outcome.alpn, "http/1.1");
  EXPECT_EQ(outcome.peer_chain_length, 2);
}

TEST_F(SniServerContextTest, UnusableServerNameAbortsTheHandshake) {
  // The SNI is not a host name: nothing can be minted for it, so the client gets a fatal alert.
  HandshakeOutcome outcome = handshake("bad host", "chatgpt.com");
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_FALSE(outcome.server_ok);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(SniServerContextTest, SniWinsOverTheFallbackHost) {
  HandshakeOutcome outcome =
      handshake("claude.ai", "claude.ai", std::string_view("\x08http/1.1", 9), "api.anthropic.com");
  ASSERT_TRUE(outcome.client_ok);
  EXPECT_EQ(X509_check_host(outcome.server_certificate.get(), "claude.ai", 0, 0, nullptr), 1);
}

TEST_F(SniServerContextTest, NoSniUsesTheConnectHost) {
  HandshakeOutcome outcome =
      handshake(nullptr, "chatgpt.com", std::string_view("\x08http/1.1", 9), "chatgpt.com");
  ASSERT_TRUE(outcome.client_ok);
  EXPECT_EQ(outcome.client_verify_result, X509_V_OK);
  EXPECT_EQ(X509_check_host(outcome.server_certificate.get(), "chatgpt.com", 0, 0, nullptr), 1);
}

TEST_F(SniServerContextTest, NoSniAndNoFallbackAbortsTheHandshake) {
  HandshakeOutcome outcome = handshake(nullptr, "chatgpt.com");
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_FALSE(outcome.server_ok);
  EXPECT_EQ(cache_->mint_count(), 0u);
}

TEST_F(SniServerContextTest, ClientWithoutHttp11GetsNoAlpnButAHandshake) {
  HandshakeOutcome outcome = handshake("gemini.google.com", "gemini.google.com",
                                       std::string_view("\x02h2", 3));
  ASSERT_TRUE(outcome.client_ok);
  EXPECT_EQ(outcome.alpn, "");
}

TEST_F(SniServerContextTest, ClientNotTrustingTheCaRefuses) {
  TempDir other_dir;
  auto other = CertificateAuthority::load_or_create(other_dir.path());
  ASSERT_TRUE(other.has_value());
  auto client_ctx = test_support::make_test_client_context((*other)->certificate(), "");
  SslPtr client(SSL_new(client_ctx.get()));
  SslPtr server(SSL_new(server_ctx_.get()));
  SSL_set_tlsext_host_name(client.get(), "api.openai.com");
  HandshakeOutcome outcome = test_support::run_handshake(client.get(), server.get());
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_NE(outcome.client_verify_result, X509_V_OK);
}

TEST(FallbackHostTest, StoredOnTheSslAndReplaceable) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SslPtr ssl(SSL_new(ctx.get()));
  EXPECT_EQ(fallback_host(ssl.get()), nullptr);
  set_fallback_host(ssl.get(), "first.test");
  set_fallback_host(ssl.get(), "second.test");
  ASSERT_NE(fallback_host(ssl.get()), nullptr);
  EXPECT_EQ(*fallback_host(ssl.get()), "second.test");
}

}  // namespace
}  // namespace gatekeeper::tls

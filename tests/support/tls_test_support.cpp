#include "support/tls_test_support.hpp"

#include <openssl/pem.h>

#include <cstdlib>
#include <stdexcept>

namespace gatekeeper::test_support {

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "gatekeeper-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

// Returns false on a fatal error, true when finished or waiting for the peer.
bool step(SSL* ssl, bool& done) {
  if (done) return true;
  const int rc = SSL_do_handshake(ssl);
  if (rc == 1) {
    done = true;
    return true;
  }
  const int error = SSL_get_error(ssl, rc);
  return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
}

}  // namespace

HandshakeOutcome run_handshake(SSL* client, SSL* server) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) return {};
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);

  HandshakeOutcome outcome;
  bool client_done = false;
  bool server_done = false;
  bool failed = false;
  for (int round = 0; round < 64 && !(client_done && server_done) && !failed; ++round) {
    failed = !step(client, client_done) || !step(server, server_done);
  }
  // A client that failed may still have queued its alert: let the server read it.
  if (failed) step(server, server_done);
  outcome.client_ok = client_done;
  outcome.server_ok = server_done;
  outcome.client_verify_result = SSL_get_verify_result(client);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(client, &alpn, &alpn_length);
  if (alpn != nullptr) outcome.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  outcome.server_certificate.reset(SSL_get1_peer_certificate(client));
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(client)) {
    outcome.peer_chain_length = sk_X509_num(chain);
  }
  return outcome;
}

tls::SslCtxPtr make_test_client_context(X509* ca, std::string_view alpn) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return nullptr;
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!alpn.empty()) {
    SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                            static_cast<unsigned int>(alpn.size()));
  }
  return ctx;
}

std::string to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

}  // namespace gatekeeper::test_support

#pragma once
// Test helpers for the TLS layer: temporary directories and in-memory TLS handshakes.

#include "gatekeeper/tls/certificate_authority.hpp"

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>

namespace gatekeeper::test_support {

// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

struct SslDeleter { void operator()(SSL* p) const noexcept { SSL_free(p); } };
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

struct HandshakeOutcome {
  bool client_ok = false;
  bool server_ok = false;
  long client_verify_result = -1;  // SSL_get_verify_result on the client
  std::string alpn;                // protocol the client sees selected, empty when none
  tls::X509Ptr server_certificate;  // what the client received
  int peer_chain_length = 0;        // certificates the server sent
};

// Drives both ends of a TLS handshake over a BIO pair until both finish or one fails.
HandshakeOutcome run_handshake(SSL* client, SSL* server);

// A client context trusting `ca` only (not the system store), verifying peers, offering `alpn`
// (wire format, e.g. "\x02h2\x08http/1.1").
tls::SslCtxPtr make_test_client_context(X509* ca, std::string_view alpn);

// The PEM text of `cert`.
std::string to_pem(X509* cert);

}  // namespace gatekeeper::test_support

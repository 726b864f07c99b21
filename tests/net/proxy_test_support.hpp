#pragma once
// Helpers for the proxy tests: a throw-away CA built with OpenSSL, loopback upstream servers and a
// running proxy. Everything listens on 127.0.0.1 port 0.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gatekeeper/config/platforms.hpp"
#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/net/proxy_server.hpp"
#include "gatekeeper/policy/policy.hpp"
#include "gatekeeper/tls/certificate_authority.hpp"

#ifndef GATEKEEPER_TEST_PROXY_THREADS
#define GATEKEEPER_TEST_PROXY_THREADS 2
#endif

namespace gatekeeper::net::test {

inline constexpr int kProxyThreads = GATEKEEPER_TEST_PROXY_THREADS;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct TestCertificate {
  tls::X509Ptr cert;
  tls::EvpPkeyPtr key;
};

inline tls::EvpPkeyPtr make_ec_key() { return tls::EvpPkeyPtr(EVP_EC_gen("P-256")); }

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A self-signed CA (is_ca) or a leaf for `name` signed by `issuer`.
inline TestCertificate make_certificate(const std::string& name, const TestCertificate* issuer) {
  TestCertificate out;
  out.key = make_ec_key();
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7F;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  if (issuer == nullptr) {
    add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, cert, NID_subject_key_identifier, "hash");
  } else {
    const std::string san =
        (name.find_first_not_of("0123456789.") == std::string::npos ? "IP:" : "DNS:") + name;
    add_extension(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert, issuer_cert, NID_subject_alt_name, san.c_str());
    add_extension(cert, issuer_cert, NID_ext_key_usage, "serverAuth");
    add_extension(cert, issuer_cert, NID_authority_key_identifier, "keyid");
  }
  X509_sign(cert, issuer ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

inline std::shared_ptr<SSL_CTX> make_server_context(const TestCertificate& leaf,
                                                    const TestCertificate& ca) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  SSL_CTX_use_certificate(ctx.get(), leaf.cert.get());
  SSL_CTX_use_PrivateKey(ctx.get(), leaf.key.get());
  X509_up_ref(ca.cert.get());
  SSL_CTX_add_extra_chain_cert(ctx.get(), ca.cert.get());
  return ctx;
}

inline std::shared_ptr<SSL_CTX> make_client_context(X509* ca) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  static const unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn - 1);
  return ctx;
}

inline std::shared_ptr<SSL_CTX> make_client_context(const TestCertificate& ca) {
  return make_client_context(ca.cert.get());
}

inline std::unique_ptr<asio::ssl::context> wrap(const std::shared_ptr<SSL_CTX>& ctx) {
  SSL_CTX_up_ref(ctx.get());
  return std::make_unique<asio::ssl::context>(ctx.get());
}

// Gives up instead of hanging when the proxy does not answer.
inline void set_receive_timeout(tcp::socket& socket, int seconds = 10) {
  timeval tv{seconds, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// What an upstream handler sees and how it answers (raw bytes, so tests control the framing).
struct UpstreamExchange {
  bhttp::request<bhttp::string_body> request;
  std::function<void(std::string_view)> write;
  bool keep_alive = true;
};
using UpstreamHandler = std::function<void(UpstreamExchange&)>;

inline std::string serialize(bhttp::response<bhttp::string_body> res) {
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return out.str();
}

inline void reply_text(UpstreamExchange& exchange, std::string body, unsigned status = 200) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::move(body);
  exchange.write(serialize(std::move(res)));
}

// A loopback HTTP/1.1 server (TLS when given a context), one thread per connection.
class Upstream {
 public:
  explicit Upstream(UpstreamHandler handler, std::shared_ptr<SSL_CTX> tls = nullptr)
      : handler_(std::move(handler)),
        tls_(std::move(tls)),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    if (tls_) tls_context_ = wrap(tls_);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~Upstream() {
    stopping_ = true;
    boost::system::error_code ignored;
    // Wake the blocking accept with a connection of our own.
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ignored);
    accept_thread_.join();
    std::lock_guard lock(mutex_);
    for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ignored);
    for (auto& thread : threads_) thread.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void accept_loop() {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      ++connections_;
      std::lock_guard lock(mutex_);
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket] { serve(socket); });
    }
  }

  template <class Stream>
  void serve_stream(Stream& stream) {
    beast::flat_buffer buffer;
    while (true) {
      UpstreamExchange exchange;
      boost::system::error_code ec;
      bhttp::read(stream, buffer, exchange.request, ec);
      if (ec) return;
      ++requests_;
      exchange.write = [&stream](std::string_view bytes) {
        boost::system::error_code ignored;
        asio::write(stream, asio::buffer(bytes.data(), bytes.size()), ignored);
      };
      exchange.keep_alive = exchange.request.keep_alive();
      handler_(exchange);
      if (!exchange.keep_alive) return;
    }
  }

  void serve(std::shared_ptr<tcp::socket> socket) {
    if (!tls_) {
      serve_stream(*socket);
      boost::system::error_code ignored;
      socket->shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    beast::ssl_stream<tcp::socket&> stream(*socket, *tls_context_);
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) return;
    serve_stream(stream);
    stream.shutdown(ec);
  }

  UpstreamHandler handler_;
  std::shared_ptr<SSL_CTX> tls_;
  std::unique_ptr<asio::ssl::context> tls_context_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
};

inline config::PlatformRegistryConstSharedPtr parse_platforms(const std::string& yaml) {
  Diagnostics diagnostics;
  auto parsed = config::PlatformRegistry::parse(yaml, "platforms.yaml", diagnostics);
  return parsed ? *parsed : nullptr;
}

// The shipped rule pack and policy, compiled once per process (the inspector needs both).
struct ShippedRules {
  detect::RuleSetConstSharedPtr rules;
  policy::PolicyConstSharedPtr policy;
};
inline const ShippedRules& shipped_rules() {
  static const ShippedRules shipped = [] {
    ShippedRules out;
    Diagnostics diagnostics;
    const std::filesystem::path source(GATEKEEPER_SOURCE_DIR);
    if (auto rules = detect::RuleSet::load(source / "rules", {}, diagnostics)) out.rules = *rules;
    if (auto loaded = policy::Policy::load(source / "config" / "policy.yaml", diagnostics)) {
      out.policy = *loaded;
    }
    return out;
  }();
  return shipped;
}

inline const char* kTestPlatforms = R"(version: 1
platforms:
  - id: openai_api
    name: OpenAI API
    tier: external
    adapter: openai
    hosts: [api.openai.com]
  - id: chatgpt
    name: ChatGPT
    tier: external
    adapter: chatgpt
    hosts: [chatgpt.com]
    upload_hosts: ["*.oaiusercontent.com"]
deny:
  - name: Poe
    hosts: [poe.com]
    reason:
      fr: "Poe n'est pas autorisé à l'Inserm."
      en: "Poe is not approved at Inserm."
)";

// A proxy on 127.0.0.1:0 with its own I/O threads.
class RunningProxy {
 public:
  explicit RunningProxy(config::Snapshot snapshot, ProxyContext context = {})
      : store_(std::make_shared<const config::Snapshot>(std::move(snapshot))) {
    context.store = &store_;
    context.record_decision = [this](const nlohmann::json& record) -> Result<void> {
      if (fail_recording_) return Errc::AuditUnavailable;
      std::lock_guard lock(mutex_);
      records_.push_back(record);
      return {};
    };
    server_ = std::make_unique<ProxyServer>(ioc_, std::move(context));
    auto started = server_->start(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ok_ = started.has_value();
    for (int i = 0; i < kProxyThreads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~RunningProxy() {
    server_->stop();
    work_.reset();
    ioc_.stop();
    for (auto& thread : threads_) thread.join();
  }
  bool ok() const { return ok_; }
  ProxyServer& server() { return *server_; }
  std::uint16_t port() const { return server_->local_endpoint().port(); }
  // The audit trail refuses every record from now on (spool unwritable).
  void fail_recording(bool fail) { fail_recording_ = fail; }
  std::vector<nlohmann::json> records() {
    std::lock_guard lock(mutex_);
    return records_;
  }

  // A connected client socket.
  tcp::socket connect() {
    tcp::socket socket(client_ioc_);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
    set_receive_timeout(socket);
    return socket;
  }
  asio::io_context& client_ioc() { return client_ioc_; }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  asio::io_context client_ioc_;
  config::SnapshotStore store_;
  std::unique_ptr<ProxyServer> server_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::vector<nlohmann::json> records_;
  std::atomic<bool> fail_recording_{false};
  bool ok_ = false;
};

// Reads everything until the peer closes (or the receive timeout).
inline std::string read_all(tcp::socket& socket) {
  std::string out;
  char buffer[4096];
  boost::system::error_code ec;
  while (true) {
    const auto n = socket.read_some(asio::buffer(buffer), ec);
    out.append(buffer, n);
    if (ec) break;
  }
  return out;
}

}  // namespace gatekeeper::net::test

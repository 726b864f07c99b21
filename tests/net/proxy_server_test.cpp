#include "gatekeeper/net/proxy_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "net/proxy_test_support.hpp"
#include "support/tls_test_support.hpp"

namespace gatekeeper::net {
namespace {

using namespace std::chrono_literals;
using test::asio::ip::make_address;
namespace asio = test::asio;
namespace beast = test::beast;
namespace bhttp = test::bhttp;
using tcp = test::tcp;

config::Snapshot make_snapshot(bool with_platforms = true) {
  config::Snapshot snapshot;
  if (with_platforms) snapshot.platforms = test::parse_platforms(test::kTestPlatforms);
  snapshot.rules = test::shipped_rules().rules;
  snapshot.policy = test::shipped_rules().policy;
  return snapshot;
}

void write(tcp::socket& socket, std::string_view bytes) {
  asio::write(socket, asio::buffer(bytes.data(), bytes.size()));
}

template <class Stream>
bhttp::response<bhttp::string_body> read_response(Stream& stream, beast::flat_buffer& buffer,
                                                  bool head_request = false) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);
  if (head_request) parser.skip(true);
  boost::system::error_code ec;
  bhttp::read(stream, buffer, parser, ec);
  EXPECT_FALSE(ec) << ec.message();
  return parser.release();
}

// Sends CONNECT and reads the answer head (a 2xx to CONNECT has no body).
unsigned send_connect(tcp::socket& socket, beast::flat_buffer& buffer, const std::string& authority,
                      std::string_view extra = {}) {
  write(socket, "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n" +
                    std::string(extra));
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);
  boost::system::error_code ec;
  bhttp::read_header(socket, buffer, parser, ec);
  EXPECT_FALSE(ec) << ec.message();
  return parser.get().result_int();
}

// Reads until the peer closes; returns the bytes and how the read ended.
std::pair<std::string, boost::system::error_code> read_to_end(tcp::socket& socket) {
  std::string out;
  char chunk[4096];
  boost::system::error_code ec;
  while (!ec) out.append(chunk, socket.read_some(asio::buffer(chunk), ec));
  return {out, ec};
}

std::uint16_t unused_port() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// Echoes every byte back; passes the client's half-close on.
class EchoServer {
 public:
  EchoServer() : acceptor_(ioc_, tcp::endpoint(make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      char chunk[4096];
      while (!ec) {
        const auto n = socket.read_some(asio::buffer(chunk), ec);
        received_.append(chunk, n);
        if (n > 0) asio::write(socket, asio::buffer(chunk, n), ec);
      }
      socket.shutdown(tcp::socket::shutdown_send, ec);
    });
  }
  ~EchoServer() { thread_.join(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::string& received() const { return received_; }  // after the join

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::string received_;
};

TEST(ProxyServerTest, TunnelRelaysBytesUnchangedWithHalfClose) {
  test::RunningProxy proxy(make_snapshot());
  ASSERT_TRUE(proxy.ok());
  std::string echoed;
  const std::string payload("\x16\x03\x01\x00\x05 a TLS-looking record \x00\xff binary", 32);
  {
    EchoServer echo;
    auto socket = proxy.connect();
    beast::flat_buffer buffer;
    // The first bytes travel in the same segment as the CONNECT head: they must not be lost.
    ASSERT_EQ(send_connect(socket, buffer, "127.0.0.1:" + std::to_string(echo.port()),
                           payload.substr(0, 5)),
              200u);
    write(socket, payload.substr(5));
    socket.shutdown(tcp::socket::shutdown_send);
    auto [rest, ec] = read_to_end(socket);
    EXPECT_EQ(ec, asio::error::eof);
    echoed = beast::buffers_to_string(buffer.data()) + rest;
  }
  EXPECT_EQ(echoed, payload);
}

TEST(ProxyServerTest, DeniedPlatformGets403WithBothLanguages) {
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  write(socket, "CONNECT poe.com:443 HTTP/1.1\r\nHost: poe.com:443\r\n\r\n");
  beast::flat_buffer buffer;
  const auto response = read_response(socket, buffer);
  EXPECT_EQ(response.result_int(), 403u);
  EXPECT_NE(response.body().find("Poe n'est pas autorisé à l'Inserm."), std::string::npos);
  EXPECT_NE(response.body().find("Poe is not approved at Inserm."), std::string::npos);
  EXPECT_FALSE(response.keep_alive());
  const auto records = proxy.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["event"], "platform_denied");
  EXPECT_EQ(records[0]["host"], "poe.com");
}

TEST(ProxyServerTest, ServesPacAndHealthOnOneConnection) {
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  const std::string authority = "127.0.0.1:" + std::to_string(proxy.port());
  write(socket, "GET /proxy.pac HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  beast::flat_buffer buffer;
  const auto pac = read_response(socket, buffer);
  EXPECT_EQ(pac.result_int(), 200u);
  EXPECT_EQ(pac[bhttp::field::content_type], "application/x-ns-proxy-autoconfig");
  EXPECT_NE(pac.body().find("\"PROXY " + authority + "\""), std::string::npos);
  EXPECT_NE(pac.body().find("api.openai.com"), std::string::npos);
  write(socket, "GET /healthz HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  const auto health = read_response(socket, buffer);
  EXPECT_EQ(health.result_int(), 200u);
  EXPECT_EQ(health.body(), "ok\n");
}

TEST(ProxyServerTest, MalformedRequestGets400AndClose) {
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  write(socket, "THIS IS NOT HTTP\r\n\r\n");
  auto [reply, ec] = read_to_end(socket);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(ProxyServerTest, OversizedHeaderGets431) {
  auto snapshot = make_snapshot();
  snapshot.settings.max_header_bytes = 1024;
  test::RunningProxy proxy(std::move(snapshot));
  auto socket = proxy.connect();
  write(socket, "GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-Pad: " +
                    std::string(4000, 'p') + "\r\n\r\n");
  auto [reply, ec] = read_to_end(socket);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 80);
}

TEST(ProxyServerTest, OversizedBodyToAiHostGets413AndIsNotForwarded) {
  test::Upstream upstream(
      [](test::UpstreamExchange& exchange) { test::reply_text(exchange, "seen"); });
  auto snapshot = make_snapshot();
  snapshot.settings.max_body_bytes = 1000;
  snapshot.settings.connect_to = {{"api.openai.com", 80, "127.0.0.1", upstream.port()}};
  test::RunningProxy proxy(std::move(snapshot));
  {
    // Declared length over the limit: refused from the head alone.
    auto socket = proxy.connect();
    write(socket,
          "POST http://api.openai.com/v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
          "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n" +
              std::string(5000, 'x'));
    beast::flat_buffer buffer;
    const auto response = read_response(socket, buffer);
    EXPECT_EQ(response.result_int(), 413u);
    EXPECT_FALSE(response.keep_alive());
  }
  {
    // Chunked: the limit trips while reading.
    auto socket = proxy.connect();
    std::string request =
        "POST http://api.openai.com/v1/chat/completions HTTP/1.1\r\n"
        "Host: api.openai.com\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) request += "3e8\r\n" + std::string(1000, 'y') + "\r\n";
    request += "0\r\n\r\n";
    write(socket, request);
    beast::flat_buffer buffer;
    const auto response = read_response(socket, buffer);
    EXPECT_EQ(response.result_int(), 413u);
  }
  EXPECT_EQ(upstream.requests(), 0);
}

TEST(ProxyServerTest, UnreachableUpstreamGets502) {
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  const std::string authority = "127.0.0.1:" + std::to_string(unused_port());
  write(socket, "GET http://" + authority + "/ HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  beast::flat_buffer buffer;
  const auto response = read_response(socket, buffer);
  EXPECT_EQ(response.result_int(), 502u);
  EXPECT_NE(response.body().find("cannot connect"), std::string::npos);
  EXPECT_FALSE(response.keep_alive());
}

TEST(ProxyServerTest, SlowClientIsClosedAfterTheHeaderTimeout) {
  auto snapshot = make_snapshot();
  snapshot.settings.timeouts.request_header = 200ms;
  test::RunningProxy proxy(std::move(snapshot));
  auto socket = proxy.connect();
  write(socket, "GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\n");  // never finished
  auto [reply, ec] = read_to_end(socket);
  EXPECT_EQ(ec, asio::error::eof);  // closed by the proxy, not our receive timeout
  EXPECT_TRUE(reply.empty());
}

TEST(ProxyServerTest, KeepAliveReusesTheUpstreamConnection) {
  test::Upstream upstream([](test::UpstreamExchange& exchange) {
    if (exchange.request.method() == bhttp::verb::head) {
      // HEAD: length of the would-be body, and no body.
      exchange.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      return;
    }
    test::reply_text(exchange, "hello " + std::string(exchange.request.target()) + " " +
                                   std::to_string(exchange.request.body().size()));
  });
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  const std::string authority = "127.0.0.1:" + std::to_string(upstream.port());
  beast::flat_buffer buffer;
  write(socket, "GET http://" + authority + "/a HTTP/1.1\r\nHost: " + authority +
                    "\r\nProxy-Connection: keep-alive\r\n\r\n");
  auto first = read_response(socket, buffer);
  EXPECT_EQ(first.result_int(), 200u);
  EXPECT_EQ(first.body(), "hello /a 0");
  // A streamed (not inspected) upload to a non-AI host.
  const std::string upload(100'000, 'u');
  write(socket, "POST http://" + authority + "/b?x=1 HTTP/1.1\r\nHost: " + authority +
                    "\r\nContent-Length: " + std::to_string(upload.size()) + "\r\n\r\n" + upload);
  auto second = read_response(socket, buffer);
  EXPECT_EQ(second.result_int(), 200u);
  EXPECT_EQ(second.body(), "hello /b?x=1 100000");
  write(socket, "HEAD http://" + authority + "/c HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  auto third = read_response(socket, buffer, true);
  EXPECT_EQ(third.result_int(), 200u);
  EXPECT_EQ(third[bhttp::field::content_length], "1000");
  write(socket, "GET http://" + authority + "/d HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  EXPECT_EQ(read_response(socket, buffer).body(), "hello /d 0");
  EXPECT_EQ(upstream.connections(), 1);
  EXPECT_EQ(upstream.requests(), 4);
}

TEST(ProxyServerTest, ProxyAuthenticationIsRequiredAndStripped) {
  std::promise<std::string> seen_authorization;
  test::Upstream upstream([&](test::UpstreamExchange& exchange) {
    const auto it = exchange.request.find(bhttp::field::proxy_authorization);
    seen_authorization.set_value(it == exchange.request.end() ? "" : std::string(it->value()));
    test::reply_text(exchange, "ok");
  });
  auto snapshot = make_snapshot();
  auto credentials = std::make_shared<config::Credentials>();
  credentials->users.emplace_back("alice",
                                  "$6$gkTestSalt$mF9hThzLUsWPAN9L0eQvtpD61fWLPGicqZMg/V0jLeBv/"
                                  "sXxgcadYpDDYtpp.oSmuNwFp9YaUudCX8Yped1Eg0");
  snapshot.credentials = credentials;
  test::RunningProxy proxy(std::move(snapshot));
  const std::string authority = "127.0.0.1:" + std::to_string(upstream.port());
  const std::string request =
      "GET http://" + authority + "/ HTTP/1.1\r\nHost: " + authority + "\r\n";
  {
    auto socket = proxy.connect();
    write(socket, request + "\r\n");
    beast::flat_buffer buffer;
    const auto response = read_response(socket, buffer);
    EXPECT_EQ(response.result_int(), 407u);
    EXPECT_EQ(response[bhttp::field::proxy_authenticate], "Basic realm=\"gatekeeper\"");
  }
  {
    auto socket = proxy.connect();  // alice:wrong
    write(socket, request + "Proxy-Authorization: Basic YWxpY2U6d3Jvbmc=\r\n\r\n");
    beast::flat_buffer buffer;
    EXPECT_EQ(read_response(socket, buffer).result_int(), 407u);
  }
  {
    auto socket = proxy.connect();  // alice:secret
    write(socket, request + "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n");
    beast::flat_buffer buffer;
    EXPECT_EQ(read_response(socket, buffer).result_int(), 200u);
  }
  auto seen = seen_authorization.get_future();
  ASSERT_EQ(seen.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(seen.get(), "");
}

TEST(ProxyServerTest, StopClosesIdleKeepAliveConnections) {
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  write(socket, "GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  beast::flat_buffer buffer;
  EXPECT_EQ(read_response(socket, buffer).result_int(), 200u);
  proxy.server().stop();
  auto [rest, ec] = read_to_end(socket);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(ProxyServerTest, ExpectContinueIsAnsweredBeforeTheInspectedBodyIsRead) {
  test::Upstream upstream([](test::UpstreamExchange& exchange) {
    const bool expect_forwarded =
        exchange.request.find(bhttp::field::expect) != exchange.request.end();
    test::reply_text(exchange, exchange.request.body() + (expect_forwarded ? " expect" : ""));
  });
  auto snapshot = make_snapshot();
  snapshot.settings.connect_to = {{"api.openai.com", 80, "127.0.0.1", upstream.port()}};
  test::RunningProxy proxy(std::move(snapshot));
  auto socket = proxy.connect();
  const std::string body = R"({"messages":[{"role":"user","content":"hi"}]})";
  write(socket,
        "POST http://api.openai.com/v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
        "Expect: 100-continue\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n");
  beast::flat_buffer buffer;
  // The client waits for the interim response before sending the body.
  bhttp::response_parser<bhttp::empty_body> interim;
  boost::system::error_code ec;
  bhttp::read_header(socket, buffer, interim, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(interim.get().result_int(), 100u);
  write(socket, body);
  const auto response = read_response(socket, buffer);
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(response.body(), body);
}

TEST(ProxyServerTest, ChunkedUploadToOtherHostIsStreamed) {
  test::Upstream upstream([](test::UpstreamExchange& exchange) {
    test::reply_text(exchange, std::to_string(exchange.request.body().size()) + ":" +
                                   exchange.request.body().substr(0, 5));
  });
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  const std::string authority = "127.0.0.1:" + std::to_string(upstream.port());
  std::string request = "PUT http://" + authority + "/up HTTP/1.1\r\nHost: " + authority +
                        "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) request += "1000\r\n" + std::string(4096, 'a' + i % 26) + "\r\n";
  request += "0\r\n\r\n";
  write(socket, request);
  beast::flat_buffer buffer;
  const auto response = read_response(socket, buffer);
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(response.body(), std::to_string(40 * 4096) + ":aaaaa");
}

TEST(ProxyServerTest, StaleUpstreamConnectionIsRetriedOnce) {
  // The upstream drops every connection after one response without saying so.
  test::Upstream upstream([](test::UpstreamExchange& exchange) {
    test::reply_text(exchange, "fresh " + std::string(exchange.request.target()));
    exchange.keep_alive = false;
  });
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  const std::string authority = "127.0.0.1:" + std::to_string(upstream.port());
  beast::flat_buffer buffer;
  for (const std::string path : {"/1", "/2", "/3"}) {
    write(socket,
          "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    const auto response = read_response(socket, buffer);
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response.body(), "fresh " + path);
  }
  EXPECT_EQ(upstream.connections(), 3);
}

TEST(ProxyServerTest, UpstreamConnectionCloseIsHonoured) {
  test::Upstream upstream([](test::UpstreamExchange& exchange) {
    exchange.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
    exchange.keep_alive = false;
  });
  test::RunningProxy proxy(make_snapshot());
  auto socket = proxy.connect();
  const std::string authority = "127.0.0.1:" + std::to_string(upstream.port());
  write(socket, "GET http://" + authority + "/ HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  auto [reply, ec] = read_to_end(socket);
  // A body delimited by the end of the connection: the client connection must end too.
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_NE(reply.find("Connection: close"), std::string::npos);
  EXPECT_EQ(reply.substr(reply.size() - 13), "until the end");
}

TEST(ProxyServerTest, SilentUpstreamGets504) {
  std::promise<void> release;
  auto released = release.get_future().share();
  test::Upstream upstream([released](test::UpstreamExchange& exchange) {
    released.wait_for(std::chrono::seconds(10));
    exchange.keep_alive = false;
  });
  auto snapshot = make_snapshot();
  snapshot.settings.timeouts.upstream_idle = 200ms;
  test::RunningProxy proxy(std::move(snapshot));
  auto socket = proxy.connect();
  const std::string authority = "127.0.0.1:" + std::to_string(upstream.port());
  write(socket, "GET http://" + authority + "/ HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  beast::flat_buffer buffer;
  const auto response = read_response(socket, buffer);
  release.set_value();
  EXPECT_EQ(response.result_int(), 504u);
  EXPECT_NE(response.body().find("did not answer"), std::string::npos);
}

// ---- Interception -----------------------------------------------------------------------

// The real interception stack: a local CA in a temporary directory, the leaf cache and its SNI
// context, and the upstream context trusting the test upstream's CA as an extra bundle.
struct InterceptSetup {
  test_support::TempDir data_dir;
  test::TestCertificate upstream_ca = test::make_certificate("upstream test CA", nullptr);
  std::shared_ptr<tls::CertificateAuthority> proxy_ca;
  std::shared_ptr<tls::LeafContextCache> leaf_cache;

  InterceptSetup() {
    auto ca = tls::CertificateAuthority::create(data_dir.path() / "ca", false);
    EXPECT_TRUE(ca.has_value());
    if (ca) proxy_ca = *ca;
    leaf_cache = std::make_shared<tls::LeafContextCache>(proxy_ca, 100);
  }

  ProxyContext context() {
    ProxyContext ctx;
    ctx.leaf_cache = leaf_cache;
    auto sni = tls::make_sni_server_context(*leaf_cache);
    EXPECT_TRUE(sni.has_value());
    if (sni) ctx.sni_server_context.reset(sni->release(), SSL_CTX_free);
    const auto bundle = data_dir.path() / "upstream-ca.pem";
    std::ofstream(bundle) << test_support::to_pem(upstream_ca.cert.get());
    auto upstream = tls::make_upstream_context(bundle);
    EXPECT_TRUE(upstream.has_value());
    if (upstream) ctx.upstream_context.reset(upstream->release(), SSL_CTX_free);
    return ctx;
  }
  config::Snapshot snapshot(std::uint16_t upstream_port) {
    auto snapshot = make_snapshot();
    snapshot.settings.connect_to = {{"api.openai.com", 443, "127.0.0.1", upstream_port}};
    return snapshot;
  }
};

// A TLS client inside a CONNECT tunnel to api.openai.com, trusting the proxy's CA.
class InterceptedClient {
 public:
  InterceptedClient(test::RunningProxy& proxy, const tls::CertificateAuthority& proxy_ca,
                    bool send_sni = true)
      : socket_(proxy.connect()),
        context_(test::wrap(test::make_client_context(proxy_ca.certificate()))),
        stream_(socket_, *context_) {
    status_ = send_connect(socket_, buffer_, "api.openai.com:443");
    if (status_ != 200) return;
    if (send_sni) SSL_set_tlsext_host_name(stream_.native_handle(), "api.openai.com");
    SSL_set1_host(stream_.native_handle(), "api.openai.com");
    boost::system::error_code ec;
    stream_.handshake(asio::ssl::stream_base::client, ec);
    handshake_ok_ = !ec;
  }
  bool ready() const { return status_ == 200 && handshake_ok_; }
  bhttp::response<bhttp::string_body> post(const std::string& target, const std::string& body) {
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, target, 11};
    request.set(bhttp::field::host, "api.openai.com");
    request.set(bhttp::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    bhttp::write(stream_, request);
    return read_response(stream_, tls_buffer_);
  }
  beast::ssl_stream<tcp::socket&>& stream() { return stream_; }

 private:
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::context> context_;
  beast::ssl_stream<tcp::socket&> stream_;
  beast::flat_buffer buffer_;
  beast::flat_buffer tls_buffer_;
  unsigned status_ = 0;
  bool handshake_ok_ = false;
};

TEST(ProxyInterceptTest, HttpsRequestToAiHostIsForwardedOverVerifiedTls) {
  ASSERT_NE(test::shipped_rules().rules, nullptr);
  ASSERT_NE(test::shipped_rules().policy, nullptr);
  InterceptSetup setup;
  auto leaf = test::make_certificate("api.openai.com", &setup.upstream_ca);
  test::Upstream upstream(
      [](test::UpstreamExchange& exchange) {
        test::reply_text(exchange, std::string(exchange.request.method_string()) + " " +
                                       std::string(exchange.request.target()) + " " +
                                       exchange.request.body());
      },
      test::make_server_context(leaf, setup.upstream_ca));
  test::RunningProxy proxy(setup.snapshot(upstream.port()), setup.context());
  InterceptedClient client(proxy, *setup.proxy_ca);
  ASSERT_TRUE(client.ready());
  const std::string prompt = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]})";
  auto first = client.post("/v1/chat/completions", prompt);
  EXPECT_EQ(first.result_int(), 200u);
  EXPECT_EQ(first.body(), "POST /v1/chat/completions " + prompt);
  auto second = client.post("/v1/chat/completions?stream=false", prompt);
  EXPECT_EQ(second.body(), "POST /v1/chat/completions?stream=false " + prompt);
  EXPECT_EQ(upstream.connections(), 1);  // the upstream connection was kept alive and reused
}

TEST(ProxyInterceptTest, ClientWithoutSniGetsACertificateForTheConnectHost) {
  InterceptSetup setup;
  auto leaf = test::make_certificate("api.openai.com", &setup.upstream_ca);
  test::Upstream upstream(
      [](test::UpstreamExchange& exchange) { test::reply_text(exchange, "ok"); },
      test::make_server_context(leaf, setup.upstream_ca));
  test::RunningProxy proxy(setup.snapshot(upstream.port()), setup.context());
  InterceptedClient client(proxy, *setup.proxy_ca, /*send_sni=*/false);
  ASSERT_TRUE(client.ready());  // the client verified the leaf against "api.openai.com"
  EXPECT_EQ(client.post("/v1/chat/completions", "{}").body(), "ok");
  EXPECT_EQ(setup.leaf_cache->mint_count(), 1u);
}

TEST(ProxyInterceptTest, SensitivePromptNeverReachesTheUpstreamVerbatim) {
  InterceptSetup setup;
  auto leaf = test::make_certificate("api.openai.com", &setup.upstream_ca);
  std::mutex mutex;
  std::string forwarded;
  test::Upstream upstream(
      [&](test::UpstreamExchange& exchange) {
        {
          std::lock_guard lock(mutex);
          forwarded += exchange.request.body();
        }
        test::reply_text(exchange, R"({"choices":[]})");
      },
      test::make_server_context(leaf, setup.upstream_ca));
  test::RunningProxy proxy(setup.snapshot(upstream.port()), setup.context());
  InterceptedClient client(proxy, *setup.proxy_ca);
  ASSERT_TRUE(client.ready());
  const std::string prompt =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"STRICTEMENT CONFIDENTIEL : )"
      R"(patient 1 85 05 78 006 084 91, numero de securite sociale 1 85 05 78 006 084 91"}]})";
  const auto response = client.post("/v1/chat/completions", prompt);
  EXPECT_NE(response.result_int(), 0u);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(forwarded.find("006 084 91"), std::string::npos);
  }
  // The inspector's decision went to the decision log, without the value.
  const auto records = proxy.records();
  ASSERT_FALSE(records.empty());
  EXPECT_TRUE(records.back().contains("action"));
  EXPECT_EQ(records.back().dump().find("006 084 91"), std::string::npos);
}

TEST(ProxyInterceptTest, AnUnrecordableRequestIsRefusedNotForwarded) {
  InterceptSetup setup;
  auto leaf = test::make_certificate("api.openai.com", &setup.upstream_ca);
  test::Upstream upstream(
      [](test::UpstreamExchange& exchange) { test::reply_text(exchange, R"({"choices":[]})"); },
      test::make_server_context(leaf, setup.upstream_ca));
  test::RunningProxy proxy(setup.snapshot(upstream.port()), setup.context());
  InterceptedClient client(proxy, *setup.proxy_ca);
  ASSERT_TRUE(client.ready());
  const std::string harmless = R"({"model":"gpt-4o","messages":[{"role":"user","content":"Bonjour"}]})";
  EXPECT_EQ(client.post("/v1/chat/completions", harmless).result_int(), 200u);
  EXPECT_EQ(upstream.requests(), 1);

  proxy.fail_recording(true);  // audit.fail_closed is the default
  const auto refused = client.post("/v1/chat/completions", harmless);
  EXPECT_EQ(refused.result_int(), 503u);
  EXPECT_NE(refused.body().find("audit"), std::string::npos) << refused.body();
  EXPECT_EQ(upstream.requests(), 1) << "nothing reaches the platform without its audit record";
}

TEST(ProxyInterceptTest, UntrustedUpstreamCertificateGets502AndARecord) {
  InterceptSetup setup;
  auto rogue_ca = test::make_certificate("rogue CA", nullptr);
  auto rogue_leaf = test::make_certificate("api.openai.com", &rogue_ca);
  test::Upstream upstream(
      [](test::UpstreamExchange& exchange) { test::reply_text(exchange, "leaked"); },
      test::make_server_context(rogue_leaf, rogue_ca));
  test::RunningProxy proxy(setup.snapshot(upstream.port()), setup.context());
  InterceptedClient client(proxy, *setup.proxy_ca);
  ASSERT_TRUE(client.ready());
  auto response = client.post("/v1/chat/completions", R"({"messages":[]})");
  EXPECT_EQ(response.result_int(), 502u);
  EXPECT_NE(response.body().find("could not be verified"), std::string::npos);
  EXPECT_EQ(upstream.requests(), 0);
  const auto records = proxy.records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["event"], "upstream_tls_error");
  EXPECT_EQ(records.back()["host"], "api.openai.com");
  EXPECT_TRUE(records.back()["reference"].is_string());
}

TEST(ProxyInterceptTest, ServerSentEventsReachTheClientIncrementally) {
  InterceptSetup setup;
  auto leaf = test::make_certificate("api.openai.com", &setup.upstream_ca);
  std::promise<void> client_saw_first;
  auto first_seen = client_saw_first.get_future();
  std::atomic<bool> upstream_had_to_give_up{false};
  test::Upstream upstream(
      [&](test::UpstreamExchange& exchange) {
        exchange.write(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
        const std::string first = "data: first\n\n";
        exchange.write("d\r\n" + first + "\r\n");
        // The rest only once the client has the first event (the latch); giving up after a
        // while only prevents a hang when the proxy buffers.
        if (first_seen.wait_for(10s) != std::future_status::ready) upstream_had_to_give_up = true;
        const std::string second = "data: [DONE]\n\n";
        exchange.write("e\r\n" + second + "\r\n0\r\n\r\n");
      },
      test::make_server_context(leaf, setup.upstream_ca));
  test::RunningProxy proxy(setup.snapshot(upstream.port()), setup.context());
  InterceptedClient client(proxy, *setup.proxy_ca);
  ASSERT_TRUE(client.ready());

  bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/v1/chat/completions", 11};
  request.set(bhttp::field::host, "api.openai.com");
  request.body() = R"({"stream":true,"messages":[]})";
  request.prepare_payload();
  bhttp::write(client.stream(), request);

  std::string received;
  char chunk[1024];
  boost::system::error_code ec;
  while (!ec && received.find("data: first") == std::string::npos) {
    received.append(chunk, client.stream().read_some(asio::buffer(chunk), ec));
  }
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(received.find("[DONE]"), std::string::npos);
  client_saw_first.set_value();
  while (!ec && received.find("0\r\n\r\n") == std::string::npos) {
    received.append(chunk, client.stream().read_some(asio::buffer(chunk), ec));
  }
  EXPECT_NE(received.find("data: [DONE]"), std::string::npos) << received << ec.message();
  EXPECT_FALSE(upstream_had_to_give_up.load());
}

// The upstream's last chunk often arrives on its own after the last event. It must reach the
// client once: a second "0\r\n\r\n" would be read as the start of the next response on the
// kept-alive connection.
TEST(ProxyInterceptTest, AStreamEndingInItsOwnSegmentLeavesTheConnectionUsable) {
  InterceptSetup setup;
  auto leaf = test::make_certificate("api.openai.com", &setup.upstream_ca);
  test::Upstream upstream(
      [&](test::UpstreamExchange& exchange) {
        if (exchange.request.body().find("stream") == std::string::npos) {
          return test::reply_text(exchange, "second answer");
        }
        exchange.write(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
        exchange.write("e\r\ndata: [DONE]\n\n\r\n");
        // A separate segment, as a streaming server sends it (not a timing assertion).
        std::this_thread::sleep_for(100ms);
        exchange.write("0\r\n\r\n");
      },
      test::make_server_context(leaf, setup.upstream_ca));
  test::RunningProxy proxy(setup.snapshot(upstream.port()), setup.context());
  InterceptedClient client(proxy, *setup.proxy_ca);
  ASSERT_TRUE(client.ready());

  beast::flat_buffer buffer;
  for (const std::string body : {R"({"stream":true,"messages":[]})", R"({"messages":[]})"}) {
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/v1/chat/completions", 11};
    request.set(bhttp::field::host, "api.openai.com");
    request.body() = body;
    request.prepare_payload();
    bhttp::write(client.stream(), request);
    bhttp::response<bhttp::string_body> response;
    boost::system::error_code ec;
    bhttp::read(client.stream(), buffer, response, ec);
    ASSERT_FALSE(ec) << "reply to " << body << ": " << ec.message();
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_NE(response.body().find(body.find("stream") != std::string::npos ? "[DONE]"
                                                                            : "second answer"),
              std::string::npos)
        << response.body();
  }
}

}  // namespace
}  // namespace gatekeeper::net

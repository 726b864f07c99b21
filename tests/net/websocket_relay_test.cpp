#include "gatekeeper/net/websocket_relay.hpp"

#include <gtest/gtest.h>

#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "gatekeeper/admin/metrics.hpp"
#include "net/proxy_test_support.hpp"
#include "support/tls_test_support.hpp"

namespace gatekeeper::net {
namespace {

namespace asio = test::asio;
namespace beast = test::beast;
namespace bhttp = test::bhttp;
namespace websocket = beast::websocket;
using tcp = test::tcp;
using nlohmann::json;

constexpr const char* kNir = "1 85 05 78 006 084 91";
constexpr const char* kConfidential =
    "Relis ce document.\nSTRICTEMENT CONFIDENTIEL - NE PAS DIFFUSER\n"
    "Rapport interne du comité de direction.";

// A TLS WebSocket server (Beast) for api.openai.com: echoes each message as "echo: " + text and
// remembers what it received and how the client closed.
class EchoServer {
 public:
  EchoServer(std::shared_ptr<SSL_CTX> tls, bool deflate)
      : tls_(test::wrap(tls)),
        deflate_(deflate),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { serve_one(); });
  }
  ~EchoServer() {
    boost::system::error_code ignored;
    if (!served_) {
      tcp::socket poke(ioc_);
      poke.connect(acceptor_.local_endpoint(), ignored);
    }
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  int close_code() {
    std::lock_guard lock(mutex_);
    return close_code_;
  }
  bool compressed_offer() {
    std::lock_guard lock(mutex_);
    return compressed_offer_;
  }

 private:
  void serve_one() {
    tcp::socket socket(ioc_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    served_ = true;
    if (ec) return;
    test::set_receive_timeout(socket, 15);
    websocket::stream<beast::ssl_stream<tcp::socket&>> ws(socket, *tls_);
    ws.next_layer().handshake(asio::ssl::stream_base::server, ec);
    if (ec) return;
    websocket::permessage_deflate pmd;
    pmd.server_enable = deflate_;
    ws.set_option(pmd);
    bhttp::request<bhttp::string_body> upgrade;
    beast::flat_buffer buffer;
    bhttp::read(ws.next_layer(), buffer, upgrade, ec);
    if (ec) return;
    {
      std::lock_guard lock(mutex_);
      compressed_offer_ =
          upgrade[bhttp::field::sec_websocket_extensions].find("permessage-deflate") !=
          std::string_view::npos;
    }
    ws.accept(upgrade, ec);
    if (ec) return;
    while (true) {
      beast::flat_buffer message;
      ws.read(message, ec);
      if (ec) {
        std::lock_guard lock(mutex_);
        close_code_ = ws.reason().code;
        return;
      }
      const std::string text = beast::buffers_to_string(message.data());
      {
        std::lock_guard lock(mutex_);
        received_.push_back(text);
      }
      ws.text(true);
      ws.write(asio::buffer("echo: " + text), ec);
      if (ec) return;
    }
  }

  std::unique_ptr<asio::ssl::context> tls_;
  bool deflate_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> served_{false};
  std::mutex mutex_;
  std::vector<std::string> received_;
  int close_code_ = 0;
  bool compressed_offer_ = false;
};

struct RelaySetup {
  test_support::TempDir data_dir;
  test::TestCertificate upstream_ca = test::make_certificate("upstream test CA", nullptr);
  test::TestCertificate leaf = test::make_certificate("api.openai.com", &upstream_ca);
  std::shared_ptr<tls::CertificateAuthority> proxy_ca;
  std::shared_ptr<tls::LeafContextCache> leaf_cache;

  RelaySetup() {
    auto ca = tls::CertificateAuthority::create(data_dir.path() / "ca", false);
    EXPECT_TRUE(ca.has_value());
    if (ca) proxy_ca = *ca;
    leaf_cache = std::make_shared<tls::LeafContextCache>(proxy_ca, 100);
  }
  ProxyContext context() {
    ProxyContext ctx;
    ctx.leaf_cache = leaf_cache;
    auto sni = tls::make_sni_server_context(*leaf_cache);
    if (sni) ctx.sni_server_context.reset(sni->release(), SSL_CTX_free);
    const auto bundle = data_dir.path() / "upstream-ca.pem";
    std::ofstream(bundle) << test_support::to_pem(upstream_ca.cert.get());
    auto upstream = tls::make_upstream_context(bundle);
    if (upstream) ctx.upstream_context.reset(upstream->release(), SSL_CTX_free);
    return ctx;
  }
  config::Snapshot snapshot(std::uint16_t port) {
    config::Snapshot snapshot;
    snapshot.platforms = test::parse_platforms(test::kTestPlatforms);
    snapshot.rules = test::shipped_rules().rules;
    snapshot.policy = test::shipped_rules().policy;
    snapshot.settings.connect_to = {{"api.openai.com", 443, "127.0.0.1", port}};
    return snapshot;
  }
};

// A Beast WebSocket client inside a CONNECT tunnel, TLS to the proxy's leaf certificate.
class Client {
 public:
  Client(test::RunningProxy& proxy, const tls::CertificateAuthority& ca, bool deflate)
      : socket_(proxy.connect()),
        context_(test::wrap(test::make_client_context(ca.certificate()))),
        ws_(socket_, *context_) {
    test::set_receive_timeout(socket_, 15);
    const std::string connect =
        "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n";
    asio::write(socket_, asio::buffer(connect));
    bhttp::response_parser<bhttp::empty_body> parser;
    parser.skip(true);
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    bhttp::read_header(socket_, buffer, parser, ec);
    if (ec || parser.get().result_int() != 200) return;
    SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), "api.openai.com");
    ws_.next_layer().handshake(asio::ssl::stream_base::client, ec);
    if (ec) return;
    websocket::permessage_deflate pmd;
    pmd.client_enable = deflate;
    ws_.set_option(pmd);
    ws_.handshake(upgrade_response_, "api.openai.com", "/v1/realtime?model=gpt-realtime", ec);
    ready_ = !ec;
    error_ = ec;
  }
  bool ready() const { return ready_; }
  const websocket::response_type& upgrade_response() const { return upgrade_response_; }
  boost::system::error_code error() const { return error_; }
  websocket::stream<beast::ssl_stream<tcp::socket&>>& ws() { return ws_; }

  std::string send_and_read(const std::string& text) {
    ws_.text(true);
    ws_.write(asio::buffer(text));
    return read();
  }
  std::string read() {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    ws_.read(buffer, ec);
    last_error_ = ec;
    return ec ? std::string() : beast::buffers_to_string(buffer.data());
  }
  boost::system::error_code last_error() const { return last_error_; }

 private:
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::context> context_;
  websocket::stream<beast::ssl_stream<tcp::socket&>> ws_;
  websocket::response_type upgrade_response_;
  boost::system::error_code error_, last_error_;
  bool ready_ = false;
};

std::string realtime_item(const std::string& text) {
  return json{{"type", "conversation.item.create"},
              {"item",
               {{"type", "message"},
                {"role", "user"},
                {"content", json::array({{{"type", "input_text"}, {"text", text}}})}}}}
      .dump();
}

class WebSocketRelayTest : public ::testing::TestWithParam<bool> {};

TEST_P(WebSocketRelayTest, BenignMessagesAreEchoedAndSensitiveOnesRedacted) {
  const bool deflate = GetParam();
  RelaySetup setup;
  EchoServer server(test::make_server_context(setup.leaf, setup.upstream_ca), deflate);
  test::RunningProxy proxy(setup.snapshot(server.port()), setup.context());
  Client client(proxy, *setup.proxy_ca, deflate);
  ASSERT_TRUE(client.ready()) << client.error().message();
  EXPECT_EQ(client.upgrade_response()[bhttp::field::sec_websocket_extensions].empty(), !deflate);

  const std::string hello = realtime_item("Quelle est la capitale de la France ?");
  EXPECT_EQ(client.send_and_read(hello), "echo: " + hello);
  // Same text again: with context takeover the client's compressor refers back to it.
  EXPECT_EQ(client.send_and_read(hello), "echo: " + hello);
  // A fragmented message with the text split across frames.
  client.ws().text(true);
  const std::string fragmented = realtime_item("Résume ce protocole en trois points.");
  client.ws().write_some(false, asio::buffer(fragmented.substr(0, 20)));
  client.ws().write_some(true, asio::buffer(fragmented.substr(20)));
  EXPECT_EQ(client.read(), "echo: " + fragmented);
  // Non-JSON text is scanned whole.
  EXPECT_EQ(client.send_and_read("bonjour"), "echo: bonjour");

  const std::string echoed = client.send_and_read(
      realtime_item(std::string("Vérifie le format de ce numéro de sécurité sociale : ") + kNir));
  EXPECT_EQ(echoed.find("006 084 91"), std::string::npos) << echoed;
  EXPECT_NE(echoed.find("conversation.item.create"), std::string::npos);
  const auto received = server.received();
  ASSERT_EQ(received.size(), 5u);
  EXPECT_EQ(received[0], hello);
  EXPECT_EQ(received[2], fragmented);
  EXPECT_EQ(received[4].find("006 084 91"), std::string::npos);
  EXPECT_TRUE(json::parse(received[4]).is_object());  // still a valid event

  client.ws().close(websocket::close_code::normal);
  const auto records = proxy.records();
  int websocket_records = 0;
  for (const auto& record : records) {
    if (record.value("channel", "") != "websocket") continue;
    ++websocket_records;
    EXPECT_EQ(record.dump().find("006 084 91"), std::string::npos);
  }
  EXPECT_EQ(websocket_records, 5);
}

TEST_P(WebSocketRelayTest, ConfidentialMessageIsBlockedWithAnExplanationAnd1008) {
  const bool deflate = GetParam();
  RelaySetup setup;
  EchoServer server(test::make_server_context(setup.leaf, setup.upstream_ca), deflate);
  test::RunningProxy proxy(setup.snapshot(server.port()), setup.context());
  Client client(proxy, *setup.proxy_ca, deflate);
  ASSERT_TRUE(client.ready()) << client.error().message();
  EXPECT_EQ(client.send_and_read(realtime_item("Bonjour")), "echo: " + realtime_item("Bonjour"));

  const std::string explanation = client.send_and_read(realtime_item(kConfidential));
  ASSERT_FALSE(explanation.empty()) << client.last_error().message();
  const json event = json::parse(explanation);
  EXPECT_EQ(event["type"], "error");
  const std::string message = event["error"]["message"];
  EXPECT_NE(message.find("Gatekeeper"), std::string::npos) << message;
  EXPECT_TRUE(event["error"]["reference"].get<std::string>().starts_with("GK-"));
  // Then the socket closes with 1008.
  client.read();
  EXPECT_EQ(client.last_error(), websocket::error::closed);
  EXPECT_EQ(client.ws().reason().code, websocket::close_code::policy_error);

  for (int i = 0; i < 100 && server.close_code() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(server.close_code(), 1008);
  const auto received = server.received();
  ASSERT_EQ(received.size(), 1u);  // the confidential message never reached the platform
  bool blocked_record = false;
  for (const auto& record : proxy.records())
    if (record.value("channel", "") == "websocket" && record.value("action", "") == "block")
      blocked_record = true;
  EXPECT_TRUE(blocked_record);
  const std::string metrics = admin::Metrics::instance().render_prometheus();
  EXPECT_NE(metrics.find("gatekeeper_websocket_messages_total{outcome=\"blocked\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("gatekeeper_websocket_messages_total{outcome=\"forwarded\"}"),
            std::string::npos);
}

TEST_P(WebSocketRelayTest, AnUnrecordableMessageIsRefusedNotForwarded) {
  const bool deflate = GetParam();
  RelaySetup setup;
  EchoServer server(test::make_server_context(setup.leaf, setup.upstream_ca), deflate);
  test::RunningProxy proxy(setup.snapshot(server.port()), setup.context());
  Client client(proxy, *setup.proxy_ca, deflate);
  ASSERT_TRUE(client.ready()) << client.error().message();
  EXPECT_EQ(client.send_and_read(realtime_item("Bonjour")), "echo: " + realtime_item("Bonjour"));

  proxy.fail_recording(true);  // audit.fail_closed is the default
  client.ws().text(true);
  client.ws().write(asio::buffer(realtime_item("Bonsoir")));
  client.read();
  EXPECT_EQ(client.last_error(), websocket::error::closed);
  EXPECT_EQ(client.ws().reason().code, websocket::close_code::policy_error);
  for (int i = 0; i < 100 && server.close_code() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(server.received().size(), 1u)
      << "nothing reaches the platform without its audit record";
}

INSTANTIATE_TEST_SUITE_P(Compression, WebSocketRelayTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Deflate" : "Plain"; });

TEST(WebSocketRelayLimitTest, OversizedMessageClosesWith1009) {
  RelaySetup setup;
  EchoServer server(test::make_server_context(setup.leaf, setup.upstream_ca), false);
  auto snapshot = setup.snapshot(server.port());
  snapshot.settings.websocket.max_message_bytes = 4096;
  test::RunningProxy proxy(std::move(snapshot), setup.context());
  Client client(proxy, *setup.proxy_ca, false);
  ASSERT_TRUE(client.ready()) << client.error().message();
  client.ws().text(true);
  client.ws().write(asio::buffer(std::string(8192, 'a')));
  client.read();
  EXPECT_EQ(client.last_error(), websocket::error::closed);
  EXPECT_EQ(client.ws().reason().code, websocket::close_code::too_big);
  EXPECT_TRUE(server.received().empty());
}

TEST(WebSocketRelayLimitTest, InspectionOffRefusesTheUpgrade) {
  RelaySetup setup;
  EchoServer server(test::make_server_context(setup.leaf, setup.upstream_ca), false);
  auto snapshot = setup.snapshot(server.port());
  snapshot.settings.websocket.inspect = false;
  test::RunningProxy proxy(std::move(snapshot), setup.context());
  Client client(proxy, *setup.proxy_ca, false);
  EXPECT_FALSE(client.ready());
  EXPECT_EQ(client.upgrade_response().result_int(), 502u);
}

TEST(WebSocketInspectTest, BinaryMessagesAreHandledLikeUnknownFiles) {
  config::Snapshot snapshot;
  snapshot.platforms = test::parse_platforms(test::kTestPlatforms);
  snapshot.rules = test::shipped_rules().rules;
  snapshot.policy = test::shipped_rules().policy;
  WebSocketChannel channel;
  channel.host = "api.openai.com";
  channel.target = "/v1/realtime";
  const std::string binary("\x00\x01\x02\xff\xfe PK\x03\x04", 12);
  const MessageVerdict verdict = inspect_message(snapshot, channel, ws::Opcode::Binary, binary);
  EXPECT_EQ(verdict.kind, MessageVerdict::Kind::Block);
  EXPECT_EQ(verdict.decision_record["message_type"], "binary");
  // An unknown binary is an attached file the policy asks to justify (unknown_binary: warn).
  ASSERT_TRUE(verdict.decision_record.contains("files"));
  EXPECT_EQ(verdict.decision_record["files"][0]["format"], "binary");
  EXPECT_EQ(verdict.decision_record["categories"], nlohmann::json::array({"unknown_binary"}));
  const MessageVerdict text = inspect_message(snapshot, channel, ws::Opcode::Text, "bonjour");
  EXPECT_EQ(text.kind, MessageVerdict::Kind::Forward);
  EXPECT_FALSE(text.modified);
  EXPECT_EQ(text.payload, "bonjour");
}

}  // namespace
}  // namespace gatekeeper::net

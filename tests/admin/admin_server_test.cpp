#include "gatekeeper/admin/admin_server.hpp"

#include "gatekeeper/admin/metrics.hpp"
#include "support/http_get.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

namespace gatekeeper::admin {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Metrics::instance().reset_for_test();
    AdminServer::Options options;
    options.revision = [this] { return revision_.load(); };
    server_ = std::make_unique<AdminServer>(ioc_, options);
    ASSERT_TRUE(server_->start({net::ip::make_address("127.0.0.1"), 0}));
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    server_->stop();
    ioc_.stop();
    thread_.join();
    Metrics::instance().reset_for_test();
  }

  net::io_context ioc_;
  std::atomic<std::uint64_t> revision_{3};
  std::unique_ptr<AdminServer> server_;
  unsigned short port_ = 0;
  std::thread thread_;
};

TEST_F(AdminServerTest, HealthzReportsTheActiveRevision) {
  ASSERT_NE(port_, 0);
  auto answer = test::http_request("127.0.0.1", port_, "/healthz");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->content_type, "application/json");
  const auto json = nlohmann::json::parse(answer->body);
  EXPECT_EQ(json.at("status"), "ok");
  EXPECT_EQ(json.at("revision"), 3);
  revision_ = 4;
  answer = test::http_request("127.0.0.1", port_, "/healthz");
  ASSERT_TRUE(answer);
  EXPECT_EQ(nlohmann::json::parse(answer->body).at("revision"), 4);
}

TEST_F(AdminServerTest, MetricsAreServedAsPrometheusText) {
  Metrics::instance().count_reload(false);
  auto answer = test::http_request("127.0.0.1", port_, "/metrics");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(answer->body.find("gatekeeper_reloads_total{result=\"failure\"} 1\n"), std::string::npos);
}

TEST_F(AdminServerTest, UnknownPathsAndMethodsAreRefused) {
  auto missing = test::http_request("127.0.0.1", port_, "/admin/secret");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto post = test::http_request("127.0.0.1", port_, "/metrics", http::verb::post);
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(AdminServerTest, StopClosesTheListener) {
  server_->stop();
  // The close is posted to the acceptor's strand; wait until it has run.
  for (int i = 0; i < 100 && test::http_request("127.0.0.1", port_, "/healthz"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(test::http_request("127.0.0.1", port_, "/healthz"));
}

TEST(AdminServer, BindFailureIsReported) {
  net::io_context ioc;
  AdminServer first(ioc, {});
  ASSERT_TRUE(first.start({net::ip::make_address("127.0.0.1"), 0}));
  AdminServer second(ioc, {});
  auto result = second.start({net::ip::make_address("127.0.0.1"), first.local_endpoint().port()});
  EXPECT_FALSE(result);
}

}  // namespace
}  // namespace gatekeeper::admin

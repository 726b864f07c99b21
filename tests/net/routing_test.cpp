#include "gatekeeper/net/routing.hpp"

#include <gtest/gtest.h>

#include "net/proxy_test_support.hpp"

namespace gatekeeper::net {
namespace {

TEST(RoutingTest, ConnectDecisionFollowsTheRegistry) {
  const auto platforms = test::parse_platforms(test::kTestPlatforms);
  ASSERT_NE(platforms, nullptr);

  const auto api = decide_connect(platforms.get(), "api.openai.com");
  EXPECT_EQ(api.action, ConnectAction::Intercept);
  ASSERT_NE(api.platform, nullptr);
  EXPECT_EQ(api.platform->id, "openai_api");
  EXPECT_FALSE(api.upload_host);

  const auto upload = decide_connect(platforms.get(), "files.oaiusercontent.com");
  EXPECT_EQ(upload.action, ConnectAction::Intercept);
  EXPECT_TRUE(upload.upload_host);

  const auto denied = decide_connect(platforms.get(), "poe.com");
  EXPECT_EQ(denied.action, ConnectAction::Deny);
  ASSERT_NE(denied.denied, nullptr);
  EXPECT_EQ(denied.denied->name, "Poe");

  EXPECT_EQ(decide_connect(platforms.get(), "example.org").action, ConnectAction::Tunnel);
  EXPECT_EQ(decide_connect(platforms.get(), "oaiusercontent.com").action, ConnectAction::Tunnel);
  EXPECT_EQ(decide_connect(nullptr, "api.openai.com").action, ConnectAction::Tunnel);
}

TEST(RoutingTest, SplitHostPort) {
  auto v4 = split_host_port("API.OpenAI.com.:8443", 443);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "api.openai.com");
  EXPECT_EQ(v4->port, 8443);
  auto bare = split_host_port("example.org", 80);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 80);
  auto v6 = split_host_port("[::1]:3128", 80);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3128);
  EXPECT_FALSE(split_host_port("", 80));
  EXPECT_FALSE(split_host_port("host:", 80));
  EXPECT_FALSE(split_host_port("host:0", 80));
  EXPECT_FALSE(split_host_port("host:70000", 80));
  EXPECT_FALSE(split_host_port("host:12ab", 80));
  EXPECT_FALSE(split_host_port("::1", 80));
  EXPECT_FALSE(split_host_port("bad host:80", 80));
  EXPECT_FALSE(split_host_port("[::1", 80));
}

TEST(RoutingTest, ConnectToRemapsLikeCurl) {
  const std::vector<config::ConnectTo> rules{
      {"api.openai.com", 443, "127.0.0.1", 9443},
      {"", 80, "10.0.0.1", 0},
  };
  auto mapped = remap_connect_to(rules, {"api.openai.com", 443});
  EXPECT_EQ(mapped.host, "127.0.0.1");
  EXPECT_EQ(mapped.port, 9443);
  // Same host, other port: no match for the first rule.
  mapped = remap_connect_to(rules, {"api.openai.com", 8443});
  EXPECT_EQ(mapped.host, "api.openai.com");
  EXPECT_EQ(mapped.port, 8443);
  // Empty host matches any host; port 0 in the target keeps the original port.
  mapped = remap_connect_to(rules, {"example.org", 80});
  EXPECT_EQ(mapped.host, "10.0.0.1");
  EXPECT_EQ(mapped.port, 80);
}

TEST(RoutingTest, AbsoluteTargets) {
  auto target = parse_http_absolute_target("http://Example.org:8080/a/b?x=1#frag");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->destination.host, "example.org");
  EXPECT_EQ(target->destination.port, 8080);
  EXPECT_EQ(target->origin_target, "/a/b?x=1");
  target = parse_http_absolute_target("http://example.org");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->destination.port, 80);
  EXPECT_EQ(target->origin_target, "/");
  target = parse_http_absolute_target("http://example.org?q");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->origin_target, "/?q");
  EXPECT_FALSE(parse_http_absolute_target("https://example.org/"));
  EXPECT_FALSE(parse_http_absolute_target("/relative"));
  EXPECT_FALSE(parse_http_absolute_target("http://user@example.org/"));
  EXPECT_FALSE(parse_http_absolute_target("http:///path"));
}

TEST(RoutingTest, ClientAllowList) {
  using boost::asio::ip::make_address;
  const std::vector<std::string> cidrs{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "garbage/99"};
  EXPECT_TRUE(client_allowed(make_address("127.0.0.1"), {}));
  EXPECT_TRUE(client_allowed(make_address("::1"), {}));
  EXPECT_FALSE(client_allowed(make_address("10.1.2.3"), {}));
  EXPECT_TRUE(client_allowed(make_address("10.1.2.3"), cidrs));
  EXPECT_FALSE(client_allowed(make_address("11.1.2.3"), cidrs));
  EXPECT_TRUE(client_allowed(make_address("192.168.1.7"), cidrs));
  EXPECT_FALSE(client_allowed(make_address("192.168.1.8"), cidrs));
  EXPECT_TRUE(client_allowed(make_address("2001:db8::5"), cidrs));
  EXPECT_FALSE(client_allowed(make_address("2001:db9::5"), cidrs));
  EXPECT_TRUE(client_allowed(make_address("::ffff:10.9.9.9"), cidrs));
}

TEST(RoutingTest, BasicAuthorization) {
  // base64("alice:s3cr:et") = YWxpY2U6czNjcjpldA==
  auto credentials = parse_basic_authorization("Basic YWxpY2U6czNjcjpldA==");
  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->user, "alice");
  EXPECT_EQ(credentials->password, "s3cr:et");
  EXPECT_TRUE(parse_basic_authorization("basic   YWxpY2U6czNjcjpldA=="));
  EXPECT_FALSE(parse_basic_authorization("Bearer YWxpY2U6czNjcjpldA=="));
  EXPECT_FALSE(parse_basic_authorization("Basic bm9jb2xvbg=="));  // "nocolon"
  EXPECT_FALSE(parse_basic_authorization("Basic ###"));
  EXPECT_FALSE(parse_basic_authorization("Basic YWxpY2U6czNjcjpldA"));  // bad length
}

}  // namespace
}  // namespace gatekeeper::net

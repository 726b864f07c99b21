#include "gatekeeper/net/pac.hpp"

#include <gtest/gtest.h>

#include "net/proxy_test_support.hpp"

namespace gatekeeper::net {
namespace {

TEST(PacTest, RoutesOnlyPlatformHostsThroughTheProxy) {
  const auto platforms = test::parse_platforms(test::kTestPlatforms);
  ASSERT_NE(platforms, nullptr);
  const std::string pac = make_pac(*platforms, "proxy.example.org", 3128);

  EXPECT_NE(pac.find("function FindProxyForURL(url, host)"), std::string::npos);
  EXPECT_NE(pac.find("if (host == \"api.openai.com\") return \"PROXY proxy.example.org:3128\";"),
            std::string::npos);
  EXPECT_NE(pac.find("if (host == \"chatgpt.com\")"), std::string::npos);
  EXPECT_NE(pac.find("shExpMatch(host, \"*.oaiusercontent.com\")"), std::string::npos);
  // Denied platforms go through the proxy too, so users see why they are refused.
  EXPECT_NE(pac.find("if (host == \"poe.com\")"), std::string::npos);
  // Everything else is direct, and that is the last word.
  const auto direct = pac.rfind("return \"DIRECT\";");
  ASSERT_NE(direct, std::string::npos);
  EXPECT_GT(direct, pac.rfind("PROXY"));
  EXPECT_EQ(pac.find("example.org\")"), std::string::npos);
}

TEST(PacTest, EmptyRegistryIsAllDirectAndIpv6IsBracketed) {
  const config::PlatformRegistry empty;
  const std::string pac = make_pac(empty, "::1", 3128);
  EXPECT_EQ(pac.find("PROXY"), std::string::npos);
  EXPECT_NE(pac.find("return \"DIRECT\";"), std::string::npos);

  const auto platforms = test::parse_platforms(test::kTestPlatforms);
  ASSERT_NE(platforms, nullptr);
  EXPECT_NE(make_pac(*platforms, "::1", 3128).find("PROXY [::1]:3128"), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::net

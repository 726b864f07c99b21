#include "gatekeeper/admin/metrics.hpp"

#include <gtest/gtest.h>

namespace gatekeeper::admin {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { Metrics::instance().reset_for_test(); }
  void TearDown() override { Metrics::instance().reset_for_test(); }
  Metrics& metrics = Metrics::instance();
};

TEST_F(MetricsTest, CountersCarryTheirLabels) {
  metrics.count_connection("intercept");
  metrics.count_connection("intercept");
  metrics.count_connection("tunnel");
  metrics.count_request("openai_api");
  metrics.count_decision("block", "health_identifier");
  metrics.count_error("scan_out_of_memory");
  metrics.count_reload(true);
  metrics.count_reload(false);
  metrics.count_reload(false);
  metrics.set_config_revision(7);
  const std::string text = metrics.render_prometheus();
  EXPECT_TRUE(has_line(text, "# TYPE gatekeeper_connections_total counter"));
  EXPECT_TRUE(has_line(text, "gatekeeper_connections_total{kind=\"intercept\"} 2"));
  EXPECT_TRUE(has_line(text, "gatekeeper_connections_total{kind=\"tunnel\"} 1"));
  EXPECT_TRUE(has_line(text, "gatekeeper_requests_total{platform=\"openai_api\"} 1"));
  EXPECT_TRUE(
      has_line(text, "gatekeeper_decisions_total{action=\"block\",category=\"health_identifier\"} 1"));
  EXPECT_TRUE(has_line(text, "gatekeeper_errors_total{error=\"scan_out_of_memory\"} 1"));
  EXPECT_TRUE(has_line(text, "gatekeeper_reloads_total{result=\"success\"} 1"));
  EXPECT_TRUE(has_line(text, "gatekeeper_reloads_total{result=\"failure\"} 2"));
  EXPECT_TRUE(has_line(text, "# TYPE gatekeeper_config_revision gauge"));
  EXPECT_TRUE(has_line(text, "gatekeeper_config_revision 7"));
}

TEST_F(MetricsTest, HistogramBucketsAreCumulative) {
  metrics.observe_scan_seconds(0.00005);  // first bucket
  metrics.observe_scan_seconds(0.003);    // le 0.005
  metrics.observe_scan_seconds(2.0);      // only +Inf
  const std::string text = metrics.render_prometheus();
  EXPECT_TRUE(has_line(text, "# TYPE gatekeeper_scan_seconds histogram"));
  EXPECT_TRUE(has_line(text, "gatekeeper_scan_seconds_bucket{le=\"0.0001\"} 1"));
  EXPECT_TRUE(has_line(text, "gatekeeper_scan_seconds_bucket{le=\"0.0025\"} 1"));
  EXPECT_TRUE(has_line(text, "gatekeeper_scan_seconds_bucket{le=\"0.005\"} 2"));
  EXPECT_TRUE(has_line(text, "gatekeeper_scan_seconds_bucket{le=\"1\"} 2"));
  EXPECT_TRUE(has_line(text, "gatekeeper_scan_seconds_bucket{le=\"+Inf\"} 3"));
  EXPECT_TRUE(has_line(text, "gatekeeper_scan_seconds_count 3"));
  const auto sum_at = text.find("\ngatekeeper_scan_seconds_sum ");
  ASSERT_NE(sum_at, std::string::npos);
  EXPECT_NEAR(std::stod(text.substr(sum_at + 29)), 2.00305, 1e-9);
}

TEST_F(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  metrics.count_error("odd\"name");
  EXPECT_TRUE(has_line(metrics.render_prometheus(), "gatekeeper_errors_total{error=\"odd\\\"name\"} 1"));
}

TEST_F(MetricsTest, EveryFamilyHasHelpAndType) {
  const std::string text = metrics.render_prometheus();
  for (const char* name : {"gatekeeper_connections_total", "gatekeeper_requests_total",
                           "gatekeeper_decisions_total", "gatekeeper_errors_total",
                           "gatekeeper_scan_seconds", "gatekeeper_reloads_total",
                           "gatekeeper_config_revision"}) {
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST_F(MetricsTest, ResetClearsEverything) {
  metrics.count_connection("http");
  metrics.reset_for_test();
  EXPECT_EQ(metrics.render_prometheus().find("kind=\"http\""), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::admin

#include "gatekeeper/config/settings.hpp"

#include "support/config_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace gatekeeper::config {
namespace {

namespace fs = std::filesystem;

bool watches(const Snapshot& snapshot, const fs::path& path) {
  return std::find(snapshot.watched_files.begin(), snapshot.watched_files.end(), path) !=
         snapshot.watched_files.end();
}

TEST(Snapshot, ShippedConfigurationLoads) {
  Diagnostics diagnostics;
  auto snapshot = load_snapshot(Overrides{}, 1, diagnostics);
  ASSERT_TRUE(snapshot) << (diagnostics.empty() ? "" : diagnostics.front().to_string());
  EXPECT_FALSE(has_errors(diagnostics));
  const Snapshot& s = **snapshot;
  EXPECT_EQ(s.revision, 1u);
  ASSERT_TRUE(s.rules);
  ASSERT_TRUE(s.policy);
  ASSERT_TRUE(s.platforms);
  EXPECT_FALSE(s.credentials);
  EXPECT_FALSE(s.rules->fingerprint().empty());
  EXPECT_FALSE(s.platforms->platforms().empty());
  EXPECT_TRUE(watches(s, default_config_file().lexically_normal()));
  EXPECT_TRUE(watches(s, s.settings.rules_dir));
  EXPECT_TRUE(watches(s, s.settings.policy_file));
}

TEST(Snapshot, OverridesApplyOnTopOfTheFile) {
  test::ConfigFixture fixture;
  Overrides overrides;
  overrides.config_file = fixture.config_file();
  overrides.listen = "127.0.0.1:4000";
  overrides.connect_to = {"api.openai.com:443:127.0.0.1:8443"};
  Diagnostics diagnostics;
  auto snapshot = load_snapshot(overrides, 7, diagnostics);
  ASSERT_TRUE(snapshot) << (diagnostics.empty() ? "" : diagnostics.front().to_string());
  EXPECT_EQ((*snapshot)->revision, 7u);
  EXPECT_EQ((*snapshot)->settings.listen_port, 4000);
  EXPECT_EQ((*snapshot)->settings.admin_port, 0);  // from the file
  ASSERT_EQ((*snapshot)->settings.connect_to.size(), 1u);
  EXPECT_EQ((*snapshot)->settings.rules_dir, fixture.rules_dir());
  EXPECT_TRUE(watches(**snapshot, fixture.first_rule_file()));
}

TEST(Snapshot, ReportsProblemsFromEveryInput) {
  test::ConfigFixture fixture("htpasswd: users.htpasswd\n");
  test::write_text(fixture.root() / "config" / "users.htpasswd", "alice:plaintext\n");
  const fs::path broken_rule = fixture.first_rule_file();
  test::write_text(broken_rule, test::read_text(broken_rule) + "\n  - [unclosed\n");
  Overrides overrides;
  overrides.config_file = fixture.config_file();
  Diagnostics diagnostics;
  auto snapshot = load_snapshot(overrides, 1, diagnostics);
  EXPECT_FALSE(snapshot);
  const auto from = [&](const fs::path& file) {
    return std::any_of(diagnostics.begin(), diagnostics.end(), [&](const Diagnostic& d) {
      return d.file.find(file.filename().string()) != std::string::npos &&
             d.severity == Diagnostic::Severity::Error;
    });
  };
  EXPECT_TRUE(from(broken_rule));
  EXPECT_TRUE(from("users.htpasswd"));
  for (const auto& d : diagnostics) EXPECT_EQ(d.message.find("plaintext"), std::string::npos);
}

TEST(Snapshot, MissingUpstreamCaIsReported) {
  test::ConfigFixture fixture("upstream_ca: missing-ca.pem\n");
  Overrides overrides;
  overrides.config_file = fixture.config_file();
  Diagnostics diagnostics;
  EXPECT_FALSE(load_snapshot(overrides, 1, diagnostics));
  ASSERT_FALSE(diagnostics.empty());
  EXPECT_NE(diagnostics.back().message.find("upstream_ca"), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::config

#include "gatekeeper/config/settings.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace gatekeeper::config {
namespace {

namespace fs = std::filesystem;

bool mentions(const Diagnostics& diagnostics, std::string_view text) {
  return std::any_of(diagnostics.begin(), diagnostics.end(), [&](const Diagnostic& d) {
    return d.message.find(text) != std::string::npos;
  });
}

TEST(SettingsConnectTo, ParsesHostPortAddressPort) {
  auto parsed = parse_connect_to("API.OpenAI.com:443:127.0.0.1:8443");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "api.openai.com");
  EXPECT_EQ(parsed->port, 443);
  EXPECT_EQ(parsed->address, "127.0.0.1");
  EXPECT_EQ(parsed->address_port, 8443);
}

TEST(SettingsConnectTo, AcceptsBracketedIpv6) {
  auto parsed = parse_connect_to("claude.ai:443:[::1]:9443");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->address, "::1");
  EXPECT_EQ(parsed->address_port, 9443);
  auto both = parse_connect_to("[2001:db8::1]:443:[::1]:1");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->host, "2001:db8::1");
}

TEST(SettingsConnectTo, RejectsMalformedText) {
  for (const char* text : {"", "host", "host:443", "host:443:addr", "host:443:addr:", ":443:a:1",
                           "host:99999:a:1", "host:443:a:1:extra", "host:0:a:1", "host:x:a:1",
                           "host:443:[::1:1"}) {
    EXPECT_FALSE(parse_connect_to(text)) << text;
  }
}

TEST(SettingsHostPort, ParsesNamesAddressesAndPortZero) {
  auto v4 = parse_host_port("127.0.0.1:3128");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 3128);
  auto v6 = parse_host_port("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_FALSE(parse_host_port("127.0.0.1"));
  EXPECT_FALSE(parse_host_port("::1:3128"));
  EXPECT_FALSE(parse_host_port(":3128"));
}

TEST(SettingsDuration, ReadsHumanUnits) {
  EXPECT_EQ(parse_duration("500ms").value().count(), 500);
  EXPECT_EQ(parse_duration("30s").value().count(), 30'000);
  EXPECT_EQ(parse_duration("2m").value().count(), 120'000);
  EXPECT_EQ(parse_duration("1h").value().count(), 3'600'000);
  EXPECT_EQ(parse_duration("1m30s").value().count(), 90'000);
  EXPECT_EQ(parse_duration("400d").value().count(), 400ll * 86'400'000);
  for (const char* bad : {"", "30", "s", "3x", "1.5s", "-1s", "10w", "99999999h", "9000d"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(SettingsSize, ReadsBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_size("16MiB").value(), 16u << 20);
  EXPECT_EQ(parse_size("64KiB").value(), 64u << 10);
  EXPECT_EQ(parse_size("1MB").value(), 1'000'000u);
  EXPECT_EQ(parse_size("10000").value(), 10'000u);
  EXPECT_FALSE(parse_size("16 megs"));
  EXPECT_FALSE(parse_size("MiB"));
}

TEST(SettingsParse, ReadsEveryKeyAndResolvesPathsAgainstTheFile) {
  const std::string yaml = R"(
listen: 0.0.0.0:8080
admin_listen: "[::1]:9090"
allowed_clients: [10.0.0.0/8, 192.168.1.7, "::1/128"]
htpasswd: users.htpasswd
data_dir: /var/lib/gatekeeper
rules_dir: ../rules
policy_file: policy.yaml
platforms_file: /etc/gatekeeper/platforms.yaml
upstream_ca: staging-ca.pem
connect_to:
  - api.openai.com:443:127.0.0.1:8443
limits:
  max_body_bytes: 4MiB
  max_header_bytes: 32KiB
  leaf_cache_size: 500
timeouts:
  request_header: 5s
  upstream_idle: 2m
  shutdown_grace: 500ms
threads: 4
watch_files: false
log_level: debug
)";
  Diagnostics diagnostics;
  auto settings = parse_settings(yaml, "gk.yaml", "/opt/gk/config", diagnostics);
  ASSERT_TRUE(settings) << (diagnostics.empty() ? "" : diagnostics.front().to_string());
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(settings->listen_host, "0.0.0.0");
  EXPECT_EQ(settings->listen_port, 8080);
  EXPECT_EQ(settings->admin_host, "::1");
  EXPECT_EQ(settings->admin_port, 9090);
  EXPECT_EQ(settings->allowed_clients.size(), 3u);
  EXPECT_EQ(settings->htpasswd, fs::path("/opt/gk/config/users.htpasswd"));
  EXPECT_EQ(settings->data_dir, fs::path("/var/lib/gatekeeper"));
  EXPECT_EQ(settings->rules_dir, fs::path("/opt/gk/rules"));
  EXPECT_EQ(settings->policy_file, fs::path("/opt/gk/config/policy.yaml"));
  EXPECT_EQ(settings->platforms_file, fs::path("/etc/gatekeeper/platforms.yaml"));
  EXPECT_EQ(settings->upstream_ca, fs::path("/opt/gk/config/staging-ca.pem"));
  ASSERT_EQ(settings->connect_to.size(), 1u);
  EXPECT_EQ(settings->connect_to[0].address_port, 8443);
  EXPECT_EQ(settings->max_body_bytes, 4u << 20);
  EXPECT_EQ(settings->max_header_bytes, 32u << 10);
  EXPECT_EQ(settings->leaf_cache_size, 500u);
  EXPECT_EQ(settings->timeouts.request_header.count(), 5'000);
  EXPECT_EQ(settings->timeouts.upstream_idle.count(), 120'000);
  EXPECT_EQ(settings->timeouts.shutdown_grace.count(), 500);
  EXPECT_EQ(settings->timeouts.tls_handshake, Timeouts{}.tls_handshake);  // untouched default
  EXPECT_EQ(settings->threads, 4u);
  EXPECT_FALSE(settings->watch_files);
  EXPECT_EQ(settings->log_level, "debug");
}

TEST(SettingsParse, EmptyFileMeansDefaultsRelativeToTheFile) {
  Diagnostics diagnostics;
  auto settings = parse_settings("", "gk.yaml", "/opt/gk/config", diagnostics);
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->listen_port, 3128);
  EXPECT_EQ(settings->admin_port, 3129);
  EXPECT_EQ(settings->data_dir, fs::path(GATEKEEPER_SOURCE_DIR) / "data");
  EXPECT_EQ(settings->rules_dir, fs::path("/opt/gk/rules"));
  EXPECT_FALSE(settings->htpasswd);
}

TEST(SettingsParse, UnknownKeyIsLocatedAndGetsASuggestion) {
  Diagnostics diagnostics;
  auto settings = parse_settings("listen: 127.0.0.1:3128\nallowed_client: []\n", "gk.yaml", "/tmp",
                                 diagnostics);
  EXPECT_FALSE(settings);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].file, "gk.yaml");
  EXPECT_EQ(diagnostics[0].line, 2);
  EXPECT_EQ(diagnostics[0].column, 1);
  EXPECT_NE(diagnostics[0].message.find("unknown key 'allowed_client'"), std::string::npos);
  EXPECT_NE(diagnostics[0].message.find("did you mean 'allowed_clients'?"), std::string::npos);
}

TEST(SettingsParse, UnknownKeyWithoutNearMatchListsTheKnownKeys) {
  Diagnostics diagnostics;
  EXPECT_FALSE(parse_settings("frobnicate: 1\n", "gk.yaml", "/tmp", diagnostics));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_NE(diagnostics[0].message.find("known keys: listen, admin_listen"), std::string::npos);
}

TEST(SettingsParse, NestedUnknownKeySuggestsTheSectionKey) {
  Diagnostics diagnostics;
  auto settings = parse_settings("timeouts:\n  request_headr: 30s\n", "gk.yaml", "/tmp", diagnostics);
  EXPECT_FALSE(settings);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].line, 2);
  EXPECT_EQ(diagnostics[0].column, 3);
  EXPECT_TRUE(mentions(diagnostics, "did you mean 'request_header'"));
}

TEST(SettingsParse, ReportsEveryProblemInOneRun) {
  const std::string yaml = R"(listen: localhost
threads: 0
timeouts:
  request_body: 30
log_level: verbose
allowed_clients: [10.0.0.0/33]
connect_to: [api.openai.com:443]
watch_files: maybe
)";
  Diagnostics diagnostics;
  auto settings = parse_settings(yaml, "gk.yaml", "/tmp", diagnostics);
  EXPECT_FALSE(settings);
  EXPECT_EQ(settings.error(), make_error_code(Errc::ConfigInvalid));
  ASSERT_EQ(diagnostics.size(), 7u);
  EXPECT_EQ(diagnostics[0].line, 1);
  EXPECT_EQ(diagnostics[2].line, 4);
  EXPECT_TRUE(mentions(diagnostics, "500ms, 30s, 2m or 1h"));
  EXPECT_TRUE(mentions(diagnostics, "log_level"));
  EXPECT_TRUE(mentions(diagnostics, "10.0.0.0/33"));
}

TEST(SettingsParse, DuplicateKeysAreReported) {
  Diagnostics diagnostics;
  EXPECT_FALSE(parse_settings("threads: 2\nlimits:\n  max_body_bytes: 1MiB\n  max_body_bytes: 2MiB\n"
                              "threads: 4\n",
                              "gk.yaml", "/tmp", diagnostics));
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].line, 4);
  EXPECT_EQ(diagnostics[1].line, 5);
  EXPECT_TRUE(mentions(diagnostics, "appears more than once"));
}

TEST(SettingsParse, SyntaxErrorIsLocated) {
  Diagnostics diagnostics;
  auto settings = parse_settings("listen: [127.0.0.1\nthreads: 2\n", "gk.yaml", "/tmp", diagnostics);
  EXPECT_FALSE(settings);
  EXPECT_EQ(settings.error(), make_error_code(Errc::ConfigSyntax));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_GT(diagnostics[0].line, 0);
}

TEST(SettingsParse, ShippedConfigurationLoadsCleanly) {
  Diagnostics diagnostics;
  auto settings = load_settings(default_config_file(), diagnostics);
  ASSERT_TRUE(settings) << (diagnostics.empty() ? "" : diagnostics.front().to_string());
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(settings->listen_host, "127.0.0.1");
  EXPECT_EQ(settings->listen_port, 3128);
  EXPECT_EQ(settings->admin_port, 3129);
  const fs::path source(GATEKEEPER_SOURCE_DIR);
  EXPECT_EQ(settings->data_dir, (source / "data").lexically_normal());
  EXPECT_EQ(settings->rules_dir, (source / "rules").lexically_normal());
  EXPECT_EQ(settings->policy_file, (source / "config" / "policy.yaml").lexically_normal());
}

TEST(SettingsParse, MissingFileIsConfigNotFound) {
  Diagnostics diagnostics;
  auto settings = load_settings("/nonexistent/gatekeeper.yaml", diagnostics);
  EXPECT_EQ(settings.error(), make_error_code(Errc::ConfigNotFound));
  ASSERT_EQ(diagnostics.size(), 1u);
}

TEST(SettingsOverrides, CommandLineWinsAndAppendsConnectTo) {
  Diagnostics diagnostics;
  auto settings = parse_settings("connect_to: [a.example:443:127.0.0.1:1]\n", "gk.yaml", "/tmp",
                                 diagnostics);
  ASSERT_TRUE(settings);
  Overrides overrides;
  overrides.listen = "127.0.0.1:0";
  overrides.admin_listen = "[::1]:0";
  overrides.data_dir = "/srv/gk-data";
  overrides.connect_to = {"b.example:443:127.0.0.1:2"};
  ASSERT_TRUE(apply_overrides(*settings, overrides, diagnostics));
  EXPECT_EQ(settings->listen_port, 0);
  EXPECT_EQ(settings->admin_host, "::1");
  EXPECT_EQ(settings->data_dir, fs::path("/srv/gk-data"));
  ASSERT_EQ(settings->connect_to.size(), 2u);
  EXPECT_EQ(settings->connect_to[1].host, "b.example");

  overrides.listen = "nonsense";
  overrides.connect_to = {"bad"};
  EXPECT_FALSE(apply_overrides(*settings, overrides, diagnostics));
  EXPECT_EQ(diagnostics.size(), 2u);
  EXPECT_TRUE(mentions(diagnostics, "--listen"));
  EXPECT_TRUE(mentions(diagnostics, "--connect-to"));
}

}  // namespace
}  // namespace gatekeeper::config

namespace gatekeeper::config {
namespace {

TEST(SettingsSections, ReadsAuditConsoleFilesAndWebSocketSections) {
  Diagnostics diagnostics;
  auto settings = parse_settings(R"(
audit:
  postgres_dsn: "host=127.0.0.1 dbname=audit"
  name_users: true
  retention: 90d
  durability: disk
  syslog: udp://127.0.0.1:5514
console:
  password_hash: "$6$salt$hash"
  session_lifetime: 30m
files:
  max_compression_ratio: 50
  max_pdf_pages: 10
  max_extraction_time: 2s
websocket:
  inspect: false
  max_message_bytes: 1MiB
)", "gatekeeper.yaml", "/etc/gatekeeper", diagnostics);
  ASSERT_TRUE(settings) << (diagnostics.empty() ? "" : diagnostics.front().to_string());
  EXPECT_EQ(settings->audit.postgres_dsn, "host=127.0.0.1 dbname=audit");
  EXPECT_TRUE(settings->audit.name_users);
  EXPECT_EQ(settings->audit.retention, std::chrono::hours(90 * 24));
  EXPECT_EQ(settings->audit.syslog, "udp://127.0.0.1:5514");
  EXPECT_TRUE(settings->audit.fail_closed);
  EXPECT_EQ(settings->audit.durability, "disk");
  EXPECT_EQ(settings->console.password_hash, "$6$salt$hash");
  EXPECT_EQ(settings->console.session_lifetime, std::chrono::minutes(30));
  EXPECT_DOUBLE_EQ(settings->files.max_compression_ratio, 50.0);
  EXPECT_EQ(settings->files.max_pdf_pages, 10u);
  EXPECT_EQ(settings->files.max_extraction_time, std::chrono::milliseconds(2000));
  EXPECT_FALSE(settings->websocket.inspect);
  EXPECT_EQ(settings->websocket.max_message_bytes, 1u << 20);
}

TEST(SettingsSections, ReportsEveryBadSectionValueWithItsLine) {
  Diagnostics diagnostics;
  auto settings = parse_settings(R"(audit:
  retension: 90d
  syslog: tcp://siem:514
  durability: sometimes
files:
  max_compression_ratio: 0.5
websocket: [1, 2]
)", "gatekeeper.yaml", "/etc/gatekeeper", diagnostics);
  EXPECT_FALSE(settings);
  ASSERT_EQ(diagnostics.size(), 5u);
  EXPECT_EQ(diagnostics[0].line, 2);
  EXPECT_NE(diagnostics[0].message.find("did you mean 'retention'"), std::string::npos);
  EXPECT_EQ(diagnostics[1].line, 3);
  EXPECT_NE(diagnostics[1].message.find("udp://HOST:PORT"), std::string::npos);
  EXPECT_EQ(diagnostics[2].line, 4);
  EXPECT_NE(diagnostics[2].message.find("process or disk"), std::string::npos);
  EXPECT_EQ(diagnostics[3].line, 6);
  EXPECT_EQ(diagnostics[4].line, 7);
}

}  // namespace
}  // namespace gatekeeper::config

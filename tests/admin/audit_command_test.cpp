#include "gatekeeper/admin/audit_command.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sstream>

#include "admin/command_fixture.hpp"
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"

namespace gatekeeper::admin {
namespace {

using nlohmann::json;
using testing::TempDir;

struct CommandRun {
  int code = -1;
  std::string out;
  std::string err;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

class AuditCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = audit::open_sqlite_store((dir_.path() / "audit.db").string());
    ASSERT_TRUE(store);
    store_ = *store;
    add(request("2026-11-01T08:00:00.000Z", "GK-A", "chatgpt", "block", {"health_identifier"}));
    add(request("2026-11-02T09:00:00.000Z", "GK-B", "claude", "redact", {"secret"}));
    add(request("2026-11-02T10:00:00.000Z", "GK-C", "chatgpt", "warn", {"evaluation"},
                "=HYPERLINK(\"http://x\",\"clic\"), suite"));
  }

  static audit::Record request(std::string time, std::string reference, std::string platform,
                               std::string action, std::vector<std::string> categories,
                               std::string justification = "") {
    json body = {{"time", time},         {"reference", reference}, {"platform", platform},
                 {"action", action},     {"user", "u:00aa"},       {"categories", categories},
                 {"host", "example.ai"}, {"findings", json::array({{{"rule", "r1"},
                                                                    {"rule_version", "2"},
                                                                    {"count", 3}}})}};
    if (!justification.empty()) body["justification"] = {{"stored", true}, {"reason", justification}};
    return audit::make_request_record(std::move(body));
  }

  void add(audit::Record record) {
    chain_.stamp(record);
    std::vector<audit::Record> records{std::move(record)};
    ASSERT_TRUE(store_->append(records));
  }

  CommandRun run(std::vector<std::string> args) {
    args.push_back("--data-dir");
    args.push_back(dir_.path().string());
    std::ostringstream out, err;
    CommandRun result;
    result.code = run_audit_command(args, out, err);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  void tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "audit.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }

  TempDir dir_;
  audit::StorePtr store_;
  audit::Chain chain_{"proxy-1", nullptr};
};

TEST_F(AuditCommandTest, ListPrintsOneJsonRecordPerLineNewestFirstWithFilters) {
  CommandRun all = run({"list", "--format", "jsonl"});
  ASSERT_EQ(all.code, kExitOk) << all.err;
  auto lines = lines_of(all.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[0])["reference"], "GK-C");
  EXPECT_EQ(json::parse(lines[2])["reference"], "GK-A");

  CommandRun chatgpt = run({"list", "--format=jsonl", "--platform", "chatgpt", "--since", "2026-11-02"});
  ASSERT_EQ(chatgpt.code, kExitOk) << chatgpt.err;
  lines = lines_of(chatgpt.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["reference"], "GK-C");

  CommandRun category = run({"list", "--format", "jsonl", "--category", "secret", "--limit", "5"});
  ASSERT_EQ(category.code, kExitOk);
  EXPECT_EQ(lines_of(category.out).size(), 1u);

  CommandRun table = run({"list", "--action", "block"});
  ASSERT_EQ(table.code, kExitOk);
  lines = lines_of(table.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("REFERENCE"), std::string::npos);
  EXPECT_NE(lines[1].find("GK-A"), std::string::npos);
  EXPECT_NE(lines[1].find("health_identifier"), std::string::npos);
}

TEST_F(AuditCommandTest, ShowFindsByIdOrReference) {
  CommandRun by_reference = run({"show", "GK-B"});
  ASSERT_EQ(by_reference.code, kExitOk) << by_reference.err;
  const json record = json::parse(by_reference.out);
  EXPECT_EQ(record["platform"], "claude");
  EXPECT_EQ(record["body"]["action"], "redact");
  EXPECT_EQ(record["hash"].get<std::string>().size(), 64u);

  CommandRun by_id = run({"show", std::to_string(record["id"].get<std::int64_t>())});
  ASSERT_EQ(by_id.code, kExitOk);
  EXPECT_EQ(json::parse(by_id.out)["reference"], "GK-B");

  CommandRun missing = run({"show", "GK-NOPE"});
  EXPECT_EQ(missing.code, kExitFailure);
  EXPECT_NE(missing.err.find("no record"), std::string::npos);
  EXPECT_EQ(run({"show"}).code, kExitInvalidRules);
}

TEST_F(AuditCommandTest, StatsCountByCategoryPlatformActionAndDay) {
  CommandRun stats = run({"stats", "--format", "json"});
  ASSERT_EQ(stats.code, kExitOk) << stats.err;
  const json result = json::parse(stats.out);
  EXPECT_EQ(result["total"], 3);
  EXPECT_EQ(result["by_platform"][0], (json{{"key", "chatgpt"}, {"count", 2}}));
  EXPECT_EQ(result["by_day"].size(), 2u);
  EXPECT_EQ(result["by_day"][1], (json{{"key", "2026-11-02"}, {"count", 2}}));
  EXPECT_EQ(result["by_category"].size(), 3u);

  CommandRun table = run({"stats", "--platform", "claude"});
  ASSERT_EQ(table.code, kExitOk);
  EXPECT_NE(table.out.find("Requests: 1"), std::string::npos);
  EXPECT_NE(table.out.find("By category"), std::string::npos);
}

TEST(CsvCell, QuotesPerRfc4180AndDefusesFormulas) {
  EXPECT_EQ(csv_cell("plain"), "plain");
  EXPECT_EQ(csv_cell(""), "");
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_cell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_cell("=1+1"), "'=1+1");
  EXPECT_EQ(csv_cell("+33"), "'+33");
  EXPECT_EQ(csv_cell("-2"), "'-2");
  EXPECT_EQ(csv_cell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_cell("=A1,B1"), "\"'=A1,B1\"");
  EXPECT_EQ(csv_cell("a=b"), "a=b");
}

TEST_F(AuditCommandTest, ExportCsvIsSafeAndTheExportIsAudited) {
  const auto file = dir_.path() / "export.csv";
  CommandRun exported = run({"export", "--format", "csv", "--output", file.string()});
  ASSERT_EQ(exported.code, kExitOk) << exported.err;
  std::ifstream in(file, std::ios::binary);
  const std::string csv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(csv.rfind("id,time,kind,", 0), 0u);
  EXPECT_NE(csv.find("\r\n"), std::string::npos);
  // Oldest first; the justification cell is quoted and cannot run as a formula.
  EXPECT_LT(csv.find("GK-A"), csv.find("GK-C"));
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"http://x\"\",\"\"clic\"\"), suite\""), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("r1@2x3"), std::string::npos);

  CommandRun admin = run({"list", "--format", "jsonl", "--kind", "admin"});
  ASSERT_EQ(admin.code, kExitOk);
  const auto lines = lines_of(admin.out);
  ASSERT_EQ(lines.size(), 1u);
  const json record = json::parse(lines[0]);
  EXPECT_EQ(record["body"]["event"], "audit_exported");
  EXPECT_EQ(record["body"]["count"], 3);
  EXPECT_EQ(record["body"]["format"], "csv");

  CommandRun jsonl = run({"export", "--format", "jsonl", "--kind", "request"});
  ASSERT_EQ(jsonl.code, kExitOk);
  EXPECT_EQ(lines_of(jsonl.out).size(), 3u);
  EXPECT_EQ(run({"export"}).code, kExitInvalidRules);  // --format is required
  EXPECT_EQ(run({"verify"}).code, kExitOk);           // the export record is chained properly
}

TEST_F(AuditCommandTest, VerifyExitsOneAndNamesTheFirstBrokenRecord) {
  CommandRun clean = run({"verify"});
  ASSERT_EQ(clean.code, kExitOk) << clean.err;
  EXPECT_NE(clean.out.find("ok: 3 record(s) in 1 chain(s)"), std::string::npos) << clean.out;

  CommandRun show = run({"show", "GK-B"});
  const auto id = json::parse(show.out)["id"].get<std::int64_t>();
  tamper("UPDATE records SET body = replace(body, 'redact', 'allow') WHERE id = " +
         std::to_string(id));
  CommandRun broken = run({"verify"});
  EXPECT_EQ(broken.code, kExitFailure);
  EXPECT_NE(broken.out.find("BROKEN: record " + std::to_string(id)), std::string::npos)
      << broken.out;
}

TEST_F(AuditCommandTest, PurgeDeletesOldRecordsAndLeavesAVerifiableTrail) {
  CommandRun purged = run({"purge", "--before", "2026-11-02"});
  ASSERT_EQ(purged.code, kExitOk) << purged.err;
  EXPECT_NE(purged.out.find("Purged 1 record(s)"), std::string::npos) << purged.out;
  CommandRun left = run({"list", "--format", "jsonl", "--kind", "request"});
  EXPECT_EQ(lines_of(left.out).size(), 2u);
  CommandRun admin = run({"list", "--format", "jsonl", "--kind", "admin"});
  const json record = json::parse(lines_of(admin.out).at(0));
  EXPECT_EQ(record["body"]["event"], "retention_purge");
  EXPECT_EQ(record["body"]["count"], 1);
  CommandRun verified = run({"verify"});
  EXPECT_EQ(verified.code, kExitOk) << verified.out;

  // Default: the configured retention (400 days) keeps everything from this year's records.
  CommandRun retention = run({"purge"});
  ASSERT_EQ(retention.code, kExitOk) << retention.err;
  EXPECT_EQ(run({"verify"}).code, kExitOk);
}

TEST_F(AuditCommandTest, BadUsageAndConfigurationExitTwo) {
  EXPECT_EQ(run({"frobnicate"}).code, kExitInvalidRules);
  EXPECT_EQ(run({"list", "--since", "last week"}).code, kExitInvalidRules);
  EXPECT_EQ(run({"list", "--format", "xml"}).code, kExitInvalidRules);
  EXPECT_EQ(run({"list", "--kind", "everything"}).code, kExitInvalidRules);
  EXPECT_EQ(run({"list", "--limit", "-3"}).code, kExitInvalidRules);
  EXPECT_EQ(run({"verify", "--bogus"}).code, kExitInvalidRules);

  // A PostgreSQL trail that cannot be reached is a runtime failure that names the store.
  const auto config = dir_.write(
      "gatekeeper.yaml", "audit:\n  postgres_dsn: postgresql://127.0.0.1:1/audit\n");
  CommandRun postgres = run({"list", "--config", config.string()});
  EXPECT_EQ(postgres.code, kExitFailure);
  EXPECT_NE(postgres.err.find("postgresql://127.0.0.1:1/audit"), std::string::npos) << postgres.err;

  std::ostringstream out, err;
  EXPECT_EQ(run_audit_command({"--help"}, out, err), kExitOk);
  EXPECT_NE(out.str().find("gatekeeper audit list"), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::admin

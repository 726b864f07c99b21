#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <thread>

#include "admin/command_fixture.hpp"
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/config/settings.hpp"

namespace gatekeeper::audit {
namespace {

using admin::testing::TempDir;

Record request(std::string time, std::string platform, std::string action,
               std::vector<std::string> categories, std::string user = "u:0001") {
  nlohmann::json body = {{"time", time},
                         {"reference", "GK-" + time.substr(0, 10) + "-" + platform + action},
                         {"platform", platform},
                         {"action", action},
                         {"user", user},
                         {"categories", categories}};
  return make_request_record(std::move(body));
}

// Runs raw SQL on the database file behind the store's back (what an attacker with file access
// could do).
void tamper(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
      << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = open_sqlite_store(file_.string());
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = *opened;
  }

  // Stamps and stores records in one chain.
  void add(std::vector<Record> records) {
    for (auto& record : records) chain_.stamp(record);
    ASSERT_TRUE(store_->append(records));
  }

  TempDir dir_;
  std::filesystem::path file_ = dir_.path() / "data" / "audit.db";
  StorePtr store_;
  Chain chain_{"host-a", nullptr};
};

TEST_F(SqliteStoreTest, AppendAssignsIncreasingIdsAndRoundTripsEveryField) {
  std::vector<Record> records = {request("2026-11-20T10:00:00.000Z", "chatgpt", "block",
                                         {"secret", "health_identifier"}),
                                 request("2026-11-20T11:00:00.000Z", "claude", "allow", {})};
  for (auto& record : records) chain_.stamp(record);
  ASSERT_TRUE(store_->append(records));
  ASSERT_GT(records[0].id, 0);
  EXPECT_GT(records[1].id, records[0].id);

  auto got = store_->get(records[0].id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->instance, "host-a");
  EXPECT_EQ(got->sequence, 1u);
  EXPECT_EQ(got->time, "2026-11-20T10:00:00.000Z");
  EXPECT_EQ(got->kind, RecordKind::Request);
  EXPECT_EQ(got->reference, records[0].reference);
  EXPECT_EQ(got->body, records[0].body);
  EXPECT_EQ(got->previous_hash, genesis_hash());
  EXPECT_EQ(got->hash, records[0].hash);
  EXPECT_EQ(got->hash, got->compute_hash());
  EXPECT_EQ(got->platform, "chatgpt");
  EXPECT_EQ(got->action, "block");
  EXPECT_EQ(got->categories, (std::vector<std::string>{"health_identifier", "secret"}));

  EXPECT_EQ(store_->get(9999).error(), Errc::NotFound);
  auto found = store_->find_reference(records[1].reference);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, records[1].id);
  EXPECT_EQ(store_->find_reference("GK-nope").error(), Errc::NotFound);
}

TEST_F(SqliteStoreTest, FiltersByEveryColumnAndCategoryExactly) {
  add({request("2026-11-01T08:00:00.000Z", "chatgpt", "block", {"health_identifier"}, "u:a"),
       request("2026-11-02T08:00:00.000Z", "claude", "redact", {"health"}, "u:b"),
       request("2026-11-03T08:00:00.000Z", "chatgpt", "warn", {"secret", "health_identifier"},
               "u:a"),
       make_admin_record("rules_reloaded")});

  auto count = [&](Filter filter) {
    filter.limit = 0;
    auto listed = store_->list(filter);
    EXPECT_TRUE(listed);
    return listed ? listed->size() : 0u;
  };
  EXPECT_EQ(count({}), 4u);
  Filter by_category;
  by_category.category = "health";
  EXPECT_EQ(count(by_category), 1u);  // not the two health_identifier records
  by_category.category = "health_identifier";
  EXPECT_EQ(count(by_category), 2u);
  Filter by_platform;
  by_platform.platform = "chatgpt";
  EXPECT_EQ(count(by_platform), 2u);
  Filter by_action;
  by_action.action = "redact";
  EXPECT_EQ(count(by_action), 1u);
  Filter by_user;
  by_user.user = "u:a";
  EXPECT_EQ(count(by_user), 2u);
  Filter by_kind;
  by_kind.kind = RecordKind::Admin;
  EXPECT_EQ(count(by_kind), 1u);
  Filter period;
  period.since = "2026-11-02";
  period.until = "2026-11-03";
  EXPECT_EQ(count(period), 1u);
  period.until = "2026-11-03T08:00:00Z";  // exclusive, whatever the spelling
  EXPECT_EQ(count(period), 1u);
  period.until = "2026-11-03T08:00:00.001Z";
  EXPECT_EQ(count(period), 2u);
  Filter bad;
  bad.since = "yesterday";
  EXPECT_EQ(count(bad), 0u);
}

TEST_F(SqliteStoreTest, ListsNewestFirstWithKeysetPagination) {
  std::vector<Record> records;
  for (int day = 1; day <= 9; ++day)
    records.push_back(request("2026-11-0" + std::to_string(day) + "T00:00:00.000Z", "chatgpt",
                              "block", {"secret"}));
  add(records);
  Filter page;
  page.limit = 4;
  auto first = store_->list(page);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 4u);
  EXPECT_EQ(first->front().time, "2026-11-09T00:00:00.000Z");
  page.before_id = first->back().id;
  auto second = store_->list(page);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 4u);
  EXPECT_EQ(second->front().time, "2026-11-05T00:00:00.000Z");

  std::vector<std::int64_t> seen;
  Filter all;
  all.limit = 0;
  ASSERT_TRUE(store_->for_each(all, [&](const Record& record) {
    seen.push_back(record.id);
    return true;
  }));
  ASSERT_EQ(seen.size(), 9u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  seen.clear();
  ASSERT_TRUE(store_->for_each(all, [&](const Record& record) {
    seen.push_back(record.id);
    return seen.size() < 3;
  }));
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(SqliteStoreTest, StatsCountRequestsByActionCategoryPlatformAndDay) {
  add({request("2026-11-01T08:00:00.000Z", "chatgpt", "block", {"health_identifier", "secret"}),
       request("2026-11-01T09:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-11-02T08:00:00.000Z", "claude", "allow", {}),
       make_admin_record("rules_reloaded")});
  auto stats = store_->stats({});
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->total, 3u);
  ASSERT_EQ(stats->by_action.size(), 2u);
  EXPECT_EQ(stats->by_action[0].key, "block");
  EXPECT_EQ(stats->by_action[0].count, 2u);
  ASSERT_EQ(stats->by_category.size(), 2u);
  EXPECT_EQ(stats->by_category[0].key, "secret");
  EXPECT_EQ(stats->by_category[0].count, 2u);
  ASSERT_EQ(stats->by_platform.size(), 2u);
  EXPECT_EQ(stats->by_platform[0].key, "chatgpt");
  ASSERT_EQ(stats->by_day.size(), 2u);
  EXPECT_EQ(stats->by_day[0].key, "2026-11-01");
  EXPECT_EQ(stats->by_day[0].count, 2u);
  EXPECT_EQ(stats->by_day[1].key, "2026-11-02");

  Filter chatgpt;
  chatgpt.platform = "chatgpt";
  auto filtered = store_->stats(chatgpt);
  ASSERT_TRUE(filtered);
  EXPECT_EQ(filtered->total, 2u);
}

TEST_F(SqliteStoreTest, ReopenKeepsRecordsAndContinuesTheChain) {
  add({request("2026-11-01T08:00:00.000Z", "chatgpt", "block", {"secret"})});
  store_.reset();
  auto reopened = open_sqlite_store(file_.string());
  ASSERT_TRUE(reopened);
  auto last = (*reopened)->last_of_chain("host-a");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->sequence, 1u);
  EXPECT_EQ((*reopened)->last_of_chain("host-b").error(), Errc::NotFound);
  Chain continued("host-a", &*last);
  std::vector<Record> next = {request("2026-11-02T08:00:00.000Z", "claude", "allow", {})};
  continued.stamp(next[0]);
  EXPECT_EQ(next[0].sequence, 2u);
  EXPECT_EQ(next[0].previous_hash, last->hash);
  ASSERT_TRUE((*reopened)->append(next));
  auto report = verify_chain(**reopened);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok) << report->first_broken_reason;
  EXPECT_EQ(report->records_checked, 2u);
}

TEST_F(SqliteStoreTest, DatabaseIsWalAndNotWorldReadable) {
  struct stat info {};
  ASSERT_EQ(::stat(file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07, 0u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)), "wal");
  sqlite3_finalize(statement);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &statement, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_GE(sqlite3_column_int(statement, 0), 1);
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerSchema) {
  store_.reset();
  tamper(file_, "UPDATE schema_version SET version = 999");
  auto reopened = open_sqlite_store(file_.string());
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error(), Errc::DatabaseError);
}

TEST_F(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  const auto junk = dir_.write("junk.db", std::string(4096, 'x'));
  auto opened = open_sqlite_store(junk.string());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error(), Errc::DatabaseError);
}

TEST_F(SqliteStoreTest, ConcurrentAppendsFromSeveralThreadsAllLand) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<Record> one = {request("2026-11-01T08:00:00.000Z", "chatgpt", "log", {})};
        chain_.stamp(one[0]);
        // Stamping and appending are two steps here, so the chain order may differ from the id
        // order; only the count is checked.
        EXPECT_TRUE(store_->append(one));
      }
    });
  for (auto& thread : threads) thread.join();
  auto stats = store_->stats({});
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->total, static_cast<std::uint64_t>(kThreads * kPerThread));
}

TEST_F(SqliteStoreTest, VerifyNamesTheFirstAlteredRecord) {
  add({request("2026-11-01T08:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-11-02T08:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-11-03T08:00:00.000Z", "chatgpt", "block", {"secret"})});
  auto clean = verify_chain(*store_);
  ASSERT_TRUE(clean);
  EXPECT_TRUE(clean->ok);
  EXPECT_EQ(clean->chains, 1u);

  auto second = store_->list({});
  ASSERT_TRUE(second);
  const std::int64_t target = (*second)[1].id;  // newest first: the middle record
  tamper(file_, "UPDATE records SET body = replace(body, 'block', 'allow') WHERE id = " +
                    std::to_string(target));
  auto report = verify_chain(*store_);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_broken_id, target);
  EXPECT_NE(report->first_broken_reason.find("hash"), std::string::npos);
}

TEST_F(SqliteStoreTest, VerifyDetectsADeletedRecordAndAnEditedColumn) {
  add({request("2026-11-01T08:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-11-02T08:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-11-03T08:00:00.000Z", "chatgpt", "block", {"secret"})});
  auto all = store_->list({});
  ASSERT_TRUE(all);
  tamper(file_, "UPDATE records SET action = 'allow' WHERE id = " + std::to_string((*all)[2].id));
  auto edited = verify_chain(*store_);
  ASSERT_TRUE(edited);
  EXPECT_FALSE(edited->ok);
  EXPECT_EQ(edited->first_broken_id, (*all)[2].id);

  tamper(file_, "UPDATE records SET action = 'block'; DELETE FROM records WHERE id = " +
                    std::to_string((*all)[1].id));
  auto deleted = verify_chain(*store_);
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(deleted->ok);
  EXPECT_EQ(deleted->first_broken_id, (*all)[0].id);  // the record after the hole
  EXPECT_NE(deleted->first_broken_reason.find("gap"), std::string::npos);

  // Deleting the oldest records without a purge record is tampering too.
  tamper(file_, "DELETE FROM records WHERE id = " + std::to_string((*all)[2].id));
  auto head_cut = verify_chain(*store_);
  ASSERT_TRUE(head_cut);
  EXPECT_FALSE(head_cut->ok);
}

TEST_F(SqliteStoreTest, PurgeIsAuditedAndVerifyAcceptsTheShortenedChain) {
  add({request("2026-01-01T08:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-01-02T08:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-11-03T08:00:00.000Z", "claude", "warn", {"health_identifier"})});
  Chain other("host-b", nullptr);
  std::vector<Record> b = {request("2026-01-05T08:00:00.000Z", "chatgpt", "log", {})};
  other.stamp(b[0]);
  ASSERT_TRUE(store_->append(b));

  Record purge;
  auto count = purge_records_before(*store_, "2026-06-01", purge);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 3u);
  EXPECT_EQ(purge.kind, RecordKind::Admin);
  EXPECT_EQ(purge.body["event"], "retention_purge");
  EXPECT_EQ(purge.body["count"], 3);
  ASSERT_EQ(purge.body["chains"].size(), 2u);
  EXPECT_EQ(purge.body["chains"][0]["instance"], "host-a");
  EXPECT_EQ(purge.body["chains"][0]["last_sequence"], 2);
  // The category join rows went with their records.
  Filter secret;
  secret.category = "secret";
  EXPECT_TRUE(store_->list(secret)->empty());

  // Before the purge record is stored, the cut looks like tampering.
  auto unexplained = verify_chain(*store_);
  ASSERT_TRUE(unexplained);
  EXPECT_FALSE(unexplained->ok);

  add({purge});
  auto report = verify_chain(*store_);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok) << report->first_broken_reason << " at " << report->first_broken_id;
  EXPECT_EQ(report->records_checked, 2u);

  // host-b lost its only record; its next record still verifies.
  std::vector<Record> after = {request("2026-11-05T08:00:00.000Z", "chatgpt", "log", {})};
  other.stamp(after[0]);
  ASSERT_TRUE(store_->append(after));
  auto continued = verify_chain(*store_);
  ASSERT_TRUE(continued);
  EXPECT_TRUE(continued->ok) << continued->first_broken_reason;
  EXPECT_EQ(continued->chains, 2u);
}

TEST_F(SqliteStoreTest, PurgeExpiredUsesTheRetentionPeriod) {
  const auto now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22};
  add({request("2026-01-01T08:00:00.000Z", "chatgpt", "block", {"secret"}),
       request("2026-11-20T08:00:00.000Z", "chatgpt", "block", {"secret"})});
  Record purge;
  auto count = purge_expired(*store_, std::chrono::hours(24 * 30), purge, now);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 1u);
  EXPECT_EQ(purge.body["before"], "2026-10-23T00:00:00.000Z");
  EXPECT_EQ(purge.body["retention_hours"], 24 * 30);
}

TEST(OpenStore, UsesSqliteInTheDataDirectoryAndExplainsAPostgresDsn) {
  TempDir dir;
  config::Settings settings;
  settings.data_dir = dir.path();
  auto store = open_store(settings);
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->describe(), "sqlite:" + (dir.path() / "audit.db").string());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "audit.db"));

  settings.audit.postgres_dsn = "postgresql://localhost/audit";
  Diagnostics diagnostics;
  auto postgres = open_store(settings, &diagnostics);
  ASSERT_FALSE(postgres);
  EXPECT_EQ(postgres.error(), Errc::ConfigInvalid);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_NE(diagnostics[0].message.find("postgres_dsn"), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::audit

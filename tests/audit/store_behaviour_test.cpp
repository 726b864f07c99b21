// One behavioural suite for every audit store (SQLite, PostgreSQL): both must pass the same tests.
#include "audit/store_factory.hpp"

#include <algorithm>
#include <set>
#include <thread>

namespace gatekeeper::audit {
namespace {

using test::sample_record;

Filter everything() {
  Filter filter;
  filter.limit = 0;
  return filter;
}

Filter on_platform(std::string platform) {
  Filter filter;
  filter.platform = std::move(platform);
  return filter;
}

template <class Factory>
class StoreBehaviour : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto why_not = factory_.unavailable(); !why_not.empty()) GTEST_SKIP() << why_not;
    auto opened = factory_.open();
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = *opened;
  }

  // Stamps records into `instance`'s chain and appends them in one transaction.
  std::vector<Record> append(std::vector<Record> records, const std::string& instance = "gk-a") {
    auto& chain = chains_.try_emplace(instance, instance, nullptr).first->second;
    for (auto& record : records) chain.stamp(record);
    auto appended = store_->append(records);
    EXPECT_TRUE(appended) << appended.error().message();
    return records;
  }

  Factory factory_;
  StorePtr store_;
  std::map<std::string, Chain> chains_;
};

using Factories = ::testing::Types<test::SqliteStoreFactory, test::PostgresStoreFactory>;
TYPED_TEST_SUITE(StoreBehaviour, Factories);

TYPED_TEST(StoreBehaviour, AppendAssignsIncreasingIdsAndKeepsEveryField) {
  auto written = this->append({sample_record(1), sample_record(2), sample_record(3)});
  EXPECT_GT(written[0].id, 0);
  EXPECT_LT(written[0].id, written[1].id);
  EXPECT_LT(written[1].id, written[2].id);

  auto read = this->store_->get(written[2].id);
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->instance, "gk-a");
  EXPECT_EQ(read->sequence, 3u);
  EXPECT_EQ(read->time, written[2].time);
  EXPECT_EQ(read->kind, RecordKind::Request);
  EXPECT_EQ(read->reference, written[2].reference);
  EXPECT_EQ(read->body, written[2].body);
  EXPECT_EQ(read->previous_hash, written[1].hash);
  EXPECT_EQ(read->hash, written[2].hash);
  EXPECT_EQ(read->hash, read->compute_hash()) << "the stored body must hash the same";
  EXPECT_EQ(read->platform, written[2].platform);
  EXPECT_EQ(read->action, "block");
  EXPECT_EQ(read->user, written[2].user);
  EXPECT_EQ(read->categories, written[2].categories);
}

TYPED_TEST(StoreBehaviour, AnAlreadyPresentInstanceAndSequenceIsIgnored) {
  auto written = this->append({sample_record(1), sample_record(2)});
  auto again = written;  // replayed from the spool after a crash before the trim
  ASSERT_TRUE(this->store_->append(again));
  EXPECT_EQ(again[1].id, written[1].id);
  Filter all;
  all.limit = 0;
  auto listed = this->store_->list(all);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u);
}

TYPED_TEST(StoreBehaviour, GetAndFindReferenceSayNotFound) {
  auto written = this->append({sample_record(7)});
  auto missing = this->store_->get(written[0].id + 1000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), Errc::NotFound);
  auto found = this->store_->find_reference(written[0].reference);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, written[0].id);
  auto unknown = this->store_->find_reference("GK-19700101-000000");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), Errc::NotFound);
}

TYPED_TEST(StoreBehaviour, ListFiltersOrdersAndPages) {
  std::vector<Record> records;
  for (int n = 1; n <= 12; ++n)
    records.push_back(sample_record(n, "2026-11-" + std::to_string(10 + n) + "T08:30:00.250Z"));
  Record triage;
  triage.time = "2026-11-25T09:00:00.000Z";
  triage.kind = RecordKind::Triage;
  triage.about = records[2].reference;
  triage.body = {{"verdict", "false_positive"}};
  records.push_back(triage);
  auto written = this->append(records);

  Filter filter;
  filter.platform = "chatgpt";
  auto chatgpt = this->store_->list(filter);
  ASSERT_TRUE(chatgpt);
  EXPECT_EQ(chatgpt->size(), 6u);
  EXPECT_TRUE(std::is_sorted(chatgpt->begin(), chatgpt->end(),
                             [](const Record& a, const Record& b) { return a.id > b.id; }));

  filter = {};
  filter.category = "secret";
  filter.action = "block";
  auto blocked = this->store_->list(filter);
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->size(), 4u);  // n = 3, 6, 9, 12

  filter = {};
  filter.user = "u:1";
  filter.newest_first = false;
  auto by_user = this->store_->list(filter);
  ASSERT_TRUE(by_user);
  ASSERT_EQ(by_user->size(), 3u);  // n = 1, 5, 9
  EXPECT_EQ(by_user->front().reference, written[0].reference);

  filter = {};
  filter.since = "2026-11-13";  // a date means its midnight UTC: n = 3 included
  filter.until = "2026-11-15";  // exclusive: n = 5 excluded
  auto period = this->store_->list(filter);
  ASSERT_TRUE(period);
  EXPECT_EQ(period->size(), 2u);

  filter = {};
  filter.reference = records[2].reference;  // the request and the triage about it
  auto about = this->store_->list(filter);
  ASSERT_TRUE(about);
  EXPECT_EQ(about->size(), 2u);
  filter.kind = RecordKind::Triage;
  auto triages = this->store_->list(filter);
  ASSERT_TRUE(triages);
  ASSERT_EQ(triages->size(), 1u);
  EXPECT_EQ(triages->front().about, records[2].reference);

  filter = {};
  filter.limit = 5;
  auto first_page = this->store_->list(filter);
  ASSERT_TRUE(first_page);
  ASSERT_EQ(first_page->size(), 5u);
  filter.before_id = first_page->back().id;
  auto second_page = this->store_->list(filter);
  ASSERT_TRUE(second_page);
  ASSERT_EQ(second_page->size(), 5u);
  EXPECT_LT(second_page->front().id, first_page->back().id);

  filter = {};
  filter.instance = "someone-else";
  auto nobody = this->store_->list(filter);
  ASSERT_TRUE(nobody);
  EXPECT_TRUE(nobody->empty());
}

TYPED_TEST(StoreBehaviour, ForEachStreamsAscendingAcrossPagesAndStopsEarly) {
  std::vector<Record> records;
  for (int n = 0; n < 1203; ++n) records.push_back(sample_record(n));
  this->append(records);
  std::int64_t previous = 0;
  std::size_t seen = 0;
  ASSERT_TRUE(this->store_->for_each(everything(), [&](const Record& record) {
    EXPECT_GT(record.id, previous);
    previous = record.id;
    ++seen;
    return true;
  }));
  EXPECT_EQ(seen, records.size());
  seen = 0;
  ASSERT_TRUE(this->store_->for_each(everything(), [&](const Record&) {
    return ++seen < 10;
  }));
  EXPECT_EQ(seen, 10u);
}

TYPED_TEST(StoreBehaviour, StatsCountRequestsByActionCategoryPlatformAndDay) {
  std::vector<Record> records;
  for (int n = 1; n <= 6; ++n)
    records.push_back(sample_record(n, n <= 2 ? "2026-11-20T23:59:59.999Z"
                                              : "2026-11-21T00:00:00.000Z"));
  Record admin;
  admin.time = "2026-11-21T01:00:00.000Z";
  admin.kind = RecordKind::Admin;
  admin.body = {{"event", "start"}};
  records.push_back(admin);
  this->append(records);

  auto stats = this->store_->stats(Filter{});
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->total, 6u);
  auto count_of = [](const std::vector<CountRow>& rows, const std::string& key) {
    for (const auto& row : rows)
      if (row.key == key) return row.count;
    return std::uint64_t{0};
  };
  EXPECT_EQ(count_of(stats->by_action, "block"), 2u);
  EXPECT_EQ(count_of(stats->by_action, "log"), 4u);
  EXPECT_EQ(count_of(stats->by_category, "health_identifier"), 2u);
  EXPECT_EQ(count_of(stats->by_platform, "chatgpt"), 3u);
  ASSERT_EQ(stats->by_day.size(), 2u);
  EXPECT_EQ(stats->by_day[0].key, "2026-11-20");
  EXPECT_EQ(stats->by_day[0].count, 2u);
  EXPECT_EQ(stats->by_day[1].key, "2026-11-21");

  auto filtered = this->store_->stats(on_platform("claude"));
  ASSERT_TRUE(filtered);
  EXPECT_EQ(filtered->total, 3u);
}

TYPED_TEST(StoreBehaviour, EachInstanceKeepsItsOwnChain) {
  this->append({sample_record(1), sample_record(2)}, "gk-a");
  this->append({sample_record(3)}, "gk-b");
  this->append({sample_record(4)}, "gk-a");
  auto last_a = this->store_->last_of_chain("gk-a");
  ASSERT_TRUE(last_a);
  EXPECT_EQ(last_a->sequence, 3u);
  auto last_b = this->store_->last_of_chain("gk-b");
  ASSERT_TRUE(last_b);
  EXPECT_EQ(last_b->sequence, 1u);
  EXPECT_EQ(last_b->previous_hash, std::string(64, '0'));
  auto none = this->store_->last_of_chain("gk-c");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), Errc::NotFound);
}

TYPED_TEST(StoreBehaviour, PurgeDeletesOnlyOlderRecords) {
  this->append({sample_record(1, "2026-01-01T00:00:00.000Z"),
                sample_record(2, "2026-06-01T00:00:00.000Z"),
                sample_record(3, "2026-11-01T00:00:00.000Z")});
  auto purged = this->store_->purge_before("2026-06-01T00:00:00.000Z");
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  Filter all;
  all.limit = 0;
  auto left = this->store_->list(all);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->size(), 2u);
}

TYPED_TEST(StoreBehaviour, ValuesAreNeverSpliced) {
  // A hostile filter value is data, not SQL.
  this->append({sample_record(1)});
  Filter filter;
  filter.platform = "x' OR '1'='1";
  auto listed = this->store_->list(filter);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  filter = {};
  filter.category = "a\"}'); DROP TABLE audit_records; --";
  ASSERT_TRUE(this->store_->list(filter));
  auto all = this->store_->list(Filter{});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TYPED_TEST(StoreBehaviour, SeveralInstancesOpenOneTrailConcurrently) {
  // Instances starting together migrate under a lock and then write their own chains.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto store = this->factory_.open();
      if (!store) {
        ++failures;
        return;
      }
      Chain chain("gk-" + std::to_string(i), nullptr);
      for (int batch = 0; batch < 5; ++batch) {
        std::vector<Record> records{sample_record(batch), sample_record(batch + 1)};
        for (auto& record : records) chain.stamp(record);
        if (!(*store)->append(records)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  for (int i = 0; i < 4; ++i) {
    auto last = this->store_->last_of_chain("gk-" + std::to_string(i));
    ASSERT_TRUE(last);
    EXPECT_EQ(last->sequence, 10u);
  }
  const std::string described = this->store_->describe();
  EXPECT_TRUE(described.starts_with("postgresql://") || described.starts_with("sqlite:"))
      << described;
}

}  // namespace
}  // namespace gatekeeper::audit

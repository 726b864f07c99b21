#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <thread>

#include "admin/command_fixture.hpp"
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"

namespace gatekeeper::audit {
namespace {

using admin::testing::TempDir;

std::size_t alnum_count(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
}

TEST(RecordKind, RoundTripsThroughItsName) {
  for (auto kind : {RecordKind::Request, RecordKind::Admin, RecordKind::Triage, RecordKind::Report})
    EXPECT_EQ(record_kind_from_string(to_string(kind)), kind);
  EXPECT_FALSE(record_kind_from_string("Request"));
  EXPECT_FALSE(record_kind_from_string(""));
}

TEST(Record, CanonicalPayloadIsSortedCompactJsonOfTheHashedFields) {
  Record record;
  record.time = "2026-11-22T18:52:01.123Z";
  record.instance = "a";
  record.sequence = 7;
  record.reference = "GK-1";
  record.body = {{"z", 1}, {"a", {{"y", true}, {"b", nullptr}}}};
  EXPECT_EQ(record.canonical_payload(),
            R"({"about":"","body":{"a":{"b":null,"y":true},"z":1},"instance":"a",)"
            R"("kind":"request","reference":"GK-1","sequence":7,"time":"2026-11-22T18:52:01.123Z"})");
}

TEST(Record, HashCoversThePreviousHashAndEveryPayloadField) {
  Record record;
  record.time = "2026-11-22T18:52:01.123Z";
  record.previous_hash = genesis_hash();
  record.body = {{"action", "block"}};
  const std::string hash = record.compute_hash();
  EXPECT_TRUE(std::regex_match(hash, std::regex("[0-9a-f]{64}")));
  EXPECT_EQ(hash, record.compute_hash());
  Record changed = record;
  changed.body["action"] = "allow";
  EXPECT_NE(changed.compute_hash(), hash);
  changed = record;
  changed.previous_hash[0] = '1';
  EXPECT_NE(changed.compute_hash(), hash);
  changed = record;
  changed.kind = RecordKind::Admin;
  EXPECT_NE(changed.compute_hash(), hash);
  changed = record;
  changed.sequence = 2;
  EXPECT_NE(changed.compute_hash(), hash);
}

TEST(Record, ProjectionsComeFromTheBody) {
  Record record = make_request_record({{"time", "2026-11-22T10:00:00.000Z"},
                                       {"reference", "GK-20261122-ABCDEF"},
                                       {"platform", "chatgpt"},
                                       {"action", "block"},
                                       {"user", "u:12"},
                                       {"categories", {"secret", "health_identifier", "secret"}}});
  EXPECT_EQ(record.kind, RecordKind::Request);
  EXPECT_EQ(record.time, "2026-11-22T10:00:00.000Z");
  EXPECT_EQ(record.reference, "GK-20261122-ABCDEF");
  EXPECT_EQ(record.platform, "chatgpt");
  EXPECT_EQ(record.action, "block");
  EXPECT_EQ(record.user, "u:12");
  EXPECT_EQ(record.categories, (std::vector<std::string>{"health_identifier", "secret"}));
  Record unknown = make_request_record({{"platform", nullptr}});
  EXPECT_EQ(unknown.platform, "");
  EXPECT_TRUE(canonical_time(unknown.time));
}

TEST(CanonicalTime, AcceptsDatesAndTimesAndRefusesTheRest) {
  EXPECT_EQ(canonical_time("2026-11-01"), "2026-11-01T00:00:00.000Z");
  EXPECT_EQ(canonical_time("2026-11-01T09:05"), "2026-11-01T09:05:00.000Z");
  EXPECT_EQ(canonical_time("2026-11-01T09:05:07Z"), "2026-11-01T09:05:07.000Z");
  EXPECT_EQ(canonical_time("2026-11-01 09:05:07.250"), "2026-11-01T09:05:07.250Z");
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2026-11-01T25:00",
                          "2026-11-01T09:05:07+02:00", "yesterday", "2026-11-01x"})
    EXPECT_FALSE(canonical_time(bad)) << bad;
  EXPECT_TRUE(canonical_time(now_time()));
}

TEST(MaskValue, KeepsSeparatorsAndAtMostAThirdOfTheCharacters) {
  EXPECT_EQ(mask_value("1 85 05 78 006 084 36"), "1 85 ** ** *** *** 36");
  EXPECT_EQ(mask_value("185057800608436"), "185**********36");
  EXPECT_EQ(mask_value("jean.dupont@chu.fr"), "jea*.******@***.fr");
  EXPECT_EQ(mask_value("12345"), "*****");
  EXPECT_EQ(mask_value("AB-12"), "**-**");
  EXPECT_EQ(mask_value("123456"), "1****6");
  EXPECT_EQ(mask_value("Hélène Dupont"), "H***** ****nt");
  const std::string key = "sk-proj-" + std::string(80, 'Q');
  const std::string masked = mask_value(key);
  EXPECT_LE(alnum_count(masked), 5u);
  EXPECT_LT(masked.size(), key.size());
  for (const std::string value : {"0612345678", "FR7630006000011234567890189", "2A0512345678901"}) {
    const std::string m = mask_value(value);
    EXPECT_LE(alnum_count(m) * 3, alnum_count(value)) << m;
    EXPECT_EQ(m.size(), value.size());
  }
}

TEST(CanonicalValue, SpacingVariantsOfANumberAgree) {
  EXPECT_EQ(canonical_value("1 85 05 78 006 084 36"), "185057800608436");
  EXPECT_EQ(canonical_value("1.85.05-78"), "1850578");
  EXPECT_EQ(canonical_value("2A 05"), "2a05");
  EXPECT_EQ(canonical_value("  Jean   DUPONT "), "jean dupont");
  EXPECT_EQ(canonical_value("jean.dupont@chu.fr"), "jean.dupont@chu.fr");
}

TEST(Pseudonymizer, IsKeyedAndStable) {
  auto a = Pseudonymizer::from_key(std::string(32, 'a'));
  auto b = Pseudonymizer::from_key(std::string(32, 'b'));
  const std::string hmac = a->value_hmac("185057800608436");
  EXPECT_TRUE(std::regex_match(hmac, std::regex("h:[0-9a-f]{32}")));
  EXPECT_EQ(hmac, a->value_hmac("185057800608436"));
  EXPECT_NE(hmac, a->value_hmac("185057800608437"));
  EXPECT_NE(hmac, b->value_hmac("185057800608436"));
  const std::string user = a->user_pseudonym("jdupont");
  EXPECT_TRUE(std::regex_match(user, std::regex("u:[0-9a-f]{16}")));
  EXPECT_NE(user, b->user_pseudonym("jdupont"));
  // Domain separation: a user named like a value does not get the value's digest.
  EXPECT_NE(a->user_pseudonym("x").substr(2), a->value_hmac("x").substr(2, 16));
}

TEST(Pseudonymizer, CreatesAPrivateKeyOnceAndReloadsIt) {
  TempDir dir;
  const auto data = dir.path() / "data";
  auto first = Pseudonymizer::load_or_create(data);
  ASSERT_TRUE(first);
  const auto file = data / Pseudonymizer::kKeyFileName;
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_size, 32);
  auto second = Pseudonymizer::load_or_create(data);
  ASSERT_TRUE(second);
  EXPECT_EQ((*first)->user_pseudonym("x"), (*second)->user_pseudonym("x"));
  // No temporary file left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(data),
                          std::filesystem::directory_iterator()),
            1);

  ::chmod(file.c_str(), 0644);
  ASSERT_TRUE(Pseudonymizer::load_or_create(data));
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  std::ofstream(file, std::ios::trunc) << "short";
  EXPECT_FALSE(Pseudonymizer::load_or_create(data));
}

TEST(Pseudonymizer, ConcurrentFirstStartsAgreeOnOneKey) {
  TempDir dir;
  std::vector<std::string> pseudonyms(6);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < pseudonyms.size(); ++i)
    threads.emplace_back([&, i] {
      auto loaded = Pseudonymizer::load_or_create(dir.path());
      if (loaded) pseudonyms[i] = (*loaded)->user_pseudonym("x");
    });
  for (auto& thread : threads) thread.join();
  for (const auto& pseudonym : pseudonyms) EXPECT_EQ(pseudonym, pseudonyms[0]);
  EXPECT_FALSE(pseudonyms[0].empty());
}

TEST(Chain, LinksRecordsAndContinuesAfterARestart) {
  Chain chain("host-a", nullptr);
  Record first;
  first.time = "2026-11-22T10:00:00.000Z";
  chain.stamp(first);
  EXPECT_EQ(first.instance, "host-a");
  EXPECT_EQ(first.sequence, 1u);
  EXPECT_EQ(first.previous_hash, genesis_hash());
  EXPECT_EQ(first.hash, first.compute_hash());
  Record second;
  chain.stamp(second);
  EXPECT_EQ(second.sequence, 2u);
  EXPECT_EQ(second.previous_hash, first.hash);

  Chain restarted("host-a", &second);
  Record third;
  restarted.stamp(third);
  EXPECT_EQ(third.sequence, 3u);
  EXPECT_EQ(third.previous_hash, second.hash);
}

TEST(AdminRecord, CarriesItsEvent) {
  Record record = make_admin_record("rules_reloaded", {{"fingerprint", "abc"}});
  EXPECT_EQ(record.kind, RecordKind::Admin);
  EXPECT_EQ(record.body["event"], "rules_reloaded");
  EXPECT_EQ(record.body["fingerprint"], "abc");
  EXPECT_TRUE(canonical_time(record.time));
}

}  // namespace
}  // namespace gatekeeper::audit

#include "gatekeeper/audit/decision_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace gatekeeper::audit {
namespace {

std::filesystem::path temp_log(const std::string& name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("gk-decision-log-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir / "sub" / name;
}

std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(DecisionLogTest, AppendsOneParsableLinePerRecordAndCreatesTheDirectory) {
  const auto file = temp_log("decisions.jsonl");
  auto log = DecisionLog::open(file);
  ASSERT_TRUE(log.has_value());
  ASSERT_TRUE((*log)->append({{"reference", "GK-1"}, {"action", "block"}}).has_value());
  ASSERT_TRUE((*log)->append({{"reference", "GK-2"}, {"note", "line\nbreak"}}).has_value());
  const auto lines = read_lines(file);  // readable at once: nothing is buffered in the process
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["reference"], "GK-1");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["note"], "line\nbreak");
  EXPECT_FALSE((*log)->append(nlohmann::json::array()).has_value());  // records are objects
  std::filesystem::remove_all(file.parent_path().parent_path());
}

TEST(DecisionLogTest, ConcurrentWritersNeverInterleave) {
  const auto file = temp_log("concurrent.jsonl");
  auto log = DecisionLog::open(file);
  ASSERT_TRUE(log.has_value());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        ASSERT_TRUE(
            (*log)->append({{"thread", t}, {"i", i}, {"pad", std::string(500, 'x')}}).has_value());
    });
  for (auto& thread : threads) thread.join();
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (const auto& line : lines) EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  std::filesystem::remove_all(file.parent_path().parent_path());
}

TEST(DecisionLogTest, ReopenFollowsRotation) {
  const auto file = temp_log("rotated.jsonl");
  auto log = DecisionLog::open(file);
  ASSERT_TRUE(log.has_value());
  ASSERT_TRUE((*log)->append({{"n", 1}}).has_value());
  std::filesystem::rename(file, file.string() + ".1");
  ASSERT_TRUE((*log)->reopen().has_value());
  ASSERT_TRUE((*log)->append({{"n", 2}}).has_value());
  EXPECT_EQ(read_lines(file).size(), 1u);
  EXPECT_EQ(read_lines(file.string() + ".1").size(), 1u);
  std::filesystem::remove_all(file.parent_path().parent_path());
}

TEST(DecisionLogTest, UnwritableLocationIsAuditUnavailable) {
  auto log = DecisionLog::open("/proc/gatekeeper-cannot-write-here/decisions.jsonl");
  ASSERT_FALSE(log.has_value());
  EXPECT_EQ(log.error(), Errc::AuditUnavailable);
}

}  // namespace
}  // namespace gatekeeper::audit

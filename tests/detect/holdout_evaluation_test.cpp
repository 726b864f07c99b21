#include "gatekeeper/detect/evaluation.hpp"

#include "support/inserm_categories.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

namespace gatekeeper::detect {
namespace {

namespace fs = std::filesystem;

// The shipped rule pack against a corpus written from the policy and the data catalogue by
// someone who had not read the rules: the rules were never tuned on it, so its figures are
// the honest ones quoted in docs/rule-pack.md. Same thresholds as the shipped corpus.
TEST(HoldoutEvaluation, ShippedRulePackMeetsTheThresholdsOnUnseenPrompts) {
  const fs::path source = GATEKEEPER_SOURCE_DIR;
  Diagnostics diagnostics;
  auto rules = RuleSet::load(source / "rules", RuleSetOptions{}, diagnostics);
  for (const auto& d : diagnostics) ADD_FAILURE() << d.to_string();
  ASSERT_TRUE(rules);

  std::string error;
  auto corpus = read_corpus(source / "tests" / "corpus" / "holdout.jsonl", &error);
  ASSERT_TRUE(corpus) << error;

  int benign = 0;
  std::map<std::string, int> per_category;
  std::map<std::string, int> per_lang;
  for (const auto& prompt : *corpus) {
    ++per_lang[prompt.lang];
    if (prompt.expect.empty()) ++benign;
    for (const auto& category : prompt.expect) {
      EXPECT_TRUE(test::is_inserm_category(category))
          << prompt.id << ": unknown category " << category;
      ++per_category[category];
    }
  }
  EXPECT_GE(corpus->size(), 200u);
  EXPECT_GE(benign, 90);
  for (auto category : test::kInsermCategories) {
    const int minimum = category == "health_identifier" ? 25 : 15;
    EXPECT_GE(per_category[std::string(category)], minimum) << category;
  }
  EXPECT_GE(per_lang["fr"] * 10, static_cast<int>(corpus->size()) * 4) << "French under 40 %";
  EXPECT_GE(per_lang["en"] * 10, static_cast<int>(corpus->size()) * 4) << "English under 40 %";

  auto report = evaluate(**rules, *corpus);
  ASSERT_TRUE(report);

  std::printf("\nholdout corpus\n%-24s %8s %8s %8s\n", "category", "expected", "detected",
              "recall");
  for (const auto& [category, score] : report->categories) {
    std::printf("%-24s %8d %8d %8.3f\n", category.c_str(), score.expected, score.detected,
                score.recall());
  }
  std::printf("benign prompts %d, flagged %d, false-positive rate %.4f\n", report->benign,
              report->benign_flagged, report->false_positive_rate());
  std::printf("corpus size %zu, sensitive prompts also flagged with another category: %d\n",
              corpus->size(), report->unexpected_category);
  for (const auto& miss : report->misses) std::printf("miss: %s\n", miss.c_str());
  for (const auto& fp : report->false_positives) std::printf("false positive: %s\n", fp.c_str());
  std::fflush(stdout);

  for (auto category : test::kInsermCategories) {
    auto it = report->categories.find(std::string(category));
    ASSERT_NE(it, report->categories.end()) << category;
    const double required = category == "health_identifier" ? 0.99 : 0.9;
    EXPECT_GE(it->second.recall(), required) << category;
  }
  EXPECT_LE(report->false_positive_rate(), 0.02);
}

}  // namespace
}  // namespace gatekeeper::detect

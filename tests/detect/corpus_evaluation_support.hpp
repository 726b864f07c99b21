#pragma once

// The shipped rule pack against a labelled corpus of the repository: checks the corpus's shape
// (size, benign share, languages, prompts per category), prints the figures quoted in
// docs/rule-pack.md, and enforces the recall and false-positive thresholds.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "gatekeeper/detect/evaluation.hpp"
#include "support/inserm_categories.hpp"

namespace gatekeeper::detect::testing {

struct CorpusShape {
  std::size_t min_prompts = 0;
  int min_benign = 0;
  std::function<int(std::string_view category)> min_per_category;
};

inline void check_shipped_pack_on_corpus(const std::string& corpus_name, const CorpusShape& shape) {
  const std::filesystem::path source = GATEKEEPER_SOURCE_DIR;
  Diagnostics diagnostics;
  auto rules = RuleSet::load(source / "rules", RuleSetOptions{}, diagnostics);
  for (const auto& d : diagnostics) ADD_FAILURE() << d.to_string();
  ASSERT_TRUE(rules);

  std::string error;
  auto corpus = read_corpus(source / "tests" / "corpus" / corpus_name, &error);
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
  EXPECT_GE(corpus->size(), shape.min_prompts);
  EXPECT_GE(benign, shape.min_benign);
  for (auto category : test::kInsermCategories)
    EXPECT_GE(per_category[std::string(category)], shape.min_per_category(category)) << category;
  EXPECT_GE(per_lang["fr"] * 10, static_cast<int>(corpus->size()) * 4) << "French under 40 %";
  EXPECT_GE(per_lang["en"] * 10, static_cast<int>(corpus->size()) * 4) << "English under 40 %";

  auto report = evaluate(**rules, *corpus);
  ASSERT_TRUE(report);

  std::printf("\n%s\n%-24s %8s %8s %8s\n", corpus_name.c_str(), "category", "expected", "detected",
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

}  // namespace gatekeeper::detect::testing

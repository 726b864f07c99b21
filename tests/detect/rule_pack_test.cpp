// The default Inserm rule pack shipped in rules/: it must load cleanly, carry its own examples and
// cover every category of the policy.
#include "gatekeeper/detect/rule_set.hpp"

#include "support/inserm_categories.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

namespace gatekeeper::detect {
namespace {

std::filesystem::path rules_dir() { return std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "rules"; }

std::vector<RuleSpec> parse_pack() {
  Diagnostics diagnostics;
  auto specs = parse_rule_files(rules_dir(), diagnostics);
  for (const auto& d : diagnostics) ADD_FAILURE() << d.to_string();
  return specs;
}

TEST(RulePack, LoadsWithNoErrorAndNoWarning) {
  Diagnostics diagnostics;
  auto rules = RuleSet::load(rules_dir(), RuleSetOptions{}, diagnostics);
  ASSERT_TRUE(rules) << "the shipped rule pack does not compile";
  for (const auto& d : diagnostics) ADD_FAILURE() << d.to_string();
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_GT((*rules)->rules().size(), 20u);
  EXPECT_FALSE((*rules)->fingerprint().empty());
}

TEST(RulePack, EveryRuleHasMatchAndNoMatchExamples) {
  auto specs = parse_pack();
  ASSERT_FALSE(specs.empty());
  for (const auto& rule : specs) {
    const auto matches = std::count_if(rule.examples.begin(), rule.examples.end(),
                                       [](const RuleExample& e) { return e.should_match; });
    const auto misses = static_cast<std::ptrdiff_t>(rule.examples.size()) - matches;
    EXPECT_GE(matches, 1) << rule.id << ": no `match` example";
    EXPECT_GE(misses, 1) << rule.id << ": no `no_match` example";
  }
}

TEST(RulePack, ReportingRulesHaveSeveralExamplesInBothDirections) {
  for (const auto& rule : parse_pack()) {
    if (rule.signal) continue;
    const auto matches = std::count_if(rule.examples.begin(), rule.examples.end(),
                                       [](const RuleExample& e) { return e.should_match; });
    EXPECT_GE(matches, 2) << rule.id;
    EXPECT_GE(static_cast<std::ptrdiff_t>(rule.examples.size()) - matches, 1) << rule.id;
  }
}

TEST(RulePack, EveryExampleBehavesAsWritten) {
  Diagnostics diagnostics;
  RuleSetOptions options;
  options.run_examples = false;  // run them here, to list every failure rather than stop at load
  auto rules = RuleSet::load(rules_dir(), options, diagnostics);
  ASSERT_TRUE(rules);
  const auto failures = run_examples(**rules);
  for (const auto& failure : failures) {
    ADD_FAILURE() << failure.example.where.file << ":" << failure.example.where.line << ": ["
                  << failure.rule_id << "] " << failure.reason;
  }
  EXPECT_TRUE(failures.empty());
}

TEST(RulePack, EveryRuleIsDocumentedForBothLanguages) {
  std::set<std::string> ids;
  for (const auto& rule : parse_pack()) {
    EXPECT_TRUE(ids.insert(rule.id).second) << "duplicate id " << rule.id;
    EXPECT_GE(rule.description.size(), 40u) << rule.id << ": description too short to explain why";
    EXPECT_NE(std::find(rule.languages.begin(), rule.languages.end(), "fr"), rule.languages.end())
        << rule.id;
    EXPECT_NE(std::find(rule.languages.begin(), rule.languages.end(), "en"), rule.languages.end())
        << rule.id;
    EXPECT_TRUE(rule.combine.has_value() || !rule.patterns.empty()) << rule.id;
  }
}

TEST(RulePack, EveryPolicyCategoryHasAReportingRule) {
  auto specs = parse_pack();
  for (auto category : test::kInsermCategories) {
    const bool covered = std::any_of(specs.begin(), specs.end(), [&](const RuleSpec& rule) {
      return rule.category == category && !rule.signal;
    });
    EXPECT_TRUE(covered) << "no reporting (non-signal) rule for category " << category;
  }
}

TEST(RulePack, UsesOnlyThePolicyCategories) {
  for (const auto& rule : parse_pack()) {
    EXPECT_TRUE(test::is_inserm_category(rule.category))
        << rule.id << ": category \"" << rule.category << "\" is not one the policy knows";
  }
}

// Rules that are not case-sensitive run on the folded (lower-case, accent-free) view: an upper-case
// letter in their pattern can never match and is a silent bug.
bool has_upper_case_literal(std::string_view regex) {
  for (std::size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\') {
      ++i;  // the escaped character (\b, \s, \d, \S, \D...) is syntax, not a literal
      if (i < regex.size() && (regex[i] == 'p' || regex[i] == 'P') && i + 1 < regex.size() &&
          regex[i + 1] == '{') {
        i = regex.find('}', i);
        if (i == std::string_view::npos) return false;
      }
      continue;
    }
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

TEST(RulePack, CaseInsensitiveRulesAreWrittenInLowerCase) {
  EXPECT_TRUE(has_upper_case_literal("\\bNIR\\b"));
  EXPECT_FALSE(has_upper_case_literal("\\bnir\\s\\S\\D\\p{Lu}"));
  for (const auto& rule : parse_pack()) {
    if (rule.case_sensitive) continue;
    for (const auto& pattern : rule.patterns) {
      EXPECT_FALSE(has_upper_case_literal(pattern.regex)) << rule.id << " / " << pattern.name;
    }
    for (const auto* context : {&rule.context, &rule.negative_context}) {
      if (!context->has_value()) continue;
      for (const auto& word : (*context)->words) {
        EXPECT_FALSE(has_upper_case_literal(word)) << rule.id << ": context word " << word;
      }
    }
  }
}

TEST(RulePack, CombinationsReferToRulesOfThePack) {
  auto specs = parse_pack();
  std::set<std::string> ids;
  for (const auto& rule : specs) ids.insert(rule.id);
  for (const auto& rule : specs) {
    if (!rule.combine) continue;
    EXPECT_EQ(ids.count(rule.combine->anchor), 1u) << rule.id << " anchor " << rule.combine->anchor;
    for (const auto& other : rule.combine->with) {
      EXPECT_EQ(ids.count(other), 1u) << rule.id << " " << other;
    }
  }
}

}  // namespace
}  // namespace gatekeeper::detect

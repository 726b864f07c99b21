#include "corpus_evaluation_support.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace gatekeeper::detect {
namespace {

// The shipped rule pack against a corpus written from the policy and the data catalogue by
// someone who had not read the rules: the rules were never tuned on it, so its figures are
// the honest ones quoted in docs/rule-pack.md. Same thresholds as the shipped corpus.
TEST(HoldoutEvaluation, ShippedRulePackMeetsTheThresholdsOnUnseenPrompts) {
  testing::check_shipped_pack_on_corpus(
      "holdout.jsonl", {200, 90, [](std::string_view category) {
                          return category == "health_identifier" ? 25 : 15;
                        }});
}

}  // namespace
}  // namespace gatekeeper::detect

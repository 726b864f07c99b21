#pragma once

#include "gatekeeper/core/error.hpp"
#include "gatekeeper/detect/rule_set.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace gatekeeper::detect {

// A labelled prompt: `expect` lists the categories it must be flagged with; empty = benign.
struct LabelledPrompt {
  std::string id;
  std::string lang;      // "fr" | "en"
  std::string text;
  std::vector<std::string> expect;
  std::string note;      // e.g. "trap: statistics vocabulary"
};

// Reads a JSON Lines corpus: {"id","lang","text","expect":[...],"note"} per line.
Result<std::vector<LabelledPrompt>> read_corpus(const std::filesystem::path& file, std::string* error);

struct CategoryScore {
  int expected = 0;   // prompts labelled with the category
  int detected = 0;   // of those, flagged with it
  double recall() const { return expected == 0 ? 1.0 : static_cast<double>(detected) / expected; }
};

struct EvaluationReport {
  std::map<std::string, CategoryScore> categories;
  int benign = 0;
  int benign_flagged = 0;   // benign prompts with any finding
  int unexpected_category = 0;  // sensitive prompts also flagged with a category they are not labelled with
  std::vector<std::string> misses;           // "id: expected X" (ids only: never the text)
  std::vector<std::string> false_positives;  // "id: rule_id" (ids only)
  double false_positive_rate() const { return benign == 0 ? 0.0 : static_cast<double>(benign_flagged) / benign; }
};

Result<EvaluationReport> evaluate(const RuleSet& rules, const std::vector<LabelledPrompt>& corpus);

}  // namespace gatekeeper::detect

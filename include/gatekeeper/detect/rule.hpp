#pragma once

#include "gatekeeper/detect/finding.hpp"
#include "gatekeeper/detect/validators.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gatekeeper::detect {

// Where a value came from in a rule file, for error messages ("rules/x.yaml:12:5").
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class ContextMode { Substring, WholeWord };

// Words that raise (context) or lower (negative_context) a match's score when they appear within
// `before` words before or `after` words after the match. Words are compared case- and
// accent-insensitively; a multi-word entry ("sécurité sociale") matches consecutive words.
struct ContextSpec {
  std::vector<std::string> words;
  int before = 5;
  int after = 0;
  ContextMode mode = ContextMode::Substring;
  double boost = 0.35;    // added to the score (context); subtracted (negative_context)
  double floor = 0.4;     // context only: minimum score once a context word is found
  SourceLocation where;
};

struct PatternSpec {
  std::string name;
  std::string regex;  // RE2 syntax. If it has capture group 1, group 1 is the finding's span.
  double score = 0.5; // base score in [0, 1]
  SourceLocation where;
};

struct ValidatorSpec {
  std::string name;
  ValidatorParams params;
  SourceLocation where;
};

// A combination rule emits a finding at each hit of its `anchor` rule that has, within `window`
// characters on either side, a hit of every rule listed in `with` (or at least `min_with` of them).
struct CombinationSpec {
  std::string anchor;
  std::vector<std::string> with;
  int min_with = 0;    // 0 means all of `with`
  int window = 300;    // characters of normalised text
  SourceLocation where;
};

struct RuleExample {
  std::string text;
  bool should_match = true;
  SourceLocation where;
};

struct RuleSpec {
  std::string id;
  std::string version = "1";
  std::string category;
  std::string description;   // why the rule exists, in French, for administrators and the DPO
  Severity severity = Severity::Medium;
  std::string placeholder;   // redaction label; defaults to the upper-cased category
  std::vector<std::string> languages;
  bool signal = false;          // feeds combination rules only; never reported on its own
  bool case_sensitive = false;  // default: match case- and accent-insensitively (the `folded` view)
  std::vector<PatternSpec> patterns;
  std::vector<std::pair<std::string, std::string>> normalize;  // applied before the validator
  std::optional<ValidatorSpec> validator;
  std::optional<ContextSpec> context;
  std::optional<ContextSpec> negative_context;
  std::optional<CombinationSpec> combine;
  double score = 0.85;       // combination rules only: the score of the emitted finding
  double min_score = 0.5;    // findings below this are dropped
  std::vector<RuleExample> examples;
  SourceLocation where;
};

}  // namespace gatekeeper::detect

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gatekeeper::detect {

enum class Severity { Low, Medium, High, Critical };

std::string_view to_string(Severity severity) noexcept;
// Parses "low" | "medium" | "high" | "critical"; returns false on anything else.
bool parse_severity(std::string_view text, Severity* out) noexcept;

// One detection in one input text. Offsets are byte offsets into the *original* input (before any
// normalisation), so [start, end) can be replaced exactly. The matched value itself is never stored
// here: callers that need it slice the input they already hold, and nothing downstream (audit, logs,
// metrics) may copy it.
struct Finding {
  std::string rule_id;
  std::string rule_version;
  std::string category;
  std::string pattern;       // name of the pattern that matched, or "combination"
  std::string placeholder;   // redaction label, e.g. "NIR" gives "[NIR_1]"
  Severity severity = Severity::Medium;
  std::size_t start = 0;
  std::size_t end = 0;
  double score = 0.0;        // final score in [0, 1], after validator and context
  bool validated = false;    // a named validator confirmed the value (checksum, structure)
  std::string context_word;  // the rule's supportive context word that was found, if any
};

using Findings = std::vector<Finding>;

}  // namespace gatekeeper::detect

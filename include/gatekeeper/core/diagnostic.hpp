#pragma once

#include <string>
#include <vector>

namespace gatekeeper {

// One problem found while loading a file an administrator wrote, located precisely enough to fix it.
// Rendered as "file:line:column: [rule id] message".
struct Diagnostic {
  enum class Severity { Error, Warning };

  Severity severity = Severity::Error;
  std::string file;
  int line = 0;     // 1-based; 0 when unknown
  int column = 0;   // 1-based; 0 when unknown
  std::string rule_id;  // empty when the problem is not inside a rule
  std::string message;

  std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& diagnostics);

}  // namespace gatekeeper

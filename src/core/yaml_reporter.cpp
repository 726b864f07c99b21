#include "gatekeeper/core/yaml_reporter.hpp"

#include <algorithm>

namespace gatekeeper {

void YamlReporter::error(const YAML::Mark& mark, std::string message, std::string id) {
  add(Diagnostic::Severity::Error, mark, std::move(message), std::move(id));
}

void YamlReporter::warning(const YAML::Mark& mark, std::string message, std::string id) {
  add(Diagnostic::Severity::Warning, mark, std::move(message), std::move(id));
}

void YamlReporter::add(Diagnostic::Severity severity, const YAML::Mark& mark, std::string message,
                       std::string id) {
  Diagnostic d;
  d.severity = severity;
  d.file = file_;
  if (!mark.is_null()) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.rule_id = std::move(id);
  d.message = std::move(message);
  if (severity == Diagnostic::Severity::Error) ++errors_;
  diagnostics_.push_back(std::move(d));
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return std::string(best);
}

}  // namespace gatekeeper

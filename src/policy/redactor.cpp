#include "gatekeeper/policy/policy.hpp"

#include <algorithm>
#include <cctype>

namespace gatekeeper::policy {
namespace {

struct Span {
  std::size_t start;
  std::size_t end;
  const detect::Finding* finding;
};

// "[NIR_1]": the rule's placeholder, else the category upper-cased; only [A-Z0-9_] so that a label
// can never smuggle text (or brackets) into the redacted prompt.
std::string label_for(const detect::Finding& finding) {
  const std::string& source = finding.placeholder.empty() ? finding.category : finding.placeholder;
  std::string label;
  label.reserve(source.size());
  for (unsigned char c : source) {
    if (std::isalnum(c) != 0) {
      label += static_cast<char>(std::toupper(c));
    } else if (c == '_' || c == '-' || c == ' ') {
      label += '_';
    }
  }
  return label.empty() ? std::string("REDACTED") : label;
}

}  // namespace

std::string Redactor::redact(std::string_view text, const detect::Findings& findings,
                             const std::vector<Action>& finding_actions) {
  std::vector<Span> spans;
  for (std::size_t i = 0; i < findings.size() && i < finding_actions.size(); ++i) {
    if (finding_actions[i] != Action::Redact) continue;
    const auto& finding = findings[i];
    if (finding.start >= text.size() || finding.end <= finding.start) continue;
    spans.push_back({finding.start, std::min(finding.end, text.size()), &finding});
  }
  std::stable_sort(spans.begin(), spans.end(),
                   [](const Span& a, const Span& b) { return a.start < b.start; });
  // The scanner resolves overlaps; should two still overlap, redact their union rather than leave
  // part of a value in clear.
  std::vector<Span> merged;
  for (const Span& span : spans) {
    if (!merged.empty() && span.start < merged.back().end) {
      merged.back().end = std::max(merged.back().end, span.end);
    } else {
      merged.push_back(span);
    }
  }

  std::string out;
  out.reserve(text.size());
  std::size_t cursor = 0;
  for (const Span& span : merged) {
    out.append(text.substr(cursor, span.start - cursor));
    const std::string label = label_for(*span.finding);
    std::string key = label;
    key += '\0';
    key.append(text.substr(span.start, span.end - span.start));
    auto [it, inserted] = assigned.try_emplace(std::move(key));
    if (inserted) it->second = "[" + label + "_" + std::to_string(++next_number[label]) + "]";
    out += it->second;
    cursor = span.end;
  }
  out.append(text.substr(cursor));
  return out;
}

}  // namespace gatekeeper::policy

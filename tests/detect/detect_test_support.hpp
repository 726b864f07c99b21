#pragma once

// Helpers shared by the detection tests: compile small inline YAML rule sets.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/scanner.hpp"

namespace gatekeeper::detect::testing {

inline std::string all_messages(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

// Compiles `yaml` (which must parse cleanly) and fails the test if it does not compile.
inline RuleSetConstSharedPtr must_compile(std::string_view yaml, RuleSetOptions options = {}) {
  Diagnostics diagnostics;
  auto specs = parse_rule_text(yaml, "test.yaml", diagnostics);
  EXPECT_FALSE(has_errors(diagnostics)) << all_messages(diagnostics);
  auto result = RuleSet::compile(std::move(specs), options, diagnostics);
  EXPECT_TRUE(result) << all_messages(diagnostics);
  return result ? *result : nullptr;
}

inline Findings must_scan(const RuleSet& rules, std::string_view text, ScanOptions options = {}) {
  auto result = scan(rules, text, options);
  EXPECT_TRUE(result) << (result ? "" : result.error().message());
  return result ? *result : Findings{};
}

// The original bytes a finding covers.
inline std::string_view covered(std::string_view text, const Finding& f) {
  return text.substr(f.start, f.end - f.start);
}

}  // namespace gatekeeper::detect::testing

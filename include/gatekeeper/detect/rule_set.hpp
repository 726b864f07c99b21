#pragma once

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"
#include "gatekeeper/detect/rule.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace gatekeeper::detect {

class RuleSet;
using RuleSetConstSharedPtr = std::shared_ptr<const RuleSet>;

// Hybrid: RE2::Set prefilters (one DFA pass per view, a single pass over pure-ASCII input) and
// Hyperscan only to narrow where each hit pattern is located; what Auto picks when Hyperscan is
// built in.
enum class PrefilterKind { Auto, Re2Set, Hyperscan, Hybrid };

struct RuleSetOptions {
  PrefilterKind prefilter = PrefilterKind::Auto;  // Auto: the fastest one built in
  std::int64_t max_mem = 64 << 20;  // RE2 program + DFA budget for the prefilter set
  bool run_examples = true;         // a rule whose example fails rejects the whole set
};

// Parses every *.yaml file of `dir` (sorted by name) into rule specs. Every problem is appended to
// `diagnostics` with file:line:column and rule id; parsing continues past errors so that one run
// reports all of them.
std::vector<RuleSpec> parse_rule_files(const std::filesystem::path& dir, Diagnostics& diagnostics);
std::vector<RuleSpec> parse_rule_text(std::string_view yaml, const std::string& file_name,
                                      Diagnostics& diagnostics);

// The compiled, immutable rule set: one prefilter over every pattern, one RE2 per pattern,
// resolved validators, folded context words, combination graph. Shared between threads without
// locks through RuleSetConstSharedPtr.
class RuleSet {
 public:
  // Compiles and validates. On any error, returns Errc::Config* / Rule* and leaves every problem in
  // `diagnostics` (warnings are left there too on success).
  static Result<RuleSetConstSharedPtr> compile(std::vector<RuleSpec> specs, const RuleSetOptions& options,
                                               Diagnostics& diagnostics);
  // parse_rule_files + compile.
  static Result<RuleSetConstSharedPtr> load(const std::filesystem::path& dir, const RuleSetOptions& options,
                                            Diagnostics& diagnostics);

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  const std::vector<RuleSpec>& rules() const noexcept;
  const RuleSpec* find_rule(std::string_view id) const noexcept;
  std::size_t pattern_count() const noexcept;
  PrefilterKind prefilter_kind() const noexcept;
  // sha256 of the rule files' canonical content, for the audit trail ("which rules decided").
  const std::string& fingerprint() const noexcept;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit RuleSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Result of running one rule's examples.
struct ExampleFailure {
  std::string rule_id;
  RuleExample example;
  std::string reason;  // e.g. "expected a match, found none"
};
std::vector<ExampleFailure> run_examples(const RuleSet& rules);

}  // namespace gatekeeper::detect

#pragma once

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"
#include "gatekeeper/detect/finding.hpp"
#include "gatekeeper/policy/action.hpp"

#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gatekeeper::policy {

// What users are told about one category when a request is stopped (config/policy.yaml).
struct CategoryMessage {
  std::string label_fr;        // e.g. "identifiant de santé (NIR/INS)"
  std::string label_en;
  std::string reason_fr;       // quotes the Inserm policy
  std::string reason_en;
  std::string alternative_fr;  // what to do instead
  std::string alternative_en;
};

struct CategoryPolicy {
  std::array<Action, 3> by_tier{Action::Block, Action::Block, Action::Block};  // indexed by Tier
  // Document-level data that must never leave the institute: blocked on sovereign and external
  // platforms, and never downgraded to `warn` (no user justification can release it).
  bool block_level = false;
  CategoryMessage message;
};

class Policy;
using PolicyConstSharedPtr = std::shared_ptr<const Policy>;

// The compiled, immutable policy: category x tier -> action, monitor mode, user-facing messages.
class Policy {
 public:
  static Result<PolicyConstSharedPtr> load(const std::filesystem::path& file, Diagnostics& diagnostics);
  static Result<PolicyConstSharedPtr> parse(std::string_view yaml, const std::string& file_name,
                                            Diagnostics& diagnostics);

  bool monitor() const noexcept { return monitor_; }
  // Action for a category; categories the file does not list get `default_action` for that tier.
  Action action_for(std::string_view category, Tier tier) const;
  // Null when the category is not listed or has no message (callers show a generic text).
  const CategoryMessage* message_for(std::string_view category) const;
  // Action for categories the file does not list, indexed by Tier.
  const std::array<Action, 3>& default_actions() const noexcept { return default_action_; }
  const std::map<std::string, CategoryPolicy, std::less<>>& categories() const noexcept { return categories_; }
  // Warn can never be overridden for a category whose action at the tier is Block (by construction).
  const std::string& justification_prefix() const noexcept { return justification_prefix_; }
  const std::string& contact() const noexcept { return contact_; }

 private:
  bool monitor_ = false;
  std::array<Action, 3> default_action_{Action::Log, Action::Log, Action::Log};
  std::map<std::string, CategoryPolicy, std::less<>> categories_;
  std::string justification_prefix_ = "#gk-justify:";
  std::string contact_;
};

// The decision for one request.
struct Decision {
  Action action = Action::Allow;        // what is enforced (Log when monitor mode downgraded it)
  Action would_action = Action::Allow;  // what enforce mode does; equals `action` unless monitor
  bool monitor = false;
  std::vector<Action> finding_actions;  // parallel to the findings, per-finding action at this tier
  std::vector<std::string> categories;  // distinct categories whose action equals would_action
};

Decision decide(const Policy& policy, const detect::Findings& findings, Tier tier);

// Replaces each finding whose action is Redact with "[PLACEHOLDER_n]". Identical values get the
// same number within one call (consistent pseudonymisation inside a request); findings must not
// overlap (the scanner resolves overlaps). Offsets are into `text`.
struct Redactor {
  std::map<std::string, int> next_number;            // per placeholder label
  std::map<std::string, std::string> assigned;       // label + '\0' + value -> placeholder (memory only)
  std::string redact(std::string_view text, const detect::Findings& findings,
                     const std::vector<Action>& finding_actions);
};

}  // namespace gatekeeper::policy

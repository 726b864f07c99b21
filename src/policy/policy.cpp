#include "gatekeeper/policy/policy.hpp"

#include "gatekeeper/core/yaml_reporter.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <system_error>

namespace gatekeeper::policy {
namespace {

constexpr int kPolicyVersion = 1;

// Categories the shipped rule pack emits, and those the inspector reports for attached files that
// have no text (docs/files.md). A policy may list others (custom rules), but a name outside this
// list is more often a typo, so it gets a warning.
constexpr std::string_view kKnownCategories[] = {
    "health_identifier", "nominative_health",     "patient_data", "unpublished_research",
    "confidential",      "intellectual_property", "evaluation",   "secret",
    "personal_data",     "image_file",            "unknown_binary"};

constexpr Tier kTiers[] = {Tier::Internal, Tier::Sovereign, Tier::External};

bool is_known_category(std::string_view name) {
  return std::find(std::begin(kKnownCategories), std::end(kKnownCategories), name) !=
         std::end(kKnownCategories);
}

std::string join_actions() { return "block, warn, redact, log or allow"; }

using Reporter = YamlReporter;

// Map entries in file order; reports duplicated and non-scalar keys. yaml-cpp silently keeps the
// first of two identical keys, which would hide an administrator's second line.
std::vector<std::pair<YAML::Node, YAML::Node>> map_entries(const YAML::Node& map, Reporter& report,
                                                           const std::string& where,
                                                           const std::string& category = {}) {
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      report.error(key.Mark(), "keys of " + where + " must be plain names", category);
      continue;
    }
    if (!seen.insert(key.Scalar()).second) {
      report.error(key.Mark(),
                   "'" + key.Scalar() + "' is given twice in " + where + "; keep only one",
                   category);
      continue;
    }
    entries.emplace_back(key, it->second);
  }
  return entries;
}

bool read_string(const YAML::Node& node, const std::string& key, Reporter& report, std::string* out,
                 const std::string& category = {}) {
  if (!node.IsScalar()) {
    report.error(node.Mark(), "'" + key + "' must be a text value", category);
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool read_action(const YAML::Node& node, const std::string& what, Reporter& report, Action* out,
                 const std::string& category = {}) {
  if (!node.IsScalar() || !parse_action(node.Scalar(), out)) {
    report.error(node.Mark(),
                 what + ": '" + (node.IsScalar() ? node.Scalar() : std::string("(not a word)")) +
                     "' is not an action; use " + join_actions(),
                 category);
    return false;
  }
  return true;
}

// `actions` is either one action for every tier ("block") or a map with exactly the three tiers.
bool read_tier_actions(const YAML::Node& node, const YAML::Mark& owner, const std::string& what,
                       Reporter& report, std::array<Action, 3>* out,
                       const std::string& category = {}) {
  if (node.IsScalar()) {
    Action action{};
    if (!read_action(node, what, report, &action, category)) return false;
    out->fill(action);
    return true;
  }
  if (!node.IsMap()) {
    report.error(node.Mark(),
                 what + " must be one action, or a map with internal, sovereign and external",
                 category);
    return false;
  }
  bool ok = true;
  std::array<bool, 3> seen{};
  for (const auto& [key, value] : map_entries(node, report, what, category)) {
    Tier tier{};
    if (!parse_tier(key.Scalar(), &tier)) {
      report.error(key.Mark(),
                   "'" + key.Scalar() + "' is not a tier; use internal, sovereign or external",
                   category);
      ok = false;
      continue;
    }
    Action action{};
    if (!read_action(value, what + "." + key.Scalar(), report, &action, category)) {
      ok = false;
      continue;
    }
    (*out)[static_cast<int>(tier)] = action;
    seen[static_cast<int>(tier)] = true;
  }
  for (Tier tier : kTiers) {
    if (!seen[static_cast<int>(tier)] && ok) {
      report.error(node.Mark().is_null() ? owner : node.Mark(),
                   what + " has no action for the '" + std::string(to_string(tier)) +
                       "' tier; give all three tiers so nothing is left implicit",
                   category);
      ok = false;
    }
  }
  return ok;
}

// message: { fr: {label, reason, alternative}, en: {...} }
void read_message(const YAML::Node& node, const std::string& category, Reporter& report,
                  CategoryMessage* out) {
  if (!node.IsMap()) {
    report.error(node.Mark(), "'message' must be a map with 'fr' and 'en'", category);
    return;
  }
  std::array<bool, 2> seen_language{};
  for (const auto& [lang_key, lang_node] : map_entries(node, report, "message", category)) {
    const std::string lang = lang_key.Scalar();
    if (lang != "fr" && lang != "en") {
      report.error(lang_key.Mark(), "unknown language '" + lang + "' in message; use fr and en",
                   category);
      continue;
    }
    seen_language[lang == "fr" ? 0 : 1] = true;
    if (!lang_node.IsMap()) {
      report.error(lang_node.Mark(),
                   "message." + lang +
                       " must be a map with label, reason and "
                       "alternative",
                   category);
      continue;
    }
    std::string* label = lang == "fr" ? &out->label_fr : &out->label_en;
    std::string* reason = lang == "fr" ? &out->reason_fr : &out->reason_en;
    std::string* alternative = lang == "fr" ? &out->alternative_fr : &out->alternative_en;
    std::array<bool, 3> seen{};
    for (const auto& [key, value] : map_entries(lang_node, report, "message." + lang, category)) {
      const std::string name = key.Scalar();
      std::string* target = name == "label"         ? label
                            : name == "reason"      ? reason
                            : name == "alternative" ? alternative
                                                    : nullptr;
      if (target == nullptr) {
        report.error(key.Mark(),
                     "unknown key '" + name + "' in message." + lang +
                         "; expected label, reason, alternative",
                     category);
        continue;
      }
      seen[name == "label" ? 0 : name == "reason" ? 1 : 2] = true;
      if (read_string(value, "message." + lang + "." + name, report, target, category) &&
          target->empty()) {
        report.error(value.Mark(), "message." + lang + "." + name + " is empty", category);
      }
    }
    static constexpr const char* kFields[] = {"label", "reason", "alternative"};
    for (int i = 0; i < 3; ++i) {
      if (!seen[i]) {
        report.error(lang_node.Mark(),
                     "message." + lang + " has no '" + kFields[i] +
                         "': users would see an incomplete explanation",
                     category);
      }
    }
  }
  if (!seen_language[0] || !seen_language[1]) {
    report.error(node.Mark(),
                 std::string("message has no '") + (seen_language[0] ? "en" : "fr") +
                     "' text; users are shown both languages",
                 category);
  }
}

void read_category(const YAML::Node& key, const YAML::Node& node, Reporter& report,
                   CategoryPolicy* out) {
  const std::string name = key.Scalar();
  if (!node.IsMap()) {
    report.error(node.Mark(), "a category must be a map with actions and message", name);
    return;
  }
  bool has_actions = false;
  bool saw_actions = false;
  bool has_message = false;
  YAML::Node actions_node;
  for (const auto& [field, value] : map_entries(node, report, "category '" + name + "'", name)) {
    const std::string field_name = field.Scalar();
    if (field_name == "block_level") {
      if (!YAML::convert<bool>::decode(value, out->block_level)) {
        report.error(value.Mark(), "block_level must be true or false", name);
      }
    } else if (field_name == "actions") {
      saw_actions = true;
      has_actions = read_tier_actions(value, field.Mark(), "actions", report, &out->by_tier, name);
      actions_node = value;
    } else if (field_name == "message") {
      has_message = true;
      read_message(value, name, report, &out->message);
    } else {
      report.error(
          field.Mark(),
          "unknown key '" + field_name + "' in a category; expected block_level, actions, message",
          name);
    }
  }
  if (!saw_actions) {
    report.error(key.Mark(), "category has no 'actions'; give one action per tier", name);
  }
  if (!has_message) {
    report.warning(key.Mark(), "category has no 'message'; users would see a generic explanation",
                   name);
  }
  if (!has_actions || !out->block_level) return;
  // The Inserm rule: sensitive data never goes to a platform outside the institute, and no
  // justification can release it. Only the internal tier may be more lenient.
  const auto tier_mark = [&](Tier tier) {
    const YAML::Node& tiers = actions_node;
    if (tiers.IsMap()) {
      const YAML::Node entry = tiers[std::string(to_string(tier))];
      if (entry) return entry.Mark();
    }
    return actions_node.Mark();
  };
  for (Tier tier : kTiers) {
    const Action action = out->by_tier[static_cast<int>(tier)];
    if (action == Action::Warn) {
      report.error(tier_mark(tier),
                   "'warn' lets users resend with a justification; it is never allowed for a "
                   "block_level category (tier " +
                       std::string(to_string(tier)) + ")",
                   name);
    } else if (tier != Tier::Internal && action != Action::Block) {
      report.error(tier_mark(tier),
                   "a block_level category must be blocked on " + std::string(to_string(tier)) +
                       " platforms (found '" + std::string(to_string(action)) +
                       "'): sensitive data must never be sent outside the institute",
                   name);
    }
  }
}

}  // namespace

Result<PolicyConstSharedPtr> Policy::load(const std::filesystem::path& file,
                                          Diagnostics& diagnostics) {
  auto content = read_config_file(file, "policy file", diagnostics);
  if (!content) return content.error();
  return parse(*content, file.string(), diagnostics);
}

Result<PolicyConstSharedPtr> Policy::parse(std::string_view yaml, const std::string& file_name,
                                           Diagnostics& diagnostics) {
  Reporter report(file_name, diagnostics);
  auto loaded = report.load_map(yaml, "the policy must be a YAML map (mode, categories, ...)");
  if (!loaded) return loaded.error();
  const YAML::Node root = *loaded;

  auto policy = std::make_shared<Policy>();
  bool has_categories = false;
  try {
    for (const auto& [key, value] : map_entries(root, report, "the policy")) {
      const std::string name = key.Scalar();
      if (name == "version") {
        int version = 0;
        if (!YAML::convert<int>::decode(value, version) || version != kPolicyVersion) {
          report.error(value.Mark(), "unsupported policy version; this gatekeeper reads version " +
                                         std::to_string(kPolicyVersion));
        }
      } else if (name == "mode") {
        std::string mode;
        if (read_string(value, "mode", report, &mode)) {
          if (mode == "enforce") {
            policy->monitor_ = false;
          } else if (mode == "monitor") {
            policy->monitor_ = true;
          } else {
            report.error(value.Mark(), "mode must be 'enforce' or 'monitor', not '" + mode + "'");
          }
        }
      } else if (name == "justification_prefix") {
        if (read_string(value, name, report, &policy->justification_prefix_)) {
          const auto& prefix = policy->justification_prefix_;
          if (prefix.size() < 3 || prefix.find_first_of(" \t\r\n") != std::string::npos) {
            report.error(value.Mark(),
                         "justification_prefix must be at least 3 characters "
                         "without spaces, e.g. \"#gk-justify:\"");
          }
        }
      } else if (name == "contact") {
        read_string(value, name, report, &policy->contact_);
      } else if (name == "default_action") {
        read_tier_actions(value, key.Mark(), "default_action", report, &policy->default_action_);
      } else if (name == "categories") {
        has_categories = true;
        if (!value.IsMap()) {
          report.error(value.Mark(), "categories must be a map from category name to its policy");
          continue;
        }
        for (const auto& [category_key, category_node] : map_entries(value, report, "categories")) {
          const std::string category = category_key.Scalar();
          if (!is_known_category(category)) {
            report.warning(category_key.Mark(),
                           "no shipped rule reports this category; check the spelling "
                           "(it only applies to custom rules that use it)",
                           category);
          }
          CategoryPolicy category_policy;
          read_category(category_key, category_node, report, &category_policy);
          policy->categories_.emplace(category, std::move(category_policy));
        }
      } else {
        report.error(key.Mark(), "unknown key '" + name +
                                     "'; expected version, mode, justification_prefix, contact, "
                                     "default_action, categories");
      }
    }
  } catch (const YAML::Exception& e) {
    // Conversions above do not throw; this guards against a yaml-cpp surprise on odd input.
    report.error(e.mark, "unexpected YAML structure: " + e.msg);
  }

  if (!has_categories) {
    report.error(root.Mark(),
                 "the policy has no 'categories'; every finding would get "
                 "default_action");
  }
  for (std::string_view known : kKnownCategories) {
    if (has_categories && policy->categories_.find(known) == policy->categories_.end()) {
      report.warning(root.Mark(), "category '" + std::string(known) +
                                      "' is not listed; its findings get default_action");
    }
  }
  if (policy->contact_.empty()) {
    report.warning(root.Mark(), "no 'contact': users are not told whom to ask (DPO)");
  }
  if (report.failed()) return Errc::ConfigInvalid;
  return PolicyConstSharedPtr(std::move(policy));
}

Action Policy::action_for(std::string_view category, Tier tier) const {
  const auto it = categories_.find(category);
  const auto& by_tier = it == categories_.end() ? default_action_ : it->second.by_tier;
  return by_tier[static_cast<int>(tier)];
}

const CategoryMessage* Policy::message_for(std::string_view category) const {
  const auto it = categories_.find(category);
  if (it == categories_.end() || it->second.message.label_fr.empty()) return nullptr;
  return &it->second.message;
}

Decision decide(const Policy& policy, const detect::Findings& findings, Tier tier) {
  Decision decision;
  decision.monitor = policy.monitor();
  decision.finding_actions.reserve(findings.size());
  for (const auto& finding : findings) {
    const Action action = policy.action_for(finding.category, tier);
    decision.finding_actions.push_back(action);
    decision.would_action = std::max(decision.would_action, action);
  }
  for (std::size_t i = 0; i < findings.size(); ++i) {
    if (decision.finding_actions[i] == decision.would_action) {
      decision.categories.push_back(findings[i].category);
    }
  }
  std::sort(decision.categories.begin(), decision.categories.end());
  decision.categories.erase(std::unique(decision.categories.begin(), decision.categories.end()),
                            decision.categories.end());
  decision.action = decision.would_action;
  if (decision.monitor && decision.would_action > Action::Log) decision.action = Action::Log;
  return decision;
}

}  // namespace gatekeeper::policy

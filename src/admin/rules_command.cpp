#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>

#include "gatekeeper/admin/cli.hpp"
#include "gatekeeper/detect/evaluation.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/validators.hpp"
#include "gatekeeper/policy/policy.hpp"

namespace gatekeeper::admin {
namespace {

using Json = nlohmann::ordered_json;

const std::filesystem::path kSourceDir = GATEKEEPER_SOURCE_DIR;
const std::filesystem::path kDefaultRules = kSourceDir / "rules";
const std::filesystem::path kDefaultPolicy = kSourceDir / "config" / "policy.yaml";
const std::filesystem::path kDefaultCorpus = kSourceDir / "tests" / "corpus" / "prompts.jsonl";

constexpr const char* kUsage =
    "Usage:\n"
    "  gatekeeper rules test [DIR]\n"
    "      Run every rule's examples (default DIR: the shipped rules/).\n"
    "  gatekeeper rules lint [DIR] [--policy FILE] [--list-validators]\n"
    "      Report every problem (errors and warnings) in the rule files, and rule categories\n"
    "      that the policy does not list. --list-validators prints the named validators.\n"
    "  gatekeeper rules eval [--rules DIR] [--corpus FILE] [--json]\n"
    "      Recall per category and false-positive rate on a labelled JSON Lines corpus.\n";

// Splits "--name VALUE" / "--name=VALUE" options from positional arguments.
struct ParsedArgs {
  std::map<std::string, std::string> options;
  std::set<std::string> flags;
  std::vector<std::string> positional;
};

std::optional<ParsedArgs> parse(const Args& args, const std::set<std::string>& with_value,
                                const std::set<std::string>& flags, const char* command,
                                std::ostream& err) {
  ParsedArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    if (!name.starts_with("--")) {
      parsed.positional.push_back(name);
      continue;
    }
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (flags.count(name) != 0 && !value) {
      parsed.flags.insert(name);
    } else if (with_value.count(name) != 0) {
      if (!value) {
        if (i + 1 >= args.size()) {
          err << "gatekeeper rules " << command << ": " << name << " needs a value\n";
          return std::nullopt;
        }
        value = args[++i];
      }
      parsed.options[name] = *value;
    } else {
      err << "gatekeeper rules " << command << ": unknown argument '" << args[i] << "'\n" << kUsage;
      return std::nullopt;
    }
  }
  return parsed;
}

void print_diagnostics(const Diagnostics& diagnostics, std::ostream& out) {
  for (const auto& d : diagnostics) out << d.to_string() << '\n';
}

std::string location(const detect::SourceLocation& where) {
  std::string text = where.file.empty() ? std::string("<rules>") : where.file;
  if (where.line > 0) text += ":" + std::to_string(where.line);
  if (where.line > 0 && where.column > 0) text += ":" + std::to_string(where.column);
  return text;
}

std::string percent(double ratio) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", ratio * 100.0);
  return buffer;
}

int rules_test(const Args& args, std::ostream& out, std::ostream& err) {
  const auto parsed = parse(args, {}, {}, "test", err);
  if (!parsed || parsed->positional.size() > 1) {
    if (parsed) err << kUsage;
    return kExitInvalidRules;
  }
  const std::filesystem::path dir =
      parsed->positional.empty() ? kDefaultRules : std::filesystem::path(parsed->positional[0]);

  Diagnostics diagnostics;
  detect::RuleSetOptions options;
  options.run_examples = false;  // run them here, one line per rule, instead of failing the load
  const auto rules = detect::RuleSet::load(dir, options, diagnostics);
  if (!rules) {
    print_diagnostics(diagnostics, err);
    err << "gatekeeper rules test: the rules in " << dir.string()
        << " do not load; fix the errors above first\n";
    return kExitInvalidRules;
  }
  std::map<std::string, std::vector<const detect::ExampleFailure*>> failures_by_rule;
  const auto failures = detect::run_examples(**rules);
  for (const auto& failure : failures) failures_by_rule[failure.rule_id].push_back(&failure);

  int passed = 0;
  int failed = 0;
  for (const auto& rule : (*rules)->rules()) {
    const auto it = failures_by_rule.find(rule.id);
    const std::size_t examples = rule.examples.size();
    if (it == failures_by_rule.end()) {
      ++passed;
      out << "PASS " << rule.id << " (" << examples << (examples == 1 ? " example" : " examples")
          << ")\n";
      continue;
    }
    ++failed;
    out << "FAIL " << rule.id << " (" << it->second.size() << " of " << examples << " examples)\n";
    // The example is located, not quoted: its text is in the rule file at that line.
    for (const auto* failure : it->second) {
      out << "     " << location(failure->example.where) << ": "
          << (failure->example.should_match ? "match" : "no_match")
          << " example: " << failure->reason << '\n';
    }
    failures_by_rule.erase(it);
  }
  // Failures attributed to an id that is not a rule (should not happen) are still counted.
  for (const auto& [rule_id, list] : failures_by_rule) {
    ++failed;
    out << "FAIL " << rule_id << " (" << list.size() << " examples)\n";
  }
  out << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? kExitOk : kExitInvalidRules;
}

int list_validators(std::ostream& out) {
  for (const auto& validator : detect::validators()) {
    out << validator.name;
    if (!validator.params.empty()) {
      out << " (params:";
      for (const auto& param : validator.params) out << ' ' << param;
      out << ')';
    }
    out << "\n    " << validator.description << '\n';
  }
  return kExitOk;
}

int rules_lint(const Args& args, std::ostream& out, std::ostream& err) {
  const auto parsed = parse(args, {"--policy"}, {"--list-validators"}, "lint", err);
  if (!parsed || parsed->positional.size() > 1) {
    if (parsed) err << kUsage;
    return kExitInvalidRules;
  }
  if (parsed->flags.count("--list-validators") != 0) return list_validators(out);
  const std::filesystem::path dir =
      parsed->positional.empty() ? kDefaultRules : std::filesystem::path(parsed->positional[0]);

  Diagnostics diagnostics;
  const auto rules = detect::RuleSet::load(dir, detect::RuleSetOptions{}, diagnostics);
  // A category that the policy does not list silently gets its default action: worth a warning.
  const auto policy_file = parsed->options.count("--policy") != 0
                               ? std::filesystem::path(parsed->options.at("--policy"))
                               : kDefaultPolicy;
  Diagnostics policy_diagnostics;
  const auto policy = policy::Policy::load(policy_file, policy_diagnostics);
  diagnostics.insert(diagnostics.end(), policy_diagnostics.begin(), policy_diagnostics.end());
  if (rules && policy) {
    std::set<std::string> reported;
    for (const auto& rule : (*rules)->rules()) {
      if (rule.signal || rule.category.empty()) continue;
      if ((*policy)->categories().count(rule.category) != 0) continue;
      if (!reported.insert(rule.category).second) continue;
      Diagnostic d;
      d.severity = Diagnostic::Severity::Warning;
      d.file = rule.where.file;
      d.line = rule.where.line;
      d.column = rule.where.column;
      d.rule_id = rule.id;
      d.message = "category '" + rule.category + "' is not listed in " + policy_file.string() +
                  "; its findings get the policy's default_action";
      diagnostics.push_back(std::move(d));
    }
  }
  print_diagnostics(diagnostics, out);
  const auto errors = std::count_if(diagnostics.begin(), diagnostics.end(), [](const auto& d) {
    return d.severity == Diagnostic::Severity::Error;
  });
  const auto warnings = static_cast<long>(diagnostics.size()) - errors;
  if (rules && errors == 0) {
    out << (*rules)->rules().size() << " rules, " << (*rules)->pattern_count() << " patterns: ";
  }
  out << errors << " error(s), " << warnings << " warning(s)\n";
  return (!rules || errors > 0) ? kExitInvalidRules : kExitOk;
}

int rules_eval(const Args& args, std::ostream& out, std::ostream& err) {
  const auto parsed = parse(args, {"--rules", "--corpus"}, {"--json"}, "eval", err);
  if (!parsed || !parsed->positional.empty()) {
    if (parsed) err << kUsage;
    return kExitInvalidRules;
  }
  const auto option = [&](const char* name, const std::filesystem::path& fallback) {
    const auto it = parsed->options.find(name);
    return it == parsed->options.end() ? fallback : std::filesystem::path(it->second);
  };
  const std::filesystem::path dir = option("--rules", kDefaultRules);
  const std::filesystem::path corpus_file = option("--corpus", kDefaultCorpus);

  Diagnostics diagnostics;
  const auto rules = detect::RuleSet::load(dir, detect::RuleSetOptions{}, diagnostics);
  if (!rules) {
    print_diagnostics(diagnostics, err);
    return kExitInvalidRules;
  }
  std::string error;
  const auto corpus = detect::read_corpus(corpus_file, &error);
  if (!corpus) {
    err << "gatekeeper rules eval: cannot read the corpus " << corpus_file.string() << ": "
        << (error.empty() ? corpus.error().message() : error) << '\n';
    return kExitFailure;
  }
  const auto report = detect::evaluate(**rules, *corpus);
  if (!report) {
    err << "gatekeeper rules eval: evaluation failed: " << report.error().message() << '\n';
    return kExitFailure;
  }

  if (parsed->flags.count("--json") != 0) {
    Json json;
    json["prompts"] = corpus->size();
    Json categories = Json::object();
    for (const auto& [name, score] : report->categories) {
      categories[name] = {
          {"expected", score.expected}, {"detected", score.detected}, {"recall", score.recall()}};
    }
    json["categories"] = std::move(categories);
    json["benign"] = report->benign;
    json["benign_flagged"] = report->benign_flagged;
    json["false_positive_rate"] = report->false_positive_rate();
    json["unexpected_category"] = report->unexpected_category;
    json["misses"] = report->misses;
    json["false_positives"] = report->false_positives;
    out << json.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
    return kExitOk;
  }

  char line[160];
  out << "Corpus: " << corpus_file.string() << " (" << corpus->size() << " prompts)\n\n";
  std::snprintf(line, sizeof line, "%-24s %9s %9s %8s\n", "category", "expected", "detected",
                "recall");
  out << line;
  int expected = 0;
  int detected = 0;
  for (const auto& [name, score] : report->categories) {
    std::snprintf(line, sizeof line, "%-24s %9d %9d %8s\n", name.c_str(), score.expected,
                  score.detected, percent(score.recall()).c_str());
    out << line;
    expected += score.expected;
    detected += score.detected;
  }
  std::snprintf(line, sizeof line, "%-24s %9d %9d %8s\n", "all sensitive", expected, detected,
                percent(expected == 0 ? 1.0 : static_cast<double>(detected) / expected).c_str());
  out << line;
  out << "\nBenign prompts: " << report->benign << ", flagged: " << report->benign_flagged
      << ", false-positive rate: " << percent(report->false_positive_rate()) << '\n';
  out << "Sensitive prompts also flagged with an unexpected category: "
      << report->unexpected_category << '\n';
  if (!report->misses.empty()) {
    out << "\nMisses:\n";
    for (const auto& miss : report->misses) out << "  " << miss << '\n';
  }
  if (!report->false_positives.empty()) {
    out << "\nFalse positives:\n";
    for (const auto& fp : report->false_positives) out << "  " << fp << '\n';
  }
  return kExitOk;
}

}  // namespace

int run_rules_command(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kExitInvalidRules : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "test") return rules_test(rest, out, err);
  if (args[0] == "lint") return rules_lint(rest, out, err);
  if (args[0] == "eval") return rules_eval(rest, out, err);
  err << "gatekeeper rules: unknown subcommand '" << args[0] << "'\n" << kUsage;
  return kExitInvalidRules;
}

}  // namespace gatekeeper::admin

#include <algorithm>
#include <filesystem>
#include <istream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "gatekeeper/admin/cli.hpp"
#include "gatekeeper/config/platforms.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/scanner.hpp"
#include "gatekeeper/policy/policy.hpp"

namespace gatekeeper::admin {
namespace {

using Json = nlohmann::ordered_json;

const std::filesystem::path kSourceDir = GATEKEEPER_SOURCE_DIR;

struct ScanArgs {
  std::filesystem::path rules_dir = kSourceDir / "rules";
  std::filesystem::path policy_file = kSourceDir / "config" / "policy.yaml";
  std::filesystem::path platforms_file = kSourceDir / "config" / "platforms.yaml";
  std::optional<std::string> destination;
  bool jsonl = false;
};

constexpr const char* kUsage =
    "Usage: gatekeeper scan [--rules DIR] [--policy FILE] [--platforms FILE]\n"
    "                       [--destination HOST] [--jsonl]\n"
    "Reads text on standard input and prints the decision as one JSON object.\n"
    "  --rules DIR         rule files (default: the shipped rules/)\n"
    "  --policy FILE       policy (default: the shipped config/policy.yaml)\n"
    "  --platforms FILE    AI platforms (default: the shipped config/platforms.yaml)\n"
    "  --destination HOST  decide as for a request to HOST (default: an external platform)\n"
    "  --jsonl             one {\"id\": ..., \"text\": \"...\"} object per input line;\n"
    "                      one result per output line, with the same id\n";

// Returns false (after printing why) on bad usage. Accepts "--opt VALUE" and "--opt=VALUE".
bool parse_args(const Args& args, ScanArgs& out, std::ostream& err) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); name.starts_with("--") && eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const auto value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 < args.size()) return args[++i];
      err << "gatekeeper scan: " << name << " needs a value\n";
      return std::nullopt;
    };
    if (name == "--jsonl" && !inline_value) {
      out.jsonl = true;
    } else if (name == "--rules" || name == "--policy" || name == "--platforms" ||
               name == "--destination") {
      const auto v = value();
      if (!v) return false;
      if (name == "--rules") out.rules_dir = *v;
      if (name == "--policy") out.policy_file = *v;
      if (name == "--platforms") out.platforms_file = *v;
      if (name == "--destination") out.destination = *v;
    } else {
      err << "gatekeeper scan: unknown argument '" << args[i] << "'\n" << kUsage;
      return false;
    }
  }
  return true;
}

void print_diagnostics(const Diagnostics& diagnostics, std::ostream& err) {
  for (const auto& d : diagnostics) err << d.to_string() << '\n';
}

std::string dump(const Json& json) {
  // Offsets can cut a multi-byte character and the input may not be UTF-8 at all: never let that
  // produce invalid JSON (or an exception); bad bytes become U+FFFD in the output only.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

struct Engine {
  detect::RuleSetConstSharedPtr rules;
  policy::PolicyConstSharedPtr policy;
  policy::Tier tier = policy::Tier::External;
  const config::DeniedPlatform* denied = nullptr;
  std::string platform_id;
  config::PlatformRegistryConstSharedPtr platforms;  // keeps `denied` alive
};

// Scans one text and fills `result`; returns false when the scan itself failed (fail closed).
bool scan_one(const Engine& engine, std::string_view text, Json& result) {
  const auto findings = detect::scan(*engine.rules, text);
  if (!findings) {
    const auto code = static_cast<Errc>(findings.error().value());
    result["action"] = "block";
    result["error"] =
        findings.error().category() == gatekeeper_category() ? errc_name(code) : "scan_failed";
    result["findings"] = Json::array();
    return false;
  }
  const policy::Decision decision = policy::decide(*engine.policy, *findings, engine.tier);
  policy::Action action = decision.action;
  if (engine.denied != nullptr) action = policy::Action::Block;

  result["action"] = std::string(policy::to_string(action));
  if (decision.monitor) {
    result["would_action"] = std::string(policy::to_string(decision.would_action));
    result["monitor"] = true;
  }
  result["tier"] = std::string(policy::to_string(engine.tier));
  if (!engine.platform_id.empty()) result["platform"] = engine.platform_id;
  if (engine.denied != nullptr) result["denied_platform"] = engine.denied->name;
  result["categories"] = decision.categories;
  Json list = Json::array();
  for (const auto& finding : *findings) {
    list.push_back(Json{{"rule", finding.rule_id},
                        {"category", finding.category},
                        {"start", finding.start},
                        {"end", finding.end},
                        {"score", finding.score},
                        {"validated", finding.validated}});
  }
  result["findings"] = std::move(list);
  if (action == policy::Action::Redact) {
    policy::Redactor redactor;
    result["redacted"] = redactor.redact(text, *findings, decision.finding_actions);
  }
  return true;
}

int scan_jsonl(const Engine& engine, std::istream& in, std::ostream& out) {
  bool any_failed = false;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    Json result = Json::object();
    const Json input = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (input.is_discarded()) {
      result["id"] = nullptr;
      result["error"] = "line is not valid JSON (UTF-8 text expected)";
    } else if (!input.is_object()) {
      result["id"] = nullptr;
      result["error"] = "line must be a JSON object {\"id\": ..., \"text\": \"...\"}";
    } else {
      const auto id = input.find("id");
      result["id"] = id == input.end() ? Json(nullptr) : *id;
      const auto text = input.find("text");
      if (text == input.end() || !text->is_string()) {
        result["error"] = "missing \"text\" string";
      } else if (!scan_one(engine, text->get_ref<const std::string&>(), result)) {
        any_failed = true;
      }
    }
    if (result.contains("error")) any_failed = true;
    out << dump(result) << '\n' << std::flush;
  }
  return any_failed ? kExitFailure : kExitOk;
}

}  // namespace

int run_scan_command(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
  ScanArgs options;
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    out << kUsage;
    return kExitOk;
  }
  if (!parse_args(args, options, err)) return kExitInvalidRules;

  // Load everything first and report every problem of every file in one run.
  Engine engine;
  Diagnostics diagnostics;
  bool valid = true;
  auto rules = detect::RuleSet::load(options.rules_dir, detect::RuleSetOptions{}, diagnostics);
  if (rules) {
    engine.rules = *rules;
  } else {
    valid = false;
  }
  auto policy = policy::Policy::load(options.policy_file, diagnostics);
  if (policy) {
    engine.policy = *policy;
  } else {
    valid = false;
  }
  if (options.destination) {
    auto platforms = config::PlatformRegistry::load(options.platforms_file, diagnostics);
    if (platforms) {
      engine.platforms = *platforms;
      engine.tier = engine.platforms->tier_for(*options.destination);
      engine.denied = engine.platforms->denied(*options.destination);
      if (const auto match = engine.platforms->match(*options.destination); match.platform) {
        engine.platform_id = match.platform->id;
      }
    } else {
      valid = false;
    }
  }
  if (!valid) {
    Diagnostics errors;
    for (const auto& d : diagnostics) {
      if (d.severity == Diagnostic::Severity::Error) errors.push_back(d);
    }
    print_diagnostics(errors, err);
    err << "gatekeeper scan: " << errors.size()
        << " problem(s) in the rules, policy or platforms; nothing was scanned\n";
    return kExitInvalidRules;
  }

  try {
    if (options.jsonl) return scan_jsonl(engine, in, out);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    Json result = Json::object();
    const bool ok = scan_one(engine, text, result);
    out << dump(result) << '\n';
    return ok ? kExitOk : kExitFailure;
  } catch (const std::exception& e) {
    // Fail closed: a scan that could not complete never reads as "nothing found".
    out << dump(Json{{"action", "block"}, {"error", "scan_failed"}, {"findings", Json::array()}})
        << '\n';
    err << "gatekeeper scan: " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace gatekeeper::admin

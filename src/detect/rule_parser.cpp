// YAML rule files -> RuleSpec. Structural problems (types, unknown or missing keys) are reported
// here; value checks that also apply to specs built in code (ranges, regex syntax, references)
// belong to RuleSet::compile.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/rule_set_impl.hpp"
#include "gatekeeper/core/yaml_reporter.hpp"

namespace gatekeeper::detect {

namespace {

const std::vector<std::string_view> kFileKeys = {"category", "description", "rules"};
const std::vector<std::string_view> kRuleKeys = {
    "id",        "version",          "category",       "description", "severity",  "placeholder",
    "languages", "signal",           "case_sensitive", "patterns",    "normalize", "validator",
    "context",   "negative_context", "combine",        "score",       "min_score", "examples"};
const std::vector<std::string_view> kPatternKeys = {"name", "regex", "score"};
const std::vector<std::string_view> kContextKeys = {"words", "before", "after",
                                                    "mode",  "boost",  "floor"};
const std::vector<std::string_view> kNegativeContextKeys = {"words", "before", "after", "mode",
                                                            "boost"};
const std::vector<std::string_view> kCombineKeys = {"anchor", "with", "min_with", "window"};
const std::vector<std::string_view> kValidatorKeys = {"name", "params"};
const std::vector<std::string_view> kExampleKeys = {"match", "no_match"};

class Parser {
 public:
  Parser(const std::string& file, Diagnostics& diagnostics)
      : file_(file), diagnostics_(diagnostics) {}

  std::vector<RuleSpec> parse_document(const YAML::Node& root);

 private:
  SourceLocation where(const YAML::Node& node) const {
    SourceLocation location;
    location.file = file_;
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null()) {
      location.line = mark.line + 1;
      location.column = mark.column + 1;
    }
    return location;
  }

  void report(const YAML::Node& node, const std::string& rule_id, std::string message,
              Diagnostic::Severity severity = Diagnostic::Severity::Error) {
    const SourceLocation location = where(node);
    diagnostics_.push_back(
        {severity, file_, location.line, location.column, rule_id, std::move(message)});
  }

  // Reports keys that are not in `known` (with a suggestion) and keys given twice.
  void check_keys(const YAML::Node& map, const std::vector<std::string_view>& known,
                  const std::string& rule_id, std::string_view what) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        report(key, rule_id, std::string("a key of ") + std::string(what) + " is not a plain name");
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        report(key, rule_id, "key '" + name + "' appears twice in " + std::string(what));
      }
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string message = "unknown key '" + name + "' in " + std::string(what);
      const std::string suggestion = closest_match(name, known);
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      report(key, rule_id, std::move(message));
    }
  }

  bool read_string(const YAML::Node& node, const std::string& rule_id, std::string_view key,
                   std::string& out) {
    if (!node.IsScalar()) {
      report(node, rule_id, "'" + std::string(key) + "' must be a text value");
      return false;
    }
    out = node.Scalar();
    return true;
  }

  bool read_double(const YAML::Node& node, const std::string& rule_id, std::string_view key,
                   double& out) {
    double value = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, value)) {
      report(node, rule_id, "'" + std::string(key) + "' must be a number between 0 and 1");
      return false;
    }
    out = value;
    return true;
  }

  bool read_int(const YAML::Node& node, const std::string& rule_id, std::string_view key,
                int& out) {
    int value = 0;
    if (!node.IsScalar() || !YAML::convert<int>::decode(node, value)) {
      report(node, rule_id, "'" + std::string(key) + "' must be a whole number");
      return false;
    }
    out = value;
    return true;
  }

  bool read_bool(const YAML::Node& node, const std::string& rule_id, std::string_view key,
                 bool& out) {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      report(node, rule_id, "'" + std::string(key) + "' must be true or false");
      return false;
    }
    out = value;
    return true;
  }

  bool read_string_list(const YAML::Node& node, const std::string& rule_id, std::string_view key,
                        std::vector<std::string>& out) {
    if (!node.IsSequence()) {
      report(node, rule_id, "'" + std::string(key) + "' must be a list, e.g. [a, b]");
      return false;
    }
    bool ok = true;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        report(item, rule_id, "every entry of '" + std::string(key) + "' must be a text value");
        ok = false;
        continue;
      }
      out.push_back(item.Scalar());
    }
    return ok;
  }

  std::optional<RuleSpec> parse_rule(const YAML::Node& node, const std::string& file_category);
  void parse_patterns(const YAML::Node& node, RuleSpec& rule);
  void parse_normalize(const YAML::Node& node, RuleSpec& rule);
  void parse_validator(const YAML::Node& node, RuleSpec& rule);
  std::optional<ContextSpec> parse_context(const YAML::Node& node, const std::string& rule_id,
                                           bool negative);
  void parse_combine(const YAML::Node& node, RuleSpec& rule);
  void parse_examples(const YAML::Node& node, RuleSpec& rule);

  const std::string& file_;
  Diagnostics& diagnostics_;
};

std::vector<RuleSpec> Parser::parse_document(const YAML::Node& root) {
  std::vector<RuleSpec> rules;
  if (root.IsNull()) {
    report(root, "", "the file is empty; expected 'category:' and 'rules:'",
           Diagnostic::Severity::Warning);
    return rules;
  }
  if (!root.IsMap()) {
    report(root, "", "a rule file must be a mapping with 'category:' and 'rules:'");
    return rules;
  }
  check_keys(root, kFileKeys, "", "the file");
  std::string file_category;
  if (const YAML::Node category = root["category"])
    read_string(category, "", "category", file_category);
  const YAML::Node list = root["rules"];
  if (!list) {
    report(root, "", "missing 'rules:' list");
    return rules;
  }
  if (!list.IsSequence()) {
    report(list, "", "'rules' must be a list of rules (each starting with '- id: ...')");
    return rules;
  }
  for (const auto& item : list) {
    if (auto rule = parse_rule(item, file_category)) rules.push_back(std::move(*rule));
  }
  return rules;
}

std::optional<RuleSpec> Parser::parse_rule(const YAML::Node& node,
                                           const std::string& file_category) {
  if (!node.IsMap()) {
    report(node, "", "each entry of 'rules' must be a mapping starting with 'id:'");
    return std::nullopt;
  }
  RuleSpec rule;
  rule.where = where(node);
  const YAML::Node id = node["id"];
  if (!id || !id.IsScalar() || id.Scalar().empty()) {
    report(id ? id : node, "", "rule has no 'id' (a unique lower_snake_case name)");
    return std::nullopt;
  }
  rule.id = id.Scalar();
  const std::string& rid = rule.id;
  check_keys(node, kRuleKeys, rid, "a rule");

  rule.category = file_category;
  if (const YAML::Node n = node["version"]) read_string(n, rid, "version", rule.version);
  if (const YAML::Node n = node["category"]) read_string(n, rid, "category", rule.category);
  if (const YAML::Node n = node["description"])
    read_string(n, rid, "description", rule.description);
  if (const YAML::Node n = node["severity"]) {
    std::string text;
    if (read_string(n, rid, "severity", text) && !parse_severity(text, &rule.severity)) {
      report(n, rid, "unknown severity '" + text + "'; use low, medium, high or critical");
    }
  }
  if (const YAML::Node n = node["placeholder"])
    read_string(n, rid, "placeholder", rule.placeholder);
  if (const YAML::Node n = node["languages"]) read_string_list(n, rid, "languages", rule.languages);
  if (const YAML::Node n = node["signal"]) read_bool(n, rid, "signal", rule.signal);
  if (const YAML::Node n = node["case_sensitive"]) {
    read_bool(n, rid, "case_sensitive", rule.case_sensitive);
  }
  if (const YAML::Node n = node["patterns"]) parse_patterns(n, rule);
  if (const YAML::Node n = node["normalize"]) parse_normalize(n, rule);
  if (const YAML::Node n = node["validator"]) parse_validator(n, rule);
  if (const YAML::Node n = node["context"]) rule.context = parse_context(n, rid, false);
  if (const YAML::Node n = node["negative_context"]) {
    rule.negative_context = parse_context(n, rid, true);
  }
  if (const YAML::Node n = node["combine"]) parse_combine(n, rule);
  if (const YAML::Node n = node["score"]) read_double(n, rid, "score", rule.score);
  if (const YAML::Node n = node["min_score"]) read_double(n, rid, "min_score", rule.min_score);
  if (const YAML::Node n = node["examples"]) parse_examples(n, rule);
  return rule;
}

void Parser::parse_patterns(const YAML::Node& node, RuleSpec& rule) {
  if (!node.IsSequence()) {
    report(node, rule.id, "'patterns' must be a list of {name, regex, score}");
    return;
  }
  for (const auto& item : node) {
    if (!item.IsMap()) {
      report(item, rule.id, "each pattern must be a mapping with 'name', 'regex' and 'score'");
      continue;
    }
    check_keys(item, kPatternKeys, rule.id, "a pattern");
    PatternSpec pattern;
    pattern.name = "pattern_" + std::to_string(rule.patterns.size() + 1);
    pattern.where = where(item);
    if (const YAML::Node n = item["name"]) read_string(n, rule.id, "name", pattern.name);
    const YAML::Node regex = item["regex"];
    if (!regex) {
      report(item, rule.id, "pattern '" + pattern.name + "' has no 'regex'");
      continue;
    }
    if (!read_string(regex, rule.id, "regex", pattern.regex)) continue;
    pattern.where = where(regex);
    if (const YAML::Node n = item["score"]) read_double(n, rule.id, "score", pattern.score);
    rule.patterns.push_back(std::move(pattern));
  }
}

void Parser::parse_normalize(const YAML::Node& node, RuleSpec& rule) {
  if (!node.IsSequence()) {
    report(node, rule.id, "'normalize' must be a list of [from, to] pairs, e.g. - [\" \", \"\"]");
    return;
  }
  for (const auto& item : node) {
    if (!item.IsSequence() || item.size() != 2 || !item[0].IsScalar() || !item[1].IsScalar()) {
      report(item, rule.id, "each 'normalize' entry must be a pair [from, to] of texts");
      continue;
    }
    rule.normalize.emplace_back(item[0].Scalar(), item[1].Scalar());
  }
}

void Parser::parse_validator(const YAML::Node& node, RuleSpec& rule) {
  ValidatorSpec validator;
  validator.where = where(node);
  if (node.IsScalar()) {
    validator.name = node.Scalar();
    rule.validator = std::move(validator);
    return;
  }
  if (!node.IsMap()) {
    report(node, rule.id, "'validator' must be a name or {name: ..., params: {...}}");
    return;
  }
  check_keys(node, kValidatorKeys, rule.id, "the validator");
  const YAML::Node name = node["name"];
  if (!name) {
    report(node, rule.id, "the validator has no 'name'");
    return;
  }
  if (!read_string(name, rule.id, "name", validator.name)) return;
  if (const YAML::Node params = node["params"]) {
    if (!params.IsMap()) {
      report(params, rule.id, "validator 'params' must be a mapping of name: value");
    } else {
      for (const auto& entry : params) {
        if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
          report(entry.first, rule.id, "each validator parameter must be name: value");
          continue;
        }
        validator.params[entry.first.Scalar()] = entry.second.Scalar();
      }
    }
  }
  rule.validator = std::move(validator);
}

std::optional<ContextSpec> Parser::parse_context(const YAML::Node& node, const std::string& rid,
                                                 bool negative) {
  const char* what = negative ? "negative_context" : "context";
  ContextSpec context;
  context.where = where(node);
  if (node.IsSequence()) {  // shorthand: a bare word list takes every default
    read_string_list(node, rid, what, context.words);
    return context;
  }
  if (!node.IsMap()) {
    report(node, rid, std::string("'") + what + "' must be a mapping with 'words:'");
    return std::nullopt;
  }
  check_keys(node, negative ? kNegativeContextKeys : kContextKeys, rid,
             negative ? "negative_context" : "context");
  const YAML::Node words = node["words"];
  if (!words) {
    report(node, rid, std::string("'") + what + "' has no 'words' list");
  } else {
    read_string_list(words, rid, "words", context.words);
  }
  if (const YAML::Node n = node["before"]) read_int(n, rid, "before", context.before);
  if (const YAML::Node n = node["after"]) read_int(n, rid, "after", context.after);
  if (const YAML::Node n = node["mode"]) {
    std::string mode;
    if (read_string(n, rid, "mode", mode)) {
      if (mode == "substring") {
        context.mode = ContextMode::Substring;
      } else if (mode == "whole_word") {
        context.mode = ContextMode::WholeWord;
      } else {
        report(n, rid, "unknown context mode '" + mode + "'; use substring or whole_word");
      }
    }
  }
  if (const YAML::Node n = node["boost"]) read_double(n, rid, "boost", context.boost);
  if (const YAML::Node n = node["floor"]) read_double(n, rid, "floor", context.floor);
  return context;
}

void Parser::parse_combine(const YAML::Node& node, RuleSpec& rule) {
  if (!node.IsMap()) {
    report(node, rule.id, "'combine' must be a mapping with 'anchor' and 'with'");
    return;
  }
  check_keys(node, kCombineKeys, rule.id, "combine");
  CombinationSpec combine;
  combine.where = where(node);
  if (const YAML::Node n = node["anchor"]) {
    read_string(n, rule.id, "anchor", combine.anchor);
  } else {
    report(node, rule.id, "'combine' has no 'anchor' (the rule whose hits are reported)");
  }
  if (const YAML::Node n = node["with"]) {
    if (n.IsScalar()) {
      combine.with.push_back(n.Scalar());
    } else {
      read_string_list(n, rule.id, "with", combine.with);
    }
  } else {
    report(node, rule.id, "'combine' has no 'with' list");
  }
  if (const YAML::Node n = node["min_with"]) read_int(n, rule.id, "min_with", combine.min_with);
  if (const YAML::Node n = node["window"]) read_int(n, rule.id, "window", combine.window);
  rule.combine = std::move(combine);
}

void Parser::parse_examples(const YAML::Node& node, RuleSpec& rule) {
  if (!node.IsMap()) {
    report(node, rule.id, "'examples' must be a mapping with 'match:' and/or 'no_match:' lists");
    return;
  }
  check_keys(node, kExampleKeys, rule.id, "examples");
  for (const bool should_match : {true, false}) {
    const char* key = should_match ? "match" : "no_match";
    const YAML::Node list = node[key];
    if (!list) continue;
    if (!list.IsSequence()) {
      report(list, rule.id, std::string("'examples.") + key + "' must be a list of texts");
      continue;
    }
    for (const auto& item : list) {
      if (!item.IsScalar()) {
        report(item, rule.id, std::string("each 'examples.") + key + "' entry must be a text");
        continue;
      }
      rule.examples.push_back({item.Scalar(), should_match, where(item)});
    }
  }
}

}  // namespace

namespace detail {

std::vector<RuleSpec> parse_rule_text(std::string_view yaml, const std::string& file_name,
                                      Diagnostics& diagnostics, bool* syntax_error) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    if (syntax_error) *syntax_error = true;
    Diagnostic d;
    d.file = file_name;
    if (!e.mark.is_null()) {
      d.line = e.mark.line + 1;
      d.column = e.mark.column + 1;
    }
    d.message = "not well-formed YAML: " + e.msg;
    diagnostics.push_back(std::move(d));
    return {};
  }
  try {
    Parser parser(file_name, diagnostics);
    return parser.parse_document(root);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed node accesses; never let it escape the loader.
    Diagnostic d;
    d.file = file_name;
    if (!e.mark.is_null()) {
      d.line = e.mark.line + 1;
      d.column = e.mark.column + 1;
    }
    d.message = "unexpected YAML structure: " + e.msg;
    diagnostics.push_back(std::move(d));
    return {};
  }
}

}  // namespace detail

std::vector<RuleSpec> parse_rule_text(std::string_view yaml, const std::string& file_name,
                                      Diagnostics& diagnostics) {
  return detail::parse_rule_text(yaml, file_name, diagnostics, nullptr);
}

std::vector<RuleSpec> parse_rule_files(const std::filesystem::path& dir, Diagnostics& diagnostics) {
  return detail::parse_rule_files(dir, diagnostics, nullptr);
}

namespace detail {

std::vector<RuleSpec> parse_rule_files(const std::filesystem::path& dir, Diagnostics& diagnostics,
                                       bool* syntax_error) {
  std::vector<RuleSpec> rules;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    diagnostics.push_back(
        {Diagnostic::Severity::Error, dir.string(), 0, 0, "", "rules directory not found"});
    return rules;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto extension = entry.path().extension();
    if (entry.is_regular_file(ec) && (extension == ".yaml" || extension == ".yml")) {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    diagnostics.push_back({Diagnostic::Severity::Error, dir.string(), 0, 0, "",
                           "cannot list the rules directory: " + ec.message()});
    return rules;
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    diagnostics.push_back({Diagnostic::Severity::Warning, dir.string(), 0, 0, "",
                           "no *.yaml rule file in the directory"});
  }
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      diagnostics.push_back(
          {Diagnostic::Severity::Error, file.string(), 0, 0, "", "cannot read the rule file"});
      continue;
    }
    std::ostringstream content;
    content << in.rdbuf();
    auto parsed = parse_rule_text(content.str(), file.string(), diagnostics, syntax_error);
    std::move(parsed.begin(), parsed.end(), std::back_inserter(rules));
  }
  return rules;
}

}  // namespace detail

}  // namespace gatekeeper::detect

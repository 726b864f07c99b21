#include "gatekeeper/detect/evaluation.hpp"

#include "gatekeeper/detect/scanner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <system_error>

namespace gatekeeper::detect {

namespace {

// Reads one string member; an absent member is an error only when `required`.
bool read_string(const nlohmann::json& object, const char* key, bool required, std::string* out,
                 std::string* problem) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) *problem = std::string("missing field \"") + key + "\"";
    return !required;
  }
  if (!it->is_string()) {
    *problem = std::string("field \"") + key + "\" must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

// Parses one non-empty line into `prompt`; on failure leaves a reason (never the text) in
// `problem`.
bool parse_line(const std::string& line, LabelledPrompt* prompt, std::string* problem) {
  nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) {
    *problem = "not valid JSON";
    return false;
  }
  if (!object.is_object()) {
    *problem = "each line must be a JSON object";
    return false;
  }
  if (!read_string(object, "id", true, &prompt->id, problem)) return false;
  if (prompt->id.empty()) {
    *problem = "field \"id\" is empty";
    return false;
  }
  if (!read_string(object, "lang", true, &prompt->lang, problem)) return false;
  if (prompt->lang != "fr" && prompt->lang != "en") {
    *problem = "field \"lang\" must be \"fr\" or \"en\"";
    return false;
  }
  if (!read_string(object, "text", true, &prompt->text, problem)) return false;
  if (!read_string(object, "note", false, &prompt->note, problem)) return false;
  auto expect = object.find("expect");
  if (expect == object.end()) {
    *problem = "missing field \"expect\" (use [] for a benign prompt)";
    return false;
  }
  if (!expect->is_array()) {
    *problem = "field \"expect\" must be an array of category names";
    return false;
  }
  for (const auto& category : *expect) {
    if (!category.is_string() || category.get<std::string>().empty()) {
      *problem = "field \"expect\" must only hold non-empty category names";
      return false;
    }
    prompt->expect.push_back(category.get<std::string>());
  }
  return true;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

Result<std::vector<LabelledPrompt>> read_corpus(const std::filesystem::path& file,
                                                std::string* error) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    if (error) *error = file.string() + ": corpus file not found";
    return Errc::ConfigNotFound;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (error) *error = file.string() + ": corpus file cannot be read";
    return Errc::ConfigUnreadable;
  }

  std::vector<LabelledPrompt> corpus;
  std::set<std::string> ids;
  std::string problems;
  bool syntax_error = false;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;

    LabelledPrompt prompt;
    std::string problem;
    if (!parse_line(line, &prompt, &problem)) {
      if (problem == "not valid JSON") syntax_error = true;
      problems += file.string() + ":" + std::to_string(line_number) + ": " + problem + "\n";
      continue;
    }
    if (!ids.insert(prompt.id).second) {
      problems += file.string() + ":" + std::to_string(line_number) + ": duplicate id \"" +
                  prompt.id + "\"\n";
      continue;
    }
    corpus.push_back(std::move(prompt));
  }
  if (in.bad()) {
    if (error) *error = file.string() + ": read error after line " + std::to_string(line_number);
    return Errc::ConfigUnreadable;
  }
  if (!problems.empty()) {
    problems.pop_back();  // trailing newline
    if (error) *error = std::move(problems);
    return syntax_error ? Errc::ConfigSyntax : Errc::ConfigInvalid;
  }
  return corpus;
}

Result<EvaluationReport> evaluate(const RuleSet& rules, const std::vector<LabelledPrompt>& corpus) {
  EvaluationReport report;
  for (const auto& prompt : corpus) {
    auto findings = scan(rules, prompt.text);
    if (!findings) return findings.error();

    std::set<std::string> found_categories;
    std::set<std::string> found_rules;
    for (const auto& finding : *findings) {
      found_categories.insert(finding.category);
      found_rules.insert(finding.rule_id);
    }

    if (prompt.expect.empty()) {
      ++report.benign;
      if (!findings->empty()) {
        ++report.benign_flagged;
        report.false_positives.push_back(prompt.id + ": " + join(found_rules));
      }
      continue;
    }

    const std::set<std::string> expected(prompt.expect.begin(), prompt.expect.end());
    for (const auto& category : expected) {
      auto& score = report.categories[category];
      ++score.expected;
      if (found_categories.count(category) != 0) {
        ++score.detected;
      } else {
        std::string miss = prompt.id + ": expected " + category;
        if (!found_rules.empty()) miss += " (found: " + join(found_rules) + ")";
        report.misses.push_back(std::move(miss));
      }
    }
    const bool extra = std::any_of(found_categories.begin(), found_categories.end(),
                                   [&](const std::string& c) { return expected.count(c) == 0; });
    if (extra) ++report.unexpected_category;
  }
  return report;
}

}  // namespace gatekeeper::detect

#include <gtest/gtest.h>

#include <algorithm>

#include "gatekeeper/detect/rule_set.hpp"

namespace gatekeeper::detect {
namespace {

const Diagnostic* find_diagnostic(const Diagnostics& diagnostics, std::string_view needle) {
  auto it = std::find_if(diagnostics.begin(), diagnostics.end(), [&](const Diagnostic& d) {
    return d.message.find(needle) != std::string::npos;
  });
  return it == diagnostics.end() ? nullptr : &*it;
}

std::string all_messages(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

constexpr const char* kFullFile = R"(# comment
category: health_identifier
rules:
  - id: fr_nir
    version: "3"
    description: >-
      Numéro de sécurité sociale
    severity: critical
    placeholder: NIR
    languages: [fr, en]
    case_sensitive: false
    patterns:
      - name: nir_grouped
        regex: '\b([12][ .]?[0-9]{2})\b'
        score: 0.4
      - regex: '\bnir\b'
    normalize:
      - [" ", ""]
      - [".", ""]
    validator: {name: date, params: {min_year: "1900", max_year: "2100"}}
    context:
      words: [nir, sécurité sociale]
      before: 8
      after: 2
      mode: whole_word
      boost: 0.3
      floor: 0.45
    negative_context:
      words: [siret]
      before: 6
      after: 6
      mode: substring
      boost: 0.5
    min_score: 0.6
    examples:
      match:
        - "NIR 1 80"
      no_match:
        - "rien"
        - "toujours rien"
  - id: person_name
    category: person
    signal: true
    validator: luhn
    patterns:
      - {name: name, regex: '[A-Z][a-z]+', score: 0.3}
  - id: named_patient
    category: nominative_health
    combine:
      anchor: person_name
      with: [fr_nir]
      min_with: 1
      window: 120
    score: 0.9
)";

TEST(RuleParserTest, ParsesEveryField) {
  Diagnostics diagnostics;
  const auto rules = parse_rule_text(kFullFile, "rules/x.yaml", diagnostics);
  ASSERT_FALSE(has_errors(diagnostics)) << all_messages(diagnostics);
  ASSERT_EQ(rules.size(), 3u);

  const RuleSpec& nir = rules[0];
  EXPECT_EQ(nir.id, "fr_nir");
  EXPECT_EQ(nir.version, "3");
  EXPECT_EQ(nir.category, "health_identifier");
  EXPECT_EQ(nir.description, "Numéro de sécurité sociale");
  EXPECT_EQ(nir.severity, Severity::Critical);
  EXPECT_EQ(nir.placeholder, "NIR");
  EXPECT_EQ(nir.languages, (std::vector<std::string>{"fr", "en"}));
  EXPECT_FALSE(nir.signal);
  EXPECT_FALSE(nir.case_sensitive);
  ASSERT_EQ(nir.patterns.size(), 2u);
  EXPECT_EQ(nir.patterns[0].name, "nir_grouped");
  EXPECT_EQ(nir.patterns[0].regex, R"(\b([12][ .]?[0-9]{2})\b)");
  EXPECT_DOUBLE_EQ(nir.patterns[0].score, 0.4);
  EXPECT_EQ(nir.patterns[0].where.file, "rules/x.yaml");
  EXPECT_EQ(nir.patterns[0].where.line, 14);
  EXPECT_EQ(nir.patterns[1].name, "pattern_2");
  EXPECT_DOUBLE_EQ(nir.patterns[1].score, 0.5);
  ASSERT_EQ(nir.normalize.size(), 2u);
  EXPECT_EQ(nir.normalize[0], (std::pair<std::string, std::string>{" ", ""}));
  ASSERT_TRUE(nir.validator.has_value());
  EXPECT_EQ(nir.validator->name, "date");
  EXPECT_EQ(nir.validator->params.at("min_year"), "1900");
  EXPECT_EQ(nir.validator->params.at("max_year"), "2100");
  ASSERT_TRUE(nir.context.has_value());
  EXPECT_EQ(nir.context->words, (std::vector<std::string>{"nir", "sécurité sociale"}));
  EXPECT_EQ(nir.context->before, 8);
  EXPECT_EQ(nir.context->after, 2);
  EXPECT_EQ(nir.context->mode, ContextMode::WholeWord);
  EXPECT_DOUBLE_EQ(nir.context->boost, 0.3);
  EXPECT_DOUBLE_EQ(nir.context->floor, 0.45);
  ASSERT_TRUE(nir.negative_context.has_value());
  EXPECT_EQ(nir.negative_context->mode, ContextMode::Substring);
  EXPECT_DOUBLE_EQ(nir.negative_context->boost, 0.5);
  EXPECT_EQ(nir.negative_context->after, 6);
  EXPECT_DOUBLE_EQ(nir.min_score, 0.6);
  ASSERT_EQ(nir.examples.size(), 3u);
  EXPECT_TRUE(nir.examples[0].should_match);
  EXPECT_EQ(nir.examples[0].text, "NIR 1 80");
  EXPECT_EQ(nir.examples[0].where.line, 37);
  EXPECT_FALSE(nir.examples[2].should_match);
  EXPECT_EQ(nir.examples[2].where.line, 40);
  EXPECT_EQ(nir.where.line, 4);

  const RuleSpec& person = rules[1];
  EXPECT_EQ(person.category, "person");
  EXPECT_TRUE(person.signal);
  ASSERT_TRUE(person.validator.has_value());
  EXPECT_EQ(person.validator->name, "luhn");
  EXPECT_TRUE(person.validator->params.empty());
  EXPECT_EQ(person.severity, Severity::Medium);
  EXPECT_EQ(person.version, "1");

  const RuleSpec& combo = rules[2];
  ASSERT_TRUE(combo.combine.has_value());
  EXPECT_EQ(combo.combine->anchor, "person_name");
  EXPECT_EQ(combo.combine->with, (std::vector<std::string>{"fr_nir"}));
  EXPECT_EQ(combo.combine->min_with, 1);
  EXPECT_EQ(combo.combine->window, 120);
  EXPECT_DOUBLE_EQ(combo.score, 0.9);
  EXPECT_TRUE(combo.patterns.empty());
}

TEST(RuleParserTest, UnknownKeySuggestsTheClosestOne) {
  Diagnostics diagnostics;
  const auto rules = parse_rule_text(
      "category: c\nrules:\n  - id: r1\n    paterns:\n      - regex: 'x'\n", "f.yaml", diagnostics);
  const Diagnostic* d = find_diagnostic(diagnostics, "unknown key 'paterns'");
  ASSERT_NE(d, nullptr) << all_messages(diagnostics);
  EXPECT_NE(d->message.find("did you mean 'patterns'?"), std::string::npos);
  EXPECT_EQ(d->file, "f.yaml");
  EXPECT_EQ(d->line, 4);
  EXPECT_EQ(d->column, 5);
  EXPECT_EQ(d->rule_id, "r1");
  EXPECT_EQ(d->severity, Diagnostic::Severity::Error);
}

TEST(RuleParserTest, UnknownKeysAreFoundAtEveryLevel) {
  Diagnostics diagnostics;
  parse_rule_text(R"(categorie: c
rules:
  - id: r1
    patterns:
      - {regex: 'x', scor: 0.5}
    context: {words: [a], befor: 3}
    negative_context: {words: [b], floor: 0.2}
    combine: {anchor: a, with: [b], windw: 3}
    validator: {name: luhn, param: {}}
    examples: {matches: []}
)",
                  "f.yaml", diagnostics);
  for (const char* key : {"categorie", "scor", "befor", "floor", "windw", "param", "matches"}) {
    EXPECT_NE(find_diagnostic(diagnostics, std::string("unknown key '") + key + "'"), nullptr)
        << key << "\n"
        << all_messages(diagnostics);
  }
}

TEST(RuleParserTest, BadYamlIsReportedWithItsPosition) {
  Diagnostics diagnostics;
  const auto rules = parse_rule_text("category: c\nrules:\n  - id: r1\n    patterns: [\n",
                                     "bad.yaml", diagnostics);
  EXPECT_TRUE(rules.empty());
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].file, "bad.yaml");
  EXPECT_GT(diagnostics[0].line, 0);
  EXPECT_NE(diagnostics[0].message.find("not well-formed YAML"), std::string::npos);
}

TEST(RuleParserTest, MissingIdSkipsTheRule) {
  Diagnostics diagnostics;
  const auto rules = parse_rule_text(
      "category: c\nrules:\n  - patterns: [{regex: 'x'}]\n  - id: ok\n    patterns: [{regex: y}]\n",
      "f.yaml", diagnostics);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].id, "ok");
  const Diagnostic* d = find_diagnostic(diagnostics, "no 'id'");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->line, 3);
}

TEST(RuleParserTest, WrongTypesAndUnknownSeverity) {
  Diagnostics diagnostics;
  parse_rule_text(R"(category: c
rules:
  - id: r1
    severity: urgent
    score: high
    signal: maybe
    languages: fr
    patterns:
      - regex: [x]
    context: {words: [a], before: two}
    normalize: [[" "]]
)",
                  "f.yaml", diagnostics);
  const Diagnostic* severity = find_diagnostic(diagnostics, "unknown severity 'urgent'");
  ASSERT_NE(severity, nullptr) << all_messages(diagnostics);
  EXPECT_EQ(severity->line, 4);
  EXPECT_EQ(severity->column, 15);
  EXPECT_NE(find_diagnostic(diagnostics, "'score' must be a number"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "'signal' must be true or false"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "'languages' must be a list"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "'regex' must be a text value"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "'before' must be a whole number"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "pair [from, to]"), nullptr);
}

TEST(RuleParserTest, FileStructureProblems) {
  Diagnostics diagnostics;
  parse_rule_text("- a\n- b\n", "list.yaml", diagnostics);
  EXPECT_NE(find_diagnostic(diagnostics, "must be a mapping"), nullptr);
  diagnostics.clear();
  parse_rule_text("category: c\n", "norules.yaml", diagnostics);
  EXPECT_NE(find_diagnostic(diagnostics, "missing 'rules:'"), nullptr);
  diagnostics.clear();
  parse_rule_text("category: c\nrules:\n  - id: a\n    id: b\n", "dup.yaml", diagnostics);
  EXPECT_NE(find_diagnostic(diagnostics, "appears twice"), nullptr);
  diagnostics.clear();
  parse_rule_text("", "empty.yaml", diagnostics);
  EXPECT_FALSE(has_errors(diagnostics));
}

TEST(RuleParserTest, ContextShorthandAndValidatorWithoutName) {
  Diagnostics diagnostics;
  const auto rules = parse_rule_text(R"(category: c
rules:
  - id: r1
    patterns: [{regex: 'x'}]
    context: [vitale, "n° ss"]
    validator: {params: {a: b}}
)",
                                     "f.yaml", diagnostics);
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].context.has_value());
  EXPECT_EQ(rules[0].context->words, (std::vector<std::string>{"vitale", "n° ss"}));
  EXPECT_EQ(rules[0].context->before, 5);
  EXPECT_EQ(rules[0].context->after, 0);
  EXPECT_FALSE(rules[0].validator.has_value());
  EXPECT_NE(find_diagnostic(diagnostics, "validator has no 'name'"), nullptr);
}

}  // namespace
}  // namespace gatekeeper::detect

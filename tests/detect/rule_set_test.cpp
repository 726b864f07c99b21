#include "gatekeeper/detect/rule_set.hpp"

#include "gatekeeper/core/yaml_reporter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "gatekeeper/detect/prefilter.hpp"
#include "gatekeeper/detect/rule_set_impl.hpp"
#include "gatekeeper/detect/scanner.hpp"

namespace gatekeeper::detect {
namespace {

std::string all_messages(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

const Diagnostic* find_diagnostic(const Diagnostics& diagnostics, std::string_view needle) {
  auto it = std::find_if(diagnostics.begin(), diagnostics.end(), [&](const Diagnostic& d) {
    return d.message.find(needle) != std::string::npos;
  });
  return it == diagnostics.end() ? nullptr : &*it;
}

struct Compiled {
  Result<RuleSetConstSharedPtr> result;
  Diagnostics diagnostics;
};

Compiled compile_yaml(std::string_view yaml, RuleSetOptions options = {}) {
  Compiled out{Errc::Ok, {}};
  auto specs = parse_rule_text(yaml, "test.yaml", out.diagnostics);
  EXPECT_FALSE(has_errors(out.diagnostics)) << all_messages(out.diagnostics);
  out.result = RuleSet::compile(std::move(specs), options, out.diagnostics);
  return out;
}

// A rule with one pattern, and room for extra YAML lines.
std::string one_rule(std::string_view regex, std::string_view extra = "") {
  return "category: test\nrules:\n  - id: r1\n    patterns:\n      - name: p\n        regex: '" +
         std::string(regex) + "'\n" + std::string(extra) +
         "    examples: {match: [], no_match: []}\n";
}

TEST(RuleSetTest, CompilesAndExposesRules) {
  auto c = compile_yaml(R"(category: health_identifier
rules:
  - id: fr_nir
    patterns: [{name: digits, regex: '\b[0-9]{13}\b'}]
    examples: {match: ["1800175123456"], no_match: ["180017512345"]}
  - id: stamp
    category: confidential
    placeholder: TAMPON
    case_sensitive: true
    patterns: [{name: stamp, regex: 'CONFIDENTIEL'}, {name: nda, regex: '\bNDA\b'}]
    examples: {match: ["CONFIDENTIEL"], no_match: ["confidentiel"]}
)");
  ASSERT_TRUE(c.result) << all_messages(c.diagnostics);
  const RuleSet& rules = **c.result;
  EXPECT_EQ(rules.rules().size(), 2u);
  EXPECT_EQ(rules.pattern_count(), 3u);
  ASSERT_NE(rules.find_rule("stamp"), nullptr);
  EXPECT_EQ(rules.find_rule("stamp")->placeholder, "TAMPON");
  EXPECT_EQ(rules.find_rule("fr_nir")->placeholder, "HEALTH_IDENTIFIER");
  EXPECT_EQ(rules.find_rule("nope"), nullptr);
  EXPECT_EQ(rules.fingerprint().size(), 64u);
  EXPECT_TRUE(c.diagnostics.empty()) << all_messages(c.diagnostics);
}

TEST(RuleSetTest, AutoPicksTheFasterEnginePerView) {
  auto c = compile_yaml(one_rule("abc"));
  ASSERT_TRUE(c.result);
  EXPECT_EQ((*c.result)->prefilter_kind(),
            hyperscan_available() ? PrefilterKind::Hybrid : PrefilterKind::Re2Set);
  RuleSetOptions re2;
  re2.prefilter = PrefilterKind::Re2Set;
  auto d = compile_yaml(one_rule("abc"), re2);
  ASSERT_TRUE(d.result);
  EXPECT_EQ((*d.result)->prefilter_kind(), PrefilterKind::Re2Set);
}

TEST(RuleSetTest, LookaroundAndBackreferencesAreExplained) {
  struct Case {
    const char* regex;
    const char* expected;
  };
  const Case cases[] = {
      {R"((?<=NIR )[0-9]+)", "RE2 does not support lookbehind; use \\b or a capture group"},
      {R"((?<!x)[0-9]+)", "RE2 does not support lookbehind; use \\b or a capture group"},
      {R"([0-9]+(?= euros))", "RE2 does not support lookahead"},
      {R"([0-9]+(?!x))", "RE2 does not support lookahead"},
      {R"((a)b\1)", "RE2 does not support backreferences (\\1)"},
  };
  for (const Case& test : cases) {
    auto c = compile_yaml(one_rule(test.regex));
    ASSERT_FALSE(c.result) << test.regex;
    EXPECT_EQ(c.result.error(), make_error_code(Errc::RulePatternInvalid));
    const Diagnostic* d = find_diagnostic(c.diagnostics, test.expected);
    ASSERT_NE(d, nullptr) << test.regex << "\n" << all_messages(c.diagnostics);
    EXPECT_EQ(d->rule_id, "r1");
    EXPECT_EQ(d->file, "test.yaml");
    EXPECT_EQ(d->line, 6);
  }
  // Escaped look-alikes are fine.
  auto ok = compile_yaml(one_rule(R"(\(\?=[(?=]\\1)"));
  EXPECT_TRUE(ok.result) << all_messages(ok.diagnostics);
}

TEST(RuleSetTest, InvalidRe2IsReportedWithRe2Message) {
  auto c = compile_yaml(one_rule("([a-z]"));
  ASSERT_FALSE(c.result);
  EXPECT_EQ(c.result.error(), make_error_code(Errc::RulePatternInvalid));
  const Diagnostic* d = find_diagnostic(c.diagnostics, "is not valid RE2: missing )");
  ASSERT_NE(d, nullptr) << all_messages(c.diagnostics);
  EXPECT_EQ(d->line, 6);
}

TEST(RuleSetTest, ScoresOutsideUnitRangeAreRejected) {
  auto c = compile_yaml(R"(category: c
rules:
  - id: r1
    patterns: [{regex: a, score: 1.5}]
    min_score: -0.1
    context: {words: [x], boost: 2, floor: 1.2}
    negative_context: {words: [y], boost: -1}
    examples: {match: []}
)");
  ASSERT_FALSE(c.result);
  EXPECT_EQ(c.result.error(), make_error_code(Errc::ConfigInvalid));
  for (const char* needle : {"'score of pattern 'pattern_1'' must be between 0 and 1 (got 1.5)",
                             "'min_score' must be between 0 and 1", "'context.boost'",
                             "'context.floor'", "'negative_context.boost'"}) {
    EXPECT_NE(find_diagnostic(c.diagnostics, needle), nullptr) << needle << "\n"
                                                               << all_messages(c.diagnostics);
  }
}

TEST(RuleSetTest, UnknownValidatorAndParameters) {
  auto c = compile_yaml(one_rule("[0-9]+", "    validator: lunh\n"));
  ASSERT_FALSE(c.result);
  EXPECT_EQ(c.result.error(), make_error_code(Errc::RuleValidatorUnknown));
  const Diagnostic* d = find_diagnostic(c.diagnostics, "unknown validator 'lunh'");
  ASSERT_NE(d, nullptr) << all_messages(c.diagnostics);
  EXPECT_NE(d->message.find("did you mean 'luhn'?"), std::string::npos);
  EXPECT_EQ(d->line, 7);

  auto p =
      compile_yaml(one_rule("[0-9]+", "    validator: {name: luhn, params: {digits: \"3\"}}\n"));
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.result.error(), make_error_code(Errc::RuleValidatorUnknown));
  EXPECT_NE(find_diagnostic(p.diagnostics, "validator 'luhn' has no parameter 'digits'"), nullptr)
      << all_messages(p.diagnostics);
}

TEST(RuleSetTest, DuplicateIdsAcrossFiles) {
  Diagnostics diagnostics;
  auto specs = parse_rule_text(one_rule("a"), "a.yaml", diagnostics);
  auto more = parse_rule_text(one_rule("b"), "b.yaml", diagnostics);
  specs.insert(specs.end(), more.begin(), more.end());
  auto result = RuleSet::compile(std::move(specs), {}, diagnostics);
  ASSERT_FALSE(result);
  const Diagnostic* d =
      find_diagnostic(diagnostics, "duplicate rule id (first defined at a.yaml:3)");
  ASSERT_NE(d, nullptr) << all_messages(diagnostics);
  EXPECT_EQ(d->file, "b.yaml");
  EXPECT_EQ(d->rule_id, "r1");
}

TEST(RuleSetTest, MissingPatternsCategoryAndId) {
  Diagnostics diagnostics;
  RuleSpec no_id;
  no_id.category = "c";
  no_id.patterns.push_back({"p", "x", 0.5, {}});
  RuleSpec no_patterns;
  no_patterns.id = "empty";
  no_patterns.category = "c";
  RuleSpec no_category;
  no_category.id = "nocat";
  no_category.patterns.push_back({"p", "x", 0.5, {}});
  auto result = RuleSet::compile({no_id, no_patterns, no_category}, {}, diagnostics);
  ASSERT_FALSE(result);
  EXPECT_NE(find_diagnostic(diagnostics, "rule has no 'id'"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "rule has no 'patterns'"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "rule has no category"), nullptr);
}

TEST(RuleSetTest, CombinationReferencesAreChecked) {
  auto c = compile_yaml(R"(category: c
rules:
  - id: base
    signal: true
    patterns: [{regex: a}]
    examples: {match: [a]}
  - id: combo
    combine: {anchor: base, with: [bsae]}
    examples: {match: []}
  - id: self
    combine: {anchor: self, with: [base]}
    examples: {match: []}
  - id: nested
    combine: {anchor: base, with: [combo]}
    examples: {match: []}
  - id: signal_combo
    signal: true
    combine: {anchor: base, with: [base], min_with: 3}
    examples: {match: []}
  - id: with_patterns
    patterns: [{regex: b}]
    combine: {anchor: base, with: [base]}
    examples: {match: []}
)");
  ASSERT_FALSE(c.result);
  const Diagnostic* unknown = find_diagnostic(c.diagnostics, "'bsae' is not a rule id");
  ASSERT_NE(unknown, nullptr) << all_messages(c.diagnostics);
  EXPECT_NE(unknown->message.find("did you mean 'base'?"), std::string::npos);
  EXPECT_EQ(unknown->rule_id, "combo");
  EXPECT_EQ(unknown->line, 8);
  EXPECT_NE(find_diagnostic(c.diagnostics, "cannot refer to itself"), nullptr);
  EXPECT_NE(find_diagnostic(c.diagnostics, "'combo' is itself a combination"), nullptr);
  EXPECT_NE(find_diagnostic(c.diagnostics, "a signal rule cannot have a 'combine' block"), nullptr);
  EXPECT_NE(find_diagnostic(c.diagnostics, "'min_with' must be between 0"), nullptr);
  EXPECT_NE(find_diagnostic(c.diagnostics, "a combination rule has no 'patterns'"), nullptr);
}

TEST(RuleSetTest, RuleWithoutExamplesIsAWarning) {
  auto c = compile_yaml("category: c\nrules:\n  - id: r1\n    patterns: [{regex: a}]\n");
  ASSERT_TRUE(c.result) << all_messages(c.diagnostics);
  const Diagnostic* d = find_diagnostic(c.diagnostics, "rule has no examples");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->severity, Diagnostic::Severity::Warning);
  EXPECT_EQ(d->line, 3);
}

TEST(RuleSetTest, FailingExampleRejectsTheSetAtTheExampleLine) {
  const std::string yaml = R"(category: c
rules:
  - id: digits
    patterns: [{regex: '\b[0-9]{4}\b'}]
    examples:
      match:
        - "code 1234"
        - "code 12345"
      no_match:
        - "code 123"
        - "année 2024"
)";
  auto c = compile_yaml(yaml);
  ASSERT_FALSE(c.result);
  EXPECT_EQ(c.result.error(), make_error_code(Errc::RuleExampleFailed));
  const Diagnostic* missed = find_diagnostic(c.diagnostics, "expected a match, found none");
  ASSERT_NE(missed, nullptr) << all_messages(c.diagnostics);
  EXPECT_EQ(missed->line, 8);
  EXPECT_EQ(missed->rule_id, "digits");
  const Diagnostic* extra = find_diagnostic(c.diagnostics, "expected no match, found one");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(extra->line, 11);

  RuleSetOptions skip;
  skip.run_examples = false;
  auto s = compile_yaml(yaml, skip);
  ASSERT_TRUE(s.result);
  const auto failures = run_examples(**s.result);
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].rule_id, "digits");
  EXPECT_TRUE(failures[0].example.should_match);
  EXPECT_FALSE(failures[1].example.should_match);
}

TEST(RuleSetTest, FingerprintFollowsContentNotLocation) {
  auto a = compile_yaml(one_rule("abc"));
  auto b = compile_yaml("# moved\n\n" + one_rule("abc"));
  auto c = compile_yaml(one_rule("abd"));
  ASSERT_TRUE(a.result && b.result && c.result);
  EXPECT_EQ((*a.result)->fingerprint(), (*b.result)->fingerprint());
  EXPECT_NE((*a.result)->fingerprint(), (*c.result)->fingerprint());
  EXPECT_TRUE(std::all_of((*a.result)->fingerprint().begin(), (*a.result)->fingerprint().end(),
                          [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)); }));
}

TEST(RuleSetTest, TinyMemoryBudgetMakesTheSetTooLarge) {
  std::string yaml = "category: c\nrules:\n";
  for (int i = 0; i < 40; ++i) {
    yaml += "  - id: r" + std::to_string(i) + "\n    patterns: [{regex: '[a-z]{" +
            std::to_string(5 + i) + "}[0-9]{" + std::to_string(30 + i) + "}'}]\n" +
            "    examples: {match: []}\n";
  }
  RuleSetOptions options;
  options.prefilter = PrefilterKind::Re2Set;
  options.max_mem = 16 << 10;
  auto c = compile_yaml(yaml, options);
  ASSERT_FALSE(c.result);
  EXPECT_EQ(c.result.error(), make_error_code(Errc::RuleSetTooLarge));
}

class TempDir {
 public:
  TempDir() {
    path_ =
        std::filesystem::temp_directory_path() /
        ("gatekeeper_rules_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name) << content;
  }

 private:
  std::filesystem::path path_;
};

TEST(RuleSetTest, LoadReadsYamlFilesInNameOrder) {
  TempDir dir;
  dir.write("b.yaml",
            "category: b\nrules:\n  - id: rule_b\n    patterns: [{regex: bbb}]\n"
            "    examples: {match: [bbb]}\n");
  dir.write("a.yaml",
            "category: a\nrules:\n  - id: rule_a\n    patterns: [{regex: aaa}]\n"
            "    examples: {match: [aaa]}\n");
  dir.write("notes.txt", "not a rule file");
  Diagnostics diagnostics;
  auto result = RuleSet::load(dir.path(), {}, diagnostics);
  ASSERT_TRUE(result) << all_messages(diagnostics);
  ASSERT_EQ((*result)->rules().size(), 2u);
  EXPECT_EQ((*result)->rules()[0].id, "rule_a");
  EXPECT_EQ((*result)->rules()[1].id, "rule_b");
  EXPECT_EQ((*result)->rules()[0].where.file, (dir.path() / "a.yaml").string());
}

TEST(RuleSetTest, LoadErrorsCarryTheirCode) {
  Diagnostics diagnostics;
  auto missing = RuleSet::load("/nonexistent/gatekeeper/rules", {}, diagnostics);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), make_error_code(Errc::ConfigNotFound));

  TempDir dir;
  dir.write("a.yaml", "rules: [\n");
  diagnostics.clear();
  auto syntax = RuleSet::load(dir.path(), {}, diagnostics);
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error(), make_error_code(Errc::ConfigSyntax));

  dir.write("a.yaml",
            "category: c\nrules:\n  - id: r\n    patern: x\n    patterns: [{regex: '(?<=a)b'}]\n");
  diagnostics.clear();
  auto invalid = RuleSet::load(dir.path(), {}, diagnostics);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error(), make_error_code(Errc::ConfigInvalid));
  // Both the parse problem and the compile problem are reported in one run.
  EXPECT_NE(find_diagnostic(diagnostics, "unknown key 'patern'"), nullptr);
  EXPECT_NE(find_diagnostic(diagnostics, "lookbehind"), nullptr) << all_messages(diagnostics);
}

}  // namespace
}  // namespace gatekeeper::detect

namespace gatekeeper::detect {
namespace {

TEST(RuleSetTest, EmptyRuleSetCompilesAndFindsNothing) {
  Diagnostics diagnostics;
  auto result = RuleSet::compile({}, {}, diagnostics);
  ASSERT_TRUE(result) << all_messages(diagnostics);
  EXPECT_EQ((*result)->pattern_count(), 0u);
  auto findings = scan(**result, "NIR 1 80 12 75 123 456 42");
  ASSERT_TRUE(findings);
  EXPECT_TRUE(findings->empty());
}

TEST(RuleSetTest, FoldPatternTouchesOnlyNonAsciiCharacters) {
  // ASCII escapes keep their case: \D and \B are not \d and \b.
  EXPECT_EQ(detail::fold_pattern(R"(\D\B[A-Z]Sécurité)", true), R"(\D\B[A-Z]Securite)");
  EXPECT_EQ(detail::fold_pattern("Sécurité", false), "Sécurité");
  // Typography is normalised like the text; punctuation it produces stays a literal.
  EXPECT_EQ(detail::fold_pattern("a\xE2\x80\x94"
                                 "b\xEF\xBC\x88x\xEF\xBC\x89",
                                 false),
            R"(a\-b\(x\))");
  EXPECT_EQ(detail::fold_pattern("n\xC2\xB0\xC2\xA0ss", true), "n\xC2\xB0 ss");
}

TEST(RuleSetTest, SuggestionsOnlyForLikelyTypos) {
  const std::vector<std::string_view> keys = {"patterns", "context", "negative_context"};
  EXPECT_EQ(closest_match("paterns", keys), "patterns");
  EXPECT_EQ(closest_match("contxt", keys), "context");
  EXPECT_EQ(closest_match("negative_contexts", keys), "negative_context");
  EXPECT_EQ(closest_match("zzz", keys), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace gatekeeper::detect

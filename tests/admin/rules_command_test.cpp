#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "admin/command_fixture.hpp"
#include "gatekeeper/admin/cli.hpp"

namespace gatekeeper::admin {
namespace {

using testing::kTestRules;
using testing::TempDir;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult run(const Args& args) {
  std::ostringstream out;
  std::ostringstream err;
  RunResult result;
  result.exit_code = run_rules_command(args, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

// The test pack plus one rule whose `match` example cannot match.
constexpr const char* kFailingRule = R"yaml(
category: evaluation
rules:
  - id: test_wrong_example
    version: "1"
    description: Exemple volontairement faux.
    case_sensitive: true
    patterns:
      - name: stamp
        regex: '\b(EVALUATION-PAIRS)\b'
        score: 0.9
    examples:
      match:
        - "Rapport sans la mention attendue"
)yaml";

TEST(RulesCommandTest, TestPrintsOneLinePerRuleAndSummary) {
  TempDir dir;
  dir.write("rules/a.yaml", kTestRules);
  const RunResult result = run({"test", (dir.path() / "rules").string()});
  EXPECT_EQ(result.exit_code, kExitOk) << result.out << result.err;
  EXPECT_NE(result.out.find("PASS test_api_key"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("PASS test_nir"), std::string::npos);
  EXPECT_NE(result.out.find("PASS test_confidential"), std::string::npos);
  EXPECT_NE(result.out.find("3 passed, 0 failed"), std::string::npos);
}

TEST(RulesCommandTest, TestReportsFailingExampleByLocationAndExitsTwo) {
  TempDir dir;
  dir.write("rules/a.yaml", kTestRules);
  dir.write("rules/b.yaml", kFailingRule);
  const RunResult result = run({"test", (dir.path() / "rules").string()});
  EXPECT_EQ(result.exit_code, kExitInvalidRules);
  EXPECT_NE(result.out.find("FAIL test_wrong_example"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("b.yaml:"), std::string::npos) << result.out;
  // The example is located, never quoted.
  EXPECT_EQ(result.out.find("Rapport sans la mention"), std::string::npos);
  EXPECT_NE(result.out.find("3 passed, 1 failed"), std::string::npos);
}

TEST(RulesCommandTest, LintAcceptsAValidPackAndFlagsCategoriesMissingFromThePolicy) {
  TempDir dir;
  dir.write("rules/a.yaml", kTestRules);
  const auto policy = dir.write("policy.yaml",
                                "mode: enforce\ncontact: DPO\n"
                                "categories:\n"
                                "  secret:\n    actions: redact\n"
                                "    message:\n"
                                "      fr: {label: l, reason: r, alternative: a}\n"
                                "      en: {label: l, reason: r, alternative: a}\n");
  const RunResult result =
      run({"lint", (dir.path() / "rules").string(), "--policy", policy.string()});
  EXPECT_EQ(result.exit_code, kExitOk) << result.out << result.err;
  EXPECT_NE(result.out.find("category 'health_identifier' is not listed"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("0 error(s)"), std::string::npos);
}

TEST(RulesCommandTest, LintReportsErrorsWithFileAndLineAndExitsTwo) {
  TempDir dir;
  dir.write("rules/broken.yaml",
            "category: secret\n"
            "rules:\n"
            "  - id: broken_lookahead\n"
            "    patterns:\n"
            "      - name: p\n"
            "        regex: 'foo(?=bar)'\n"
            "        score: 0.5\n"
            "  - id: broken_validator\n"
            "    patterns:\n"
            "      - {name: q, regex: 'x[0-9]+', score: 0.5}\n"
            "    validator: no_such_validator\n");
  const RunResult result = run({"lint", (dir.path() / "rules").string()});
  EXPECT_EQ(result.exit_code, kExitInvalidRules);
  EXPECT_NE(result.out.find("broken.yaml:6"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("no_such_validator"), std::string::npos) << result.out;
}

TEST(RulesCommandTest, ListValidatorsNamesTheNirCheck) {
  const RunResult result = run({"lint", "--list-validators"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_NE(result.out.find("nir"), std::string::npos) << result.out;
}

TEST(RulesCommandTest, EvalPrintsRecallPerCategoryAndFalsePositiveRate) {
  TempDir dir;
  dir.write("rules/a.yaml", kTestRules);
  const auto corpus = dir.write(
      "corpus.jsonl",
      R"({"id":"s1","lang":"fr","text":"NIR 184127512345640","expect":["health_identifier"]})"
      "\n"
      R"({"id":"s2","lang":"fr","text":"NIR 290069912304542","expect":["health_identifier"]})"
      "\n"
      R"({"id":"s3","lang":"fr","text":"Document interne","expect":["confidential"]})"
      "\n"
      R"({"id":"b1","lang":"fr","text":"Bonjour","expect":[]})"
      "\n"
      R"({"id":"b2","lang":"en","text":"Stamp: CONFIDENTIEL, public template","expect":[]})"
      "\n");
  RunResult result =
      run({"eval", "--rules", (dir.path() / "rules").string(), "--corpus", corpus.string()});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_NE(result.out.find("health_identifier"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("100.0%"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("false-positive rate: 50.0%"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("s3"), std::string::npos);

  result = run(
      {"eval", "--rules", (dir.path() / "rules").string(), "--corpus", corpus.string(), "--json"});
  ASSERT_EQ(result.exit_code, kExitOk);
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["categories"]["health_identifier"]["detected"], 2);
  EXPECT_EQ(json["categories"]["confidential"]["detected"], 0);
  EXPECT_DOUBLE_EQ(json["false_positive_rate"].get<double>(), 0.5);
}

TEST(RulesCommandTest, EvalWithoutCorpusFileExitsOne) {
  TempDir dir;
  dir.write("rules/a.yaml", kTestRules);
  const RunResult result = run({"eval", "--rules", (dir.path() / "rules").string(), "--corpus",
                                (dir.path() / "missing.jsonl").string()});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_NE(result.err.find("missing.jsonl"), std::string::npos);
}

// The shipped pack and the shipped policy agree: every category a rule reports has its own entry.
TEST(RulesCommandTest, ShippedRulesLintCleanAgainstShippedPolicy) {
  const auto shipped_rules = std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "rules";
  if (!std::filesystem::is_directory(shipped_rules)) GTEST_SKIP() << "no shipped rules/";
  const RunResult result = run({"lint"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.out;
  EXPECT_NE(result.out.find(" 0 error(s), 0 warning(s)"), std::string::npos) << result.out;
}

TEST(RulesCommandTest, UnknownSubcommandOrMissingDirectoryExitsTwo) {
  EXPECT_EQ(run({"frobnicate"}).exit_code, kExitInvalidRules);
  EXPECT_EQ(run({}).exit_code, kExitInvalidRules);
  EXPECT_EQ(run({"test", "/nonexistent/gatekeeper/rules"}).exit_code, kExitInvalidRules);
}

}  // namespace
}  // namespace gatekeeper::admin

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "admin/command_fixture.hpp"
#include "gatekeeper/admin/cli.hpp"

namespace gatekeeper::admin {
namespace {

using nlohmann::json;
using testing::kTestRules;
using testing::TempDir;

const std::filesystem::path kSourceDir = GATEKEEPER_SOURCE_DIR;
const std::filesystem::path kShippedPolicy = kSourceDir / "config" / "policy.yaml";
const std::filesystem::path kShippedPlatforms = kSourceDir / "config" / "platforms.yaml";

constexpr const char* kValidNir = "184127512345640";
constexpr const char* kApiKey = "sk-abcdefghijklmnop1234";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class ScanCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { rules_dir_ = dir_.write("rules/test.yaml", kTestRules).parent_path(); }

  RunResult run(const std::string& input, Args args) {
    if (std::find(args.begin(), args.end(), "--rules") == args.end()) {
      args.insert(args.begin(), {"--rules", rules_dir_.string()});
    }
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    RunResult result;
    result.exit_code = run_scan_command(args, in, out, err);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  static json parse_single(const RunResult& result) {
    EXPECT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 1) << result.out;
    json parsed = json::parse(result.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << result.out;
    return parsed;
  }

  TempDir dir_;
  std::filesystem::path rules_dir_;
};

TEST_F(ScanCommandTest, RedactsIdentifiersWithExactByteOffsets) {
  const std::string text = std::string("Patient NIR ") + kValidNir + ", clé " + kApiKey +
                           ", revu : NIR " + kValidNir + ".";
  const RunResult result = run(text, {});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const json output = parse_single(result);
  EXPECT_EQ(output["action"], "redact");
  ASSERT_EQ(output["findings"].size(), 3u) << output.dump();
  const json& first = output["findings"][0];
  EXPECT_EQ(first["rule"], "test_nir");
  EXPECT_EQ(first["category"], "health_identifier");
  EXPECT_EQ(first["start"], text.find(kValidNir));
  EXPECT_EQ(first["end"], text.find(kValidNir) + 15);
  EXPECT_EQ(first["validated"], true);
  EXPECT_GE(first["score"].get<double>(), 0.5);
  EXPECT_EQ(output["findings"][1]["start"], text.find(kApiKey));
  EXPECT_EQ(output["redacted"], "Patient NIR [NIR_1], clé [SECRET_1], revu : NIR [NIR_1].");
}

TEST_F(ScanCommandTest, NothingFoundIsAllowWithoutRedactedText) {
  const RunResult result =
      run("Quelle est la différence entre un test t et un test de Wilcoxon ?", {});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const json output = parse_single(result);
  EXPECT_EQ(output["action"], "allow");
  EXPECT_TRUE(output["findings"].empty());
  EXPECT_FALSE(output.contains("redacted"));
  EXPECT_FALSE(output.contains("monitor"));
}

TEST_F(ScanCommandTest, InvalidNirKeyIsNotAFinding) {
  const json output = parse_single(run("NIR 184127512345641", {}));
  EXPECT_EQ(output["action"], "allow");
}

TEST_F(ScanCommandTest, DocumentLevelCategoryIsBlockedEvenOnSovereignPlatform) {
  const std::string text = std::string("CONFIDENTIEL — clé ") + kApiKey;
  json output = parse_single(run(text, {"--destination", "chat.mistral.ai"}));
  EXPECT_EQ(output["action"], "block");
  EXPECT_EQ(output["categories"], json::array({"confidential"}));
  EXPECT_FALSE(output.contains("redacted"));
  output = parse_single(run(text, {}));  // no destination: external
  EXPECT_EQ(output["action"], "block");
}

TEST_F(ScanCommandTest, DestinationTierComesFromThePlatformsFile) {
  const auto platforms = dir_.write("platforms.yaml",
                                    "platforms:\n"
                                    "  - {id: inhouse, name: In-house, tier: internal, adapter: "
                                    "openai, hosts: [ai.example.org]}\n");
  const std::string text = std::string("CONFIDENTIEL NIR ") + kValidNir;
  const json internal = parse_single(
      run(text, {"--destination", "ai.example.org", "--platforms", platforms.string()}));
  EXPECT_EQ(internal["action"], "log");
  const json unknown = parse_single(
      run(text, {"--destination", "elsewhere.example.org", "--platforms", platforms.string()}));
  EXPECT_EQ(unknown["action"], "block");
}

TEST_F(ScanCommandTest, MonitorModeReportsWouldActionButOnlyLogs) {
  std::ifstream shipped(kShippedPolicy);
  std::string policy((std::istreambuf_iterator<char>(shipped)), std::istreambuf_iterator<char>());
  const auto at = policy.find("\nmode: enforce");
  ASSERT_NE(at, std::string::npos);
  policy.replace(at, 14, "\nmode: monitor");
  const auto file = dir_.write("monitor.yaml", policy);

  const json output = parse_single(run("Document CONFIDENTIEL", {"--policy", file.string()}));
  EXPECT_EQ(output["action"], "log");
  EXPECT_EQ(output["would_action"], "block");
  EXPECT_EQ(output["monitor"], true);
}

TEST_F(ScanCommandTest, InvalidUtf8InputStillGivesValidJson) {
  const std::string text = std::string("\xFF\xFEkey ") + kApiKey + " \xC3";
  const RunResult result = run(text, {});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const json output = parse_single(result);
  EXPECT_EQ(output["action"], "redact");
  ASSERT_EQ(output["findings"].size(), 1u);
  EXPECT_EQ(output["findings"][0]["start"], 6u);  // byte offset, invalid bytes counted
  const std::string redacted = output["redacted"];
  EXPECT_NE(redacted.find("key [SECRET_1] "), std::string::npos);
  EXPECT_EQ(redacted.find("sk-"), std::string::npos);
}

TEST_F(ScanCommandTest, JsonlKeepsIdsAndContinuesPastBadLines) {
  const std::string input = std::string("{\"id\": 1, \"text\": \"clé ") + kApiKey + "\"}\n" +
                            "this is not json\n"
                            "\n"
                            "{\"id\": \"b\", \"text\": \"rien à signaler\"}\r\n"
                            "{\"id\": {\"k\": [1]}, \"text\": 42}\n"
                            "{\"text\": \"CONFIDENTIEL\"}\n";
  const RunResult result = run(input, {"--jsonl"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  std::istringstream lines(result.out);
  std::vector<json> outputs;
  for (std::string line; std::getline(lines, line);) outputs.push_back(json::parse(line));
  ASSERT_EQ(outputs.size(), 5u) << result.out;
  EXPECT_EQ(outputs[0]["id"], 1);
  EXPECT_EQ(outputs[0]["action"], "redact");
  EXPECT_EQ(outputs[0]["redacted"], "clé [SECRET_1]");
  EXPECT_TRUE(outputs[1]["id"].is_null());
  EXPECT_TRUE(outputs[1].contains("error"));
  EXPECT_EQ(outputs[2]["id"], "b");
  EXPECT_EQ(outputs[2]["action"], "allow");
  EXPECT_EQ(outputs[3]["id"], json::parse(R"({"k": [1]})"));
  EXPECT_TRUE(outputs[3].contains("error"));
  EXPECT_TRUE(outputs[4]["id"].is_null());
  EXPECT_EQ(outputs[4]["action"], "block");
}

TEST_F(ScanCommandTest, JsonlWithOnlyGoodLinesExitsZero) {
  const RunResult result = run("{\"id\": 7, \"text\": \"bonjour\"}\n", {"--jsonl"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_EQ(json::parse(result.out)["id"], 7);
}

TEST_F(ScanCommandTest, ScanFailureFailsClosed) {
  // Above the scanner's 64 MiB inspection limit: the scan fails, and that must read as "block".
  const std::string huge((64u << 20) + 1, 'a');
  const RunResult result = run(huge, {});
  EXPECT_EQ(result.exit_code, kExitFailure);
  const json output = parse_single(result);
  EXPECT_EQ(output["action"], "block");
  EXPECT_EQ(output["error"], "input_too_large");
}

TEST_F(ScanCommandTest, InvalidPolicyPrintsEveryLocatedProblemAndExitsTwo) {
  const auto policy =
      dir_.write("policy.yaml",
                 "mode: sometimes\n"
                 "categories:\n"
                 "  secret:\n"
                 "    actions: {internal: redact, sovereign: nuke, external: redact}\n");
  const RunResult result = run("texte", {"--policy", policy.string()});
  EXPECT_EQ(result.exit_code, kExitInvalidRules);
  EXPECT_TRUE(result.out.empty());
  EXPECT_NE(result.err.find(policy.string() + ":1:7: error:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(policy.string() + ":4:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("'nuke'"), std::string::npos);
}

TEST_F(ScanCommandTest, InvalidRulesExitTwoWithTheirLocation) {
  const auto bad = dir_.write("bad/broken.yaml",
                              "category: secret\n"
                              "rules:\n"
                              "  - id: broken_lookahead\n"
                              "    patterns:\n"
                              "      - name: p\n"
                              "        regex: 'foo(?=bar)'\n"
                              "        score: 0.5\n");
  const RunResult result = run("texte", {"--rules", bad.parent_path().string()});
  EXPECT_EQ(result.exit_code, kExitInvalidRules);
  EXPECT_TRUE(result.out.empty());
  EXPECT_NE(result.err.find("broken.yaml:"), std::string::npos) << result.err;
}

TEST_F(ScanCommandTest, BadUsageExitsTwo) {
  EXPECT_EQ(run("", {"--frobnicate"}).exit_code, kExitInvalidRules);
  EXPECT_EQ(run("", {"--policy"}).exit_code, kExitInvalidRules);
}

// The real binary, as a user or script runs it.
TEST_F(ScanCommandTest, BinaryRedactsANirFromStandardInput) {
  const auto input = dir_.write("input.txt", std::string("Mme X., NIR ") + kValidNir + "\n");
  const std::string command = std::string("'") + GATEKEEPER_BINARY + "' scan --rules '" +
                              rules_dir_.string() + "' < '" + input.string() + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kExitOk);
  const json output = json::parse(out, nullptr, false);
  ASSERT_FALSE(output.is_discarded()) << out;
  EXPECT_EQ(output["action"], "redact");
  ASSERT_EQ(output["findings"].size(), 1u);
  EXPECT_EQ(output["findings"][0]["category"], "health_identifier");
  EXPECT_EQ(output["redacted"], "Mme X., NIR [NIR_1]\n");
}

// The shipped rule pack with the shipped policy (skipped while the pack is absent).
TEST_F(ScanCommandTest, ShippedRulesRedactANirByDefault) {
  const auto shipped_rules = kSourceDir / "rules";
  if (!std::filesystem::is_directory(shipped_rules) || std::filesystem::is_empty(shipped_rules)) {
    GTEST_SKIP() << "no shipped rules/ in this tree";
  }
  const RunResult result =
      run(std::string("Patient suivi pour diabète, numéro de sécurité sociale ") +
              "1 84 12 75 123 456 40.",
          {"--rules", shipped_rules.string()});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const json output = parse_single(result);
  bool has_identifier = false;
  for (const auto& finding : output["findings"]) {
    has_identifier = has_identifier || finding["category"] == "health_identifier";
  }
  EXPECT_TRUE(has_identifier) << output.dump();
  EXPECT_NE(output["action"], "allow");
  EXPECT_NE(output["action"], "log");
}

}  // namespace
}  // namespace gatekeeper::admin

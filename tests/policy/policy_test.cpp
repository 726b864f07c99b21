#include "gatekeeper/policy/policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <unistd.h>

namespace gatekeeper::policy {
namespace {

const std::filesystem::path kShippedPolicy =
    std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "config" / "policy.yaml";

constexpr const char* kAllCategories[] = {
    "health_identifier", "nominative_health",     "patient_data", "unpublished_research",
    "confidential",      "intellectual_property", "evaluation",   "secret",
    "personal_data"};

// A valid message block, indented for a category.
std::string message_yaml() {
  return "    message:\n"
         "      fr: {label: l, reason: r, alternative: a}\n"
         "      en: {label: l, reason: r, alternative: a}\n";
}

std::string policy_yaml(const std::string& categories, const std::string& mode = "enforce") {
  return "version: 1\nmode: " + mode +
         "\ncontact: DPO\njustification_prefix: \"#gk-justify:\"\n"
         "default_action: {internal: allow, sovereign: log, external: warn}\n"
         "categories:\n" +
         categories;
}

PolicyConstSharedPtr parse_ok(const std::string& yaml) {
  Diagnostics diagnostics;
  auto policy = Policy::parse(yaml, "policy.yaml", diagnostics);
  EXPECT_TRUE(policy.has_value());
  for (const auto& d : diagnostics) {
    EXPECT_NE(d.severity, Diagnostic::Severity::Error) << d.to_string();
  }
  return policy.has_value() ? *policy : nullptr;
}

Diagnostics parse_errors(const std::string& yaml) {
  Diagnostics diagnostics;
  auto policy = Policy::parse(yaml, "policy.yaml", diagnostics);
  EXPECT_FALSE(policy.has_value());
  Diagnostics errors;
  std::copy_if(diagnostics.begin(), diagnostics.end(), std::back_inserter(errors),
               [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::Error; });
  return errors;
}

bool mentions(const Diagnostics& diagnostics, const std::string& text) {
  return std::any_of(diagnostics.begin(), diagnostics.end(), [&](const Diagnostic& d) {
    return d.message.find(text) != std::string::npos;
  });
}

detect::Finding finding(const std::string& category, std::size_t start = 0, std::size_t end = 1) {
  detect::Finding f;
  f.rule_id = category + "_rule";
  f.category = category;
  f.start = start;
  f.end = end;
  return f;
}

// --- The shipped Inserm policy ------------------------------------------------------------------

class ShippedPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = Policy::load(kShippedPolicy, diagnostics_);
    for (const auto& d : diagnostics_) ADD_FAILURE() << d.to_string();
    ASSERT_TRUE(loaded.has_value());
    policy_ = *loaded;
  }
  Action at(const char* category, Tier tier) const { return policy_->action_for(category, tier); }

  Diagnostics diagnostics_;
  PolicyConstSharedPtr policy_;
};

TEST_F(ShippedPolicyTest, LoadsWithoutAnyDiagnosticInEnforceMode) {
  EXPECT_TRUE(diagnostics_.empty());
  EXPECT_FALSE(policy_->monitor());
  EXPECT_EQ(policy_->justification_prefix(), "#gk-justify:");
  EXPECT_FALSE(policy_->contact().empty());
}

TEST_F(ShippedPolicyTest, IdentifiersAndSecretsAreRedacted) {
  EXPECT_EQ(at("health_identifier", Tier::Internal), Action::Log);
  EXPECT_EQ(at("health_identifier", Tier::Sovereign), Action::Redact);
  EXPECT_EQ(at("health_identifier", Tier::External), Action::Redact);
  for (Tier tier : {Tier::Internal, Tier::Sovereign, Tier::External}) {
    EXPECT_EQ(at("secret", tier), Action::Redact);
  }
}

TEST_F(ShippedPolicyTest, DocumentLevelCategoriesAreBlockedOutsideTheInstitute) {
  for (const char* category :
       {"nominative_health", "patient_data", "confidential", "intellectual_property"}) {
    EXPECT_EQ(at(category, Tier::Internal), Action::Log) << category;
    EXPECT_EQ(at(category, Tier::Sovereign), Action::Block) << category;
    EXPECT_EQ(at(category, Tier::External), Action::Block) << category;
    EXPECT_TRUE(policy_->categories().find(category)->second.block_level) << category;
  }
  for (const char* category : {"unpublished_research", "evaluation"}) {
    EXPECT_EQ(at(category, Tier::Internal), Action::Log) << category;
    EXPECT_EQ(at(category, Tier::Sovereign), Action::Warn) << category;
    EXPECT_EQ(at(category, Tier::External), Action::Warn) << category;
  }
}

TEST_F(ShippedPolicyTest, PersonalDataAloneIsOnlyLogged) {
  EXPECT_EQ(at("personal_data", Tier::Internal), Action::Allow);
  EXPECT_EQ(at("personal_data", Tier::Sovereign), Action::Log);
  EXPECT_EQ(at("personal_data", Tier::External), Action::Log);
}

TEST_F(ShippedPolicyTest, SovereignTierIsNeverMoreLenientThanNeededForSensitiveData) {
  // « même dans ce cas, l'utilisation de données sensibles est proscrite »: Mistral gets the same
  // action as any external platform for every category.
  for (const char* category : kAllCategories) {
    EXPECT_EQ(at(category, Tier::Sovereign), at(category, Tier::External)) << category;
  }
}

TEST_F(ShippedPolicyTest, EveryCategoryExplainsItselfInBothLanguages) {
  for (const char* category : kAllCategories) {
    const CategoryMessage* message = policy_->message_for(category);
    ASSERT_NE(message, nullptr) << category;
    for (const std::string* text :
         {&message->label_fr, &message->label_en, &message->reason_fr, &message->reason_en,
          &message->alternative_fr, &message->alternative_en}) {
      EXPECT_FALSE(text->empty()) << category;
    }
  }
  EXPECT_NE(
      policy_->message_for("nominative_health")
          ->reason_fr.find("ne doivent en aucun cas être utilisées avec des données sensibles"),
      std::string::npos);
}

// --- Parsing ------------------------------------------------------------------------------------

TEST(PolicyParseTest, ReadsPerTierActionsAndShorthand) {
  auto policy = parse_ok(policy_yaml("  secret:\n    actions: redact\n" + message_yaml() +
                                     "  confidential:\n    block_level: true\n"
                                     "    actions: {internal: allow, sovereign: block, "
                                     "external: block}\n" +
                                     message_yaml()));
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->action_for("secret", Tier::Internal), Action::Redact);
  EXPECT_EQ(policy->action_for("secret", Tier::External), Action::Redact);
  EXPECT_EQ(policy->action_for("confidential", Tier::Internal), Action::Allow);
  EXPECT_EQ(policy->action_for("confidential", Tier::Sovereign), Action::Block);
}

TEST(PolicyParseTest, UnlistedCategoryGetsDefaultActionOfItsTier) {
  auto policy = parse_ok(policy_yaml("  secret:\n    actions: redact\n" + message_yaml()));
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->action_for("unheard_of", Tier::Internal), Action::Allow);
  EXPECT_EQ(policy->action_for("unheard_of", Tier::Sovereign), Action::Log);
  EXPECT_EQ(policy->action_for("unheard_of", Tier::External), Action::Warn);
  EXPECT_EQ(policy->message_for("unheard_of"), nullptr);
}

TEST(PolicyParseTest, MonitorModeIsRead) {
  auto policy =
      parse_ok(policy_yaml("  secret:\n    actions: redact\n" + message_yaml(), "monitor"));
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(policy->monitor());
}

TEST(PolicyParseTest, UnknownTopLevelKeyIsLocated) {
  const auto errors = parse_errors("mode: enforce\nmonitoring: true\ncategories: {}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "policy.yaml");
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_EQ(errors[0].column, 1);
  EXPECT_NE(errors[0].message.find("monitoring"), std::string::npos);
}

TEST(PolicyParseTest, UnknownActionAndTierAreLocatedAndNamed) {
  const auto errors = parse_errors(policy_yaml(
      "  secret:\n    actions: {internal: redact, sovereign: deny, external: redact}\n" +
      message_yaml() +
      "  confidential:\n    actions: {internal: log, sovereign: block, extrenal: block}\n" +
      message_yaml()));
  ASSERT_TRUE(mentions(errors, "'deny' is not an action"));
  ASSERT_TRUE(mentions(errors, "'extrenal' is not a tier"));
  for (const auto& e : errors) {
    EXPECT_GT(e.line, 0) << e.to_string();
    EXPECT_GT(e.column, 0) << e.to_string();
  }
  const auto deny = std::find_if(errors.begin(), errors.end(), [](const Diagnostic& d) {
    return d.message.find("'deny'") != std::string::npos;
  });
  EXPECT_EQ(deny->line, 8);
  EXPECT_EQ(deny->rule_id, "secret");
}

TEST(PolicyParseTest, WarnIsRefusedForBlockLevelCategoryOnEveryTier) {
  const auto errors = parse_errors(
      policy_yaml("  patient_data:\n    block_level: true\n"
                  "    actions: {internal: warn, sovereign: block, external: block}\n" +
                  message_yaml()));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("'warn'"), std::string::npos);
  EXPECT_EQ(errors[0].rule_id, "patient_data");
  EXPECT_EQ(errors[0].line, 9);
}

TEST(PolicyParseTest, BlockLevelCategoryMustBeBlockedOutsideTheInstitute) {
  for (const char* weak : {"warn", "redact", "log", "allow"}) {
    const auto errors = parse_errors(
        policy_yaml(std::string("  confidential:\n    block_level: true\n"
                                "    actions: {internal: log, sovereign: block, external: ") +
                    weak + "}\n" + message_yaml()));
    EXPECT_EQ(errors.size(), 1u) << weak;
  }
}

TEST(PolicyParseTest, MissingTierIsAnError) {
  const auto errors = parse_errors(
      policy_yaml("  secret:\n    actions: {internal: log, external: redact}\n" + message_yaml()));
  EXPECT_TRUE(mentions(errors, "'sovereign'"));
}

TEST(PolicyParseTest, DuplicatedCategoryIsAnError) {
  const auto errors = parse_errors(policy_yaml("  secret:\n    actions: redact\n" + message_yaml() +
                                               "  secret:\n    actions: log\n" + message_yaml()));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("twice"), std::string::npos);
}

TEST(PolicyParseTest, IncompleteMessageIsAnError) {
  const auto errors = parse_errors(policy_yaml(
      "  secret:\n    actions: redact\n    message:\n      fr: {label: l, reason: r}\n"));
  EXPECT_TRUE(mentions(errors, "'alternative'"));
  EXPECT_TRUE(mentions(errors, "'en'"));
}

TEST(PolicyParseTest, InvalidModeIsAnError) {
  const auto errors =
      parse_errors(policy_yaml("  secret:\n    actions: redact\n" + message_yaml(), "audit"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 2);
}

TEST(PolicyParseTest, ReportsEveryProblemInOnePass) {
  const auto errors = parse_errors(
      "mode: sometimes\nfoo: 1\ncategories:\n"
      "  secret:\n    actions: nuke\n    colour: red\n");
  EXPECT_GE(errors.size(), 3u);
}

TEST(PolicyParseTest, SyntaxErrorIsLocated) {
  Diagnostics diagnostics;
  auto policy = Policy::parse("mode: enforce\ncategories: [unclosed\n", "p.yaml", diagnostics);
  ASSERT_FALSE(policy.has_value());
  EXPECT_EQ(policy.error(), make_error_code(Errc::ConfigSyntax));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_GT(diagnostics[0].line, 0);
}

TEST(PolicyParseTest, MissingFileIsConfigNotFound) {
  Diagnostics diagnostics;
  auto policy = Policy::load("/nonexistent/gatekeeper/policy.yaml", diagnostics);
  ASSERT_FALSE(policy.has_value());
  EXPECT_EQ(policy.error(), make_error_code(Errc::ConfigNotFound));
  EXPECT_TRUE(has_errors(diagnostics));
}

TEST(PolicyParseTest, EmptyFileAndDirectoryAreReportedAsSuch) {
  const auto dir = std::filesystem::temp_directory_path();
  Diagnostics diagnostics;
  auto policy = Policy::load(dir, diagnostics);
  ASSERT_FALSE(policy.has_value());
  EXPECT_EQ(policy.error(), make_error_code(Errc::ConfigUnreadable));

  const auto empty = dir / ("gatekeeper-empty-policy-" + std::to_string(::getpid()) + ".yaml");
  { std::ofstream create(empty); }
  diagnostics.clear();
  policy = Policy::load(empty, diagnostics);
  std::filesystem::remove(empty);
  ASSERT_FALSE(policy.has_value());
  EXPECT_EQ(policy.error(), make_error_code(Errc::ConfigInvalid));
  EXPECT_TRUE(mentions(diagnostics, "must be a YAML map"));
}

// --- decide() -----------------------------------------------------------------------------------

class DecideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Diagnostics diagnostics;
    auto loaded = Policy::load(kShippedPolicy, diagnostics);
    ASSERT_TRUE(loaded.has_value());
    policy_ = *loaded;
  }
  PolicyConstSharedPtr policy_;
};

TEST_F(DecideTest, NoFindingsIsAllow) {
  const Decision d = decide(*policy_, {}, Tier::External);
  EXPECT_EQ(d.action, Action::Allow);
  EXPECT_EQ(d.would_action, Action::Allow);
  EXPECT_TRUE(d.categories.empty());
  EXPECT_TRUE(d.finding_actions.empty());
}

TEST_F(DecideTest, StrongestActionWinsAndCategoriesAreThoseAtThatAction) {
  const detect::Findings findings = {finding("secret"),       finding("personal_data"),
                                     finding("patient_data"), finding("confidential"),
                                     finding("patient_data"), finding("evaluation")};
  const Decision d = decide(*policy_, findings, Tier::External);
  EXPECT_EQ(d.would_action, Action::Block);
  EXPECT_EQ(d.action, Action::Block);
  EXPECT_EQ(d.categories, (std::vector<std::string>{"confidential", "patient_data"}));
  EXPECT_EQ(d.finding_actions, (std::vector<Action>{Action::Redact, Action::Log, Action::Block,
                                                    Action::Block, Action::Block, Action::Warn}));
}

TEST_F(DecideTest, WarnBeatsRedact) {
  const Decision d =
      decide(*policy_, {finding("health_identifier"), finding("evaluation")}, Tier::Sovereign);
  EXPECT_EQ(d.action, Action::Warn);
  EXPECT_EQ(d.categories, std::vector<std::string>{"evaluation"});
}

TEST_F(DecideTest, TierChangesTheDecision) {
  const detect::Findings findings = {finding("nominative_health"), finding("personal_data")};
  EXPECT_EQ(decide(*policy_, findings, Tier::Internal).action, Action::Log);
  EXPECT_EQ(decide(*policy_, findings, Tier::Sovereign).action, Action::Block);
}

TEST(DecideMonitorTest, MonitorRecordsWouldActionButOnlyLogs) {
  auto policy = parse_ok(policy_yaml("  secret:\n    actions: redact\n" + message_yaml() +
                                         "  personal_data:\n    actions: allow\n" + message_yaml() +
                                         "  confidential:\n    actions: block\n" + message_yaml(),
                                     "monitor"));
  ASSERT_NE(policy, nullptr);
  Decision d = decide(*policy, {finding("secret"), finding("confidential")}, Tier::External);
  EXPECT_TRUE(d.monitor);
  EXPECT_EQ(d.would_action, Action::Block);
  EXPECT_EQ(d.action, Action::Log);
  EXPECT_EQ(d.categories, std::vector<std::string>{"confidential"});

  d = decide(*policy, {finding("personal_data")}, Tier::External);
  EXPECT_EQ(d.would_action, Action::Allow);
  EXPECT_EQ(d.action, Action::Allow);  // monitor never raises an action
  d = decide(*policy, {finding("unlisted")}, Tier::Sovereign);  // default_action: log
  EXPECT_EQ(d.action, Action::Log);
}

}  // namespace
}  // namespace gatekeeper::policy

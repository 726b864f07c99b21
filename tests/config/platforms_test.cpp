#include "gatekeeper/config/platforms.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace gatekeeper::config {
namespace {

using policy::Tier;

const std::filesystem::path kShippedPlatforms =
    std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "config" / "platforms.yaml";

class ShippedPlatformsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = PlatformRegistry::load(kShippedPlatforms, diagnostics_);
    for (const auto& d : diagnostics_) ADD_FAILURE() << d.to_string();
    ASSERT_TRUE(loaded.has_value());
    registry_ = *loaded;
  }
  std::string id_of(std::string_view host) const {
    const HostMatch m = registry_->match(host);
    return m.platform == nullptr ? std::string("-") : m.platform->id;
  }

  Diagnostics diagnostics_;
  PlatformRegistryConstSharedPtr registry_;
};

TEST_F(ShippedPlatformsTest, EveryPlatformOfTheReferenceIsListedWithItsAdapter) {
  const std::pair<const char*, const char*> expected[] = {
      {"api.openai.com", "openai_api"},
      {"eu.api.openai.com", "openai_api"},
      {"chatgpt.com", "chatgpt"},
      {"chat.openai.com", "chatgpt"},
      {"api.anthropic.com", "anthropic_api"},
      {"claude.ai", "claude_web"},
      {"generativelanguage.googleapis.com", "gemini_api"},
      {"europe-west9-aiplatform.googleapis.com", "gemini_api"},
      {"gemini.google.com", "gemini_web"},
      {"api.mistral.ai", "mistral_api"},
      {"chat.mistral.ai", "le_chat"},
      {"api.deepseek.com", "deepseek_api"},
      {"chat.deepseek.com", "deepseek_web"},
      {"api.perplexity.ai", "perplexity_api"},
      {"www.perplexity.ai", "perplexity_web"},
      {"perplexity.ai", "perplexity_web"},
      {"copilot.microsoft.com", "copilot"},
      {"substrate.office.com", "m365_copilot"},
      {"m365.cloud.microsoft", "m365_copilot"},
      {"api.groq.com", "groq"},
      {"api.together.xyz", "together"},
      {"openrouter.ai", "openrouter"},
      {"api.cerebras.ai", "cerebras"},
      {"api.x.ai", "xai"},
      {"huggingface.co", "huggingchat"}};
  for (const auto& [host, id] : expected) EXPECT_EQ(id_of(host), id) << host;

  const auto adapter = [&](const char* host) { return registry_->match(host).platform->adapter; };
  EXPECT_EQ(adapter("api.openai.com"), "openai");
  EXPECT_EQ(adapter("api.mistral.ai"), "openai");
  EXPECT_EQ(adapter("api.deepseek.com"), "openai");
  EXPECT_EQ(adapter("chatgpt.com"), "chatgpt");
  EXPECT_EQ(adapter("api.anthropic.com"), "anthropic");
  EXPECT_EQ(adapter("gemini.google.com"), "gemini_web");
  EXPECT_EQ(adapter("www.perplexity.ai"), "perplexity_web");
}

TEST_F(ShippedPlatformsTest, UploadHostsAreRecognisedAsSuch) {
  for (const char* host : {"files.oaiusercontent.com", "sdmntprwestus.oaiusercontent.com"}) {
    const HostMatch m = registry_->match(host);
    ASSERT_NE(m.platform, nullptr) << host;
    EXPECT_EQ(m.platform->id, "chatgpt");
    EXPECT_TRUE(m.upload_host);
  }
  EXPECT_TRUE(registry_->match("content-push.googleapis.com").upload_host);
  EXPECT_EQ(id_of("ppl-ai-file-upload.s3.amazonaws.com"), "perplexity_web");
  EXPECT_FALSE(registry_->match("chatgpt.com").upload_host);
}

TEST_F(ShippedPlatformsTest, OnlyMistralIsSovereignAndUnknownHostsAreExternal) {
  EXPECT_EQ(registry_->tier_for("api.mistral.ai"), Tier::Sovereign);
  EXPECT_EQ(registry_->tier_for("chat.mistral.ai"), Tier::Sovereign);
  EXPECT_EQ(registry_->tier_for("api.openai.com"), Tier::External);
  EXPECT_EQ(registry_->tier_for("example.org"), Tier::External);
  for (const auto& platform : registry_->platforms()) {
    if (platform.id == "mistral_api" || platform.id == "le_chat") continue;
    EXPECT_EQ(platform.tier, Tier::External) << platform.id;
  }
}

TEST_F(ShippedPlatformsTest, UnrelatedHostsAreNotMatched) {
  for (const char* host :
       {"openai.com", "www.google.com", "googleapis.com", "oaiusercontent.com", "evilchatgpt.com",
        "chatgpt.com.evil.example", "mistral.ai", "s3.amazonaws.com"}) {
    EXPECT_EQ(registry_->match(host).platform, nullptr) << host;
  }
}

TEST_F(ShippedPlatformsTest, HostsAreComparedWithoutCasePortOrTrailingDot) {
  EXPECT_EQ(id_of("API.OpenAI.com"), "openai_api");
  EXPECT_EQ(id_of("api.openai.com:443"), "openai_api");
  EXPECT_EQ(id_of("claude.ai."), "claude_web");
  EXPECT_EQ(id_of("Files.OAIUserContent.com:443"), "chatgpt");
}

TEST_F(ShippedPlatformsTest, UnsanctionedPlatformsAreDeniedWithBilingualReason) {
  for (const char* host : {"chat.qwen.ai", "chat.z.ai", "kimi.com", "poe.com"}) {
    const DeniedPlatform* denied = registry_->denied(host);
    ASSERT_NE(denied, nullptr) << host;
    EXPECT_NE(denied->reason_fr.find("non autorisée par l'Inserm"), std::string::npos) << host;
    EXPECT_FALSE(denied->reason_en.empty());
    EXPECT_EQ(registry_->match(host).platform, nullptr) << host;
  }
  EXPECT_EQ(registry_->denied("chatgpt.com"), nullptr);
}

TEST_F(ShippedPlatformsTest, IdsAreUnique) {
  std::set<std::string> ids;
  for (const auto& platform : registry_->platforms()) {
    EXPECT_TRUE(ids.insert(platform.id).second) << platform.id;
    EXPECT_FALSE(platform.name.empty());
    EXPECT_FALSE(platform.hosts.empty());
  }
  EXPECT_GE(ids.size(), 20u);
}

// --- host_matches ------------------------------------------------------------------------------

TEST(HostMatchesTest, ExactAndWildcardSemantics) {
  EXPECT_TRUE(host_matches("api.openai.com", "api.openai.com"));
  EXPECT_FALSE(host_matches("api.openai.com", "xapi.openai.com"));
  EXPECT_TRUE(host_matches("*.example.com", "a.example.com"));
  EXPECT_TRUE(host_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "badexample.com"));
  EXPECT_TRUE(host_matches("*-aiplatform.googleapis.com", "us-central1-aiplatform.googleapis.com"));
  EXPECT_FALSE(host_matches("*-aiplatform.googleapis.com", "-aiplatform.googleapis.com"));
  EXPECT_TRUE(host_matches("*.Example.COM", "A.example.com:8443"));
  EXPECT_FALSE(host_matches("a.example.com", ""));
}

// --- Parsing ------------------------------------------------------------------------------------

Diagnostics errors_of(const std::string& yaml) {
  Diagnostics diagnostics;
  auto registry = PlatformRegistry::parse(yaml, "platforms.yaml", diagnostics);
  EXPECT_FALSE(registry.has_value());
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

constexpr const char* kHeader = "version: 1\nplatforms:\n";

TEST(PlatformsParseTest, MinimalFileParses) {
  Diagnostics diagnostics;
  auto registry = PlatformRegistry::parse(
      std::string(kHeader) +
          "  - {id: a, name: A, tier: internal, adapter: generic, hosts: [ai.example.org],\n"
          "     upload_hosts: [\"*.files.example.org\"]}\n",
      "p.yaml", diagnostics);
  ASSERT_TRUE(registry.has_value()) << (diagnostics.empty() ? "" : diagnostics[0].to_string());
  EXPECT_EQ((*registry)->tier_for("AI.example.org"), Tier::Internal);
  EXPECT_TRUE((*registry)->match("x.files.example.org").upload_host);
  EXPECT_TRUE((*registry)->denied_platforms().empty());
}

TEST(PlatformsParseTest, UnknownKeyAndTierAreLocated) {
  const auto errors = errors_of(std::string(kHeader) +
                                "  - id: a\n"
                                "    name: A\n"
                                "    tier: public\n"
                                "    adapter: openai\n"
                                "    hosts: [a.example.org]\n"
                                "    host: [b.example.org]\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[0].column, 11);
  EXPECT_EQ(errors[0].rule_id, "a");
  EXPECT_EQ(errors[1].line, 8);
  EXPECT_TRUE(mentions(errors, "unknown key 'host'"));
}

TEST(PlatformsParseTest, MalformedHostsAreRejected) {
  const auto errors = errors_of(std::string(kHeader) +
                                "  - {id: a, name: A, tier: external, adapter: openai,\n"
                                "     hosts: [\"https://a.example.org\", \"a.example.org:443\", "
                                "\"*.com\", \"a*.example.org\",\n"
                                "             localhost, \"a.example.org/v1\"]}\n");
  EXPECT_EQ(errors.size(), 6u);
}

TEST(PlatformsParseTest, HostClaimedByTwoEntriesIsAnError) {
  const auto errors =
      errors_of(std::string(kHeader) +
                "  - {id: a, name: A, tier: external, adapter: openai, hosts: [x.example.org]}\n"
                "  - {id: b, name: B, tier: external, adapter: openai, hosts: [X.example.org]}\n"
                "deny:\n"
                "  - {name: C, hosts: [x.example.org], reason: {fr: non, en: no}}\n");
  EXPECT_EQ(errors.size(), 2u);
  EXPECT_TRUE(mentions(errors, "already listed by a"));
}

TEST(PlatformsParseTest, MissingFieldsAndDuplicateIdsAreReported) {
  const auto errors = errors_of(std::string(kHeader) +
                                "  - {id: a, name: A, tier: external, hosts: [a.example.org]}\n"
                                "  - {id: a, name: A2, tier: external, adapter: openai,\n"
                                "     hosts: [b.example.org]}\n"
                                "deny:\n"
                                "  - {name: D, hosts: [d.example.org], reason: {fr: non}}\n");
  EXPECT_TRUE(mentions(errors, "no 'adapter'"));
  EXPECT_TRUE(mentions(errors, "used twice"));
  EXPECT_TRUE(mentions(errors, "reason.fr and reason.en"));
}

TEST(PlatformsParseTest, ExactHostWinsOverWildcardOfAnotherPlatform) {
  Diagnostics diagnostics;
  auto registry = PlatformRegistry::parse(
      std::string(kHeader) +
          "  - {id: wide, name: W, tier: external, adapter: generic, hosts: [\"*.example.org\"]}\n"
          "  - {id: own, name: O, tier: internal, adapter: openai, hosts: [ai.example.org]}\n",
      "p.yaml", diagnostics);
  ASSERT_TRUE(registry.has_value());
  EXPECT_EQ((*registry)->match("ai.example.org").platform->id, "own");
  EXPECT_EQ((*registry)->match("other.example.org").platform->id, "wide");
}

TEST(PlatformsParseTest, SyntaxErrorIsConfigSyntax) {
  Diagnostics diagnostics;
  auto registry = PlatformRegistry::parse("platforms: [\n  {id: a\n", "p.yaml", diagnostics);
  ASSERT_FALSE(registry.has_value());
  EXPECT_EQ(registry.error(), make_error_code(Errc::ConfigSyntax));
  ASSERT_FALSE(diagnostics.empty());
  EXPECT_GT(diagnostics[0].line, 0);
}

}  // namespace
}  // namespace gatekeeper::config

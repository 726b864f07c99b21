#include "gatekeeper/detect/evaluation.hpp"
#include "gatekeeper/detect/prefilter.hpp"
#include "gatekeeper/detect/scanner.hpp"

#include "corpus_evaluation_support.hpp"
#include "support/inserm_categories.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <unistd.h>

namespace gatekeeper::detect {
namespace {

namespace fs = std::filesystem;

// A corpus file in a fresh temporary directory, removed with the fixture.
class CorpusFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gatekeeper_corpus_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path write(const std::string& content) {
    fs::path file = dir_ / "prompts.jsonl";
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }
  fs::path dir_;
};

TEST_F(CorpusFile, ParsesEveryFieldAndSkipsBlankLines) {
  auto file = write(
      R"({"id":"a-1","lang":"fr","text":"Bonjour","expect":["secret","confidential"],"note":"n"})"
      "\n\n   \n"
      R"({"id":"a-2","lang":"en","text":"Hello","expect":[]})"
      "\r\n");
  std::string error;
  auto corpus = read_corpus(file, &error);
  ASSERT_TRUE(corpus) << error;
  ASSERT_EQ(corpus->size(), 2u);
  EXPECT_EQ((*corpus)[0].id, "a-1");
  EXPECT_EQ((*corpus)[0].lang, "fr");
  EXPECT_EQ((*corpus)[0].text, "Bonjour");
  EXPECT_EQ((*corpus)[0].expect, (std::vector<std::string>{"secret", "confidential"}));
  EXPECT_EQ((*corpus)[0].note, "n");
  EXPECT_EQ((*corpus)[1].id, "a-2");
  EXPECT_TRUE((*corpus)[1].expect.empty());
  EXPECT_TRUE((*corpus)[1].note.empty());
}

TEST_F(CorpusFile, ReportsEveryBadLineWithItsNumberAndNoText) {
  auto file = write(
      R"({"id":"ok-1","lang":"fr","text":"premier","expect":[]})" "\n"
      R"({"id":"bad-json","lang":"fr","text":"SECRET-TEXT-1")" "\n"
      R"({"id":"ok-2","lang":"en","text":"second","expect":[]})" "\n"
      R"({"id":"bad-lang","lang":"de","text":"SECRET-TEXT-2","expect":[]})" "\n"
      R"({"id":"bad-expect","lang":"en","text":"SECRET-TEXT-3","expect":"secret"})" "\n"
      R"({"lang":"en","text":"SECRET-TEXT-4","expect":[]})" "\n");
  std::string error;
  auto corpus = read_corpus(file, &error);
  ASSERT_FALSE(corpus);
  EXPECT_EQ(corpus.error(), make_error_code(Errc::ConfigSyntax));
  EXPECT_NE(error.find("prompts.jsonl:2: not valid JSON"), std::string::npos) << error;
  EXPECT_NE(error.find("prompts.jsonl:4: field \"lang\""), std::string::npos) << error;
  EXPECT_NE(error.find("prompts.jsonl:5: field \"expect\""), std::string::npos) << error;
  EXPECT_NE(error.find("prompts.jsonl:6: missing field \"id\""), std::string::npos) << error;
  EXPECT_EQ(error.find(":1:"), std::string::npos) << error;
  EXPECT_EQ(error.find(":3:"), std::string::npos) << error;
  EXPECT_EQ(error.find("SECRET-TEXT"), std::string::npos) << "prompt text leaked into the error";
}

TEST_F(CorpusFile, WrongFieldTypeIsConfigInvalid) {
  auto file = write(R"({"id":"x","lang":"fr","text":42,"expect":[]})" "\n");
  std::string error;
  auto corpus = read_corpus(file, &error);
  ASSERT_FALSE(corpus);
  EXPECT_EQ(corpus.error(), make_error_code(Errc::ConfigInvalid));
  EXPECT_NE(error.find(":1: field \"text\" must be a string"), std::string::npos) << error;
}

TEST_F(CorpusFile, RejectsDuplicateIds) {
  auto file = write(R"({"id":"dup","lang":"fr","text":"a","expect":[]})" "\n"
                    R"({"id":"dup","lang":"en","text":"b","expect":[]})" "\n");
  std::string error;
  auto corpus = read_corpus(file, &error);
  ASSERT_FALSE(corpus);
  EXPECT_EQ(corpus.error(), make_error_code(Errc::ConfigInvalid));
  EXPECT_NE(error.find(":2: duplicate id \"dup\""), std::string::npos) << error;
}

TEST_F(CorpusFile, MissingFileIsConfigNotFound) {
  std::string error;
  auto corpus = read_corpus(dir_ / "absent.jsonl", &error);
  ASSERT_FALSE(corpus);
  EXPECT_EQ(corpus.error(), make_error_code(Errc::ConfigNotFound));
  EXPECT_NE(error.find("absent.jsonl"), std::string::npos);
  // A null error pointer is allowed.
  EXPECT_FALSE(read_corpus(dir_ / "absent.jsonl", nullptr));
}

RuleSetConstSharedPtr compile_inline(const std::string& yaml) {
  Diagnostics diagnostics;
  auto specs = parse_rule_text(yaml, "inline.yaml", diagnostics);
  auto rules = RuleSet::compile(std::move(specs), RuleSetOptions{}, diagnostics);
  std::string all;
  for (const auto& d : diagnostics) all += d.to_string() + "\n";
  EXPECT_TRUE(rules) << all;
  return rules ? *rules : nullptr;
}

constexpr const char* kMarkerRule = R"(
category: secret
rules:
  - id: zorglub_marker
    description: Mot de test.
    severity: high
    languages: [fr, en]
    patterns:
      - name: marker
        regex: '\bzorglub\b'
        score: 0.9
    min_score: 0.5
    examples:
      match: ["le mot zorglub"]
      no_match: ["rien ici"]
)";

TEST(Evaluation, CountsRecallFalsePositivesAndMissesByIdOnly) {
  auto rules = compile_inline(kMarkerRule);
  ASSERT_NE(rules, nullptr);
  std::vector<LabelledPrompt> corpus = {
      {"s1", "fr", "il a dit zorglub", {"secret"}, ""},
      {"s2", "en", "nothing to see", {"secret"}, ""},
      {"s3", "fr", "zorglub encore", {"secret", "confidential"}, ""},
      {"s4", "en", "zorglub but labelled otherwise", {"confidential"}, ""},
      {"b1", "fr", "texte anodin", {}, ""},
      {"b2", "en", "a benign zorglub", {}, ""},
      {"b3", "en", "plain", {}, ""},
  };
  auto report = evaluate(*rules, corpus);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->categories.at("secret").expected, 3);
  EXPECT_EQ(report->categories.at("secret").detected, 2);
  EXPECT_DOUBLE_EQ(report->categories.at("secret").recall(), 2.0 / 3.0);
  EXPECT_EQ(report->categories.at("confidential").expected, 2);
  EXPECT_EQ(report->categories.at("confidential").detected, 0);
  EXPECT_EQ(report->benign, 3);
  EXPECT_EQ(report->benign_flagged, 1);
  EXPECT_DOUBLE_EQ(report->false_positive_rate(), 1.0 / 3.0);
  EXPECT_EQ(report->unexpected_category, 1);  // s4
  EXPECT_EQ(report->false_positives, (std::vector<std::string>{"b2: zorglub_marker"}));
  ASSERT_EQ(report->misses.size(), 3u);
  EXPECT_EQ(report->misses[0], "s2: expected secret");
  EXPECT_EQ(report->misses[1], "s3: expected confidential (found: zorglub_marker)");
  EXPECT_EQ(report->misses[2], "s4: expected confidential (found: zorglub_marker)");
  for (const auto& line : report->misses) EXPECT_EQ(line.find("zorglub "), std::string::npos);
}

TEST(Evaluation, EmptyCorpusGivesNeutralFigures) {
  auto rules = compile_inline(kMarkerRule);
  ASSERT_NE(rules, nullptr);
  auto report = evaluate(*rules, {});
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->categories.empty());
  EXPECT_EQ(report->benign, 0);
  EXPECT_DOUBLE_EQ(report->false_positive_rate(), 0.0);
}

// The shipped rule pack against the shipped labelled corpus: the figures quoted in
// docs/rule-pack.md come from this test's output.
TEST(EvaluationCorpus, ShippedRulePackMeetsTheThresholds) {
  testing::check_shipped_pack_on_corpus(
      "prompts.jsonl", {300, 130, [](std::string_view category) {
                          const bool major = category != "intellectual_property" &&
                                             category != "evaluation" && category != "personal_data";
                          return major ? 20 : 10;
                        }});
}

// Signals are located only when a combination needs them, and each prefilter finds different
// candidate patterns: none of this may change a finding on the shipped pack and corpus.
std::string describe(const Findings& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += f.rule_id + "/" + f.pattern + "@" + std::to_string(f.start) + "-" +
           std::to_string(f.end) + " score=" + std::to_string(f.score) +
           (f.validated ? " validated" : "") + " ctx=" + f.context_word + "\n";
  }
  return out;
}

TEST(EvaluationCorpus, FindingsDoNotDependOnPrefilterOrSignalLocating) {
  const fs::path source = GATEKEEPER_SOURCE_DIR;
  std::vector<RuleSetConstSharedPtr> packs;
  std::vector<PrefilterKind> kinds = {PrefilterKind::Re2Set};
  if (hyperscan_available()) {
    kinds.push_back(PrefilterKind::Hyperscan);
    kinds.push_back(PrefilterKind::Hybrid);
  }
  for (const PrefilterKind kind : kinds) {
    Diagnostics diagnostics;
    RuleSetOptions options;
    options.prefilter = kind;
    options.run_examples = false;
    auto rules = RuleSet::load(source / "rules", options, diagnostics);
    ASSERT_TRUE(rules);
    ASSERT_EQ((*rules)->prefilter_kind(), kind);
    packs.push_back(*rules);
  }
  std::string error;
  auto corpus = read_corpus(source / "tests" / "corpus" / "prompts.jsonl", &error);
  ASSERT_TRUE(corpus) << error;
  ScanOptions reported;
  reported.resolve_overlaps = false;
  ScanOptions everything = reported;
  everything.include_signals = true;
  for (const auto& prompt : *corpus) {
    std::vector<std::string> per_pack;
    for (const auto& rules : packs) {
      auto lazy = scan(*rules, prompt.text, reported);
      auto full = scan(*rules, prompt.text, everything);
      ASSERT_TRUE(lazy && full) << prompt.id;
      Findings without_signals;
      for (const Finding& f : *full) {
        if (!rules->find_rule(f.rule_id)->signal) without_signals.push_back(f);
      }
      EXPECT_EQ(describe(*lazy), describe(without_signals)) << prompt.id;
      per_pack.push_back(describe(*full));
      auto resolved = scan(*rules, prompt.text);
      ASSERT_TRUE(resolved) << prompt.id;
      per_pack.push_back(describe(*resolved));
    }
    for (std::size_t k = 2; k < per_pack.size(); ++k) {
      EXPECT_EQ(per_pack[k], per_pack[k % 2]) << prompt.id;
    }
  }
}

// Large texts (the corpus prompts joined) take the other locate path: with Hyperscan, the RE2
// search for a pattern starts near Hyperscan's next match end instead of scanning every byte.
TEST(EvaluationCorpus, LargeTextsGiveTheSameFindingsWithEveryPrefilter) {
  const fs::path source = GATEKEEPER_SOURCE_DIR;
  if (!hyperscan_available()) GTEST_SKIP() << "built without Hyperscan";
  std::vector<RuleSetConstSharedPtr> packs;
  for (const PrefilterKind kind :
       {PrefilterKind::Re2Set, PrefilterKind::Hyperscan, PrefilterKind::Hybrid}) {
    Diagnostics diagnostics;
    RuleSetOptions options;
    options.prefilter = kind;
    options.run_examples = false;
    auto rules = RuleSet::load(source / "rules", options, diagnostics);
    ASSERT_TRUE(rules);
    packs.push_back(*rules);
  }
  std::string error;
  auto corpus = read_corpus(source / "tests" / "corpus" / "prompts.jsonl", &error);
  ASSERT_TRUE(corpus) << error;
  std::vector<std::string> texts;
  for (std::size_t stride : {7u, 13u, 29u}) {
    std::string text;
    for (std::size_t i = 0; i < corpus->size(); ++i) {
      text += (*corpus)[(i * stride) % corpus->size()].text;
      text += i % 3 == 0 ? "\n\n" : " ";
      if (text.size() > 20000) {
        texts.push_back(std::move(text));
        text.clear();
      }
    }
    if (!text.empty()) texts.push_back(std::move(text));
  }
  ASSERT_GE(texts.size(), 3u);
  std::size_t total = 0;
  for (std::size_t t = 0; t < texts.size(); ++t) {
    for (const bool signals : {false, true}) {
      ScanOptions options;
      options.include_signals = signals;
      options.resolve_overlaps = !signals;
      std::vector<std::string> described;
      for (const auto& rules : packs) {
        auto findings = scan(*rules, texts[t], options);
        ASSERT_TRUE(findings) << "text " << t;
        if (signals) total += findings->size();
        described.push_back(describe(*findings));
      }
      EXPECT_EQ(described[1], described[0]) << "text " << t << " Hyperscan";
      EXPECT_EQ(described[2], described[0]) << "text " << t << " Hybrid";
    }
  }
  EXPECT_GT(total, 1000u);  // the texts do exercise the locate loop
}

}  // namespace
}  // namespace gatekeeper::detect

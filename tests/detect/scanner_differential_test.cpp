// The fast scan path (Hybrid: RE2::Set prefilters, one pass over pure-ASCII text, Hyperscan match
// ends) must report exactly what the plain path (RE2::Set over each view) reports: same rules,
// patterns, spans, scores and context words, on the corpus, on texts rebuilt from its pieces
// and on random texts.
#include "gatekeeper/detect/evaluation.hpp"
#include "gatekeeper/detect/prefilter.hpp"
#include "gatekeeper/detect/scanner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace gatekeeper::detect {
namespace {

namespace fs = std::filesystem;

std::string describe(const Findings& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += f.rule_id + "/" + f.pattern + "@" + std::to_string(f.start) + "-" +
           std::to_string(f.end) + " score=" + std::to_string(f.score) +
           (f.validated ? " validated" : "") + " ctx=" + f.context_word + "\n";
  }
  return out;
}

class ScanPaths : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path source = GATEKEEPER_SOURCE_DIR;
    plain_ = load(PrefilterKind::Re2Set);
    fast_ = load(hyperscan_available() ? PrefilterKind::Hybrid : PrefilterKind::Re2Set);
    std::string error;
    auto corpus = read_corpus(source / "tests" / "corpus" / "prompts.jsonl", &error);
    ASSERT_TRUE(corpus) << error;
    for (const auto& prompt : *corpus) prompts_.push_back(prompt.text);
  }
  static void TearDownTestSuite() {
    plain_.reset();
    fast_.reset();
    prompts_.clear();
  }

  static RuleSetConstSharedPtr load(PrefilterKind kind) {
    Diagnostics diagnostics;
    RuleSetOptions options;
    options.prefilter = kind;
    options.run_examples = false;
    auto rules = RuleSet::load(fs::path(GATEKEEPER_SOURCE_DIR) / "rules", options, diagnostics);
    EXPECT_TRUE(rules);
    return rules ? *rules : nullptr;
  }

  // Compares both paths with and without signals; returns how many findings the plain path made.
  static std::size_t expect_same(const std::string& text, const std::string& label) {
    std::size_t count = 0;
    for (const bool signals : {false, true}) {
      ScanOptions options;
      options.include_signals = signals;
      options.resolve_overlaps = !signals;
      auto plain = scan(*plain_, text, options);
      auto fast = scan(*fast_, text, options);
      EXPECT_TRUE(plain && fast) << label;
      if (!plain || !fast) return count;
      EXPECT_EQ(describe(*fast), describe(*plain)) << label << " signals=" << signals;
      count += plain->size();
    }
    return count;
  }

  static RuleSetConstSharedPtr plain_;
  static RuleSetConstSharedPtr fast_;
  static std::vector<std::string> prompts_;
};

RuleSetConstSharedPtr ScanPaths::plain_;
RuleSetConstSharedPtr ScanPaths::fast_;
std::vector<std::string> ScanPaths::prompts_;

bool is_ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; });
}

TEST_F(ScanPaths, FastPathIsInUse) {
  if (!hyperscan_available()) GTEST_SKIP() << "built without Hyperscan";
  EXPECT_EQ(fast_->prefilter_kind(), PrefilterKind::Hybrid);
  EXPECT_EQ(plain_->prefilter_kind(), PrefilterKind::Re2Set);
}

// Every corpus prompt as written, upper-cased and lower-cased (ASCII letters only, so that pure
// ASCII prompts stay on the single-pass path and case-insensitive rules see other spellings).
TEST_F(ScanPaths, CorpusPromptsInEveryCase) {
  std::size_t ascii = 0;
  std::size_t findings = 0;
  for (std::size_t i = 0; i < prompts_.size(); ++i) {
    const std::string& text = prompts_[i];
    if (is_ascii(text)) ++ascii;
    std::string upper = text;
    std::string lower = text;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    findings += expect_same(text, "prompt " + std::to_string(i));
    findings += expect_same(upper, "upper-cased prompt " + std::to_string(i));
    findings += expect_same(lower, "lower-cased prompt " + std::to_string(i));
  }
  // Both paths must have been exercised with real findings.
  EXPECT_GT(ascii, 20u);
  EXPECT_LT(ascii, prompts_.size());
  EXPECT_GT(findings, 100u);
}

// Random texts assembled from corpus fragments, digits, capitals, punctuation and a few non-ASCII
// characters (accents, NBSP, zero-width space, ligatures), about half of them pure ASCII.
TEST_F(ScanPaths, RandomTextsFromCorpusPieces) {
  std::mt19937 random(20261122);
  static const std::string kExtras[] = {
      " ", "\n", "\t", " 06 12 34 56 78 ", " 1 85 05 78 006 084 36 ", " AKIA", "ABCDEFGHIJKLMNOP",
      " Mme ", " Dr ", "@", ".fr ", " n° ", " : ", "=", "'", "\"", "-\n", " p < 0.05 ", "%",
      "é", "É", "\xC2\xA0", "\xE2\x80\x8B", "œ", "ß", "ﬁ", "’", "\xFF", std::string("\0", 1),
      " FR76 3000 6000 0112 3456 7890 189 ", " password=", " CONFIDENTIEL ", " patient "};
  std::size_t findings = 0;
  std::size_t ascii = 0;
  for (int round = 0; round < 400; ++round) {
    const bool ascii_only = round % 2 == 0;
    std::string text;
    const int pieces = 2 + static_cast<int>(random() % 12);
    for (int k = 0; k < pieces; ++k) {
      if (random() % 3 == 0) {
        text += kExtras[random() % std::size(kExtras)];
        continue;
      }
      const std::string& prompt = prompts_[random() % prompts_.size()];
      if (prompt.empty()) continue;
      const std::size_t start = random() % prompt.size();
      const std::size_t length = 1 + random() % 160;
      text += prompt.substr(start, length);
    }
    if (ascii_only) {
      for (char& c : text) {
        if ((static_cast<unsigned char>(c) & 0x80) != 0) c = static_cast<char>('a' + (c & 15));
      }
    }
    if (random() % 4 == 0) {
      for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (is_ascii(text)) ++ascii;
    findings += expect_same(text, "random text " + std::to_string(round));
  }
  EXPECT_GE(ascii, 200u);
  EXPECT_GT(findings, 50u);
}

// Texts of 20 KB and more take the locate path narrowed by Hyperscan's match ends.
TEST_F(ScanPaths, LargeAsciiAndMixedTexts) {
  std::string mixed;
  std::string ascii;
  for (std::size_t i = 0; i < prompts_.size(); ++i) {
    const std::string& text = prompts_[(i * 11) % prompts_.size()];
    mixed += text + (i % 2 == 0 ? "\n" : " ");
    if (is_ascii(text)) ascii += text + (i % 2 == 0 ? "\n" : " ");
  }
  ASSERT_GT(ascii.size(), 4096u);
  EXPECT_GT(expect_same(mixed, "large mixed text"), 0u);
  EXPECT_GT(expect_same(ascii, "large ASCII text"), 0u);
}

}  // namespace
}  // namespace gatekeeper::detect

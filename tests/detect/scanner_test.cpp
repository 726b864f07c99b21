#include "gatekeeper/detect/scanner.hpp"

#include <gtest/gtest.h>

#include <map>

#include <random>
#include <thread>

#include "detect/detect_test_support.hpp"
#include "gatekeeper/detect/prefilter.hpp"

namespace gatekeeper::detect {
namespace {

using testing::covered;
using testing::must_compile;
using testing::must_scan;

std::vector<std::string> rule_ids(const Findings& findings) {
  std::vector<std::string> ids;
  for (const auto& f : findings) ids.push_back(f.rule_id);
  return ids;
}

TEST(ScannerTest, MatchMapsToOriginalBytesAfterAccents) {
  auto rules = must_compile(R"(category: contact
rules:
  - id: phone_fr
    severity: high
    patterns: [{name: mobile, regex: '\b0[1-9](?: ?[0-9]{2}){4}\b', score: 0.7}]
    examples: {match: ["06 12 34 56 78"]}
)");
  ASSERT_TRUE(rules);
  const std::string text = "Mme Dupré, tél : 06 12 34 56 78. Rappeler Hélène au 0712345678";
  const Findings findings = must_scan(*rules, text);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(covered(text, findings[0]), "06 12 34 56 78");
  EXPECT_EQ(covered(text, findings[1]), "0712345678");
  const Finding& f = findings[0];
  EXPECT_EQ(f.rule_id, "phone_fr");
  EXPECT_EQ(f.rule_version, "1");
  EXPECT_EQ(f.category, "contact");
  EXPECT_EQ(f.pattern, "mobile");
  EXPECT_EQ(f.placeholder, "CONTACT");
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_DOUBLE_EQ(f.score, 0.7);
  EXPECT_FALSE(f.validated);
  EXPECT_TRUE(f.context_word.empty());
}

TEST(ScannerTest, FoldedRulesIgnoreCaseAndAccentsEvenInThePattern) {
  auto rules = must_compile(R"(category: health
rules:
  - id: secu
    patterns: [{regex: 'sécurité sociale'}]
    examples: {match: ["SECURITE SOCIALE"], no_match: ["sécurité routière"]}
)");
  ASSERT_TRUE(rules);
  for (const std::string text : {"la Sécurité Sociale", "la SECURITE SOCIALE",
                                 "la securite sociale", "la SÉCURITÉ\xC2\xA0SOCIALE"}) {
    const Findings findings = must_scan(*rules, text);
    ASSERT_EQ(findings.size(), 1u) << text;
    EXPECT_EQ(findings[0].start, 3u);
    EXPECT_EQ(findings[0].end, text.size());
  }
}

TEST(ScannerTest, CaseSensitiveRulesMatchTheTextView) {
  auto rules = must_compile(R"(category: secret
rules:
  - id: aws_key
    case_sensitive: true
    patterns: [{regex: '\bAKIA[0-9A-Z]{16}\b'}]
    examples: {match: ["AKIAIOSFODNN7EXAMPLE"], no_match: ["akiaiosfodnn7example"]}
  - id: stamp
    case_sensitive: true
    patterns: [{regex: 'CONFIDENTIEL – DIFFUSION RESTREINTE'}]
    examples: {match: ["CONFIDENTIEL - DIFFUSION RESTREINTE"]}
)");
  ASSERT_TRUE(rules);
  EXPECT_EQ(must_scan(*rules, "key=AKIAIOSFODNN7EXAMPLE;").size(), 1u);
  EXPECT_TRUE(must_scan(*rules, "key=akiaIOSFODNN7EXAMPLE;").empty());
  // The pattern's en dash is normalised like the text's, so both dash styles match.
  const std::string stamped = "CONFIDENTIEL \xE2\x80\x94 DIFFUSION RESTREINTE";
  const Findings f = must_scan(*rules, stamped);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(covered(stamped, f[0]), stamped);
  EXPECT_TRUE(must_scan(*rules, "confidentiel - diffusion restreinte").empty());
}

TEST(ScannerTest, CaptureGroupOneIsTheSpan) {
  auto rules = must_compile(R"(category: id
rules:
  - id: dossier
    patterns: [{regex: 'dossier n° ?([0-9]{5})'}]
    examples: {match: ["Dossier N°12345"]}
)");
  ASSERT_TRUE(rules);
  const std::string text = "Voir DOSSIER N° 54321 et dossier n°12345.";
  const Findings findings = must_scan(*rules, text);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(covered(text, findings[0]), "54321");
  EXPECT_EQ(covered(text, findings[1]), "12345");
}

TEST(ScannerTest, ValidatorConfirmsAfterNormalizeOrDrops) {
  auto rules = must_compile(R"(category: payment
rules:
  - id: card
    patterns: [{regex: '\b(?:[0-9][ .]?){15}[0-9]\b', score: 0.2}]
    normalize: [[" ", ""], [".", ""]]
    validator: luhn
    examples: {match: ["4111 1111 1111 1111"], no_match: ["4111 1111 1111 1112"]}
)");
  ASSERT_TRUE(rules);
  const std::string text = "carte 4111 1111 1111 1111 et 4111.1111.1111.1112";
  const Findings findings = must_scan(*rules, text);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(covered(text, findings[0]), "4111 1111 1111 1111");
  EXPECT_DOUBLE_EQ(findings[0].score, 1.0);
  EXPECT_TRUE(findings[0].validated);
}

constexpr const char* kContextRules = R"(category: id
rules:
  - id: patient_number
    patterns: [{regex: '\b[0-9]{8}\b', score: 0.3}]
    context:
      words: [dossier, "numéro patient"]
      before: 3
      after: 1
    min_score: 0.5
    examples: {match: ["dossier 12345678"], no_match: ["le 12345678"]}
  - id: whole
    patterns: [{regex: '\b[a-z]{2}[0-9]{6}\b', score: 0.3}]
    context: {words: [doss], before: 2, mode: whole_word}
    examples: {match: ["doss ab123456"], no_match: ["dossier ab123456"]}
  - id: negative
    patterns: [{regex: '\b[0-9]{9}\b', score: 0.6}]
    negative_context: {words: [siret, siren], before: 3, after: 3, mode: whole_word}
    examples: {match: ["numero 123456789"], no_match: ["siren 123456789"]}
)";

TEST(ScannerTest, ContextWordsRaiseTheScoreWithinTheWordWindow) {
  auto rules = must_compile(kContextRules);
  ASSERT_TRUE(rules);
  Findings f = must_scan(*rules, "Dossier : 12345678");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_DOUBLE_EQ(f[0].score, 0.65);
  EXPECT_EQ(f[0].context_word, "dossier");

  EXPECT_TRUE(must_scan(*rules, "le 12345678").empty());
  // Four words before the match: outside a three-word window.
  EXPECT_TRUE(must_scan(*rules, "dossier a b c 12345678").empty());
  EXPECT_EQ(must_scan(*rules, "dossier b c 12345678").size(), 1u);
  // After the match, one word.
  EXPECT_EQ(must_scan(*rules, "12345678 (dossier)").size(), 1u);
  EXPECT_TRUE(must_scan(*rules, "12345678 du dossier").empty());
  // A multi-word entry matches across line breaks, case and accents.
  f = must_scan(*rules, "NUMÉRO\n  Patient: 12345678");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].context_word, "numéro patient");
  // Substring mode finds the word inside a longer one.
  EXPECT_EQ(must_scan(*rules, "sous-dossiers 12345678").size(), 1u);
}

TEST(ScannerTest, WholeWordContextAndNegativeContext) {
  auto rules = must_compile(kContextRules);
  ASSERT_TRUE(rules);
  EXPECT_EQ(rule_ids(must_scan(*rules, "doss ab123456")), std::vector<std::string>{"whole"});
  EXPECT_TRUE(must_scan(*rules, "dossier ab123456").empty());

  Findings f = must_scan(*rules, "numero 123456789");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_DOUBLE_EQ(f[0].score, 0.6);
  EXPECT_TRUE(must_scan(*rules, "SIREN: 123456789").empty());
  EXPECT_TRUE(must_scan(*rules, "123456789 (siret)").empty());
}

constexpr const char* kCombinationRules = R"(category: nominative_health
rules:
  - id: person
    category: person
    signal: true
    patterns: [{regex: '\b(?:mme|madame|m\.|monsieur) ([a-z]+)', score: 0.6}]
    examples: {match: ["Madame Durand"]}
  - id: clinical
    category: clinical
    signal: true
    patterns: [{regex: '\b(?:diabete|cancer|vih)\b', score: 0.6}]
    examples: {match: ["diabète"]}
  - id: treatment
    category: clinical
    signal: true
    patterns: [{regex: '\b(?:insuline|metformine)\b', score: 0.6}]
    examples: {match: ["insuline"]}
  - id: named_patient
    severity: critical
    combine: {anchor: person, with: [clinical], window: 40}
    score: 0.9
    examples:
      match: ["Madame Durand a un diabète."]
      no_match: ["Madame Durand est venue.", "Le diabète de type 2."]
  - id: treated_patient
    combine: {anchor: person, with: [clinical, treatment], min_with: 2, window: 60}
    score: 0.95
    examples: {match: ["M. Martin, diabète, sous insuline"]}
)";

TEST(ScannerTest, CombinationNeedsEveryWithRuleInsideTheWindow) {
  auto rules = must_compile(kCombinationRules);
  ASSERT_TRUE(rules);
  const std::string text = "Madame Durand a un diabète.";
  ScanOptions all;
  all.resolve_overlaps = false;
  Findings f = must_scan(*rules, text, all);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule_id, "named_patient");
  EXPECT_EQ(f[0].pattern, "combination");
  EXPECT_EQ(covered(text, f[0]), "Durand");
  EXPECT_DOUBLE_EQ(f[0].score, 0.9);
  EXPECT_EQ(f[0].severity, Severity::Critical);

  const std::string far = "Madame Durand est venue." + std::string(60, ' ') + "Le diabète.";
  EXPECT_TRUE(must_scan(*rules, far).empty());

  const std::string both = "M. Martin, diabète, sous insuline.";
  f = must_scan(*rules, both, all);
  EXPECT_EQ(rule_ids(f), (std::vector<std::string>{"named_patient", "treated_patient"}));
  // With overlaps resolved, the higher score wins the shared span.
  f = must_scan(*rules, both);
  EXPECT_EQ(rule_ids(f), std::vector<std::string>{"treated_patient"});
}

TEST(ScannerTest, SignalsAreReportedOnlyOnRequest) {
  auto rules = must_compile(kCombinationRules);
  ASSERT_TRUE(rules);
  EXPECT_TRUE(must_scan(*rules, "Le diabète de type 2.").empty());
  ScanOptions with_signals;
  with_signals.include_signals = true;
  EXPECT_EQ(rule_ids(must_scan(*rules, "Le diabète de type 2.", with_signals)),
            std::vector<std::string>{"clinical"});
}

constexpr const char* kOverlapRules = R"(category: c
rules:
  - id: ten_digits
    severity: low
    patterns: [{regex: '\b[0-9]{10}\b', score: 0.6}]
    examples: {match: ["0123456789"]}
  - id: mobile
    severity: medium
    patterns: [{regex: '\b0[67][0-9]{8}\b', score: 0.8}]
    examples: {match: ["0612345678"]}
  - id: short_code
    severity: low
    patterns: [{regex: '\b[a-z]{3}-[0-9]{3}\b', score: 0.7}]
    examples: {match: ["abc-123"]}
  - id: long_code
    severity: low
    patterns: [{regex: '\b[a-z]{3}-[0-9]{3}-[0-9]{2}\b', score: 0.7}]
    examples: {match: ["abc-123-45"]}
  - id: tag_low
    severity: low
    patterns: [{regex: '\btag[0-9]{4}\b', score: 0.7}]
    examples: {match: ["tag1234"]}
  - id: tag_critical
    severity: critical
    patterns: [{regex: '\btag[0-9]{4}\b', score: 0.7}]
    examples: {match: ["tag1234"]}
)";

TEST(ScannerTest, OverlapsKeepHighestScoreThenLongestThenSeverity) {
  auto rules = must_compile(kOverlapRules);
  ASSERT_TRUE(rules);
  EXPECT_EQ(rule_ids(must_scan(*rules, "tel 0612345678")), std::vector<std::string>{"mobile"});
  EXPECT_EQ(rule_ids(must_scan(*rules, "ref abc-123-45")), std::vector<std::string>{"long_code"});
  EXPECT_EQ(rule_ids(must_scan(*rules, "x tag1234")), std::vector<std::string>{"tag_critical"});
  ScanOptions keep_all;
  keep_all.resolve_overlaps = false;
  EXPECT_EQ(rule_ids(must_scan(*rules, "tel 0612345678", keep_all)),
            (std::vector<std::string>{"mobile", "ten_digits"}));
}

TEST(ScannerTest, FindingsAreSortedByStart) {
  auto rules = must_compile(kOverlapRules);
  ASSERT_TRUE(rules);
  const std::string text = "tag9999 puis abc-123 puis 0612345678 puis 0123456789";
  const Findings f = must_scan(*rules, text);
  EXPECT_EQ(rule_ids(f),
            (std::vector<std::string>{"tag_critical", "short_code", "mobile", "ten_digits"}));
  for (std::size_t i = 1; i < f.size(); ++i) EXPECT_LT(f[i - 1].start, f[i].start);
}

TEST(ScannerTest, OverlapsAcrossCategoriesKeepEveryCategory) {
  auto rules = must_compile(R"(rules:
  - id: stamp
    category: confidential
    patterns: [{regex: '\bconfidentiel\b', score: 0.9}]
    examples: {match: ["CONFIDENTIEL"]}
  - id: embargo_passage
    category: unpublished_research
    patterns: [{regex: 'sous embargo[^.]*', score: 0.8}]
    examples: {match: ["sous embargo jusqu'au 3 mars"]}
  - id: embargo_word
    category: unpublished_research
    patterns: [{regex: '\bembargo\b', score: 0.6}]
    examples: {match: ["embargo"]}
)");
  ASSERT_TRUE(rules);
  const Findings f = must_scan(*rules, "Résultats sous embargo, document confidentiel.");
  // The stamp overlaps the passage yet both categories are reported; within the category the
  // better-scored passage wins over the bare word.
  EXPECT_EQ(rule_ids(f), (std::vector<std::string>{"embargo_passage", "stamp"}));
}

TEST(ScannerTest, InvalidUtf8NulAndInvisibleCharactersKeepExactOffsets) {
  auto rules = must_compile(R"(category: health_identifier
rules:
  - id: nir_like
    patterns: [{regex: '\b([12] ?[0-9]{2} ?[0-9]{2})\b'}]
    examples: {match: ["1 80 12"]}
)");
  ASSERT_TRUE(rules);
  std::string text = "\xFF";
  text += '\0';
  text +=
      "NIR\xC2\xA0"
      "1\xE2\x80\x8B 80\xC2\xA0"
      "12\xC3";
  const Findings f = must_scan(*rules, text);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(covered(text, f[0]),
            "1\xE2\x80\x8B 80\xC2\xA0"
            "12");
  // Fullwidth digits are matched as digits and replaced whole.
  const std::string wide = "n\xC2\xB0 \xEF\xBC\x91 \xEF\xBC\x98\xEF\xBC\x90 12";
  const Findings w = must_scan(*rules, wide);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(covered(wide, w[0]), "\xEF\xBC\x91 \xEF\xBC\x98\xEF\xBC\x90 12");
}

TEST(ScannerTest, EmptyMatchesNeverLoopOrReport) {
  auto rules = must_compile(R"(category: c
rules:
  - id: as
    patterns: [{regex: 'a*'}]
    examples: {match: ["baaab"], no_match: ["bbb"]}
)");
  ASSERT_TRUE(rules);
  const std::string text = "bé aaa b";
  const Findings f = must_scan(*rules, text);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(covered(text, f[0]), "aaa");
}

TEST(ScannerTest, EmptyInputHasNoFinding) {
  for (const PrefilterKind kind : {PrefilterKind::Re2Set, PrefilterKind::Auto}) {
    RuleSetOptions options;
    options.prefilter = kind;
    auto rules = must_compile(kOverlapRules, options);
    ASSERT_TRUE(rules);
    EXPECT_TRUE(must_scan(*rules, "").empty());
    EXPECT_TRUE(must_scan(*rules, std::string(3, '\0')).empty());
  }
}

TEST(ScannerTest, InputAboveTheLimitFailsClosed) {
  auto rules = must_compile("category: c\nrules:\n  - id: r\n    patterns: [{regex: a}]\n");
  ASSERT_TRUE(rules);
  ScanOptions options;
  options.max_bytes = 10;
  auto too_large = scan(*rules, std::string(11, 'a'), options);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error(), make_error_code(Errc::InputTooLarge));
  EXPECT_TRUE(scan(*rules, std::string(10, 'b'), options));
}

// A starved prefilter must either find exactly what a well-fed one finds or fail with
// ScanOutOfMemory: running out of DFA memory may never read as "no match". RE2::Set probes its DFA
// when it compiles, so budgets too small for any DFA are refused at load (RuleSetTooLarge); the
// budgets just above make the DFA reset its cache again and again over a long varied text.
TEST(ScannerTest, StarvedPrefilterNeverReportsAMissAsClean) {
  std::string yaml = "category: c\nrules:\n";
  std::vector<std::string> samples;
  for (int i = 0; i < 150; ++i) {
    const char a = static_cast<char>('a' + i % 26);
    const char b = static_cast<char>('a' + (i / 26) % 26);
    const int digits = 2 + i % 5;
    yaml += "  - id: r" + std::to_string(i) + "\n    patterns: [{regex: '" + a + b + "[0-9]{" +
            std::to_string(digits) + "}[" + b + "-z]" + std::to_string(i) + "'}]\n";
    samples.push_back(std::string(1, a) + b + std::string(static_cast<std::size_t>(digits), '7') +
                      "z" + std::to_string(i));
  }
  std::mt19937 rng(7);
  std::string text;
  while (text.size() < (256u << 10)) {
    for (int k = 0; k < 500; ++k) {
      text.push_back("abcdefghijklmnopqrstuvwxyz0123456789 \n\xC3\xA9"[rng() % 40]);
    }
    text += " " + samples[rng() % samples.size()] + " ";
  }
  RuleSetOptions roomy;
  roomy.prefilter = PrefilterKind::Re2Set;
  roomy.run_examples = false;
  auto reference_rules = must_compile(yaml, roomy);
  ASSERT_TRUE(reference_rules);
  const Findings reference = must_scan(*reference_rules, text);
  ASSERT_GT(reference.size(), 100u);

  int starved_runs = 0;
  for (std::int64_t budget = 16 << 10; budget < (4 << 20); budget += budget / 4) {
    RuleSetOptions options = roomy;
    options.max_mem = budget;
    Diagnostics diagnostics;
    auto compiled =
        RuleSet::compile(parse_rule_text(yaml, "oom.yaml", diagnostics), options, diagnostics);
    if (!compiled) {
      EXPECT_EQ(compiled.error(), make_error_code(Errc::RuleSetTooLarge));
      continue;
    }
    if (++starved_runs > 4) break;
    auto result = scan(**compiled, text);
    if (!result) {
      EXPECT_EQ(result.error(), make_error_code(Errc::ScanOutOfMemory));
      continue;
    }
    ASSERT_EQ(result->size(), reference.size()) << "budget " << budget;
    for (std::size_t i = 0; i < reference.size(); ++i) {
      EXPECT_EQ((*result)[i].start, reference[i].start);
      EXPECT_EQ((*result)[i].rule_id, reference[i].rule_id);
    }
  }
  EXPECT_GT(starved_runs, 0);
}

// A rule set touching every feature, for the cross-checks below.
std::string varied_rules() {
  return std::string(kCombinationRules) + R"(
  - id: phone
    category: contact
    patterns: [{regex: '\b0[1-9](?:[ .]?[0-9]{2}){4}\b', score: 0.6}]
    context: {words: [tel, téléphone], before: 3}
    examples: {match: ["0612345678"]}
  - id: email
    category: contact
    patterns: [{regex: '\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b', score: 0.7}]
    examples: {match: ["a.b@inserm.fr"]}
  - id: stamp
    category: confidential
    case_sensitive: true
    patterns: [{regex: '\b(?:CONFIDENTIEL|NE PAS DIFFUSER)\b', score: 0.8}]
    examples: {match: ["CONFIDENTIEL"]}
  - id: card
    category: payment
    patterns: [{regex: '\b(?:[0-9] ?){15}[0-9]\b', score: 0.3}]
    normalize: [[" ", ""]]
    validator: luhn
    examples: {match: ["4111 1111 1111 1111"]}
  - id: maybe_empty
    category: misc
    patterns: [{regex: 'x*yz*', score: 0.6}]
    examples: {match: ["xxyzz"]}
  - id: unicode_class
    category: misc
    patterns: [{regex: '\p{Greek}{3,}', score: 0.6}]
    examples: {match: ["αβγ"]}
)";
}

std::vector<std::string> varied_texts() {
  return {
      "Madame Durand a un diabète, tél 06 12 34 56 78, mail a.durand@inserm.fr",
      "CONFIDENTIEL — carte 4111 1111 1111 1111, M. Martin sous insuline, cancer",
      "rien à signaler",
      "yyy xxyzz αβγδ ΩΣ confidentiel",
      std::string("\xFF\xFE mme dupont\0 vih 01.23.45.67.89", 32),
      "Monsieur Lefèvre, diabète type 2, metformine 500 mg, ne pas diffuser",
  };
}

void expect_same_findings(const Findings& a, const Findings& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].rule_id, b[i].rule_id) << what;
    EXPECT_EQ(a[i].pattern, b[i].pattern) << what;
    EXPECT_EQ(a[i].start, b[i].start) << what;
    EXPECT_EQ(a[i].end, b[i].end) << what;
    EXPECT_DOUBLE_EQ(a[i].score, b[i].score) << what;
    EXPECT_EQ(a[i].validated, b[i].validated) << what;
    EXPECT_EQ(a[i].context_word, b[i].context_word) << what;
  }
}

TEST(ScannerTest, Re2SetAndHyperscanGiveIdenticalFindings) {
  if (!hyperscan_available()) GTEST_SKIP() << "built without Hyperscan";
  RuleSetOptions re2_options;
  re2_options.prefilter = PrefilterKind::Re2Set;
  RuleSetOptions hs_options;
  hs_options.prefilter = PrefilterKind::Hyperscan;
  auto with_re2 = must_compile(varied_rules(), re2_options);
  auto with_hs = must_compile(varied_rules(), hs_options);
  ASSERT_TRUE(with_re2 && with_hs);
  ASSERT_EQ(with_re2->prefilter_kind(), PrefilterKind::Re2Set);
  ASSERT_EQ(with_hs->prefilter_kind(), PrefilterKind::Hyperscan);
  const std::vector<std::string> base = varied_texts();
  std::vector<std::string> texts = base;
  std::mt19937 rng(99);
  for (int i = 0; i < 50; ++i) {
    std::string mixed;
    for (int k = 0; k < 6; ++k) mixed += base[rng() % base.size()] + " ";
    texts.push_back(mixed);
  }
  for (const std::string& text : texts) {
    for (const bool resolve : {true, false}) {
      ScanOptions options;
      options.include_signals = !resolve;
      options.resolve_overlaps = resolve;
      expect_same_findings(must_scan(*with_re2, text, options), must_scan(*with_hs, text, options),
                           text);
    }
  }
}

TEST(ScannerTest, ConcurrentScansShareOneRuleSet) {
  auto rules = must_compile(varied_rules());
  ASSERT_TRUE(rules);
  const std::vector<std::string> texts = varied_texts();
  std::vector<Findings> expected;
  for (const auto& text : texts) expected.push_back(must_scan(*rules, text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t i = 0; i < texts.size(); ++i) {
          auto result = scan(*rules, texts[(i + static_cast<std::size_t>(t)) % texts.size()]);
          const Findings& want = expected[(i + static_cast<std::size_t>(t)) % texts.size()];
          if (!result || result->size() != want.size()) {
            ++mismatches[static_cast<std::size_t>(t)];
            continue;
          }
          for (std::size_t k = 0; k < want.size(); ++k) {
            if ((*result)[k].start != want[k].start || (*result)[k].rule_id != want[k].rule_id) {
              ++mismatches[static_cast<std::size_t>(t)];
            }
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[static_cast<std::size_t>(t)], 0) << t;
}

TEST(ScannerTest, RandomBytesNeverCrashAndFindingsStayInBounds) {
  auto rules = must_compile(varied_rules());
  ASSERT_TRUE(rules);
  std::mt19937 rng(4242);
  const std::vector<std::string> pieces = {"Madame ",
                                           "diabète ",
                                           "06 12 34 56 78 ",
                                           "\xC2\xA0",
                                           "\xE2\x80\x8B",
                                           "-\n",
                                           "é",
                                           "ß",
                                           "\xEF\xBC\x91",
                                           "4111 ",
                                           "a@b.fr ",
                                           "CONFIDENTIEL ",
                                           std::string(1, '\0'),
                                           "xy"};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const int length = static_cast<int>(rng() % 80);
    for (int k = 0; k < length; ++k) {
      if (rng() % 2 == 0) {
        text.push_back(static_cast<char>(rng() % 256));
      } else {
        text += pieces[rng() % pieces.size()];
      }
    }
    for (const bool resolve : {true, false}) {
      ScanOptions options;
      options.resolve_overlaps = resolve;
      options.include_signals = !resolve;
      auto result = scan(*rules, text, options);
      ASSERT_TRUE(result);
      std::map<std::string, std::size_t> last_end_by_category;
      for (std::size_t i = 0; i < result->size(); ++i) {
        const Finding& f = (*result)[i];
        ASSERT_LT(f.start, f.end);
        ASSERT_LE(f.end, text.size());
        ASSERT_GE(f.score, f.score < 0 ? 1.0 : 0.0);
        ASSERT_LE(f.score, 1.0);
        if (i > 0) {
          ASSERT_LE((*result)[i - 1].start, f.start);
        }
        // Resolved findings are disjoint within a category (categories may overlap each other).
        if (resolve) {
          auto [it, first] = last_end_by_category.try_emplace(f.category, f.end);
          if (!first) {
            ASSERT_LE(it->second, f.start);
            it->second = f.end;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace gatekeeper::detect

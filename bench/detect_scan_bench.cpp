// Throughput of normalisation and of a full scan on prompt-like text.
//
// The rule set is the directory named by GATEKEEPER_BENCH_RULES, else the project's rules/
// directory, else a small built-in set (reported in the benchmark label).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "gatekeeper/detect/normalizer.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/scanner.hpp"

namespace {

using namespace gatekeeper;
using namespace gatekeeper::detect;

constexpr const char* kBuiltInRules = R"(category: bench
rules:
  - id: phone
    patterns: [{regex: '\b0[1-9](?:[ .]?[0-9]{2}){4}\b', score: 0.6}]
    context: {words: [tel, telephone, portable], before: 4}
  - id: email
    patterns: [{regex: '\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b', score: 0.7}]
  - id: nir
    patterns: [{regex: '\b[12] ?[0-9]{2} ?(?:0[1-9]|1[0-2]) ?(?:[0-9]{2}|2a|2b) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}\b'}]
    context: {words: [nir, securite sociale, carte vitale], before: 8}
  - id: stamp
    case_sensitive: true
    patterns: [{regex: '\b(?:CONFIDENTIEL|DIFFUSION RESTREINTE|NE PAS DIFFUSER)\b', score: 0.8}]
  - id: aws
    case_sensitive: true
    patterns: [{regex: '\bAKIA[0-9A-Z]{16}\b', score: 0.9}]
  - id: unpublished
    patterns: [{regex: '\b(?:resultats? (?:preliminaires|non publies)|sous embargo)\b', score: 0.6}]
)";

// Prompt-like French and English text: accents, punctuation, numbers, no sensitive value.
const char* const kParagraphs[] = {
    "Bonjour, pourriez-vous m'aider à reformuler l'introduction de notre article sur "
    "l'épidémiologie "
    "des maladies cardiovasculaires ? Nous avons analysé 1 245 dossiers entre 2015 et 2019, avec "
    "une médiane de suivi de 4,2 ans (IQR 2,1–6,3). L’objectif est d’être plus concis.\n",
    "Here is the R code I use to fit a Cox model: fit <- coxph(Surv(time, status) ~ age + sex + "
    "bmi, data = cohort); summary(fit). The hazard ratio for age is 1.04 (95% CI 1.02-1.06), "
    "p < 0.001. How should I report this in the results section?\n",
    "Peux-tu traduire en anglais le paragraphe suivant : « Les participants ont été recrutés dans "
    "trois centres hospitaliers universitaires, après recueil de leur consentement éclairé. »\n",
    "Résume ce texte en cinq points, en gardant les chiffres clés : taux de réponse 78 %, "
    "durée moyenne d'hospitalisation 6,5 jours, réadmissions à 30 jours 12 %.\n",
};

std::string prompt_text(std::size_t size) {
  std::string text;
  std::size_t i = 0;
  while (text.size() < size) text += kParagraphs[i++ % std::size(kParagraphs)];
  text.resize(size);
  // Do not end inside a UTF-8 sequence: the benchmark should measure valid text.
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  return text;
}

std::string ascii_text(std::size_t size) {
  std::string text;
  while (text.size() < size) text += kParagraphs[1];
  text.resize(size);
  return text;
}

struct LoadedRules {
  RuleSetConstSharedPtr rules;
  std::string source;
};

LoadedRules load_rules(PrefilterKind kind) {
  RuleSetOptions options;
  options.prefilter = kind;
  options.run_examples = false;
  Diagnostics diagnostics;
  std::filesystem::path dir;
  if (const char* env = std::getenv("GATEKEEPER_BENCH_RULES")) {
    dir = env;
  } else {
    dir = std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "rules";
  }
  if (std::filesystem::is_directory(dir)) {
    auto loaded = RuleSet::load(dir, options, diagnostics);
    if (loaded) return {*loaded, "rules dir"};
    std::cerr << "cannot load " << dir << ", using the built-in rules:\n";
    for (const auto& d : diagnostics) {
      if (d.severity == Diagnostic::Severity::Error) std::cerr << "  " << d.to_string() << "\n";
    }
    diagnostics.clear();
  }
  auto compiled = RuleSet::compile(parse_rule_text(kBuiltInRules, "builtin", diagnostics), options,
                                   diagnostics);
  return {compiled ? *compiled : nullptr, "built-in rules"};
}

void BM_NormalizeAscii(benchmark::State& state) {
  const std::string text = ascii_text(static_cast<std::size_t>(state.range(0)));
  NormalizedText out;
  for (auto _ : state) {
    normalize_into(text, out);
    benchmark::DoNotOptimize(out.folded.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_NormalizeAscii)->Arg(4 << 10)->Arg(256 << 10);

void BM_NormalizeFrench(benchmark::State& state) {
  const std::string text = prompt_text(static_cast<std::size_t>(state.range(0)));
  NormalizedText out;
  for (auto _ : state) {
    normalize_into(text, out);
    benchmark::DoNotOptimize(out.folded.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_NormalizeFrench)->Arg(4 << 10)->Arg(256 << 10);

void scan_benchmark(benchmark::State& state, PrefilterKind kind) {
  static const LoadedRules re2 = load_rules(PrefilterKind::Re2Set);
  static const LoadedRules hs = load_rules(PrefilterKind::Hyperscan);
  const LoadedRules& loaded = kind == PrefilterKind::Re2Set ? re2 : hs;
  if (!loaded.rules) {
    state.SkipWithError("rules did not compile");
    return;
  }
  const std::string text = prompt_text(static_cast<std::size_t>(state.range(0)));
  std::size_t findings = 0;
  for (auto _ : state) {
    auto result = scan(*loaded.rules, text);
    if (!result) {
      state.SkipWithError("scan failed");
      return;
    }
    findings = result->size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.SetLabel(loaded.source + ", " + std::to_string(loaded.rules->pattern_count()) +
                 " patterns, " + std::to_string(findings) + " findings");
}

void BM_ScanRe2Set(benchmark::State& state) { scan_benchmark(state, PrefilterKind::Re2Set); }
void BM_ScanHyperscan(benchmark::State& state) { scan_benchmark(state, PrefilterKind::Hyperscan); }
BENCHMARK(BM_ScanRe2Set)->Arg(2 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_ScanHyperscan)->Arg(2 << 10)->Arg(64 << 10)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();

// Scanner throughput with the full default rule pack on realistic prompts from 1 KB to 1 MB,
// single-threaded, for each prefilter engine. Figures go to docs/benchmarks.md.
#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/detect/prefilter.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/scanner.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

using gatekeeper::detect::PrefilterKind;

// What researchers paste: prose in French and English, statistics, code, a CSV excerpt, e-mail
// signatures. Mostly benign, as real traffic is; a few identifiers so the locate/validate stages run.
const std::vector<std::string>& paragraphs() {
  static const std::vector<std::string> kParagraphs = {
      "Bonjour, pourriez-vous reformuler ce paragraphe de la section méthodes ? Nous avons inclus "
      "les participants âgés de 18 à 75 ans, sans antécédent cardiovasculaire, recrutés dans trois "
      "centres hospitaliers entre 2019 et 2021. Le critère de jugement principal était la survenue "
      "d'un événement cardiovasculaire majeur à deux ans.\n",
      "The primary outcome was analysed with a Cox proportional hazards model adjusted for age, sex "
      "and baseline HbA1c; the hazard ratio was 0.82 (95% confidence interval 0.71 to 0.95). These "
      "results were published in 2022 (doi:10.1016/j.example.2022.01.001).\n",
      "import pandas as pd\ndf = pd.read_csv('cohort_summary.csv')\nprint(df.groupby('centre')['age'].mean())\n"
      "def bootstrap(x, n=1000):\n    return [x.sample(frac=1, replace=True).mean() for _ in range(n)]\n",
      "Peux-tu traduire en anglais le résumé suivant : l'intervalle de confiance à 95 % de l'odds ratio "
      "inclut 1, la différence n'est donc pas significative. Les effectifs par bras étaient de 120 et 118.\n",
      "centre,annee,nb_inclusions,age_moyen\nLyon,2020,45,61.2\nLille,2020,38,58.9\nParis,2021,52,63.4\n",
      "Cordialement,\nÉquipe de biostatistique — unité de recherche clinique\nTél. 01 23 45 67 89\n",
      "Could you suggest a clearer title for our grant proposal on long-term outcomes of bariatric "
      "surgery? The call for proposals is public and the deadline is next month.\n",
      "Le patient de la vignette pédagogique, un homme de 54 ans, consulte pour une douleur "
      "thoracique ; proposez un diagnostic différentiel argumenté pour des étudiants de quatrième année.\n",
      "Pour mémoire, le NIR comporte 15 chiffres dont une clé de contrôle de deux chiffres ; ne jamais "
      "le saisir dans un outil externe.\n",
      "SELECT centre, count(*) FROM inclusions GROUP BY centre ORDER BY 2 DESC; -- agrégats seulement\n",
  };
  return kParagraphs;
}

// Lines with a sensitive value each (synthetic identifiers, published examples).
const std::vector<std::string>& sensitive_lines() {
  static const std::vector<std::string> kLines = {
      "Patient inclus : NIR 1 85 05 78 006 084 91, suivi au CHU.\n",
      "Contact : jeanne.martin@example.fr, tel. 06 12 34 56 78.\n",
      "Virement sur FR76 3000 6000 0112 3456 7890 189 avant vendredi.\n",
      "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
  };
  return kLines;
}

enum class Mix {
  Mixed,      // the paragraphs above, French and English
  Ascii,      // their pure-ASCII (English, code, CSV) paragraphs only
  Sensitive,  // Mixed with about 1 % of the bytes in sensitive lines
};

std::string make_prompt(std::size_t size, Mix mix = Mix::Mixed) {
  std::vector<const std::string*> pool;
  for (const std::string& p : paragraphs()) {
    const bool ascii = std::all_of(p.begin(), p.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0x80) == 0;
    });
    if (mix != Mix::Ascii || ascii) pool.push_back(&p);
  }
  std::string text;
  text.reserve(size + 512);
  std::size_t sensitive_bytes = 0;
  for (std::size_t i = 0, s = 0; text.size() < size; ++i) {
    if (mix == Mix::Sensitive && (sensitive_bytes + 60) * 100 <= text.size()) {
      const std::string& line = sensitive_lines()[s++ % sensitive_lines().size()];
      text += line;
      sensitive_bytes += line.size();
      continue;
    }
    text += *pool[i % pool.size()];
  }
  text.resize(size);
  return text;
}

gatekeeper::detect::RuleSetConstSharedPtr load_pack(PrefilterKind kind) {
  gatekeeper::Diagnostics diagnostics;
  gatekeeper::detect::RuleSetOptions options;
  options.prefilter = kind;
  options.run_examples = false;
  auto rules = gatekeeper::detect::RuleSet::load(GATEKEEPER_SOURCE_DIR "/rules", options, diagnostics);
  if (!rules) {
    for (const auto& d : diagnostics) std::cerr << d.to_string() << "\n";
    std::abort();
  }
  return *rules;
}

void scan_prompt(benchmark::State& state, PrefilterKind kind, Mix mix = Mix::Mixed) {
  static auto re2_rules = load_pack(PrefilterKind::Re2Set);
  static auto hs_rules = gatekeeper::detect::hyperscan_available()
                             ? load_pack(PrefilterKind::Hyperscan)
                             : gatekeeper::detect::RuleSetConstSharedPtr{};
  static auto auto_rules = load_pack(PrefilterKind::Auto);
  if (kind == PrefilterKind::Hyperscan && hs_rules == nullptr) {
    state.SkipWithError("built without Hyperscan");
    return;
  }
  const auto& rules = kind == PrefilterKind::Re2Set      ? *re2_rules
                      : kind == PrefilterKind::Hyperscan ? *hs_rules
                                                         : *auto_rules;
  const std::string text = make_prompt(static_cast<std::size_t>(state.range(0)), mix);
  std::size_t findings = 0;
  for (auto _ : state) {
    auto result = gatekeeper::detect::scan(rules, text);
    if (!result) {
      state.SkipWithError("scan failed");
      break;
    }
    findings = result->size();
    benchmark::DoNotOptimize(findings);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.counters["findings"] = static_cast<double>(findings);
  const PrefilterKind used = rules.prefilter_kind();
  state.SetLabel(used == PrefilterKind::Hyperscan ? "hyperscan"
                 : used == PrefilterKind::Hybrid  ? "hybrid (re2-set, hyperscan match ends)"
                                                  : "re2-set");
}

void BM_ScanRe2Set(benchmark::State& state) { scan_prompt(state, PrefilterKind::Re2Set); }
void BM_ScanHyperscan(benchmark::State& state) { scan_prompt(state, PrefilterKind::Hyperscan); }
void BM_ScanAuto(benchmark::State& state) { scan_prompt(state, PrefilterKind::Auto); }
void BM_ScanAutoAscii(benchmark::State& state) {
  scan_prompt(state, PrefilterKind::Auto, Mix::Ascii);
}
void BM_ScanAutoSensitive(benchmark::State& state) {
  scan_prompt(state, PrefilterKind::Auto, Mix::Sensitive);
}

BENCHMARK(BM_ScanRe2Set)->RangeMultiplier(4)->Range(1 << 10, 1 << 20);
BENCHMARK(BM_ScanHyperscan)->RangeMultiplier(4)->Range(1 << 10, 1 << 20);
BENCHMARK(BM_ScanAuto)->RangeMultiplier(4)->Range(1 << 10, 1 << 20);
BENCHMARK(BM_ScanAutoAscii)->RangeMultiplier(4)->Range(1 << 10, 1 << 20);
BENCHMARK(BM_ScanAutoSensitive)->RangeMultiplier(4)->Range(1 << 10, 1 << 20);

}  // namespace

BENCHMARK_MAIN();

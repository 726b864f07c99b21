// Scan throughput of the shipped Inserm rule pack over the labelled corpus prompts, and the cost of
// loading the pack (parse, compile, prefilter build, examples).

#include "gatekeeper/detect/evaluation.hpp"
#include "gatekeeper/detect/scanner.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace {

using namespace gatekeeper;
using namespace gatekeeper::detect;

const std::filesystem::path kSource = GATEKEEPER_SOURCE_DIR;

RuleSetConstSharedPtr load_pack() {
  Diagnostics diagnostics;
  RuleSetOptions options;
  options.run_examples = false;
  auto rules = RuleSet::load(kSource / "rules", options, diagnostics);
  if (!rules) {
    for (const auto& d : diagnostics) std::cerr << d.to_string() << "\n";
    std::abort();
  }
  return *rules;
}

const std::vector<LabelledPrompt>& corpus() {
  static const std::vector<LabelledPrompt> prompts = [] {
    std::string error;
    auto read = read_corpus(kSource / "tests" / "corpus" / "prompts.jsonl", &error);
    if (!read) {
      std::cerr << error << "\n";
      std::abort();
    }
    return *read;
  }();
  return prompts;
}

void BM_ScanCorpus(benchmark::State& state) {
  const auto rules = load_pack();
  const auto& prompts = corpus();
  std::size_t bytes = 0;
  for (auto _ : state) {
    for (const auto& prompt : prompts) {
      auto findings = scan(*rules, prompt.text);
      benchmark::DoNotOptimize(findings);
      bytes += prompt.text.size();
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(prompts.size()));
}
BENCHMARK(BM_ScanCorpus)->Unit(benchmark::kMillisecond);

void BM_LoadPack(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(load_pack());
}
BENCHMARK(BM_LoadPack)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();

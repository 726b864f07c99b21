// Cost of the policy step per request: decide() over the findings, then redaction of the text.
#include "gatekeeper/policy/policy.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>

namespace {

using namespace gatekeeper;

policy::PolicyConstSharedPtr shipped_policy() {
  Diagnostics diagnostics;
  auto loaded = policy::Policy::load(
      std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "config" / "policy.yaml", diagnostics);
  return loaded ? *loaded : nullptr;
}

// `count` findings spread over a text of `size` bytes, alternating categories; each value repeats
// every 4 findings so that redaction exercises both new and reused placeholders.
std::pair<std::string, detect::Findings> workload(std::size_t size, std::size_t count) {
  std::string text(size, 'x');
  detect::Findings findings;
  const char* categories[] = {"health_identifier", "secret", "personal_data"};
  const std::size_t step = size / (count + 1);
  for (std::size_t i = 0; i < count; ++i) {
    detect::Finding f;
    f.rule_id = "bench";
    f.category = categories[i % 3];
    f.placeholder = i % 3 == 1 ? "SECRET" : "NIR";
    f.start = (i + 1) * step;
    f.end = f.start + 15;
    text.replace(f.start, 15, std::string(15, static_cast<char>('0' + i % 4)));
    findings.push_back(f);
  }
  return {text, findings};
}

void BM_Decide(benchmark::State& state) {
  const auto policy = shipped_policy();
  const auto [text, findings] = workload(1 << 16, static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto decision = policy::decide(*policy, findings, policy::Tier::External);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Decide)->Arg(1)->Arg(10)->Arg(100);

void BM_Redact(benchmark::State& state) {
  const auto policy = shipped_policy();
  const auto [text, findings] =
      workload(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
  const auto decision = policy::decide(*policy, findings, policy::Tier::External);
  for (auto _ : state) {
    policy::Redactor redactor;
    auto out = redactor.redact(text, findings, decision.finding_actions);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Redact)->Args({4 << 10, 5})->Args({64 << 10, 50})->Args({1 << 20, 500});

}  // namespace

BENCHMARK_MAIN();

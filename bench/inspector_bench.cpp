// Latency the inspector adds to one request, with the shipped rules, policy and platforms.
#include "gatekeeper/http/inspector.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

namespace {

using namespace gatekeeper;
using nlohmann::json;

const config::Snapshot& shipped_snapshot() {
  static const config::Snapshot snapshot = [] {
    const std::filesystem::path root(GATEKEEPER_SOURCE_DIR);
    Diagnostics diagnostics;
    detect::RuleSetOptions options;
    options.run_examples = false;
    config::Snapshot s;
    s.rules = *detect::RuleSet::load(root / "rules", options, diagnostics);
    s.policy = *policy::Policy::load(root / "config" / "policy.yaml", diagnostics);
    s.platforms = *config::PlatformRegistry::load(root / "config" / "platforms.yaml", diagnostics);
    return s;
  }();
  return snapshot;
}

http::InspectRequest chat_request(std::size_t bytes, bool with_nir) {
  std::string prompt;
  while (prompt.size() < bytes)
    prompt +=
        "Pouvez-vous reformuler ce paragraphe sur la méthodologie de l'étude, en gardant les "
        "critères d'inclusion et les analyses de sensibilité prévues au protocole ? ";
  if (with_nir) prompt += " Numéro de sécurité sociale du patient : 1 85 05 78 006 084 91.";
  http::InspectRequest request;
  request.host = "api.openai.com";
  request.method = "POST";
  request.target = "/v1/chat/completions";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = json{{"model", "gpt-4o"},
                      {"messages", json::array({{{"role", "user"}, {"content", prompt}}})}}
                     .dump();
  return request;
}

void BM_InspectChat(benchmark::State& state) {
  const auto& snapshot = shipped_snapshot();
  const auto request = chat_request(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
  for (auto _ : state) {
    auto outcome = http::inspect(snapshot, request);
    benchmark::DoNotOptimize(outcome.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(request.body.size()));
}
// {prompt bytes, 0 = clean (forwarded unchanged) | 1 = one NIR (redacted and re-serialised)}
BENCHMARK(BM_InspectChat)
    ->Args({1 << 10, 0})
    ->Args({1 << 10, 1})
    ->Args({64 << 10, 0})
    ->Args({64 << 10, 1})
    ->Args({1 << 20, 0})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

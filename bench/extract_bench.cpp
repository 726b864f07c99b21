// Cost of reading prompts out of request bodies: parse + extract, and redaction write-back.
#include <benchmark/benchmark.h>

#include <string>

#include "gatekeeper/extract/extractor.hpp"

namespace {

using gatekeeper::extract::Json;
namespace extract = gatekeeper::extract;

// A chat history of about `bytes` bytes: alternating user/assistant turns of French prose.
std::string chat_body(std::size_t bytes) {
  const std::string turn =
      "Bonjour, pouvez-vous reformuler ce paragraphe sur la méthodologie de l'étude de cohorte, "
      "en gardant les références aux critères d'inclusion et aux analyses de sensibilité ? ";
  Json messages = Json::array();
  messages.push_back(
      {{"role", "system"}, {"content", "Tu es un assistant de rédaction scientifique."}});
  std::size_t size = 0;
  for (int i = 0; size < bytes; ++i) {
    std::string content;
    while (content.size() < 2000) content += turn;
    messages.push_back({{"role", i % 2 ? "assistant" : "user"}, {"content", content}});
    size += content.size() + 40;
  }
  return extract::dump_json(Json{{"model", "gpt-4o"}, {"stream", true}, {"messages", messages}});
}

void BM_ParseAndExtractChat(benchmark::State& state) {
  const std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto payload = extract::parse_payload("application/json", body);
    auto extraction = extract::extract(extract::Endpoint::OpenAiChat, *payload);
    benchmark::DoNotOptimize(extraction.segments.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ParseAndExtractChat)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20)->Arg(8 << 20);

void BM_GenericExtract(benchmark::State& state) {
  const std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto payload = extract::parse_payload("application/json", body);
    auto extraction = extract::extract_generic(*payload);
    benchmark::DoNotOptimize(extraction.segments.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_GenericExtract)->Arg(64 << 10)->Arg(1 << 20);

void BM_RedactAndReserialiseChat(benchmark::State& state) {
  const std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
  auto payload = extract::parse_payload("application/json", body);
  const auto extraction = extract::extract(extract::Endpoint::OpenAiChat, *payload);
  for (auto _ : state) {
    extract::Payload edited = *payload;
    for (const auto& segment : extraction.segments)
      (void)extract::write_text(edited, segment.where, "[NIR_1] " + segment.text.substr(8));
    auto out = extract::serialize(edited);
    benchmark::DoNotOptimize(out->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_RedactAndReserialiseChat)->Arg(64 << 10)->Arg(1 << 20);

void BM_GeminiWebThreeLayerWriteBack(benchmark::State& state) {
  std::string prompt(static_cast<std::size_t>(state.range(0)), 'x');
  Json inner = Json::array(
      {Json::array({prompt, 0, nullptr, nullptr, nullptr, nullptr, 0}), Json::array({"fr"})});
  for (int i = 0; i < 60; ++i) inner.push_back(nullptr);
  Json outer = Json::array({nullptr, extract::dump_json(inner)});
  const std::string body = "at=AJ%3A1&f.req=" + extract::form_encode(extract::dump_json(outer));
  for (auto _ : state) {
    auto payload = extract::parse_payload("application/x-www-form-urlencoded", body);
    auto extraction = extract::extract(extract::Endpoint::GeminiWebStream, *payload);
    (void)extract::write_text(*payload, extraction.segments[0].where, "[NIR_1]");
    auto out = extract::serialize(*payload);
    benchmark::DoNotOptimize(out->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_GeminiWebThreeLayerWriteBack)->Arg(1 << 10)->Arg(64 << 10);

}  // namespace

BENCHMARK_MAIN();

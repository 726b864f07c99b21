// Decode throughput of request-body content codings (MB/s of decoded output) and of
// permessage-deflate WebSocket messages, on a chat-completions-like JSON body.
#include <benchmark/benchmark.h>

#include <string>

#include "gatekeeper/http/content_coding.hpp"
#include "gatekeeper/net/websocket_frame.hpp"

namespace {

using gatekeeper::http::Coding;

std::string json_body(std::size_t target) {
  std::string body = R"({"model":"gpt-4o","messages":[)";
  for (int i = 0; body.size() < target; ++i)
    body += R"({"role":"user","content":"Ligne )" + std::to_string(i) +
            R"( : compte rendu de la réunion du comité scientifique, résultats préliminaires."},)";
  body.back() = ']';
  return body + "}";
}

void BM_Decode(benchmark::State& state, Coding coding) {
  const std::string plain = json_body(static_cast<std::size_t>(state.range(0)));
  const std::string encoded = gatekeeper::http::encode(coding, plain).value();
  for (auto _ : state) {
    auto decoded = gatekeeper::http::decode(coding, encoded, {});
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain.size()));
  state.counters["ratio"] = static_cast<double>(plain.size()) / encoded.size();
}

BENCHMARK_CAPTURE(BM_Decode, gzip, Coding::Gzip)->Arg(64 << 10)->Arg(4 << 20);
BENCHMARK_CAPTURE(BM_Decode, deflate, Coding::Deflate)->Arg(64 << 10)->Arg(4 << 20);
BENCHMARK_CAPTURE(BM_Decode, br, Coding::Brotli)->Arg(64 << 10)->Arg(4 << 20);
BENCHMARK_CAPTURE(BM_Decode, zstd, Coding::Zstd)->Arg(64 << 10)->Arg(4 << 20);

// Re-encoding a redacted body.
void BM_Encode(benchmark::State& state, Coding coding) {
  const std::string plain = json_body(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto encoded = gatekeeper::http::encode(coding, plain);
    benchmark::DoNotOptimize(encoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain.size()));
}

BENCHMARK_CAPTURE(BM_Encode, gzip, Coding::Gzip)->Arg(64 << 10);
BENCHMARK_CAPTURE(BM_Encode, br, Coding::Brotli)->Arg(64 << 10);
BENCHMARK_CAPTURE(BM_Encode, zstd, Coding::Zstd)->Arg(64 << 10);

// One 4 KB WebSocket message: inflate (client context) then deflate again (our context).
void BM_WebSocketDeflateRoundTrip(benchmark::State& state) {
  const std::string message = json_body(4 << 10);
  gatekeeper::net::ws::MessageDeflater client(15, false);
  gatekeeper::net::ws::MessageInflater inflater(15, false);
  gatekeeper::net::ws::MessageDeflater proxy(15, false);
  for (auto _ : state) {
    auto compressed = client.deflate(message);
    auto text = inflater.inflate(*compressed, 1 << 20);
    auto again = proxy.deflate(*text);
    benchmark::DoNotOptimize(again);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_WebSocketDeflateRoundTrip);

}  // namespace

BENCHMARK_MAIN();

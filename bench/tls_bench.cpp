// Cost of the TLS interception set-up: minting a leaf (first connection to a host) and a cache
// hit (every later handshake for that host).

#include "gatekeeper/tls/certificate_authority.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using gatekeeper::tls::CertificateAuthority;
using gatekeeper::tls::LeafContextCache;

// One CA for the whole run, in a temporary directory removed at exit.
std::shared_ptr<CertificateAuthority> bench_ca() {
  static const std::shared_ptr<CertificateAuthority> ca = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gatekeeper-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    static const std::filesystem::path dir = pattern;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    auto created = CertificateAuthority::load_or_create(dir);
    if (!created) std::abort();
    return *created;
  }();
  return ca;
}

void BM_MintLeaf(benchmark::State& state) {
  auto ca = bench_ca();
  for (auto _ : state) {
    auto leaf = ca->mint_leaf("api.openai.com");
    benchmark::DoNotOptimize(leaf);
  }
}
BENCHMARK(BM_MintLeaf);

// A miss: mint + build the server SSL_CTX (what the first handshake to a host pays).
void BM_CacheMiss(benchmark::State& state) {
  auto ca = bench_ca();
  LeafContextCache cache(ca, 1);
  std::size_t i = 0;
  for (auto _ : state) {
    auto ctx = cache.get("host" + std::to_string(i++) + ".example.com");
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_CacheMiss);

void BM_CacheHit(benchmark::State& state) {
  auto ca = bench_ca();
  LeafContextCache cache(ca, 10'000);
  if (!cache.get("chatgpt.com")) std::abort();
  for (auto _ : state) {
    auto ctx = cache.get("chatgpt.com");
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_CacheHit)->ThreadRange(1, 4);

// Hits spread over a full-size cache (hash lookup + LRU move on a large list).
void BM_CacheHitAmongMany(benchmark::State& state) {
  auto ca = bench_ca();
  constexpr std::size_t kHosts = 2'000;
  LeafContextCache cache(ca, 10'000);
  std::vector<std::string> hosts;
  for (std::size_t i = 0; i < kHosts; ++i) {
    hosts.push_back("h" + std::to_string(i) + ".example.org");
    if (!cache.get(hosts.back())) std::abort();
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto ctx = cache.get(hosts[i++ % kHosts]);
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_CacheHitAmongMany);

}  // namespace

BENCHMARK_MAIN();

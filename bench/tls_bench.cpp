// Cost of the TLS interception set-up: minting a leaf (first connection to a host), a cache hit
// (every later handshake for that host), a full handshake on a cache hit, and the memory a full
// cache holds.

#include "gatekeeper/tls/certificate_authority.hpp"

#include <benchmark/benchmark.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using gatekeeper::tls::CertificateAuthority;
using gatekeeper::tls::LeafContextCache;
using gatekeeper::tls::SslCtxPtr;

struct SslDeleter { void operator()(SSL* p) const noexcept { SSL_free(p); } };
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

// What the proxy pays per cached host: one lookup that mints on a miss.
bool cache_host(LeafContextCache& cache, const std::string& host) {
  return cache.get_certificate(host).has_value();
}

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

// Resident set size in bytes (second field of /proc/self/statm, in pages).
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long total_pages = 0;
  long resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Bytes handed out by malloc and not yet freed (main arena: the benchmark runs on the main
// thread). Unlike the resident set, it does not depend on what earlier benchmarks freed.
double heap_in_use_bytes() { return static_cast<double>(mallinfo2().uordblks); }

// Memory held by a full cache of 10,000 hosts (the default capacity). Registered first so that
// the resident-set figure is not absorbed by memory freed by other benchmarks.
void BM_MemoryFor10kHosts(benchmark::State& state) {
  constexpr std::size_t kHosts = 10'000;
  auto ca = bench_ca();
  std::vector<std::string> hosts;
  hosts.reserve(kHosts);
  for (std::size_t i = 0; i < kHosts; ++i) {
    hosts.push_back("host" + std::to_string(i) + ".example.com");
  }
  double resident_growth = 0;
  double heap_growth = 0;
  for (auto _ : state) {
    auto cache = std::make_unique<LeafContextCache>(ca, kHosts);
    const double resident_before = resident_bytes();
    const double heap_before = heap_in_use_bytes();
    for (const auto& host : hosts) {
      if (!cache_host(*cache, host)) std::abort();
    }
    resident_growth = resident_bytes() - resident_before;
    heap_growth = heap_in_use_bytes() - heap_before;
    if (cache->size() != kHosts) std::abort();
    state.PauseTiming();
    cache.reset();
    state.ResumeTiming();
  }
  state.counters["rss_growth_MiB"] = resident_growth / (1024.0 * 1024.0);
  state.counters["rss_per_host_B"] = resident_growth / kHosts;
  state.counters["heap_growth_MiB"] = heap_growth / (1024.0 * 1024.0);
  state.counters["heap_per_host_B"] = heap_growth / kHosts;
}
BENCHMARK(BM_MemoryFor10kHosts)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_MintLeaf(benchmark::State& state) {
  auto ca = bench_ca();
  for (auto _ : state) {
    auto leaf = ca->mint_leaf("api.openai.com");
    benchmark::DoNotOptimize(leaf);
  }
}
BENCHMARK(BM_MintLeaf);

// A miss: mint + cache bookkeeping (what the first handshake to a host pays on top of a hit).
void BM_CacheMiss(benchmark::State& state) {
  auto ca = bench_ca();
  LeafContextCache cache(ca, 1);
  std::size_t i = 0;
  for (auto _ : state) {
    auto leaf = cache.get_certificate("host" + std::to_string(i++) + ".example.com");
    benchmark::DoNotOptimize(leaf);
  }
}
BENCHMARK(BM_CacheMiss);

// The distribution of a miss (new host name): the target is on its p99, not its mean.
void BM_CacheMissLatency(benchmark::State& state) {
  auto ca = bench_ca();
  LeafContextCache cache(ca, 1);
  std::vector<double> micros;
  micros.reserve(100'000);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string host = "latency" + std::to_string(i++) + ".example.com";
    const auto start = std::chrono::steady_clock::now();
    auto leaf = cache.get_certificate(host);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    benchmark::DoNotOptimize(leaf);
  }
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
}
BENCHMARK(BM_CacheMissLatency)->Iterations(2000)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_CacheHit(benchmark::State& state) {
  auto ca = bench_ca();
  LeafContextCache cache(ca, 10'000);
  if (!cache.get_certificate("chatgpt.com")) std::abort();
  for (auto _ : state) {
    auto leaf = cache.get_certificate("chatgpt.com");
    benchmark::DoNotOptimize(leaf);
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
    if (!cache.get_certificate(hosts.back())) std::abort();
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto leaf = cache.get_certificate(hosts[i++ % kHosts]);
    benchmark::DoNotOptimize(leaf);
  }
}
BENCHMARK(BM_CacheHitAmongMany);

// One side of an in-memory handshake; false on a hard failure.
bool handshake_step(SSL* ssl, bool& done) {
  if (done) return true;
  const int rc = SSL_do_handshake(ssl);
  if (rc == 1) {
    done = true;
    return true;
  }
  const int error = SSL_get_error(ssl, rc);
  return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
}

// A full (not resumed) TLS handshake with SNI over a BIO pair, the host's leaf already cached:
// what every new client connection to an intercepted host costs on both ends, client included.
void BM_FullHandshakeCacheHit(benchmark::State& state) {
  auto ca = bench_ca();
  LeafContextCache cache(ca, 10'000);
  auto server_ctx = gatekeeper::tls::make_sni_server_context(cache);
  if (!server_ctx) std::abort();
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
  X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx.get()), ca->certificate());
  SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
  static constexpr unsigned char kAlpn[] = "\x02h2\x08http/1.1";
  SSL_CTX_set_alpn_protos(client_ctx.get(), kAlpn, sizeof(kAlpn) - 1);
  if (!cache_host(cache, "chatgpt.com")) std::abort();

  for (auto _ : state) {
    SslPtr client(SSL_new(client_ctx.get()));
    SslPtr server(SSL_new(server_ctx->get()));
    SSL_set_tlsext_host_name(client.get(), "chatgpt.com");
    SSL_set1_host(client.get(), "chatgpt.com");
    gatekeeper::tls::set_fallback_host(server.get(), "chatgpt.com");
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) std::abort();
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 16 && !(client_done && server_done); ++round) {
      if (!handshake_step(client.get(), client_done) ||
          !handshake_step(server.get(), server_done)) {
        std::abort();
      }
    }
    if (!client_done || !server_done || SSL_get_verify_result(client.get()) != X509_V_OK) {
      std::abort();
    }
  }
  if (cache.mint_count() != 1) std::abort();
}
BENCHMARK(BM_FullHandshakeCacheHit)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

// Throughput of the checksum validators on generated identifiers (half valid, half not).

#include "gatekeeper/detect/validators.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace gatekeeper::detect;

constexpr std::size_t kSamples = 1024;

std::string random_digits(std::mt19937_64& rng, std::size_t count) {
  std::uniform_int_distribution<int> digit(0, 9);
  std::string out;
  for (std::size_t i = 0; i < count; ++i) out += static_cast<char>('0' + digit(rng));
  return out;
}

std::string two_digit(unsigned value) {
  return {static_cast<char>('0' + value / 10), static_cast<char>('0' + value % 10)};
}

std::vector<std::string> nir_samples() {
  std::mt19937_64 rng(97);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kSamples; ++i) {
    std::string body = (i % 2 ? "1" : "2") + random_digits(rng, 2) + two_digit(1 + i % 12) +
                       random_digits(rng, 8);
    const std::uint64_t n = std::stoull(body);
    const unsigned key = 97 - static_cast<unsigned>(n % 97);
    out.push_back(body + two_digit(i % 4 == 3 ? (key % 97) + 1 : key));  // a quarter invalid
  }
  return out;
}

std::vector<std::string> iban_samples() {
  std::mt19937_64 rng(13616);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kSamples; ++i) {
    const std::string bban = random_digits(rng, 23);
    std::string iban;
    for (unsigned check = 0; check < 100; ++check) {
      iban = "FR" + two_digit(check) + bban;
      if (iban_is_valid(iban)) break;
    }
    if (i % 2) iban[10] = iban[10] == '9' ? '0' : static_cast<char>(iban[10] + 1);
    out.push_back(iban);
  }
  return out;
}

std::vector<std::string> luhn_samples() {
  std::mt19937_64 rng(10);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kSamples; ++i) out.push_back(random_digits(rng, 16));
  return out;
}

template <bool (*Check)(std::string_view)>
void run(benchmark::State& state, const std::vector<std::string>& samples) {
  std::size_t i = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string& sample = samples[i++ % samples.size()];
    benchmark::DoNotOptimize(Check(sample));
    bytes += sample.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_Nir(benchmark::State& state) {
  static const auto samples = nir_samples();
  run<nir_is_valid>(state, samples);
}

void BM_Iban(benchmark::State& state) {
  static const auto samples = iban_samples();
  run<iban_is_valid>(state, samples);
}

void BM_Luhn16(benchmark::State& state) {
  static const auto samples = luhn_samples();
  run<luhn_is_valid>(state, samples);
}

// The registry path the scanner takes: lookup once, then call through the table entry.
void BM_NirThroughRegistry(benchmark::State& state) {
  static const auto samples = nir_samples();
  const ValidatorInfo* info = find_validator("nir");
  const ValidatorParams params;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& sample = samples[i++ % samples.size()];
    ValidationInput input;
    input.candidate = sample;
    input.text = sample;
    input.end = sample.size();
    input.params = &params;
    benchmark::DoNotOptimize(info->fn(input));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK(BM_Nir);
BENCHMARK(BM_Iban);
BENCHMARK(BM_Luhn16);
BENCHMARK(BM_NirThroughRegistry);

}  // namespace

BENCHMARK_MAIN();

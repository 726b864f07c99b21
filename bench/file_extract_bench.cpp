// Attached-file extraction throughput per format (MB/s of file bytes): the committed fixtures
// produced by LibreOffice, enlarged where the format allows it so that per-call overheads do not
// dominate.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gatekeeper/extract/file_extractor.hpp"

namespace {

namespace extract = gatekeeper::extract;

std::string fixture(const std::string& name) {
  std::ifstream in(
      std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "tests" / "fixtures" / "files" / name,
      std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void extract_bytes(benchmark::State& state, const std::string& bytes) {
  if (bytes.empty()) {
    state.SkipWithError("fixture not found");
    return;
  }
  for (auto _ : state) {
    extract::ExtractionBudget budget(gatekeeper::config::FileLimits{});
    auto extraction = extract::extract_file(bytes, budget);
    if (!extraction) {
      state.SkipWithError("extraction failed");
      return;
    }
    benchmark::DoNotOptimize(extraction->texts.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
}

void BM_ExtractFixture(benchmark::State& state, const char* name) {
  extract_bytes(state, fixture(name));
}

// Text formats, repeated to about 1 MiB (one file, one pass of the reader).
void BM_ExtractTextRepeated(benchmark::State& state, const char* name) {
  const std::string one = fixture(name);
  std::string bytes;
  while (!one.empty() && bytes.size() < (1u << 20)) bytes += one;
  extract_bytes(state, bytes);
}

}  // namespace

BENCHMARK_CAPTURE(BM_ExtractFixture, docx, "sensitive.docx");
BENCHMARK_CAPTURE(BM_ExtractFixture, xlsx, "sensitive.xlsx");
BENCHMARK_CAPTURE(BM_ExtractFixture, pptx, "sensitive.pptx");
BENCHMARK_CAPTURE(BM_ExtractFixture, odt, "sensitive.odt");
BENCHMARK_CAPTURE(BM_ExtractFixture, ods, "sensitive.ods");
BENCHMARK_CAPTURE(BM_ExtractFixture, odp, "sensitive.odp");
BENCHMARK_CAPTURE(BM_ExtractFixture, pdf, "sensitive.pdf");
BENCHMARK_CAPTURE(BM_ExtractFixture, dicom, "sensitive.dcm");
BENCHMARK_CAPTURE(BM_ExtractFixture, png, "image.png");
BENCHMARK_CAPTURE(BM_ExtractTextRepeated, rtf, "sensitive.rtf");
BENCHMARK_CAPTURE(BM_ExtractTextRepeated, html, "sensitive.html");
BENCHMARK_CAPTURE(BM_ExtractTextRepeated, csv, "sensitive.csv");
BENCHMARK_CAPTURE(BM_ExtractTextRepeated, txt_latin1, "sensitive-latin1.txt");
BENCHMARK_CAPTURE(BM_ExtractTextRepeated, txt_utf16, "sensitive-utf16.txt");

BENCHMARK_MAIN();

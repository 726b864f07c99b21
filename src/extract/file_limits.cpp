#include "gatekeeper/extract/file_limits.hpp"

#include <cstdio>

namespace gatekeeper::extract {
namespace {

std::string format_ratio(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", ratio);
  return buffer;
}

}  // namespace

ExtractionBudget::ExtractionBudget(const config::FileLimits& limits)
    : limits_(limits), deadline_(std::chrono::steady_clock::now() + limits.max_extraction_time) {}

Result<void> ExtractionBudget::exceeded(std::string limit_en, std::string limit_fr) {
  if (problem_en_.empty()) {
    problem_en_ = std::move(limit_en);
    problem_fr_ = std::move(limit_fr);
  }
  return Errc::ExtractionLimit;
}

Result<void> ExtractionBudget::malformed(std::string what_en, std::string what_fr) {
  if (problem_en_.empty()) {
    problem_en_ = std::move(what_en);
    problem_fr_ = std::move(what_fr);
  }
  return Errc::FileMalformed;
}

Result<void> ExtractionBudget::add_decoded(std::uint64_t bytes) {
  decoded_ += bytes;
  if (decoded_ > limits_.max_decoded_bytes) {
    const std::string limit = std::to_string(limits_.max_decoded_bytes);
    return exceeded("decoded size over files.max_decoded_bytes (" + limit + " bytes)",
                    "taille décodée au-delà de files.max_decoded_bytes (" + limit + " octets)");
  }
  return {};
}

Result<void> ExtractionBudget::check_ratio(std::uint64_t decoded, std::uint64_t encoded) {
  if (decoded < kRatioFloorBytes) return {};
  if (encoded == 0 ||
      static_cast<double>(decoded) / static_cast<double>(encoded) > limits_.max_compression_ratio) {
    const std::string limit = format_ratio(limits_.max_compression_ratio);
    return exceeded(
        "compression ratio over files.max_compression_ratio (" + limit + "), a possible zip bomb",
        "taux de compression au-delà de files.max_compression_ratio (" + limit +
            "), possible bombe de décompression");
  }
  return {};
}

Result<void> ExtractionBudget::add_entries(std::uint64_t count) {
  entries_ += count;
  if (entries_ > limits_.max_archive_entries) {
    const std::string limit = std::to_string(limits_.max_archive_entries);
    return exceeded(
        "archive entries over files.max_archive_entries (" + limit + ")",
        "nombre d'éléments d'archive au-delà de files.max_archive_entries (" + limit + ")");
  }
  return {};
}

Result<void> ExtractionBudget::check_depth(unsigned depth) {
  if (depth > limits_.max_archive_depth) {
    const std::string limit = std::to_string(limits_.max_archive_depth);
    return exceeded("archives nested deeper than files.max_archive_depth (" + limit + ")",
                    "archives imbriquées au-delà de files.max_archive_depth (" + limit + ")");
  }
  return {};
}

Result<void> ExtractionBudget::check_pages(std::uint64_t pages) {
  if (pages > limits_.max_pdf_pages) {
    const std::string limit = std::to_string(limits_.max_pdf_pages);
    return exceeded("PDF pages over files.max_pdf_pages (" + limit + ")",
                    "pages PDF au-delà de files.max_pdf_pages (" + limit + ")");
  }
  return {};
}

Result<void> ExtractionBudget::check_time() {
  if (std::chrono::steady_clock::now() > deadline_) {
    const std::string limit = std::to_string(limits_.max_extraction_time.count());
    return exceeded("extraction time over files.max_extraction_time (" + limit + " ms)",
                    "durée d'extraction au-delà de files.max_extraction_time (" + limit + " ms)");
  }
  return {};
}

}  // namespace gatekeeper::extract

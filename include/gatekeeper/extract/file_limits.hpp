#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/core/error.hpp"

namespace gatekeeper::extract {

// What extracting the files of one request may cost (settings `files:`). Shared by every file of
// the request: decoded bytes, archive entries and time add up. The first limit crossed or the
// first malformed file stops extraction; `problem()` then says which, in words a user can act on.
class ExtractionBudget {
 public:
  explicit ExtractionBudget(const config::FileLimits& limits);

  const config::FileLimits& limits() const noexcept { return limits_; }

  // Errc::ExtractionLimit past max_decoded_bytes (all files of the request together).
  Result<void> add_decoded(std::uint64_t bytes);
  // Errc::ExtractionLimit when decoded / encoded exceeds max_compression_ratio. Members smaller
  // than kRatioFloorBytes are exempt: tiny files legitimately compress far (an empty sheet).
  Result<void> check_ratio(std::uint64_t decoded, std::uint64_t encoded);
  // Errc::ExtractionLimit past max_archive_entries (all archives of the request together).
  Result<void> add_entries(std::uint64_t count);
  // Errc::ExtractionLimit when opening one more archive level would exceed max_archive_depth.
  Result<void> check_depth(unsigned depth);
  Result<void> check_pages(std::uint64_t pages);
  // Errc::ExtractionLimit once max_extraction_time has elapsed since construction.
  Result<void> check_time();

  // Records why extraction stopped and returns the error.
  Result<void> exceeded(std::string limit_en, std::string limit_fr);
  Result<void> malformed(std::string what_en, std::string what_fr);

  // Empty until something failed. Names the limit ("max_compression_ratio: 200") or the problem
  // ("zip: truncated central directory"); never any content of the file.
  const std::string& problem_en() const noexcept { return problem_en_; }
  const std::string& problem_fr() const noexcept { return problem_fr_; }

  static constexpr std::uint64_t kRatioFloorBytes = 1u << 20;

 private:
  config::FileLimits limits_;
  std::chrono::steady_clock::time_point deadline_;
  std::uint64_t decoded_ = 0;
  std::uint64_t entries_ = 0;
  std::string problem_en_;
  std::string problem_fr_;
};

}  // namespace gatekeeper::extract

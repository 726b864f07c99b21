#pragma once

#include "gatekeeper/core/error.hpp"
#include "gatekeeper/detect/finding.hpp"
#include "gatekeeper/detect/rule_set.hpp"

#include <string_view>

namespace gatekeeper::detect {

struct ScanOptions {
  bool include_signals = false;    // also report signal rules (examples, debugging)
  bool resolve_overlaps = true;    // keep one finding per overlapping region
  std::size_t max_bytes = 64u << 20;  // larger inputs fail with Errc::InputTooLarge (fail closed)
};

// Scans one text (arbitrary bytes: invalid UTF-8 and NUL are tolerated) with every rule.
// Pipeline: normalise -> prefilter (one pass for all patterns) -> locate each hit with its RE2 ->
// normalise pairs + validator -> context / negative context -> min_score -> combinations ->
// overlap resolution -> offsets mapped back to the original bytes. Findings are sorted by start.
//
// Errors (all must be treated as "do not forward" by callers on an AI host):
//   Errc::ScanOutOfMemory  the prefilter or a pattern ran out of memory (never reported as "no match")
//   Errc::InputTooLarge    input longer than options.max_bytes
//   Errc::ScanFailed       any other engine failure
Result<Findings> scan(const RuleSet& rules, std::string_view text, const ScanOptions& options = {});

}  // namespace gatekeeper::detect

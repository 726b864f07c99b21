#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/core/error.hpp"
#include "gatekeeper/detect/rule_set.hpp"

namespace gatekeeper::detect {

// One pass over a text for many patterns at once, answering "which patterns may match here".
// The answer may contain patterns that do not match (the caller confirms each with its own RE2),
// but never misses one that does. Implementations are immutable once built and safe to call from
// several threads at once.
class Prefilter {
 public:
  virtual ~Prefilter() = default;

  virtual PrefilterKind kind() const noexcept = 0;
  // Appends to `hits` the indices (into the pattern list given at build time) of the patterns that
  // may match `text`, in no particular order and without duplicates. `text` must be valid UTF-8.
  // Fails with Errc::ScanOutOfMemory when the engine ran out of memory (never "no match") and
  // Errc::ScanFailed on any other engine error.
  virtual Result<void> match(std::string_view text, std::vector<int>& hits) const = 0;
};

struct PrefilterOptions {
  bool caseless = false;            // the patterns run on the folded view
  std::int64_t max_mem = 64 << 20;  // RE2::Set budget (program + DFA)
};

// Builds the prefilter for `patterns` (RE2 syntax, already checked to compile with RE2). On failure
// returns Errc::RuleSetTooLarge (memory budget) or Errc::RulePatternInvalid and sets `error`.
Result<std::unique_ptr<Prefilter>> make_re2_set_prefilter(const std::vector<std::string>& patterns,
                                                          const PrefilterOptions& options,
                                                          std::string* error);

// Hyperscan in prefilter mode. Patterns Hyperscan cannot compile are reported as "may match" on
// every scan, so the result is never narrower than RE2's. Returns Errc::ScanFailed when Hyperscan
// is not built in.
Result<std::unique_ptr<Prefilter>> make_hyperscan_prefilter(
    const std::vector<std::string>& patterns, const PrefilterOptions& options, std::string* error);

// The end offsets of every match of one pattern, found by Hyperscan, so that its RE2 search can
// start close to the first possible match instead of at the last one (see scanner.cpp). Built only
// for patterns whose Hyperscan semantics match at least where RE2's do: pure ASCII pattern text,
// no \p classes (Unicode tables and case folding may differ between the engines), and a bounded
// match length.
class MatchEnds {
 public:
  virtual ~MatchEnds() = default;
  // Longest possible match in bytes: a match ending at `e` starts at or after `e - max_width()`.
  virtual std::size_t max_width() const noexcept = 0;
  // Replaces `ends` with the sorted end offsets of the matches in `text`. Returns false when the
  // ends are not available (engine error, too many matches): the caller then searches the whole
  // text, which is always correct.
  virtual bool find(std::string_view text, std::vector<std::uint32_t>& ends) const = 0;
};

// Null when the pattern is not eligible (or Hyperscan is not built in).
std::unique_ptr<const MatchEnds> make_match_ends(const std::string& pattern, bool caseless);

// True when this build has Hyperscan (GATEKEEPER_HAVE_HYPERSCAN).
bool hyperscan_available() noexcept;

}  // namespace gatekeeper::detect

#include "gatekeeper/detect/prefilter.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#ifdef GATEKEEPER_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

namespace gatekeeper::detect {
namespace {

re2::StringPiece piece(std::string_view s) { return re2::StringPiece(s.data(), s.size()); }

class Re2SetPrefilter final : public Prefilter {
 public:
  explicit Re2SetPrefilter(re2::RE2::Set set) : set_(std::move(set)) {}

  PrefilterKind kind() const noexcept override { return PrefilterKind::Re2Set; }

  Result<void> match(std::string_view text, std::vector<int>& hits) const override {
    thread_local std::vector<int> matched;
    matched.clear();
    re2::RE2::Set::ErrorInfo info{re2::RE2::Set::kNoError};
    if (!set_.Match(piece(text), &matched, &info)) {
      // A false return is "no match" only when no error was recorded: running out of DFA memory
      // must never read as a clean text.
      if (info.kind == re2::RE2::Set::kOutOfMemory) return Errc::ScanOutOfMemory;
      if (info.kind != re2::RE2::Set::kNoError) return Errc::ScanFailed;
      return {};
    }
    hits.insert(hits.end(), matched.begin(), matched.end());
    return {};
  }

 private:
  re2::RE2::Set set_;
};

}  // namespace

Result<std::unique_ptr<Prefilter>> make_re2_set_prefilter(const std::vector<std::string>& patterns,
                                                          const PrefilterOptions& options,
                                                          std::string* error) {
  re2::RE2::Options re2_options;
  re2_options.set_log_errors(false);
  re2_options.set_case_sensitive(!options.caseless);
  re2_options.set_max_mem(options.max_mem);
  re2::RE2::Set set(re2_options, re2::RE2::UNANCHORED);
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    std::string message;
    if (set.Add(piece(patterns[i]), &message) != static_cast<int>(i)) {
      if (error) *error = "pattern " + std::to_string(i) + ": " + message;
      return Errc::RulePatternInvalid;
    }
  }
  if (!set.Compile()) {
    if (error) *error = "the pattern set does not fit in the memory budget (max_mem)";
    return Errc::RuleSetTooLarge;
  }
  return std::unique_ptr<Prefilter>(new Re2SetPrefilter(std::move(set)));
}

#ifdef GATEKEEPER_HAVE_HYPERSCAN

namespace {

// hs_scratch_t is not thread-safe, so each thread keeps one scratch region, grown with
// hs_alloc_scratch to fit every database it has scanned with (a scratch valid for a database stays
// valid when grown for another one). Databases are told apart by a process-unique id rather than
// their address, which a later database could reuse.
struct ScratchCache {
  hs_scratch_t* scratch = nullptr;
  std::vector<std::uint64_t> ready_for;

  ~ScratchCache() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }

  hs_error_t prepare(const hs_database_t* db, std::uint64_t id) {
    if (std::find(ready_for.begin(), ready_for.end(), id) != ready_for.end()) return HS_SUCCESS;
    const hs_error_t rc = hs_alloc_scratch(db, &scratch);
    if (rc != HS_SUCCESS) return rc;
    if (ready_for.size() >= 64) ready_for.clear();  // bounded; re-preparing is cheap and safe
    ready_for.push_back(id);
    return HS_SUCCESS;
  }
};

std::atomic<std::uint64_t> next_database_id{1};

struct MatchContext {
  std::vector<int>* hits;
  const std::vector<int>* to_pattern;
};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  auto* context = static_cast<MatchContext*>(ctx);
  context->hits->push_back((*context->to_pattern)[id]);
  return 0;
}

class HyperscanPrefilter final : public Prefilter {
 public:
  HyperscanPrefilter(hs_database_t* db, std::vector<int> to_pattern, std::vector<int> always_run)
      : db_(db),
        id_(next_database_id.fetch_add(1)),
        to_pattern_(std::move(to_pattern)),
        always_run_(std::move(always_run)) {}
  ~HyperscanPrefilter() override {
    if (db_ != nullptr) hs_free_database(db_);
  }

  PrefilterKind kind() const noexcept override { return PrefilterKind::Hyperscan; }

  Result<void> match(std::string_view text, std::vector<int>& hits) const override {
    hits.insert(hits.end(), always_run_.begin(), always_run_.end());
    if (db_ == nullptr) return {};
    thread_local ScratchCache cache;
    hs_error_t rc = cache.prepare(db_, id_);
    if (rc != HS_SUCCESS) return rc == HS_NOMEM ? Errc::ScanOutOfMemory : Errc::ScanFailed;
    MatchContext context{&hits, &to_pattern_};
    rc = hs_scan(db_, text.data(), static_cast<unsigned int>(text.size()), 0, cache.scratch,
                 on_match, &context);
    if (rc == HS_SUCCESS) return {};
    return rc == HS_NOMEM ? Errc::ScanOutOfMemory : Errc::ScanFailed;
  }

 private:
  hs_database_t* db_;
  std::uint64_t id_;
  std::vector<int> to_pattern_;  // Hyperscan expression id -> pattern index
  std::vector<int> always_run_;  // patterns Hyperscan rejected: reported on every scan
};

int on_match_end(unsigned int, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
  auto* ends = static_cast<std::vector<std::uint32_t>*>(ctx);
  // Past this many ends the search would not be narrowed much: stop and let RE2 scan everything.
  if (ends->size() >= ends->capacity()) return 1;
  ends->push_back(static_cast<std::uint32_t>(to));
  return 0;
}

class HyperscanMatchEnds final : public MatchEnds {
 public:
  HyperscanMatchEnds(hs_database_t* db, std::size_t max_width)
      : db_(db), id_(next_database_id.fetch_add(1)), max_width_(max_width) {}
  ~HyperscanMatchEnds() override { hs_free_database(db_); }

  std::size_t max_width() const noexcept override { return max_width_; }

  bool find(std::string_view text, std::vector<std::uint32_t>& ends) const override {
    thread_local ScratchCache cache;
    if (cache.prepare(db_, id_) != HS_SUCCESS) return false;
    ends.clear();
    ends.reserve(text.size() / 32 + 16);
    const hs_error_t rc = hs_scan(db_, text.data(), static_cast<unsigned int>(text.size()), 0,
                                  cache.scratch, on_match_end, &ends);
    if (rc != HS_SUCCESS) return false;
    std::sort(ends.begin(), ends.end());
    return true;
  }

 private:
  hs_database_t* db_;
  std::uint64_t id_;
  std::size_t max_width_;
};

}  // namespace

std::unique_ptr<const MatchEnds> make_match_ends(const std::string& pattern, bool caseless) {
  constexpr unsigned kMaxWidth = 1024;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (static_cast<unsigned char>(pattern[i]) >= 0x80) return nullptr;
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 'p' || next == 'P') return nullptr;
    }
  }
  const unsigned flags = HS_FLAG_UTF8 | (caseless ? HS_FLAG_CASELESS : 0u);
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_expression_info(pattern.c_str(), flags, &info, &error) != HS_SUCCESS) {
    hs_free_compile_error(error);
    return nullptr;
  }
  const unsigned max_width = info->max_width;
  const unsigned min_width = info->min_width;
  std::free(info);
  if (max_width > kMaxWidth || min_width == 0) return nullptr;
  hs_database_t* db = nullptr;
  if (hs_compile(pattern.c_str(), flags, HS_MODE_BLOCK, nullptr, &db, &error) != HS_SUCCESS) {
    hs_free_compile_error(error);
    return nullptr;
  }
  return std::make_unique<HyperscanMatchEnds>(db, max_width);
}

bool hyperscan_available() noexcept { return true; }

Result<std::unique_ptr<Prefilter>> make_hyperscan_prefilter(
    const std::vector<std::string>& patterns, const PrefilterOptions& options, std::string* error) {
  unsigned flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8;
  if (options.caseless) flags |= HS_FLAG_CASELESS;
  std::vector<int> accepted(patterns.size());
  for (std::size_t i = 0; i < patterns.size(); ++i) accepted[i] = static_cast<int>(i);
  std::vector<int> always_run;

  // Compile everything at once; when Hyperscan names the expression it cannot handle (syntax it
  // lacks, a pattern that can match the empty string, ...), move it to the always-run list and
  // retry.
  while (!accepted.empty()) {
    std::vector<const char*> expressions;
    std::vector<unsigned> expression_flags(accepted.size(), flags);
    std::vector<unsigned> ids(accepted.size());
    expressions.reserve(accepted.size());
    for (std::size_t k = 0; k < accepted.size(); ++k) {
      expressions.push_back(patterns[static_cast<std::size_t>(accepted[k])].c_str());
      ids[k] = static_cast<unsigned>(k);
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* compile_error = nullptr;
    const hs_error_t rc = hs_compile_multi(expressions.data(), expression_flags.data(), ids.data(),
                                           static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK,
                                           nullptr, &db, &compile_error);
    if (rc == HS_SUCCESS) {
      return std::unique_ptr<Prefilter>(
          new HyperscanPrefilter(db, std::move(accepted), std::move(always_run)));
    }
    const int failed = compile_error != nullptr ? compile_error->expression : -1;
    if (failed < 0 || static_cast<std::size_t>(failed) >= accepted.size()) {
      if (error) {
        *error = "Hyperscan could not compile the pattern set";
        if (compile_error != nullptr && compile_error->message != nullptr) {
          *error += std::string(": ") + compile_error->message;
        }
      }
      hs_free_compile_error(compile_error);
      return Errc::RuleSetTooLarge;
    }
    hs_free_compile_error(compile_error);
    always_run.push_back(accepted[static_cast<std::size_t>(failed)]);
    accepted.erase(accepted.begin() + failed);
  }
  return std::unique_ptr<Prefilter>(new HyperscanPrefilter(nullptr, {}, std::move(always_run)));
}

#else

std::unique_ptr<const MatchEnds> make_match_ends(const std::string&, bool) { return nullptr; }

bool hyperscan_available() noexcept { return false; }

Result<std::unique_ptr<Prefilter>> make_hyperscan_prefilter(const std::vector<std::string>&,
                                                            const PrefilterOptions&,
                                                            std::string* error) {
  if (error) *error = "this build has no Hyperscan support";
  return Errc::ScanFailed;
}

#endif

}  // namespace gatekeeper::detect

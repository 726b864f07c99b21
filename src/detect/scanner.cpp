#include "gatekeeper/detect/scanner.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>

#include "gatekeeper/detect/normalizer.hpp"
#include "gatekeeper/detect/rule_set_impl.hpp"

namespace gatekeeper::detect {
namespace {

constexpr std::size_t kCombinationPattern = std::numeric_limits<std::size_t>::max();
// Scores are sums of decimal fractions (0.5 + 0.35): compare with a little slack.
constexpr double kScoreEpsilon = 1e-9;
// Per-thread buffers above this size are released after the scan instead of kept for the next one.
constexpr std::size_t kKeepBuffersBelow = 8u << 20;
// Below this size a whole-text RE2 search costs less than asking Hyperscan where matches end.
constexpr std::size_t kNarrowLocateAbove = 4096;

struct Candidate {
  std::size_t rule;
  std::size_t pattern;     // index in the rule's patterns, or kCombinationPattern
  std::size_t fold_start;  // span in the folded view (context, combination windows)
  std::size_t fold_end;
  std::size_t raw_start;  // span in the original input
  std::size_t raw_end;
  double score;
  bool validated;
  const std::string* context_word;
  std::uint32_t locate_order;  // position of its pattern in the single-pass locate order
};

struct ScanState {
  NormalizedText normalized;
  std::array<std::vector<int>, 2> hits;  // per view: prefilter hits, sorted, unique
  std::vector<char> needed;              // per rule: its patterns must be located
  std::vector<char> located;             // per rule: its patterns have been located
  std::vector<char> prefiltered;         // per rule: the prefilter reported one of its patterns
  std::vector<Candidate> candidates;
  std::vector<Candidate> combined;
  std::vector<std::size_t> order;
  std::vector<std::size_t> by_priority;
  std::vector<std::uint32_t> ends;  // match ends of the pattern being located
  std::string value;                // candidate value after the rule's normalize pairs
  std::string swap;
};

re2::StringPiece piece(std::string_view s) { return re2::StringPiece(s.data(), s.size()); }

bool is_ascii(std::string_view s) {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
  const char* p = s.data();
  std::size_t n = s.size();
  // Four words per step: the OR folds them into one test (pure ASCII is the common case).
  for (; n >= 32; p += 32, n -= 32) {
    std::uint64_t w[4];
    std::memcpy(w, p, 32);
    if (((w[0] | w[1] | w[2] | w[3]) & kHighBits) != 0) return false;
  }
  for (; n > 0; ++p, --n) {
    if ((static_cast<unsigned char>(*p) & 0x80) != 0) return false;
  }
  return true;
}

void apply_normalize(const std::vector<std::pair<std::string, std::string>>& pairs,
                     std::string& value, std::string& swap) {
  for (const auto& [from, to] : pairs) {
    if (from.empty() || value.find(from) == std::string::npos) continue;
    swap.clear();
    std::size_t pos = 0;
    while (true) {
      const std::size_t hit = value.find(from, pos);
      if (hit == std::string::npos) break;
      swap.append(value, pos, hit - pos);
      swap += to;
      pos = hit + from.size();
    }
    swap.append(value, pos, std::string::npos);
    value.swap(swap);
  }
}

// Context and negative context, then the threshold. Returns false when the candidate is dropped.
bool score_context(const RuleSpec& spec, const CompiledRule& rule, std::string_view folded,
                   Candidate& c) {
  if (rule.context) {
    if (const auto* entry = detail::find_context(*rule.context, folded, c.fold_start, c.fold_end)) {
      c.score = std::min(1.0, std::max(c.score + rule.context->boost, rule.context->floor));
      c.context_word = &entry->original;
    }
  }
  if (rule.negative_context &&
      detail::find_context(*rule.negative_context, folded, c.fold_start, c.fold_end) != nullptr) {
    c.score = std::max(0.0, c.score - rule.negative_context->boost);
  }
  return c.score + kScoreEpsilon >= spec.min_score;
}

class Scan {
 public:
  Scan(const RuleSet::Impl& impl, ScanState& state) : impl_(impl), state_(state) {}

  // Runs the prefilter of one view and keeps its hits for locate().
  Result<void> prefilter_view(View view) {
    auto& hits = state_.hits[static_cast<int>(view)];
    hits.clear();
    const Prefilter* prefilter = impl_.prefilters[static_cast<int>(view)].get();
    if (prefilter == nullptr) return {};
    if (auto r = prefilter->match(view_text(view), hits); !r) return r;
    // Deterministic order whatever the prefilter's.
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
    return {};
  }

  // Both views at once with Impl::ascii_prefilter, when `text` is pure ASCII. Sets `used` to false
  // when that shortcut does not apply (the caller then runs prefilter_view for each view).
  Result<void> prefilter_ascii(bool& used) {
    used = false;
    const Prefilter* prefilter = impl_.ascii_prefilter.get();
    if (prefilter == nullptr || !is_ascii(state_.normalized.text)) return {};
    used = true;
    auto& text_hits = state_.hits[static_cast<int>(View::Text)];
    auto& folded_hits = state_.hits[static_cast<int>(View::Folded)];
    text_hits.clear();
    folded_hits.clear();
    if (auto r = prefilter->match(state_.normalized.text, text_hits); !r) return r;
    std::sort(text_hits.begin(), text_hits.end());
    text_hits.erase(std::unique(text_hits.begin(), text_hits.end()), text_hits.end());
    const int text_count =
        static_cast<int>(impl_.view_patterns[static_cast<int>(View::Text)].size());
    const auto first_folded = std::lower_bound(text_hits.begin(), text_hits.end(), text_count);
    for (auto it = first_folded; it != text_hits.end(); ++it) {
      folded_hits.push_back(*it - text_count);
    }
    text_hits.erase(first_folded, text_hits.end());
    return {};
  }

  // Locates every hit pattern of the rules marked needed and not yet located, and turns their
  // matches into scored candidates.
  void locate_needed() {
    for (int v = 0; v < 2; ++v) {
      const View view = static_cast<View>(v);
      const auto& to_pattern = impl_.view_patterns[static_cast<std::size_t>(v)];
      const std::string& text = view_text(view);
      for (int hit : state_.hits[static_cast<std::size_t>(v)]) {
        const auto index = to_pattern[static_cast<std::size_t>(hit)];
        const CompiledPattern& pattern = impl_.patterns[index];
        if (!state_.needed[pattern.rule] || state_.located[pattern.rule]) continue;
        // The single-pass order (text view first, then folded, each by prefilter index) is what
        // combine() sees, whichever phase located the pattern.
        const std::size_t order =
            static_cast<std::size_t>(v) * impl_.patterns.size() + static_cast<std::size_t>(hit);
        locate(pattern, view, text, static_cast<std::uint32_t>(order));
      }
    }
    for (std::size_t r = 0; r < state_.needed.size(); ++r) {
      if (state_.needed[r]) state_.located[r] = 1;
    }
  }

  // Signal rules only matter for the combinations they feed (unless reported). Locating runs in
  // phases: first the reported rules; then the (signal) anchors of the combinations that can
  // still fire, i.e. enough of whose `with` rules have candidates or, for signals not located
  // yet, prefilter hits; then the `with` signals of those combinations whose anchor was found.
  // Signals that hit often in ordinary prose are thus rarely located. Findings are the same as
  // locating everything: a combination needs an anchor candidate and `required` `with` rules
  // with candidates.
  void locate_all(const ScanOptions& options) {
    const std::size_t rules = impl_.specs.size();
    state_.needed.assign(rules, 0);
    state_.located.assign(rules, 0);
    for (std::size_t r = 0; r < rules; ++r) {
      state_.needed[r] = options.include_signals || !impl_.specs[r].signal;
    }
    locate_needed();
    if (options.include_signals) return;
    bool more = false;
    auto need = [&](std::size_t rule) {
      if (state_.needed[rule]) return;
      state_.needed[rule] = 1;
      more = true;
    };
    mark_prefilter_hits();
    for (std::size_t index : impl_.combination_order) {
      if (can_fire(impl_.rules[index])) need(impl_.rules[index].anchor);
    }
    if (more) locate_needed();
    const bool anchors_added = more;
    more = false;
    for (std::size_t index : impl_.combination_order) {
      const CompiledRule& rule = impl_.rules[index];
      if (!state_.located[rule.anchor] || !has_candidate(rule.anchor) || !can_fire(rule)) continue;
      for (std::size_t with : rule.with) need(with);
    }
    if (more) locate_needed();
    if (!anchors_added && !more) return;
    std::stable_sort(
        state_.candidates.begin(), state_.candidates.end(),
        [](const Candidate& a, const Candidate& b) { return a.locate_order < b.locate_order; });
  }

  void combine() {
    auto& candidates = state_.candidates;
    // Sorted by rule then position, so each rule's hits are one contiguous range.
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      if (a.rule != b.rule) return a.rule < b.rule;
      if (a.raw_start != b.raw_start) return a.raw_start < b.raw_start;
      if (a.raw_end != b.raw_end) return a.raw_end < b.raw_end;
      return a.score > b.score;
    });
    // The same rule may find the same span through two patterns: keep the best-scored one.
    candidates.erase(std::unique(candidates.begin(), candidates.end(),
                                 [](const Candidate& a, const Candidate& b) {
                                   return a.rule == b.rule && a.raw_start == b.raw_start &&
                                          a.raw_end == b.raw_end;
                                 }),
                     candidates.end());
    if (impl_.combination_order.empty()) return;

    auto range_of = [&](std::size_t rule) {
      auto first = std::lower_bound(candidates.begin(), candidates.end(), rule,
                                    [](const Candidate& c, std::size_t r) { return c.rule < r; });
      auto last = std::upper_bound(first, candidates.end(), rule,
                                   [](std::size_t r, const Candidate& c) { return r < c.rule; });
      return std::make_pair(first, last);
    };
    const std::string& folded = state_.normalized.folded;
    state_.combined.clear();
    for (std::size_t index : impl_.combination_order) {
      const CompiledRule& rule = impl_.rules[index];
      const RuleSpec& spec = impl_.specs[index];
      auto [anchor_first, anchor_last] = range_of(rule.anchor);
      for (auto a = anchor_first; a != anchor_last; ++a) {
        const std::size_t low = a->fold_start > rule.window ? a->fold_start - rule.window : 0;
        const std::size_t high = a->fold_end + rule.window;
        std::size_t near = 0;
        for (std::size_t with : rule.with) {
          if (near_any(range_of(with), low, high)) ++near;
        }
        if (near < rule.required) continue;
        Candidate c = *a;
        c.rule = index;
        c.pattern = kCombinationPattern;
        c.score = spec.score;
        c.validated = false;
        c.context_word = nullptr;
        if (score_context(spec, rule, folded, c)) state_.combined.push_back(c);
      }
    }
    candidates.insert(candidates.end(), state_.combined.begin(), state_.combined.end());
  }

  // Whether a candidate of the (start-sorted) range overlaps [low, high) of the folded view. Binary
  // search keeps combinations linear-logarithmic on texts with thousands of signal hits; spans of
  // one rule rarely nest, so looking a few candidates back from the bound is enough.
  template <class Range>
  static bool near_any(const Range& range, std::size_t low, std::size_t high) {
    auto [first, last] = range;
    auto bound = std::lower_bound(
        first, last, high, [](const Candidate& c, std::size_t h) { return c.fold_start < h; });
    constexpr int kLookBack = 8;
    for (int k = 0; k < kLookBack && bound != first; ++k) {
      --bound;
      if (bound->fold_end > low) return true;
    }
    return false;
  }

  void finish(const ScanOptions& options, Findings& out) {
    auto& candidates = state_.candidates;
    if (!options.include_signals) {
      candidates.erase(
          std::remove_if(candidates.begin(), candidates.end(),
                         [&](const Candidate& c) { return impl_.specs[c.rule].signal; }),
          candidates.end());
    }
    auto& order = state_.order;
    order.clear();
    if (options.resolve_overlaps) {
      auto& by_priority = state_.by_priority;
      by_priority.resize(candidates.size());
      for (std::size_t i = 0; i < candidates.size(); ++i) by_priority[i] = i;
      std::sort(by_priority.begin(), by_priority.end(), [&](std::size_t x, std::size_t y) {
        const Candidate& a = candidates[x];
        const Candidate& b = candidates[y];
        if (a.score != b.score) return a.score > b.score;
        const std::size_t la = a.raw_end - a.raw_start;
        const std::size_t lb = b.raw_end - b.raw_start;
        if (la != lb) return la > lb;
        const Severity sa = impl_.specs[a.rule].severity;
        const Severity sb = impl_.specs[b.rule].severity;
        if (sa != sb) return sa > sb;
        if (a.raw_start != b.raw_start) return a.raw_start < b.raw_start;
        return a.rule < b.rule;
      });
      // Overlaps are resolved within a category only: a confidentiality stamp inside an
      // unpublished-results passage must still count as both, since the policy decides on every
      // category present (the redactor merges overlapping spans it has to replace).
      // Accepted spans of one category are disjoint, so only the nearest one starting before
      // `end` can overlap.
      std::map<std::string_view, std::map<std::size_t, std::size_t>> accepted_by_category;
      for (std::size_t i : by_priority) {
        const Candidate& c = candidates[i];
        auto& accepted = accepted_by_category[impl_.specs[c.rule].category];
        auto next = accepted.lower_bound(c.raw_end);
        if (next != accepted.begin() && std::prev(next)->second > c.raw_start) continue;
        accepted.emplace(c.raw_start, c.raw_end);
        order.push_back(i);
      }
    } else {
      for (std::size_t i = 0; i < candidates.size(); ++i) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      const Candidate& a = candidates[x];
      const Candidate& b = candidates[y];
      if (a.raw_start != b.raw_start) return a.raw_start < b.raw_start;
      if (a.raw_end != b.raw_end) return a.raw_end < b.raw_end;
      return impl_.specs[a.rule].id < impl_.specs[b.rule].id;
    });
    out.reserve(order.size());
    for (std::size_t i : order) {
      const Candidate& c = candidates[i];
      const RuleSpec& spec = impl_.specs[c.rule];
      Finding f;
      f.rule_id = spec.id;
      f.rule_version = spec.version;
      f.category = spec.category;
      f.pattern = c.pattern == kCombinationPattern ? std::string("combination")
                                                   : spec.patterns[c.pattern].name;
      f.placeholder = spec.placeholder;
      f.severity = spec.severity;
      f.start = c.raw_start;
      f.end = c.raw_end;
      f.score = c.score;
      f.validated = c.validated;
      if (c.context_word != nullptr) f.context_word = *c.context_word;
      out.push_back(std::move(f));
    }
  }

 private:
  const std::string& view_text(View view) const {
    return view == View::Folded ? state_.normalized.folded : state_.normalized.text;
  }

  // Per rule: whether the prefilter reported one of its patterns.
  void mark_prefilter_hits() {
    state_.prefiltered.assign(impl_.specs.size(), 0);
    for (int v = 0; v < 2; ++v) {
      const auto& to_pattern = impl_.view_patterns[static_cast<std::size_t>(v)];
      for (int hit : state_.hits[static_cast<std::size_t>(v)]) {
        state_.prefiltered[impl_.patterns[to_pattern[static_cast<std::size_t>(hit)]].rule] = 1;
      }
    }
  }

  // Whether enough `with` rules of a combination may have candidates for it to fire.
  bool can_fire(const CompiledRule& rule) const {
    std::size_t possible = 0;
    for (std::size_t with : rule.with) {
      if (state_.located[with] ? has_candidate(with) : state_.prefiltered[with] != 0) ++possible;
    }
    return possible >= rule.required;
  }

  bool has_candidate(std::size_t rule) const {
    return std::any_of(state_.candidates.begin(), state_.candidates.end(),
                       [&](const Candidate& c) { return c.rule == rule; });
  }

  void locate(const CompiledPattern& pattern, View view, const std::string& text,
              std::uint32_t order) {
    const re2::StringPiece input = piece(text);
    re2::StringPiece groups[2];
    const int ngroups = pattern.has_group ? 2 : 1;
    // Hyperscan's match ends, when available, tell where the next RE2 match may start: a match
    // [s, e) found from `pos` has e > pos, so e is at or after the first end past `pos`, and
    // s >= e - max_width. Starting RE2 there finds the same leftmost match (RE2 still sees the
    // text before the start as context for \b and ^).
    const std::vector<std::uint32_t>* ends = nullptr;
    if (pattern.ends != nullptr && text.size() >= kNarrowLocateAbove &&
        pattern.ends->find(text, state_.ends)) {
      ends = &state_.ends;
    }
    std::size_t next_end = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t from = pos;
      if (ends != nullptr) {
        while (next_end < ends->size() && (*ends)[next_end] <= pos) ++next_end;
        if (next_end == ends->size()) break;
        const std::size_t end = (*ends)[next_end];
        const std::size_t width = pattern.ends->max_width();
        if (end > width && end - width > from) from = end - width;
      }
      if (!pattern.regex->Match(input, from, text.size(), re2::RE2::UNANCHORED, groups, ngroups)) {
        break;
      }
      const auto match_start = static_cast<std::size_t>(groups[0].data() - text.data());
      const std::size_t match_end = match_start + groups[0].size();
      std::size_t start = match_start;
      std::size_t end = match_end;
      if (pattern.has_group && groups[1].data() != nullptr) {
        start = static_cast<std::size_t>(groups[1].data() - text.data());
        end = start + groups[1].size();
      }
      if (end > start) consider(pattern, view, start, end, order);
      if (match_end > match_start) {
        pos = match_end;
      } else {
        // Empty match: step over one whole UTF-8 character so the loop always advances.
        pos = match_start + 1;
        while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      }
    }
  }

  void consider(const CompiledPattern& pattern, View view, std::size_t start, std::size_t end,
                std::uint32_t order) {
    const NormalizedText& n = state_.normalized;
    const RuleSpec& spec = impl_.specs[pattern.rule];
    const CompiledRule& rule = impl_.rules[pattern.rule];
    const OffsetMap& map = view == View::Folded ? n.folded_map : n.text_map;
    Candidate c{};
    c.rule = pattern.rule;
    c.pattern = pattern.pattern;
    c.locate_order = order;
    c.raw_start = map.to_raw_start(start);
    c.raw_end = map.to_raw_end(end);
    if (view == View::Folded) {
      c.fold_start = start;
      c.fold_end = end;
    } else {
      c.fold_start = n.folded_map.from_raw(c.raw_start);
      c.fold_end = std::max(c.fold_start, n.folded_map.from_raw(c.raw_end));
    }
    c.score = spec.patterns[pattern.pattern].score;

    if (rule.validator != nullptr) {
      // Validators see the `text` view (case and accents kept), whatever view matched.
      std::size_t text_start = start;
      std::size_t text_end = end;
      if (view == View::Folded) {
        text_start = n.text_map.from_raw(c.raw_start);
        text_end = std::max(text_start, n.text_map.from_raw(c.raw_end));
      }
      state_.value.assign(n.text, text_start, text_end - text_start);
      apply_normalize(spec.normalize, state_.value, state_.swap);
      ValidationInput input;
      input.candidate = state_.value;
      input.text = n.text;
      input.start = text_start;
      input.end = text_end;
      input.params = &spec.validator->params;
      if (!rule.validator->fn(input)) return;
      c.score = 1.0;
      c.validated = true;
    }
    if (!score_context(spec, rule, n.folded, c)) return;
    state_.candidates.push_back(c);
  }

  const RuleSet::Impl& impl_;
  ScanState& state_;
};

void release_if_large(ScanState& state) {
  if (state.normalized.text.capacity() <= kKeepBuffersBelow) return;
  state.normalized = NormalizedText{};
  state.ends = {};
  state.candidates = {};
  state.candidates.shrink_to_fit();
}

}  // namespace

Result<Findings> scan(const RuleSet& rules, std::string_view text, const ScanOptions& options) {
  if (text.size() > options.max_bytes || text.size() >= 0xFFFFFFFEu) return Errc::InputTooLarge;
  thread_local ScanState state;
  state.candidates.clear();
  normalize_into(text, state.normalized);

  Scan scan(rules.impl(), state);
  Findings findings;
  bool single_pass = false;
  Result<void> outcome = scan.prefilter_ascii(single_pass);
  if (outcome && !single_pass) {
    outcome = scan.prefilter_view(View::Text);
    if (outcome) outcome = scan.prefilter_view(View::Folded);
  }
  if (outcome) {
    scan.locate_all(options);
    scan.combine();
    scan.finish(options, findings);
  }
  release_if_large(state);
  if (!outcome) return outcome.error();
  return findings;
}

std::vector<ExampleFailure> run_examples(const RuleSet& rules) {
  std::vector<ExampleFailure> failures;
  ScanOptions options;
  options.include_signals = true;
  options.resolve_overlaps = false;
  for (const RuleSpec& rule : rules.rules()) {
    for (const RuleExample& example : rule.examples) {
      Result<Findings> findings = scan(rules, example.text, options);
      if (!findings) {
        failures.push_back({rule.id, example, "the scan failed: " + findings.error().message()});
        continue;
      }
      const auto hit = std::find_if(findings->begin(), findings->end(),
                                    [&](const Finding& f) { return f.rule_id == rule.id; });
      if (example.should_match && hit == findings->end()) {
        failures.push_back({rule.id, example, "expected a match, found none"});
      } else if (!example.should_match && hit != findings->end()) {
        failures.push_back({rule.id, example,
                            "expected no match, found one at bytes " + std::to_string(hit->start) +
                                "-" + std::to_string(hit->end) + " (score " +
                                std::to_string(hit->score) + ")"});
      }
    }
  }
  return failures;
}

}  // namespace gatekeeper::detect

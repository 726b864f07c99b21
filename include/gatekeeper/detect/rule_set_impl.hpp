#pragma once

// Internals of the compiled rule set, shared by rule_set.cpp, scanner.cpp and context.cpp.
// Not part of the public interface: other layers use rule_set.hpp and scanner.hpp.

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/detect/prefilter.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/validators.hpp"

namespace gatekeeper::detect {

enum class View { Text = 0, Folded = 1 };

struct CompiledPattern {
  std::size_t rule = 0;     // index into RuleSet::Impl::specs
  std::size_t pattern = 0;  // index into the rule's patterns
  View view = View::Folded;
  bool has_group = false;  // group 1 is the span
  std::unique_ptr<const re2::RE2> regex;
  std::unique_ptr<const MatchEnds> ends;  // null: locate searches the whole text
};

// A context word list, folded and split into words once at load time.
struct CompiledContext {
  struct Entry {
    std::vector<std::string> words;  // folded words of the entry ("securite", "sociale")
    std::string original;            // as written in the rule file, reported in Finding
  };
  std::vector<Entry> entries;
  int before = 5;
  int after = 0;
  ContextMode mode = ContextMode::Substring;
  double boost = 0.35;
  double floor = 0.4;
};

struct CompiledRule {
  const ValidatorInfo* validator = nullptr;
  std::optional<CompiledContext> context;
  std::optional<CompiledContext> negative_context;
  bool combination = false;
  std::size_t anchor = 0;         // combination: rule index of the anchor
  std::vector<std::size_t> with;  // combination: rule indices that must be near
  std::size_t required = 0;       // combination: how many of `with` must be near
  std::size_t window = 0;         // combination: characters either side (folded view)
};

struct RuleSet::Impl {
  std::vector<RuleSpec> specs;
  std::vector<CompiledRule> rules;
  std::vector<CompiledPattern> patterns;
  // Per view: prefilter index -> index into `patterns`, and the prefilter itself (null when the
  // view has no pattern).
  std::array<std::vector<std::size_t>, 2> view_patterns;
  std::array<std::unique_ptr<Prefilter>, 2> prefilters;
  // Hybrid only: the patterns of both views in one RE2::Set, run over `text` instead of the two
  // per-view passes when the normalised text is pure ASCII. `folded` is then `text` lower-cased
  // byte for byte with the same offset map, so a folded pattern made case-insensitive matches
  // `text` exactly where it matches `folded`. Indices below view_patterns[Text].size() are `text`
  // prefilter indices; the rest, shifted by that size, are `folded` ones.
  std::unique_ptr<Prefilter> ascii_prefilter;
  std::vector<std::size_t> combination_order;  // rule indices of combination rules
  std::map<std::string, std::size_t, std::less<>> by_id;
  PrefilterKind kind = PrefilterKind::Re2Set;
  std::string fingerprint;
};

namespace detail {

// parse_rule_text, also telling whether the text was not well-formed YAML (Errc::ConfigSyntax).
std::vector<RuleSpec> parse_rule_text(std::string_view yaml, const std::string& file_name,
                                      Diagnostics& diagnostics, bool* syntax_error);

std::vector<RuleSpec> parse_rule_files(const std::filesystem::path& dir, Diagnostics& diagnostics,
                                       bool* syntax_error);

// Splits folded text into words: runs of ASCII letters and digits and of non-ASCII characters.
// Appends [start, end) pairs relative to `text`.
void split_words(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out);

// Looks for any entry of `context` within the word windows around [start, end) of `folded`.
// Returns the matching entry, or null.
const CompiledContext::Entry* find_context(const CompiledContext& context, std::string_view folded,
                                           std::size_t start, std::size_t end);

// Normalises the non-ASCII characters of a regex the way the view it runs on was built (NBSP ->
// space; for the folded view also é -> e) and leaves ASCII untouched, because escapes such as \D
// or \B are case-sensitive.
std::string fold_pattern(std::string_view regex, bool to_folded);


}  // namespace detail
}  // namespace gatekeeper::detect

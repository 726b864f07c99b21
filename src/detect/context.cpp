// Context words: word windows of the folded view around a match.

#include "gatekeeper/detect/normalizer.hpp"
#include "gatekeeper/detect/rule_set_impl.hpp"

namespace gatekeeper::detect::detail {
namespace {

using Span = std::pair<std::size_t, std::size_t>;

inline bool is_word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Up to `count` words ending at or before `pos`, in text order.
void words_before(std::string_view text, std::size_t pos, int count, std::vector<Span>& out) {
  out.clear();
  while (count-- > 0) {
    while (pos > 0 && !is_word_byte(static_cast<unsigned char>(text[pos - 1]))) --pos;
    if (pos == 0) break;
    const std::size_t end = pos;
    while (pos > 0 && is_word_byte(static_cast<unsigned char>(text[pos - 1]))) --pos;
    out.emplace_back(pos, end);
  }
  std::reverse(out.begin(), out.end());
}

// Up to `count` words starting at or after `pos`.
void words_after(std::string_view text, std::size_t pos, int count, std::vector<Span>& out) {
  out.clear();
  const std::size_t n = text.size();
  while (count-- > 0) {
    while (pos < n && !is_word_byte(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos >= n) break;
    const std::size_t start = pos;
    while (pos < n && is_word_byte(static_cast<unsigned char>(text[pos]))) ++pos;
    out.emplace_back(start, pos);
  }
}

bool word_matches(std::string_view word, std::string_view entry, ContextMode mode, bool first,
                  bool last, bool single) {
  if (mode == ContextMode::WholeWord) return word == entry;
  if (single) return word.find(entry) != std::string_view::npos;
  // Multi-word entry in substring mode: "carte vitale" also matches "macarte vitales".
  if (first) return word.size() >= entry.size() && word.substr(word.size() - entry.size()) == entry;
  if (last) return word.substr(0, entry.size()) == entry;
  return word == entry;
}

const CompiledContext::Entry* find_in(const CompiledContext& context, std::string_view text,
                                      const std::vector<Span>& words) {
  for (const auto& entry : context.entries) {
    const std::size_t k = entry.words.size();
    if (k == 0 || k > words.size()) continue;
    for (std::size_t i = 0; i + k <= words.size(); ++i) {
      bool all = true;
      for (std::size_t j = 0; j < k && all; ++j) {
        const Span& w = words[i + j];
        all = word_matches(text.substr(w.first, w.second - w.first), entry.words[j], context.mode,
                           j == 0, j + 1 == k, k == 1);
      }
      if (all) return &entry;
    }
  }
  return nullptr;
}

}  // namespace

void split_words(std::string_view text, std::vector<Span>& out) {
  words_after(text, 0, static_cast<int>(text.size()) + 1, out);
}

const CompiledContext::Entry* find_context(const CompiledContext& context, std::string_view folded,
                                           std::size_t start, std::size_t end) {
  thread_local std::vector<Span> words;
  if (context.before > 0) {
    words_before(folded, start, context.before, words);
    if (const auto* entry = find_in(context, folded, words)) return entry;
  }
  if (context.after > 0) {
    words_after(folded, end, context.after, words);
    if (const auto* entry = find_in(context, folded, words)) return entry;
  }
  return nullptr;
}

std::string fold_pattern(std::string_view regex, bool to_folded) {
  std::string out;
  out.reserve(regex.size());
  std::size_t i = 0;
  while (i < regex.size()) {
    const auto c = static_cast<unsigned char>(regex[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < regex.size() && static_cast<unsigned char>(regex[j]) >= 0x80) ++j;
    const NormalizedText normalized = normalize(regex.substr(i, j - i));
    // A fullwidth '（' becomes '(' in the text: escape such punctuation so that it stays a literal
    // in the pattern instead of turning into regex syntax.
    for (const char produced : to_folded ? normalized.folded : normalized.text) {
      const auto p = static_cast<unsigned char>(produced);
      if (p < 0x80 && !is_word_byte(p) && p != ' ') out.push_back('\\');
      out.push_back(produced);
    }
    i = j;
  }
  return out;
}

}  // namespace gatekeeper::detect::detail

#include "gatekeeper/detect/normalizer.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace gatekeeper::detect {

// ---------------------------------------------------------------------------------------------
// OffsetMap

void OffsetMap::clear() noexcept {
  breakpoints_.clear();
  norm_size_ = 0;
  raw_size_ = 0;
}

void OffsetMap::add(std::uint32_t norm, std::uint32_t raw_begin, std::uint32_t raw_end) {
  if (!breakpoints_.empty()) {
    Breakpoint& last = breakpoints_.back();
    const std::uint32_t length = norm - last.norm;
    // The current segment is still a plain copy and this byte extends it.
    if (last.raw_end == last.raw + length && raw_begin == last.raw_end &&
        raw_end == raw_begin + 1) {
      last.raw_end = raw_end;
      return;
    }
  }
  breakpoints_.push_back({norm, raw_begin, raw_end});
}

void OffsetMap::add_run(std::uint32_t norm, std::uint32_t raw_begin, std::uint32_t count) {
  if (count == 0) return;
  add(norm, raw_begin, raw_begin + 1);
  breakpoints_.back().raw_end += count - 1;
}

void OffsetMap::finish(std::uint32_t norm_size, std::uint32_t raw_size) {
  norm_size_ = norm_size;
  raw_size_ = raw_size;
}

std::size_t OffsetMap::segment_of(std::size_t pos) const noexcept {
  if (breakpoints_.size() == 1) return 0;  // pure ASCII: the common case
  auto it = std::upper_bound(breakpoints_.begin(), breakpoints_.end(), pos,
                             [](std::size_t p, const Breakpoint& b) { return p < b.norm; });
  return it == breakpoints_.begin() ? 0 : static_cast<std::size_t>(it - breakpoints_.begin()) - 1;
}

std::size_t OffsetMap::segment_end(std::size_t index) const noexcept {
  return index + 1 < breakpoints_.size() ? breakpoints_[index + 1].norm : norm_size_;
}

std::size_t OffsetMap::to_raw_start(std::size_t pos) const noexcept {
  if (breakpoints_.empty()) return 0;
  if (pos >= norm_size_) return breakpoints_.back().raw_end;
  const Breakpoint& b = breakpoints_[segment_of(pos)];
  return b.raw + (pos - b.norm);
}

std::size_t OffsetMap::to_raw_end(std::size_t pos) const noexcept {
  if (breakpoints_.empty()) return 0;
  if (pos == 0) return breakpoints_.front().raw;
  if (pos > norm_size_) pos = norm_size_;
  const std::size_t index = segment_of(pos - 1);
  const Breakpoint& b = breakpoints_[index];
  if (pos == segment_end(index)) return b.raw_end;
  return b.raw + (pos - b.norm);
}

std::size_t OffsetMap::from_raw(std::size_t raw) const noexcept {
  if (breakpoints_.empty()) return 0;
  // First segment starting at or after `raw`; the one before it may hold `raw` in its copied run.
  auto it = std::lower_bound(breakpoints_.begin(), breakpoints_.end(), raw,
                             [](const Breakpoint& b, std::size_t r) { return b.raw < r; });
  const auto index = static_cast<std::size_t>(it - breakpoints_.begin());
  if (index > 0) {
    const Breakpoint& b = breakpoints_[index - 1];
    const std::size_t pos = b.norm + (raw - b.raw);
    if (pos < segment_end(index - 1)) return pos;
  }
  return it == breakpoints_.end() ? norm_size_ : it->norm;
}

// ---------------------------------------------------------------------------------------------
// Character tables

namespace {

constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
constexpr std::uint64_t kOnes = 0x0101010101010101ull;

inline bool has_zero_byte(std::uint64_t w) { return ((w - kOnes) & ~w & kHighBits) != 0; }

// Eight ASCII bytes that need no treatment beyond lower-casing in the folded view.
inline bool plain_ascii8(std::uint64_t w) {
  return (w & kHighBits) == 0 && !has_zero_byte(w) && !has_zero_byte(w ^ (kOnes * '-'));
}

inline bool plain_ascii(unsigned char c) { return c != 0 && c < 0x80 && c != '-'; }

inline std::uint64_t lower8(std::uint64_t w) {
  // Bytes are < 0x80, so these additions never carry into the next byte.
  const std::uint64_t at_least_a = w + kOnes * (0x80 - 'A');
  const std::uint64_t above_z = w + kOnes * (0x80 - 'Z' - 1);
  const std::uint64_t upper = at_least_a & ~above_z & kHighBits;
  return w | (upper >> 2);
}

inline char lower_ascii(unsigned char c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

inline bool is_ascii_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

bool is_letter(char32_t cp) {
  if (cp < 0x80) return is_ascii_letter(static_cast<unsigned char>(cp));
  if (cp >= 0xC0 && cp <= 0x24F) return cp != 0xD7 && cp != 0xF7;
  return cp >= 0x370 && cp <= 0x52F;
}

// Decodes one UTF-8 character; returns its length, or 0 if the bytes are not valid UTF-8
// (overlong forms, surrogates and values above U+10FFFF are invalid).
inline int decode_utf8(const unsigned char* p, std::size_t available, char32_t& cp) {
  const unsigned char c = p[0];
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  auto cont = [&](std::size_t k) { return k < available && (p[k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (!cont(1)) return 0;
    cp = (char32_t(c & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    cp = (char32_t(c & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    cp = (char32_t(c & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) |
         (p[3] & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
}

inline int encode_utf8(char32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// What the `text` view does with one (non-ASCII or special) character.
enum class TextAction { Copy, Remove, Ascii };

struct TextMapping {
  TextAction action;
  char ascii;
};

TextMapping text_mapping(char32_t cp) {
  switch (cp) {
    case 0xA0:
    case 0x1680:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return {TextAction::Ascii, ' '};
    case 0x2028:
    case 0x2029:
      return {TextAction::Ascii, '\n'};
    case 0xAD:
    case 0x180E:
    case 0xFEFF:
      return {TextAction::Remove, 0};
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x201B:
    case 0x02BC:
    case 0x2032:
      return {TextAction::Ascii, '\''};
    case 0xAB:
    case 0xBB:
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
    case 0x2033:
      return {TextAction::Ascii, '"'};
    case 0x2212:
    case 0xFE63:
      return {TextAction::Ascii, '-'};
    default:
      break;
  }
  if (cp >= 0x2000 && cp <= 0x200A) return {TextAction::Ascii, ' '};
  if (cp >= 0x200B && cp <= 0x200D) return {TextAction::Remove, 0};
  if (cp >= 0x2060 && cp <= 0x2064) return {TextAction::Remove, 0};
  if (cp >= 0x2010 && cp <= 0x2015) return {TextAction::Ascii, '-'};
  if (cp >= 0xFF01 && cp <= 0xFF5E) return {TextAction::Ascii, static_cast<char>(cp - 0xFEE0)};
  return {TextAction::Copy, 0};
}

// Accent-free lower-case spelling of Latin-1 letters U+00C0..U+00FF ("" = keep as is).
constexpr std::array<const char*, 64> kLatin1Fold = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};

// Base letters of Latin Extended-A U+0100..U+017F, one per code point; '2' marks the
// two-letter ligatures (Ĳ ĳ -> ij, Œ œ -> oe).
constexpr char kLatinExtAFold[] =
    "aaaaaa"
    "cccccccc"
    "dddd"
    "eeeeeeeeee"
    "gggggggg"
    "hhhh"
    "iiiiiiiiii"
    "22"
    "jj"
    "kkk"
    "llllllllll"
    "nnnnnnnnn"
    "oooooo"
    "22"
    "rrrrrr"
    "ssssssss"
    "tttttt"
    "uuuuuuuuuuuu"
    "ww"
    "yyy"
    "zzzzzz"
    "s";
static_assert(sizeof(kLatinExtAFold) == 0x80 + 1);

// Folds a non-ASCII code point kept by the `text` view. Writes the folded bytes to `out` and
// returns how many (0 = the character disappears); sets `one_to_one` when the result is the
// character's own encoding or a one-to-one case mapping, so offsets can stay byte-for-byte.
int fold_code_point(char32_t cp, char* out, bool& one_to_one) {
  one_to_one = false;
  auto put = [&](const char* s) {
    const int len = static_cast<int>(std::strlen(s));
    std::memcpy(out, s, static_cast<std::size_t>(len));
    return len;
  };
  if (cp >= 0xC0 && cp <= 0xFF) {
    const char* s = kLatin1Fold[cp - 0xC0];
    if (*s != 0) return put(s);
  } else if (cp >= 0x100 && cp <= 0x17F) {
    const char c = kLatinExtAFold[cp - 0x100];
    if (c != '2') {
      out[0] = c;
      return 1;
    }
    return put(cp <= 0x133 ? "ij" : "oe");
  } else if (cp >= 0x218 && cp <= 0x21B) {  // Romanian comma-below letters
    out[0] = cp <= 0x219 ? 's' : 't';
    return 1;
  } else if (cp >= 0x300 && cp <= 0x36F) {  // combining accents (decomposed é = e + U+0301)
    return 0;
  } else if (cp == 0x1E9E) {
    return put("ss");
  } else if (cp == 0x212A || cp == 0x212B) {  // Kelvin and Angstrom signs: RE2 case-folds them
    out[0] = cp == 0x212A ? 'k' : 'a';
    return 1;
  } else if (cp >= 0xFB00 && cp <= 0xFB06) {
    static constexpr const char* kLigatures[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
    return put(kLigatures[cp - 0xFB00]);
  } else {
    char32_t lower = cp;
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
      lower = cp + 0x20;  // Greek
    else if (cp >= 0x410 && cp <= 0x42F)
      lower = cp + 0x20;  // Cyrillic
    else if (cp >= 0x400 && cp <= 0x40F)
      lower = cp + 0x50;
    one_to_one = true;
    return encode_utf8(lower, out);
  }
  one_to_one = true;
  return encode_utf8(cp, out);
}

// If the hyphen ending at `after` joins a word broken across lines ("identi-\n  fiant"), returns
// the end of the hyphen + line break + indentation to remove; otherwise 0.
std::size_t joined_hyphen_end(const unsigned char* in, std::size_t n, std::size_t after,
                              bool previous_is_letter) {
  if (!previous_is_letter) return 0;
  std::size_t j = after;
  bool line_break = false;
  if (j < n && in[j] == '\r') {
    ++j;
    line_break = true;
  }
  if (j < n && in[j] == '\n') {
    ++j;
    line_break = true;
  }
  if (!line_break) return 0;
  while (j < n && (in[j] == ' ' || in[j] == '\t')) ++j;
  if (j >= n) return 0;
  char32_t cp = 0;
  if (decode_utf8(in + j, n - j, cp) == 0 || !is_letter(cp)) return 0;
  return j;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Normalisation

void normalize_into(std::string_view input, NormalizedText& out) {
  constexpr std::size_t kMaxInput = 0xFFFFFFFEu;
  const std::size_t n = std::min(input.size(), kMaxInput);
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());

  // Neither view is ever longer than the input (every rule maps k bytes to at most k bytes), so the
  // buffers are sized once and trimmed at the end.
  out.text.resize(n);
  out.folded.resize(n);
  out.text_map.clear();
  out.folded_map.clear();
  char* text = out.text.data();
  char* folded = out.folded.data();
  std::uint32_t t = 0;  // bytes written to `text`
  std::uint32_t f = 0;  // bytes written to `folded`
  OffsetMap& tmap = out.text_map;
  OffsetMap& fmap = out.folded_map;
  bool previous_is_letter = false;

  std::size_t i = 0;
  while (i < n) {
    // Fast path: a run of plain ASCII is copied as is, lower-cased for `folded`.
    std::size_t run = i;
#ifdef __SSE2__
    // 16 bytes per step while they are all plain (no high bit, no NUL, no '-'); x86-64 always has
    // SSE2. The 8-byte loop below finishes the run.
    {
      const __m128i zero = _mm_setzero_si128();
      const __m128i dash = _mm_set1_epi8('-');
      const __m128i before_a = _mm_set1_epi8('A' - 1);
      const __m128i after_z = _mm_set1_epi8('Z' + 1);
      const __m128i case_bit = _mm_set1_epi8(0x20);
      while (run + 16 <= n) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + run));
        const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, zero), _mm_cmpeq_epi8(v, dash));
        // movemask takes each byte's high bit: non-ASCII bytes and the NUL/'-' flags together.
        if (_mm_movemask_epi8(_mm_or_si128(v, special)) != 0) break;
        // Signed compares are exact here: every byte is below 0x80.
        const __m128i upper =
            _mm_and_si128(_mm_cmpgt_epi8(v, before_a), _mm_cmplt_epi8(v, after_z));
        const __m128i lower = _mm_or_si128(v, _mm_and_si128(upper, case_bit));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(folded + f + (run - i)), lower);
        run += 16;
      }
    }
#endif
    while (run + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, in + run, 8);
      if (!plain_ascii8(w)) break;
      w = lower8(w);
      std::memcpy(folded + f + (run - i), &w, 8);
      run += 8;
    }
    while (run < n && plain_ascii(in[run])) {
      folded[f + (run - i)] = lower_ascii(in[run]);
      ++run;
    }
    if (run > i) {
      const auto count = static_cast<std::uint32_t>(run - i);
      std::memcpy(text + t, in + i, count);
      tmap.add_run(t, static_cast<std::uint32_t>(i), count);
      fmap.add_run(f, static_cast<std::uint32_t>(i), count);
      t += count;
      f += count;
      previous_is_letter = is_ascii_letter(in[run - 1]);
      i = run;
      continue;
    }

    const auto raw = static_cast<std::uint32_t>(i);
    const unsigned char c = in[i];
    char32_t cp = 0;
    int length = c == 0 ? 0 : decode_utf8(in + i, n - i, cp);
    if (length == 0) {
      // NUL or a byte that is not valid UTF-8: one space each.
      text[t] = ' ';
      folded[f] = ' ';
      tmap.add(t++, raw, raw + 1);
      fmap.add(f++, raw, raw + 1);
      previous_is_letter = false;
      ++i;
      continue;
    }
    const auto raw_end = static_cast<std::uint32_t>(i + static_cast<std::size_t>(length));
    TextMapping mapping =
        cp < 0x80 ? TextMapping{TextAction::Ascii, static_cast<char>(cp)} : text_mapping(cp);
    if (mapping.action == TextAction::Ascii && mapping.ascii == '-' &&
        (cp == '-' || cp == 0x2010 || cp == 0x2011)) {
      if (std::size_t joined = joined_hyphen_end(in, n, raw_end, previous_is_letter)) {
        i = joined;  // hyphen, line break and indentation vanish; the word continues
        continue;
      }
    }
    switch (mapping.action) {
      case TextAction::Remove:
        break;  // previous_is_letter unchanged: "identi\u00AD\nfiant" still joins
      case TextAction::Ascii: {
        text[t] = mapping.ascii;
        folded[f] = lower_ascii(static_cast<unsigned char>(mapping.ascii));
        tmap.add(t++, raw, raw_end);
        fmap.add(f++, raw, raw_end);
        previous_is_letter = is_ascii_letter(static_cast<unsigned char>(mapping.ascii));
        break;
      }
      case TextAction::Copy: {
        std::memcpy(text + t, in + i, static_cast<std::size_t>(length));
        tmap.add_run(t, raw, static_cast<std::uint32_t>(length));
        t += static_cast<std::uint32_t>(length);
        char buffer[4];
        bool one_to_one = false;
        const int produced = fold_code_point(cp, buffer, one_to_one);
        std::memcpy(folded + f, buffer, static_cast<std::size_t>(produced));
        if (one_to_one && produced == length) {
          fmap.add_run(f, raw, static_cast<std::uint32_t>(produced));
          f += static_cast<std::uint32_t>(produced);
        } else {
          for (int k = 0; k < produced; ++k) fmap.add(f++, raw, raw_end);
        }
        previous_is_letter = is_letter(cp);
        break;
      }
    }
    i = raw_end;
  }

  out.text.resize(t);
  out.folded.resize(f);
  tmap.finish(t, static_cast<std::uint32_t>(n));
  fmap.finish(f, static_cast<std::uint32_t>(n));
}

NormalizedText normalize(std::string_view input) {
  NormalizedText out;
  normalize_into(input, out);
  return out;
}

std::string fold(std::string_view input) {
  NormalizedText normalized;
  normalize_into(input, normalized);
  return std::move(normalized.folded);
}

}  // namespace gatekeeper::detect

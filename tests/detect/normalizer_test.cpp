#include "gatekeeper/detect/normalizer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace gatekeeper::detect {
namespace {

// Strict UTF-8 check, written independently of the normaliser's decoder.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c >> 5) == 0x6) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c >> 4) == 0xE) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c >> 3) == 0x1E) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool is_char_start(std::string_view s, std::size_t pos) {
  return pos >= s.size() || (static_cast<unsigned char>(s[pos]) & 0xC0) != 0x80;
}

// The original bytes behind normalised span [s, e) of the `text` view.
std::string raw_of(std::string_view input, const OffsetMap& map, std::size_t s, std::size_t e) {
  const std::size_t rs = map.to_raw_start(s);
  const std::size_t re = map.to_raw_end(e);
  EXPECT_LE(rs, re);
  EXPECT_LE(re, input.size());
  return std::string(input.substr(rs, re - rs));
}

// Every span of the `text` view on character boundaries maps back to original bytes that
// normalise to exactly that span. Only valid for inputs without hyphen joins (whose result depends
// on the letter before the hyphen).
void expect_text_spans_round_trip(std::string_view input) {
  const NormalizedText n = normalize(input);
  for (std::size_t s = 0; s <= n.text.size(); ++s) {
    if (!is_char_start(n.text, s)) continue;
    for (std::size_t e = s + 1; e <= n.text.size(); ++e) {
      if (!is_char_start(n.text, e)) continue;
      const std::string raw = raw_of(input, n.text_map, s, e);
      EXPECT_EQ(normalize(raw).text, n.text.substr(s, e - s))
          << "span [" << s << ", " << e << ") of " << n.text;
    }
  }
}

void expect_map_invariants(const OffsetMap& map, std::size_t norm_size, std::size_t raw_size) {
  const auto& bps = map.breakpoints();
  for (std::size_t i = 1; i < bps.size(); ++i) {
    EXPECT_LT(bps[i - 1].norm, bps[i].norm);
    EXPECT_LE(bps[i - 1].raw, bps[i].raw);
    EXPECT_LE(bps[i - 1].raw_end, bps[i].raw_end);
  }
  std::size_t previous_start = 0;
  std::size_t previous_end = 0;
  for (std::size_t p = 0; p < norm_size; ++p) {
    const std::size_t start = map.to_raw_start(p);
    const std::size_t end = map.to_raw_end(p + 1);
    ASSERT_LT(start, end) << "normalised byte " << p << " has no source";
    ASSERT_LE(end, raw_size);
    ASSERT_GE(start, previous_start);
    ASSERT_GE(end, previous_end);
    ASSERT_LE(map.from_raw(start), p);
    previous_start = start;
    previous_end = end;
  }
  EXPECT_LE(map.to_raw_start(norm_size), raw_size);
  EXPECT_LE(map.to_raw_end(norm_size), raw_size);
}

TEST(NormalizerTest, AsciiIsCopiedWithOneBreakpoint) {
  const std::string input = "Patient NIR: 1 80 12 75 123 456 42, vu le 3/4.";
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.text, input);
  EXPECT_EQ(n.folded, "patient nir: 1 80 12 75 123 456 42, vu le 3/4.");
  EXPECT_EQ(n.text_map.breakpoints().size(), 1u);
  EXPECT_EQ(n.folded_map.breakpoints().size(), 1u);
  for (std::size_t p = 0; p < input.size(); ++p) {
    EXPECT_EQ(n.text_map.to_raw_start(p), p);
    EXPECT_EQ(n.folded_map.to_raw_end(p + 1), p + 1);
  }
}

TEST(NormalizerTest, EveryAsciiByteFoldsLikeTolower) {
  std::string input;
  for (int c = 1; c < 128; ++c) {
    if (c != '-') input.push_back(static_cast<char>(c));
  }
  input += input;  // long enough for the eight-byte path and a tail
  const NormalizedText n = normalize(input);
  ASSERT_EQ(n.folded.size(), input.size());
  for (std::size_t i = 0; i < input.size(); ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    EXPECT_EQ(n.folded[i], static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c)) << int(c);
  }
  EXPECT_EQ(n.text, input);
}

TEST(NormalizerTest, NirWithNbspAndZeroWidthMapsToExactBytes) {
  // "NIR 1 80 12 75 123 456 42" typed with NBSP, narrow NBSP and zero-width spaces inside.
  const std::string input =
      "NIR\xC2\xA0"
      "1\xE2\x80\xAF"
      "80\xE2\x80\x8B"
      "12 75\xE2\x80\x8C"
      "123 456\xEF\xBB\xBF 42.";
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.text, "NIR 1 8012 75123 456 42.");
  const std::size_t s = n.text.find("1 8012");
  const std::size_t e = n.text.find(" 42") + 3;
  const std::size_t rs = n.text_map.to_raw_start(s);
  const std::size_t re = n.text_map.to_raw_end(e);
  EXPECT_EQ(rs, input.find("1\xE2\x80\xAF"));
  EXPECT_EQ(re, input.find("42.") + 2);
  // The zero-width characters inside the span are covered; the NBSP before it is not.
  EXPECT_EQ(input.substr(rs, re - rs),
            "1\xE2\x80\xAF"
            "80\xE2\x80\x8B"
            "12 75\xE2\x80\x8C"
            "123 456\xEF\xBB\xBF 42");
  expect_text_spans_round_trip(input);
}

TEST(NormalizerTest, AccentBeforeMatchShiftsOffsets) {
  const std::string input = "Dossier médical de Mme Dupré : 06 12 34 56 78";
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.folded, "dossier medical de mme dupre : 06 12 34 56 78");
  EXPECT_EQ(n.text, input);
  const std::size_t s = n.folded.find("06");
  const std::size_t e = n.folded.size();
  const std::size_t rs = n.folded_map.to_raw_start(s);
  const std::size_t re = n.folded_map.to_raw_end(e);
  EXPECT_EQ(input.substr(rs, re - rs), "06 12 34 56 78");
  // The folded "e" of "médical" covers both bytes of "é".
  const std::size_t accent = n.folded.find("medical") + 1;
  EXPECT_EQ(input.substr(n.folded_map.to_raw_start(accent),
                         n.folded_map.to_raw_end(accent + 1) - n.folded_map.to_raw_start(accent)),
            "é");
  expect_text_spans_round_trip(input);
}

TEST(NormalizerTest, FullwidthDigitsBecomeAscii) {
  const std::string input = "tel \xEF\xBC\x90\xEF\xBC\x96\xEF\xBC\x91\xEF\xBC\x92 fin";  // ０６１２
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.text, "tel 0612 fin");
  EXPECT_EQ(n.folded, "tel 0612 fin");
  EXPECT_EQ(n.text_map.to_raw_start(4), 4u);
  EXPECT_EQ(n.text_map.to_raw_end(5), 7u);
  EXPECT_EQ(n.text_map.to_raw_start(5), 7u);
  EXPECT_EQ(n.text_map.to_raw_end(8), 16u);
  EXPECT_EQ(n.text_map.to_raw_start(9), 17u);
  expect_text_spans_round_trip(input);
}

TEST(NormalizerTest, InvalidBytesAndNulBecomeOneSpaceEach) {
  const std::string input = std::string(
                                "a\xFF"
                                "b") +
                            '\0' +
                            "c\xC3"
                            "d\xE2\x82"
                            "e\xED\xA0\x80"
                            "f\xC0\xAF";
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.text, "a b c d  e   f  ");
  EXPECT_EQ(n.text.size(), input.size());
  EXPECT_TRUE(is_valid_utf8(n.text));
  for (std::size_t p = 0; p < n.text.size(); ++p) {
    EXPECT_EQ(n.text_map.to_raw_start(p), p);
    EXPECT_EQ(n.text_map.to_raw_end(p + 1), p + 1);
  }
  expect_text_spans_round_trip(input);
}

TEST(NormalizerTest, QuotesDashesAndSpacesAreUnified) {
  const std::string input =
      "l\xE2\x80\x99h\xC3\xB4pital \xC2\xAB"
      "ok\xC2\xBB a\xE2\x80\x94"
      "b \xE2\x88\x92"
      "3\xE3\x80\x80x\ty\r\n";
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.text, "l'h\xC3\xB4pital \"ok\" a-b -3 x\ty\r\n");
  EXPECT_EQ(n.folded, "l'hopital \"ok\" a-b -3 x\ty\r\n");
  expect_text_spans_round_trip(input);
}

TEST(NormalizerTest, HyphenatedLineBreakJoinsWords) {
  const std::string input =
      "num\xC3\xA9ro d'identi-\n    fiant et s\xC3\xA9"
      "cu-\r\nrit\xC3\xA9";
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.text,
            "num\xC3\xA9ro d'identifiant et s\xC3\xA9"
            "curit\xC3\xA9");
  EXPECT_EQ(n.folded, "numero d'identifiant et securite");
  const std::size_t s = n.folded.find("identifiant");
  const std::size_t e = s + std::string("identifiant").size();
  const std::size_t rs = n.folded_map.to_raw_start(s);
  EXPECT_EQ(input.substr(rs, n.folded_map.to_raw_end(e) - rs), "identi-\n    fiant");
}

TEST(NormalizerTest, HyphenIsKeptWhenNotBetweenLetters) {
  EXPECT_EQ(normalize("Jean-Pierre").text, "Jean-Pierre");
  EXPECT_EQ(normalize("12-\n34").text, "12-\n34");
  EXPECT_EQ(normalize("abc-\n 12").text, "abc-\n 12");
  EXPECT_EQ(normalize("abc -\nde").text, "abc -\nde");
  EXPECT_EQ(normalize("abc-\n").text, "abc-\n");
  EXPECT_EQ(normalize("-").text, "-");
  EXPECT_EQ(normalize("co\xE2\x80\x90\nop").text, "coop");  // U+2010 hyphen
}

TEST(NormalizerTest, FoldingLigaturesAndCombiningAccents) {
  const std::string input =
      "Stra\xC3\x9F"
      "e \xC5\x92uvre e\xCC\x81t\xC3\xA9 \xEF\xAC\x81n \xCE\xA9";
  const NormalizedText n = normalize(input);
  EXPECT_EQ(n.folded, "strasse oeuvre ete fin \xCF\x89");
  EXPECT_EQ(n.text, input);
  // "ss" maps back to the whole "ß", never half of it.
  const std::size_t s = n.folded.find("ss");
  EXPECT_EQ(n.folded_map.to_raw_start(s), 4u);
  EXPECT_EQ(n.folded_map.to_raw_end(s + 1), 6u);
  EXPECT_EQ(n.folded_map.to_raw_start(s + 1), 4u);
  EXPECT_EQ(n.folded_map.to_raw_end(s + 2), 6u);
  // The combining acute accent vanishes from `folded` but stays inside the span of "e".
  const std::size_t e = n.folded.find("ete");
  const std::size_t rs = n.folded_map.to_raw_start(e);
  EXPECT_EQ(input.substr(rs, n.folded_map.to_raw_end(e + 3) - rs), "e\xCC\x81t\xC3\xA9");
}

TEST(NormalizerTest, FoldMatchesTheFoldedView) {
  EXPECT_EQ(fold("Sécurité Sociale"), "securite sociale");
  EXPECT_EQ(fold("N°\xC2\xA0SS"), "n° ss");
  EXPECT_EQ(fold("CARTE VITALE"), "carte vitale");
  EXPECT_EQ(fold(""), "");
}

TEST(NormalizerTest, NormalizeIntoReusesBuffersAndMatchesNormalize) {
  NormalizedText reused;
  const std::string inputs[] = {"Première entrée très longue avec des accents é è à ù", "court", "",
                                "\xFF\xFE", "ASCII only text, long enough to fill"};
  for (const std::string& input : inputs) {
    normalize_into(input, reused);
    const NormalizedText fresh = normalize(input);
    EXPECT_EQ(reused.text, fresh.text);
    EXPECT_EQ(reused.folded, fresh.folded);
    EXPECT_EQ(reused.text_map.breakpoints().size(), fresh.text_map.breakpoints().size());
    for (std::size_t p = 0; p <= fresh.text.size(); ++p) {
      EXPECT_EQ(reused.text_map.to_raw_start(p), fresh.text_map.to_raw_start(p));
      EXPECT_EQ(reused.text_map.to_raw_end(p), fresh.text_map.to_raw_end(p));
    }
  }
}

TEST(NormalizerTest, EmptyAndRemovedOnlyInputs) {
  const NormalizedText empty = normalize("");
  EXPECT_TRUE(empty.text.empty());
  EXPECT_EQ(empty.text_map.to_raw_start(0), 0u);
  EXPECT_EQ(empty.text_map.to_raw_end(0), 0u);
  const std::string zero_width = "\xE2\x80\x8B\xE2\x80\x8B\xC2\xAD";
  const NormalizedText removed = normalize(zero_width);
  EXPECT_TRUE(removed.text.empty());
  EXPECT_LE(removed.text_map.to_raw_start(0), zero_width.size());
}

TEST(NormalizerTest, TextSpansRoundTripOnMixedInput) {
  expect_text_spans_round_trip(
      "Né le 01/02/1980 à Évry\xC2\xA0(91) \xEF\xBC\xA1\xE2\x80\x8B"
      "B\xFF.");
}

// Random bytes, biased towards the characters the normaliser treats specially.
TEST(NormalizerTest, RandomInputsNeverBreakInvariants) {
  std::mt19937 rng(20261122);
  const std::vector<std::string> pieces = {"a",
                                           "Z",
                                           "0",
                                           " ",
                                           "-",
                                           "\n",
                                           "\r\n",
                                           "\t",
                                           std::string(1, '\0'),
                                           "\xC2\xA0",
                                           "\xE2\x80\x8B",
                                           "\xC2\xAD",
                                           "\xEF\xBC\x91",
                                           "\xC3\xA9",
                                           "\xC3\x89",
                                           "\xC3\x9F",
                                           "\xC5\x93",
                                           "\xE2\x80\x99",
                                           "\xE2\x80\x94",
                                           "\xEF\xAC\x81",
                                           "\xCC\x81",
                                           "\xF0\x9F\x98\x80",
                                           "\xCE\xA9",
                                           "\xD0\x96"};
  for (int round = 0; round < 400; ++round) {
    std::string input;
    const int length = static_cast<int>(rng() % 64);
    for (int k = 0; k < length; ++k) {
      if (rng() % 3 == 0) {
        input.push_back(static_cast<char>(rng() % 256));
      } else {
        input += pieces[rng() % pieces.size()];
      }
    }
    const NormalizedText n = normalize(input);
    ASSERT_TRUE(is_valid_utf8(n.text));
    ASSERT_TRUE(is_valid_utf8(n.folded));
    ASSERT_LE(n.text.size(), input.size());
    ASSERT_LE(n.folded.size(), input.size());
    expect_map_invariants(n.text_map, n.text.size(), input.size());
    expect_map_invariants(n.folded_map, n.folded.size(), input.size());
  }
}

// The block-wise ASCII fast path must stop exactly at the first special byte wherever it falls
// (inside a 16-byte block, at its edges, in the tail), and lower-case exactly A-Z.
TEST(NormalizerTest, AsciiFastPathStopsAtEverySpecialByteWhereverItFalls) {
  std::string base;
  for (int k = 0; k < 70; ++k) base += static_cast<char>(k % 2 == 0 ? '@' + k % 28 : 'Z' - k % 26);
  base += "[`{";  // the bytes just outside A-Z and a-z
  std::string expected_folded;
  for (char c : base) expected_folded += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  const NormalizedText plain = normalize(base);
  EXPECT_EQ(plain.text, base);
  EXPECT_EQ(plain.folded, expected_folded);
  for (const std::string special : {std::string("\xC3\xA9"), std::string(1, '\0'),
                                    std::string("-"), std::string("\xFF")}) {
    for (std::size_t at = 0; at <= base.size(); ++at) {
      const std::string input = base.substr(0, at) + special + base.substr(at);
      const NormalizedText n = normalize(input);
      const std::string middle = special == "\xC3\xA9" ? "e" : special == "-" ? "-" : " ";
      const std::string text_middle = special == "\xC3\xA9" ? special : middle;
      EXPECT_EQ(n.text, base.substr(0, at) + text_middle + base.substr(at)) << at;
      EXPECT_EQ(n.folded, expected_folded.substr(0, at) + middle + expected_folded.substr(at))
          << at;
      EXPECT_EQ(n.folded_map.to_raw_start(at + middle.size()), at + special.size()) << at;
    }
  }
}

}  // namespace
}  // namespace gatekeeper::detect

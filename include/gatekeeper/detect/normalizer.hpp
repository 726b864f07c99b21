#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gatekeeper::detect {

// Maps byte positions of a normalised string back to byte positions of the original input.
// Stored as sorted breakpoints: from normalised position `norm` on, the mapping is
// raw = breakpoint.raw + (pos - breakpoint.norm) until the next breakpoint. Pure-ASCII input
// therefore needs a single breakpoint, which keeps normalisation cheap on the hot path.
class OffsetMap {
 public:
  // Starts a segment: from normalised position `norm` on, byte k of the segment came from raw byte
  // `raw + k`, except the segment's last byte, whose raw source ends at `raw_end`. Characters that
  // normalisation shrinks (NBSP, é in the folded view) or expands (ß -> ss) therefore sit alone in
  // their segment, and a run of copied bytes (ASCII, accented letters in `text`) is one segment.
  struct Breakpoint {
    std::uint32_t norm;
    std::uint32_t raw;
    std::uint32_t raw_end;
  };

  // Original offset of the first byte of the character at normalised position `pos`.
  std::size_t to_raw_start(std::size_t pos) const noexcept;
  // Original offset just past the character that ends at normalised position `pos` (exclusive end).
  // A span [s, e) of the normalised text covers exactly [to_raw_start(s), to_raw_end(e)) of the input,
  // including any removed characters (zero-width spaces, soft hyphens) that sat inside it.
  std::size_t to_raw_end(std::size_t pos) const noexcept;
  // Inverse direction: the first normalised position whose source starts at or after raw offset
  // `raw` (clamped to the normalised size). Used to line up the two views of one text.
  std::size_t from_raw(std::size_t raw) const noexcept;

  void clear() noexcept;
  // Builder interface used by the normaliser: record that normalised byte `norm` came from raw
  // bytes [raw_begin, raw_end). Calls must come in increasing `norm` order, one per normalised byte.
  void add(std::uint32_t norm, std::uint32_t raw_begin, std::uint32_t raw_end);
  // Same as `count` calls add(norm + k, raw_begin + k, raw_begin + k + 1): a run of copied bytes.
  void add_run(std::uint32_t norm, std::uint32_t raw_begin, std::uint32_t count);
  void finish(std::uint32_t norm_size, std::uint32_t raw_size);

  const std::vector<Breakpoint>& breakpoints() const noexcept { return breakpoints_; }
  std::size_t norm_size() const noexcept { return norm_size_; }
  std::size_t raw_size() const noexcept { return raw_size_; }

 private:
  // Index of the segment holding normalised byte `pos` (breakpoints_ must not be empty).
  std::size_t segment_of(std::size_t pos) const noexcept;
  std::size_t segment_end(std::size_t index) const noexcept;

  std::vector<Breakpoint> breakpoints_;
  std::uint32_t norm_size_ = 0;
  std::uint32_t raw_size_ = 0;
};

// The two views the scanner matches against, each mapped back to the original bytes.
//  - `text`: typography normalised, case and accents kept. Rules with `case_sensitive: true`
//    match here (stamps in capitals, key prefixes such as AKIA).
//  - `folded`: `text` further lower-cased with accents and ligatures removed (é→e, œ→oe, ß→ss).
//    All other rules match here, so "Sécurité sociale", "SECURITE SOCIALE" and "securite sociale"
//    are the same to them.
// Normalisation applied to both views:
//  - invalid UTF-8 bytes and NUL become a single space each (never a crash, never dropped silently),
//    so both views are always valid UTF-8;
//  - every Unicode space (NBSP U+00A0, narrow NBSP U+202F, thin U+2009, U+2000–U+200A, ideographic
//    U+3000, ...) becomes an ASCII space; tabs, CR and LF are kept as they are;
//  - zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and the soft hyphen U+00AD are removed;
//  - fullwidth ASCII forms (U+FF01–U+FF5E, e.g. fullwidth digits) become ASCII;
//  - typographic apostrophes and quotes (’ ‘ ʼ « » “ ”) become ' and "; dashes U+2010–U+2015 and
//    minus U+2212 become '-';
//  - a hyphen followed by a line break between two letters ("identi-\nfiant") is removed together
//    with the line break and any indentation after it, joining the word.
struct NormalizedText {
  std::string text;
  std::string folded;
  OffsetMap text_map;
  OffsetMap folded_map;
};

// Inputs of 4 GiB or more are not representable in the offset maps: only the first 4 GiB - 1 bytes
// are normalised (the scanner refuses such inputs long before, see ScanOptions::max_bytes).
NormalizedText normalize(std::string_view input);
// Reuses the buffers of `out` (no allocation on the hot path once warmed up).
void normalize_into(std::string_view input, NormalizedText& out);

// Case- and accent-folds a word list entry the way `folded` is built (used for context words).
std::string fold(std::string_view input);

}  // namespace gatekeeper::detect

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/core/error.hpp"
#include "gatekeeper/http/inspector.hpp"

namespace gatekeeper::http {

// HTTP content codings (RFC 9110 §8.4) the inspector can undo. Identity is never listed.
enum class Coding { Gzip, Deflate, Brotli, Zstd };

std::string_view to_string(Coding coding) noexcept;

// Bounds applied while decoding, so that a small body cannot expand into gigabytes.
struct DecodeLimits {
  std::size_t max_decoded_bytes = 64u << 20;  // per coding layer and for the final result
  double max_ratio = 200.0;                   // decoded / encoded, per layer
  // Below this decoded size the ratio is not checked: a short repetitive prompt compresses very
  // well and is no threat.
  std::size_t ratio_floor_bytes = 1u << 20;
};

// The codings of every Content-Encoding header, in the order they were applied ("gzip, br" means
// gzip first, then br). "identity" entries are dropped; an unknown coding is BodyUndecodable and
// `unknown` (when given) receives its name.
Result<std::vector<Coding>> parse_content_codings(const HeaderList& headers,
                                                  std::string* unknown = nullptr);

// Undoes one coding. Streaming: decoding stops as soon as a limit is crossed.
//  - ExtractionLimit: the decoded size or the ratio exceeds `limits` (a compression bomb);
//  - BodyUndecodable: corrupt, truncated or trailing data.
// "deflate" is the zlib format (RFC 9110); raw deflate, which some clients send, is accepted too.
Result<std::string> decode(Coding coding, std::string_view encoded, const DecodeLimits& limits);

// Undoes stacked codings, last applied first.
Result<std::string> decode_all(const std::vector<Coding>& codings, std::string_view encoded,
                               const DecodeLimits& limits);

// Applies one coding (gzip and zlib-wrapped deflate at zlib's default level, brotli quality 5,
// zstd level 3): used to re-encode a redacted body the way the client sent it.
Result<std::string> encode(Coding coding, std::string_view plain);
Result<std::string> encode_all(const std::vector<Coding>& codings, std::string_view plain);

}  // namespace gatekeeper::http

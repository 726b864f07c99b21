#include "gatekeeper/http/content_coding.hpp"

#include "gatekeeper/core/text.hpp"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

namespace gatekeeper::http {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

// Accumulates decoded output and says when a limit is crossed.
class Budget {
 public:
  Budget(const DecodeLimits& limits, std::size_t encoded_size)
      : limits_(limits), encoded_size_(std::max<std::size_t>(encoded_size, 1)) {}

  // False when appending `n` more bytes would cross a limit.
  bool allows(std::size_t total) const {
    if (total > limits_.max_decoded_bytes) return false;
    if (total > limits_.ratio_floor_bytes &&
        static_cast<double>(total) > limits_.max_ratio * static_cast<double>(encoded_size_))
      return false;
    return true;
  }

 private:
  const DecodeLimits& limits_;
  std::size_t encoded_size_;
};

bool looks_like_zlib(std::string_view data) {
  if (data.size() < 2) return false;
  const auto cmf = static_cast<unsigned char>(data[0]);
  const auto flg = static_cast<unsigned char>(data[1]);
  return (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

// window_bits: 15+16 gzip, 15 zlib, -15 raw. Gzip may hold several members back to back.
Result<std::string> inflate_all(std::string_view encoded, int window_bits,
                                const DecodeLimits& limits) {
  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) return Errc::BodyUndecodable;
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
  Budget budget(limits, encoded.size());
  std::string out;
  std::array<unsigned char, kChunk> buffer;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(encoded.data()));
  stream.avail_in = static_cast<uInt>(encoded.size());
  bool ended = false;
  while (true) {
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&stream, Z_NO_FLUSH);
    const std::size_t produced = buffer.size() - stream.avail_out;
    if (!budget.allows(out.size() + produced)) return Errc::ExtractionLimit;
    out.append(reinterpret_cast<const char*>(buffer.data()), produced);
    if (rc == Z_STREAM_END) {
      ended = true;
      if (stream.avail_in == 0) break;
      // Another gzip member follows; anything else after the end is refused.
      if (window_bits <= 15) return Errc::BodyUndecodable;
      if (inflateReset(&stream) != Z_OK) return Errc::BodyUndecodable;
      ended = false;
      continue;
    }
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;  // input exhausted mid-stream
    if (rc != Z_OK) return Errc::BodyUndecodable;
  }
  if (!ended) return Errc::BodyUndecodable;  // truncated
  return out;
}

Result<std::string> brotli_decode(std::string_view encoded, const DecodeLimits& limits) {
  std::unique_ptr<BrotliDecoderState, void (*)(BrotliDecoderState*)> state(
      BrotliDecoderCreateInstance(nullptr, nullptr, nullptr), BrotliDecoderDestroyInstance);
  if (!state) return Errc::BodyUndecodable;
  Budget budget(limits, encoded.size());
  std::string out;
  std::array<std::uint8_t, kChunk> buffer;
  std::size_t available_in = encoded.size();
  const auto* next_in = reinterpret_cast<const std::uint8_t*>(encoded.data());
  while (true) {
    std::size_t available_out = buffer.size();
    std::uint8_t* next_out = buffer.data();
    const auto rc = BrotliDecoderDecompressStream(state.get(), &available_in, &next_in,
                                                  &available_out, &next_out, nullptr);
    const std::size_t produced = buffer.size() - available_out;
    if (!budget.allows(out.size() + produced)) return Errc::ExtractionLimit;
    out.append(reinterpret_cast<const char*>(buffer.data()), produced);
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
      if (available_in != 0) return Errc::BodyUndecodable;  // trailing bytes
      return out;
    }
    if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
    return Errc::BodyUndecodable;  // error, or input ended before the stream did
  }
}

Result<std::string> zstd_decode(std::string_view encoded, const DecodeLimits& limits) {
  std::unique_ptr<ZSTD_DStream, std::size_t (*)(ZSTD_DStream*)> stream(ZSTD_createDStream(),
                                                                       ZSTD_freeDStream);
  if (!stream) return Errc::BodyUndecodable;
  // The default window limit (128 MiB) would let a frame ask for that much memory up front.
  ZSTD_DCtx_setParameter(stream.get(), ZSTD_d_windowLogMax, 27);
  Budget budget(limits, encoded.size());
  std::string out;
  std::array<char, kChunk> buffer;
  ZSTD_inBuffer in{encoded.data(), encoded.size(), 0};
  std::size_t hint = 1;
  if (encoded.empty()) return Errc::BodyUndecodable;
  while (in.pos < in.size || hint != 0) {
    ZSTD_outBuffer output{buffer.data(), buffer.size(), 0};
    hint = ZSTD_decompressStream(stream.get(), &output, &in);
    if (ZSTD_isError(hint)) return Errc::BodyUndecodable;
    if (!budget.allows(out.size() + output.pos)) return Errc::ExtractionLimit;
    out.append(buffer.data(), output.pos);
    // Input consumed, output not full and the frame still open: truncated.
    if (in.pos == in.size && hint != 0 && output.pos < output.size) return Errc::BodyUndecodable;
  }
  return out;
}

Result<std::string> deflate_all(std::string_view plain, int window_bits) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return Errc::BodyUndecodable;
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, deflateEnd);
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(plain.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  stream.avail_in = static_cast<uInt>(plain.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) return Errc::BodyUndecodable;
  out.resize(stream.total_out);
  return out;
}

}  // namespace

std::string_view to_string(Coding coding) noexcept {
  switch (coding) {
    case Coding::Gzip:
      return "gzip";
    case Coding::Deflate:
      return "deflate";
    case Coding::Brotli:
      return "br";
    case Coding::Zstd:
      return "zstd";
  }
  return "unknown";
}

Result<std::vector<Coding>> parse_content_codings(const HeaderList& headers,
                                                  std::string* unknown) {
  std::vector<Coding> codings;
  for (const auto& [key, value] : headers) {
    if (!iequals(key, "content-encoding")) continue;
    std::string_view rest = value;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view name = trim(rest.substr(0, comma));
      if (name.empty() || iequals(name, "identity")) {
      } else if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
        codings.push_back(Coding::Gzip);
      } else if (iequals(name, "deflate")) {
        codings.push_back(Coding::Deflate);
      } else if (iequals(name, "br")) {
        codings.push_back(Coding::Brotli);
      } else if (iequals(name, "zstd")) {
        codings.push_back(Coding::Zstd);
      } else {
        if (unknown) *unknown = std::string(name.substr(0, 40));
        return Errc::BodyUndecodable;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return codings;
}

Result<std::string> decode(Coding coding, std::string_view encoded, const DecodeLimits& limits) {
  switch (coding) {
    case Coding::Gzip:
      return inflate_all(encoded, 15 + 16, limits);
    case Coding::Deflate:
      return inflate_all(encoded, looks_like_zlib(encoded) ? 15 : -15, limits);
    case Coding::Brotli:
      return brotli_decode(encoded, limits);
    case Coding::Zstd:
      return zstd_decode(encoded, limits);
  }
  return Errc::BodyUndecodable;
}

Result<std::string> decode_all(const std::vector<Coding>& codings, std::string_view encoded,
                               const DecodeLimits& limits) {
  std::string current(encoded);
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    auto decoded = decode(*it, current, limits);
    if (!decoded) return decoded.error();
    current = std::move(*decoded);
  }
  return current;
}

Result<std::string> encode(Coding coding, std::string_view plain) {
  switch (coding) {
    case Coding::Gzip:
      return deflate_all(plain, 15 + 16);
    case Coding::Deflate:
      return deflate_all(plain, 15);
    case Coding::Brotli: {
      std::string out(BrotliEncoderMaxCompressedSize(plain.size()) + 16, '\0');
      std::size_t size = out.size();
      if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, plain.size(),
                                 reinterpret_cast<const std::uint8_t*>(plain.data()), &size,
                                 reinterpret_cast<std::uint8_t*>(out.data())))
        return Errc::BodyUndecodable;
      out.resize(size);
      return out;
    }
    case Coding::Zstd: {
      std::string out(ZSTD_compressBound(plain.size()), '\0');
      const std::size_t size = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 3);
      if (ZSTD_isError(size)) return Errc::BodyUndecodable;
      out.resize(size);
      return out;
    }
  }
  return Errc::BodyUndecodable;
}

Result<std::string> encode_all(const std::vector<Coding>& codings, std::string_view plain) {
  std::string current(plain);
  for (const Coding coding : codings) {
    auto encoded = encode(coding, current);
    if (!encoded) return encoded.error();
    current = std::move(*encoded);
  }
  return current;
}

}  // namespace gatekeeper::http

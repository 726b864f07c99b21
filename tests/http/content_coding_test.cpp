#include "gatekeeper/http/content_coding.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace gatekeeper::http {
namespace {

std::string sample_text() {
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "Ligne " + std::to_string(i) + " : compte rendu de la réunion du comité.\n";
  return text;
}

std::string random_bytes(std::size_t n) {
  std::mt19937 generator(42);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(generator() & 0xFF);
  return out;
}

// Runs a command-line compressor on `input`; empty when the tool is not installed.
std::string run_tool(const std::string& command, const std::string& input) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto in_path = dir / ("gk_coding_in_" + std::to_string(::getpid()));
  {
    std::ofstream(in_path, std::ios::binary) << input;
  }
  const std::string full = command + " < '" + in_path.string() + "' 2>/dev/null";
  std::string out;
  if (FILE* pipe = ::popen(full.c_str(), "r")) {
    char buffer[65536];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    if (::pclose(pipe) != 0) out.clear();
  }
  std::filesystem::remove(in_path);
  return out;
}

TEST(ContentCodingTest, ParsesStackedCodingsInOrder) {
  HeaderList headers = {{"Content-Type", "application/json"},
                        {"content-encoding", "gzip, identity ,BR"},
                        {"Content-Encoding", "zstd"}};
  auto codings = parse_content_codings(headers);
  ASSERT_TRUE(codings);
  EXPECT_EQ(*codings, (std::vector<Coding>{Coding::Gzip, Coding::Brotli, Coding::Zstd}));
  std::string unknown;
  auto refused = parse_content_codings({{"Content-Encoding", "gzip, compress"}}, &unknown);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), Errc::BodyUndecodable);
  EXPECT_EQ(unknown, "compress");
  EXPECT_TRUE(parse_content_codings({{"Content-Encoding", "identity"}})->empty());
}

TEST(ContentCodingTest, RoundTripsEveryCoding) {
  const std::string text = sample_text();
  for (Coding coding : {Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd}) {
    SCOPED_TRACE(std::string(to_string(coding)));
    auto encoded = encode(coding, text);
    ASSERT_TRUE(encoded);
    EXPECT_LT(encoded->size(), text.size());
    auto decoded = decode(coding, *encoded, {});
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, text);
  }
  const std::vector<Coding> stacked = {Coding::Gzip, Coding::Brotli};
  auto both = encode_all(stacked, text);
  ASSERT_TRUE(both);
  EXPECT_FALSE(decode(Coding::Gzip, *both, {}));  // the outer layer is br
  EXPECT_EQ(decode_all(stacked, *both, {}).value(), text);
}

TEST(ContentCodingTest, DecodesWhatTheCommandLineToolsProduce) {
  const std::string text = sample_text();
  const std::string gz = run_tool("gzip -c -9", text);
  ASSERT_FALSE(gz.empty()) << "gzip is part of every Debian system";
  EXPECT_EQ(decode(Coding::Gzip, gz, {}).value(), text);
  // Two gzip members back to back (what `cat a.gz b.gz` gives) are one body.
  EXPECT_EQ(decode(Coding::Gzip, gz + gz, {}).value(), text + text);
  if (const std::string zst = run_tool("zstd -q -c -19", text); !zst.empty()) {
    EXPECT_EQ(decode(Coding::Zstd, zst, {}).value(), text);
    EXPECT_EQ(decode(Coding::Zstd, zst + zst, {}).value(), text + text);  // two frames
  } else {
    GTEST_LOG_(INFO) << "zstd CLI not installed: tool-produced zstd not checked";
  }
  if (const std::string br = run_tool("brotli -c", text); !br.empty()) {
    EXPECT_EQ(decode(Coding::Brotli, br, {}).value(), text);
  } else {
    GTEST_LOG_(INFO) << "brotli CLI not installed: tool-produced brotli not checked";
  }
}

TEST(ContentCodingTest, DeflateAcceptsZlibAndRawStreams) {
  const std::string text = sample_text();
  // zlib's own one-shot API: the RFC 1950 wrapper HTTP means by "deflate".
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::string wrapped(size, '\0');
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(wrapped.data()), &size,
                      reinterpret_cast<const Bytef*>(text.data()),
                      static_cast<uLong>(text.size()), 9),
            Z_OK);
  wrapped.resize(size);
  EXPECT_EQ(decode(Coding::Deflate, wrapped, {}).value(), text);
  // Raw deflate (no wrapper): what some clients send under "deflate".
  z_stream stream{};
  ASSERT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string raw(deflateBound(&stream, static_cast<uLong>(text.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(raw.data());
  stream.avail_out = static_cast<uInt>(raw.size());
  ASSERT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  raw.resize(stream.total_out);
  deflateEnd(&stream);
  EXPECT_EQ(decode(Coding::Deflate, raw, {}).value(), text);
}

TEST(ContentCodingTest, TruncatedAndCorruptInputIsUndecodable) {
  const std::string text = sample_text();
  for (Coding coding : {Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd}) {
    SCOPED_TRACE(std::string(to_string(coding)));
    const std::string encoded = encode(coding, text).value();
    auto truncated = decode(coding, encoded.substr(0, encoded.size() / 2), {});
    ASSERT_FALSE(truncated);
    EXPECT_EQ(truncated.error(), Errc::BodyUndecodable);
    auto cut_end = decode(coding, encoded.substr(0, encoded.size() - 1), {});
    EXPECT_FALSE(cut_end);
    auto garbage = decode(coding, random_bytes(4096), {});
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error(), Errc::BodyUndecodable);
    EXPECT_FALSE(decode(coding, "", {}));
  }
  // Bytes after the end of a zlib or brotli stream would go uninspected: refused.
  EXPECT_FALSE(decode(Coding::Deflate, encode(Coding::Deflate, text).value() + "tail", {}));
  EXPECT_FALSE(decode(Coding::Brotli, encode(Coding::Brotli, text).value() + "tail", {}));
}

TEST(ContentCodingTest, BombsStopAtTheLimits) {
  const std::string zeros(48u << 20, '\0');
  DecodeLimits limits;
  limits.max_decoded_bytes = 16u << 20;
  limits.max_ratio = 1000.0;
  for (Coding coding : {Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd}) {
    SCOPED_TRACE(std::string(to_string(coding)));
    const std::string bomb = encode(coding, zeros).value();
    auto decoded = decode(coding, bomb, limits);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error(), Errc::ExtractionLimit);
    // Under a generous size limit, the ratio alone stops it.
    DecodeLimits ratio_only;
    ratio_only.max_decoded_bytes = 1u << 30;
    ratio_only.max_ratio = 100.0;
    auto by_ratio = decode(coding, bomb, ratio_only);
    ASSERT_FALSE(by_ratio);
    EXPECT_EQ(by_ratio.error(), Errc::ExtractionLimit);
  }
  // A small, very repetitive prompt is below the ratio floor and decodes.
  const std::string spaces(64 * 1024, ' ');
  EXPECT_EQ(decode(Coding::Gzip, encode(Coding::Gzip, spaces).value(), {}).value(), spaces);
}

}  // namespace
}  // namespace gatekeeper::http

#include "gatekeeper/extract/file_zip.hpp"

#include <gtest/gtest.h>

#include <string>

#include "gatekeeper/extract/file_extractor.hpp"
#include "support/zip_builder.hpp"

namespace gatekeeper::extract {
namespace {

using test::ZipBuilder;

config::FileLimits limits() { return config::FileLimits{}; }

TEST(FileZipTest, ReadsStoredAndDeflatedMembers) {
  const std::string zip = ZipBuilder()
                              .add("a.txt", "premier fichier", false)
                              .add("dir/", "", false)
                              .add("dir/b.txt", std::string(5000, 'x') + "fin")
                              .build();
  ExtractionBudget budget(limits());
  auto reader = ZipReader::open(zip, budget);
  ASSERT_TRUE(reader) << budget.problem_en();
  ASSERT_EQ(reader->entries().size(), 3u);
  EXPECT_TRUE(reader->entries()[1].is_directory());
  auto a = reader->read(*reader->find("a.txt"), budget);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "premier fichier");
  auto b = reader->read(*reader->find("dir/b.txt"), budget);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->size(), 5003u);
  EXPECT_EQ(b->substr(5000), "fin");
}

// A real bomb: 64 MiB of zeros deflate to about 64 KiB (ratio ~1000).
TEST(FileZipTest, ZipBombIsRefusedBeforeInflating) {
  const std::string zip = ZipBuilder().add("zeros.bin", std::string(64u << 20, '\0')).build();
  ASSERT_LT(zip.size(), 200u * 1024);
  ExtractionBudget budget(limits());
  auto extracted = extract_file(zip, budget);
  ASSERT_FALSE(extracted);
  EXPECT_EQ(extracted.error(), Errc::ExtractionLimit);
  EXPECT_NE(budget.problem_en().find("max_compression_ratio"), std::string::npos);
  EXPECT_NE(budget.problem_fr().find("bombe"), std::string::npos);
}

// The same bomb with a directory that lies (declares 1 KiB): stopped while inflating.
TEST(FileZipTest, ZipBombWithLyingDirectoryIsStoppedWhileInflating) {
  ZipBuilder::Member member{"zeros.bin", std::string(64u << 20, '\0')};
  member.declared_size = 1024;
  const std::string zip = ZipBuilder().add(member).build();
  ExtractionBudget budget(limits());
  auto reader = ZipReader::open(zip, budget);
  ASSERT_TRUE(reader);
  auto data = reader->read(reader->entries()[0], budget);
  ASSERT_FALSE(data);
  EXPECT_FALSE(budget.problem_en().empty());
}

TEST(FileZipTest, TotalDecodedSizeIsLimited) {
  config::FileLimits small = limits();
  small.max_decoded_bytes = 10'000;
  const std::string zip = ZipBuilder()
                              .add("1.txt", std::string(6000, 'a'), false)
                              .add("2.txt", std::string(6000, 'b'), false)
                              .build();
  ExtractionBudget budget(small);
  auto extracted = extract_file(zip, budget);
  ASSERT_FALSE(extracted);
  EXPECT_EQ(extracted.error(), Errc::ExtractionLimit);
  EXPECT_NE(budget.problem_en().find("max_decoded_bytes"), std::string::npos);
}

TEST(FileZipTest, NestingDepthIsLimited) {
  std::string inner = ZipBuilder().add("note.txt", "au fond").build();
  for (int level = 0; level < 3; ++level)
    inner = ZipBuilder().add("level.zip", inner).build();  // 4 archives in all
  {
    ExtractionBudget budget(limits());  // max_archive_depth 3
    auto extracted = extract_file(inner, budget);
    ASSERT_FALSE(extracted);
    EXPECT_EQ(extracted.error(), Errc::ExtractionLimit);
    EXPECT_NE(budget.problem_en().find("max_archive_depth"), std::string::npos);
  }
  config::FileLimits deeper = limits();
  deeper.max_archive_depth = 4;
  ExtractionBudget budget(deeper);
  auto extracted = extract_file(inner, budget);
  ASSERT_TRUE(extracted) << budget.problem_en();
  bool found = false;
  for (const auto& text : extracted->texts)
    found = found || text.text.find("au fond") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST(FileZipTest, EntryCountIsLimited) {
  config::FileLimits few = limits();
  few.max_archive_entries = 5;
  ZipBuilder builder;
  for (int i = 0; i < 6; ++i) builder.add("f" + std::to_string(i), "x", false);
  ExtractionBudget budget(few);
  auto reader = ZipReader::open(builder.build(), budget);
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error(), Errc::ExtractionLimit);
  EXPECT_NE(budget.problem_en().find("max_archive_entries"), std::string::npos);
}

TEST(FileZipTest, Zip64IsRefused) {
  const std::string zip = ZipBuilder().add("a", "x", false).declare_entries(0xFFFF).build();
  ExtractionBudget budget(limits());
  auto reader = ZipReader::open(zip, budget);
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error(), Errc::ExtractionLimit);
  EXPECT_NE(budget.problem_en().find("zip64"), std::string::npos);
}

TEST(FileZipTest, EncryptedAndCorruptMembersAreMalformed) {
  ZipBuilder::Member encrypted{"secret.txt", "texte"};
  encrypted.flags = 1;
  ZipBuilder::Member wrong_crc{"crc.txt", "texte"};
  wrong_crc.declared_crc = 1234;
  for (const auto& member : {encrypted, wrong_crc}) {
    ExtractionBudget budget(limits());
    auto extracted = extract_file(ZipBuilder().add(member).build(), budget);
    ASSERT_FALSE(extracted);
    EXPECT_EQ(extracted.error(), Errc::FileMalformed);
    EXPECT_FALSE(budget.problem_en().empty());
  }
}

TEST(FileZipTest, GzipIsDecodedWithTheSameLimits) {
  // gzip framing around a raw deflate stream, written by zlib's gz header support.
  auto gzip = [](const std::string& data) {
    z_stream stream{};
    deflateInit2(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&stream, static_cast<uLong>(data.size())) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
  };
  ExtractionBudget budget(limits());
  auto text = extract_file(gzip("NIR 2 85 05 78 006 084 41\n"), budget);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->format, "gzip");
  ASSERT_FALSE(text->texts.empty());
  EXPECT_NE(text->texts.back().text.find("084 41"), std::string::npos);
  ExtractionBudget bomb_budget(limits());
  auto bomb = extract_file(gzip(std::string(32u << 20, '\0')), bomb_budget);
  ASSERT_FALSE(bomb);
  EXPECT_EQ(bomb.error(), Errc::ExtractionLimit);
}

TEST(FileZipTest, TruncatedArchivesAreMalformed) {
  const std::string zip = ZipBuilder().add("a.txt", std::string(3000, 'a')).build();
  for (std::size_t cut = 0; cut < zip.size(); cut += 7) {
    ExtractionBudget budget(limits());
    auto extracted = extract_file(zip.substr(0, cut), budget);
    if (!extracted) {
      EXPECT_TRUE(extracted.error() == Errc::FileMalformed ||
                  extracted.error() == Errc::ExtractionLimit);
    }
  }
}

}  // namespace
}  // namespace gatekeeper::extract

#include "gatekeeper/extract/file_zip.hpp"

#include <zlib.h>

#include <algorithm>

namespace gatekeeper::extract {
namespace {

constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kDirectoryEntry = 0x02014b50;
constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::size_t kEndRecordSize = 22;
constexpr std::size_t kDirectoryEntrySize = 46;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kMaxCommentSize = 0xFFFF;
constexpr std::size_t kChunk = 64 * 1024;

std::uint16_t u16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) |
                                    (static_cast<unsigned char>(b[at + 1]) << 8));
}
std::uint32_t u32(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(u16(b, at)) |
         (static_cast<std::uint32_t>(u16(b, at + 2)) << 16);
}

Result<void> truncated(ExtractionBudget& budget, const char* what_en, const char* what_fr) {
  return budget.malformed(std::string("zip: ") + what_en, std::string("zip : ") + what_fr);
}

// Inflates `input` (raw deflate when window_bits < 0, gzip when > 15) into at most `expected`
// bytes (0: unknown), enforcing the budget as output grows.
Result<std::string> inflate_all(std::string_view input, int window_bits, std::uint64_t expected,
                                ExtractionBudget& budget, const char* format) {
  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) return Errc::ScanOutOfMemory;
  struct Guard {
    z_stream* stream;
    ~Guard() { inflateEnd(stream); }
  } guard{&stream};
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(std::min<std::size_t>(input.size(), 0x7FFFFFFF));
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    const std::size_t before = out.size();
    out.resize(before + kChunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    stream.avail_out = static_cast<uInt>(kChunk);
    status = inflate(&stream, Z_NO_FLUSH);
    out.resize(before + (kChunk - stream.avail_out));
    if (status != Z_OK && status != Z_STREAM_END)
      return budget
          .malformed(std::string(format) + ": corrupt compressed data",
                     std::string(format) + " : données compressées corrompues")
          .error();
    if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0)
      return budget
          .malformed(std::string(format) + ": truncated compressed data",
                     std::string(format) + " : données compressées tronquées")
          .error();
    const std::uint64_t produced = out.size() - before;
    if (auto ok = budget.add_decoded(produced); !ok) return ok.error();
    // The ratio is checked on what actually comes out, not on the sizes the archive declares.
    if (auto ok = budget.check_ratio(out.size(), stream.total_in); !ok) return ok.error();
    if (expected != 0 && out.size() > expected)
      return budget
          .malformed(std::string(format) + ": more data than declared",
                     std::string(format) + " : plus de données que déclaré")
          .error();
    if (auto ok = budget.check_time(); !ok) return ok.error();
  }
  return out;
}

}  // namespace

Result<ZipReader> ZipReader::open(std::string_view bytes, ExtractionBudget& budget) {
  if (bytes.size() < kEndRecordSize) return truncated(budget, "too short", "trop court").error();
  // The end record sits in the last 22 + 65,535 bytes (its comment may follow it).
  std::size_t end = std::string_view::npos;
  const std::size_t lowest = bytes.size() > kEndRecordSize + kMaxCommentSize
                                 ? bytes.size() - kEndRecordSize - kMaxCommentSize
                                 : 0;
  for (std::size_t at = bytes.size() - kEndRecordSize + 1; at-- > lowest;) {
    if (u32(bytes, at) == kEndOfDirectory) {
      end = at;
      break;
    }
  }
  if (end == std::string_view::npos)
    return truncated(budget, "no end of central directory", "fin de répertoire absente").error();
  const std::uint16_t disk = u16(bytes, end + 4);
  const std::uint16_t directory_disk = u16(bytes, end + 6);
  const std::uint16_t entries_here = u16(bytes, end + 8);
  const std::uint16_t entries_total = u16(bytes, end + 10);
  const std::uint32_t directory_size = u32(bytes, end + 12);
  const std::uint32_t directory_offset = u32(bytes, end + 16);
  if ((end >= 20 && u32(bytes, end - 20) == kZip64Locator) || entries_total == 0xFFFF ||
      directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF)
    return budget
        .exceeded("zip64 archives (over 4 GiB or 65,535 entries) are not inspected",
                  "les archives zip64 (plus de 4 Gio ou 65 535 éléments) ne sont pas inspectées")
        .error();
  if (disk != 0 || directory_disk != 0 || entries_here != entries_total)
    return truncated(budget, "multi-volume archive", "archive en plusieurs volumes").error();
  if (static_cast<std::uint64_t>(directory_offset) + directory_size > end)
    return truncated(budget, "central directory out of bounds", "répertoire hors limites").error();
  if (auto ok = budget.add_entries(entries_total); !ok) return ok.error();

  ZipReader reader(bytes);
  reader.entries_.reserve(entries_total);
  std::size_t at = directory_offset;
  const std::size_t directory_end = static_cast<std::size_t>(directory_offset) + directory_size;
  for (std::uint16_t i = 0; i < entries_total; ++i) {
    if (at + kDirectoryEntrySize > directory_end || u32(bytes, at) != kDirectoryEntry)
      return truncated(budget, "truncated central directory", "répertoire tronqué").error();
    ZipEntry entry;
    entry.flags = u16(bytes, at + 8);
    entry.method = u16(bytes, at + 10);
    entry.crc32 = u32(bytes, at + 16);
    entry.compressed_size = u32(bytes, at + 20);
    entry.uncompressed_size = u32(bytes, at + 24);
    const std::size_t name_size = u16(bytes, at + 28);
    const std::size_t extra_size = u16(bytes, at + 30);
    const std::size_t comment_size = u16(bytes, at + 32);
    entry.local_header_offset = u32(bytes, at + 42);
    const std::size_t next = at + kDirectoryEntrySize + name_size + extra_size + comment_size;
    if (next > directory_end)
      return truncated(budget, "truncated central directory", "répertoire tronqué").error();
    if (entry.compressed_size == 0xFFFFFFFF || entry.uncompressed_size == 0xFFFFFFFF ||
        entry.local_header_offset == 0xFFFFFFFF)
      return budget
          .exceeded("zip64 archives (over 4 GiB or 65,535 entries) are not inspected",
                    "les archives zip64 (plus de 4 Gio ou 65 535 éléments) ne sont pas inspectées")
          .error();
    entry.name.assign(bytes.substr(at + kDirectoryEntrySize, name_size));
    // A declared bomb is refused before any byte is inflated.
    if (auto ok = budget.check_ratio(entry.uncompressed_size, entry.compressed_size); !ok)
      return ok.error();
    reader.entries_.push_back(std::move(entry));
    at = next;
  }
  return reader;
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const ZipEntry& entry) { return entry.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

Result<std::string> ZipReader::read(const ZipEntry& entry, ExtractionBudget& budget) const {
  if (entry.flags & 0x1)
    return budget.malformed("encrypted (password-protected) file", "fichier chiffré (mot de passe)")
        .error();
  const std::uint64_t at = entry.local_header_offset;
  if (at + kLocalHeaderSize > bytes_.size() || u32(bytes_, at) != kLocalHeader)
    return truncated(budget, "bad local header", "en-tête local invalide").error();
  const std::uint64_t data = at + kLocalHeaderSize + u16(bytes_, at + 26) +
                             static_cast<std::uint64_t>(u16(bytes_, at + 28));
  if (data + entry.compressed_size > bytes_.size())
    return truncated(budget, "entry data out of bounds", "données hors limites").error();
  const std::string_view input = bytes_.substr(data, entry.compressed_size);
  std::string out;
  if (entry.method == 0) {
    if (entry.compressed_size != entry.uncompressed_size)
      return truncated(budget, "stored size mismatch", "taille incohérente").error();
    if (auto ok = budget.add_decoded(input.size()); !ok) return ok.error();
    out.assign(input);
  } else if (entry.method == 8) {
    auto inflated = inflate_all(input, -MAX_WBITS, entry.uncompressed_size, budget, "zip");
    if (!inflated) return inflated.error();
    out = std::move(*inflated);
  } else {
    return budget
        .malformed(
            "zip: compression method " + std::to_string(entry.method) + " not supported",
            "zip : méthode de compression " + std::to_string(entry.method) + " non prise en charge")
        .error();
  }
  if (out.size() != entry.uncompressed_size)
    return truncated(budget, "size different from the directory", "taille différente du répertoire")
        .error();
  const auto crc =
      ::crc32(0L, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size()));
  if (crc != entry.crc32)
    return truncated(budget, "checksum mismatch", "somme de contrôle fausse").error();
  return out;
}

Result<std::string> gunzip(std::string_view bytes, ExtractionBudget& budget) {
  return inflate_all(bytes, 16 + MAX_WBITS, 0, budget, "gzip");
}

}  // namespace gatekeeper::extract

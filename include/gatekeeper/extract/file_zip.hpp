#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/core/error.hpp"
#include "gatekeeper/extract/file_limits.hpp"

namespace gatekeeper::extract {

struct ZipEntry {
  std::string name;          // as stored; user data for plain archives (never logged)
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint16_t flags = 0;
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
  bool is_directory() const { return !name.empty() && name.back() == '/'; }
};

// A zip archive read from memory through its central directory. Zip64 archives (over 4 GiB or
// 65,535 entries) are refused (Errc::ExtractionLimit): no upload to a chat needs them, and their
// extra size fields are a classic way to lie about sizes. Encrypted entries and compression
// methods other than stored and deflate are refused as Errc::FileMalformed. The archive bytes must
// outlive the reader.
class ZipReader {
 public:
  // Errors: Errc::FileMalformed (no end record, truncated or inconsistent directory),
  // Errc::ExtractionLimit (zip64, too many entries for the budget).
  static Result<ZipReader> open(std::string_view bytes, ExtractionBudget& budget);

  const std::vector<ZipEntry>& entries() const noexcept { return entries_; }
  const ZipEntry* find(std::string_view name) const;

  // Decompresses one entry, charging its size to the budget. Errors: Errc::ExtractionLimit (ratio,
  // total size, time), Errc::FileMalformed (bad local header, corrupt data, CRC mismatch, size
  // different from the directory's, encryption, unknown method).
  Result<std::string> read(const ZipEntry& entry, ExtractionBudget& budget) const;

 private:
  explicit ZipReader(std::string_view bytes) : bytes_(bytes) {}
  std::string_view bytes_;
  std::vector<ZipEntry> entries_;
};

// A gzip member (RFC 1952), with the same limits as a zip entry. Errors as ZipReader::read.
Result<std::string> gunzip(std::string_view bytes, ExtractionBudget& budget);

}  // namespace gatekeeper::extract

#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gatekeeper::test {

// Writes small zip archives in memory for the tests (stored or deflated members), so that hostile
// archives (bombs, nesting, lies in the directory) are built by the test itself.
class ZipBuilder {
 public:
  struct Member {
    std::string name;
    std::string data;
    bool deflate = true;
    std::uint16_t flags = 0;
    // Overrides of what the central directory declares (0xFFFFFFFF: keep the true value).
    std::uint32_t declared_size = 0xFFFFFFFF;
    std::uint32_t declared_crc = 0xFFFFFFFF;
  };

  ZipBuilder& add(Member member) {
    members_.push_back(std::move(member));
    return *this;
  }
  ZipBuilder& add(std::string name, std::string data, bool deflate = true) {
    return add(Member{std::move(name), std::move(data), deflate});
  }

  std::string build() const {
    std::string out, directory;
    for (const Member& member : members_) {
      const std::string packed = member.deflate ? raw_deflate(member.data) : member.data;
      std::uint32_t crc =
          static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(member.data.data()),
                                           static_cast<uInt>(member.data.size())));
      if (member.declared_crc != 0xFFFFFFFF) crc = member.declared_crc;
      const std::uint32_t size = member.declared_size != 0xFFFFFFFF
                                     ? member.declared_size
                                     : static_cast<std::uint32_t>(member.data.size());
      const auto offset = static_cast<std::uint32_t>(out.size());
      const std::uint16_t method = member.deflate ? 8 : 0;
      out += u32(0x04034b50) + u16(20) + u16(member.flags) + u16(method) + u16(0) + u16(0) +
             u32(crc) + u32(static_cast<std::uint32_t>(packed.size())) + u32(size) +
             u16(static_cast<std::uint16_t>(member.name.size())) + u16(0) + member.name + packed;
      directory += u32(0x02014b50) + u16(20) + u16(20) + u16(member.flags) + u16(method) + u16(0) +
                   u16(0) + u32(crc) + u32(static_cast<std::uint32_t>(packed.size())) + u32(size) +
                   u16(static_cast<std::uint16_t>(member.name.size())) + u16(0) + u16(0) + u16(0) +
                   u16(0) + u32(0) + u32(offset) + member.name;
    }
    const auto directory_offset = static_cast<std::uint32_t>(out.size());
    out += directory;
    const auto count =
        static_cast<std::uint16_t>(entries_override_ ? entries_override_ : members_.size());
    out += u32(0x06054b50) + u16(0) + u16(0) + u16(count) + u16(count) +
           u32(static_cast<std::uint32_t>(directory.size())) + u32(directory_offset) + u16(0);
    return out;
  }

  ZipBuilder& declare_entries(std::uint16_t count) {
    entries_override_ = count;
    return *this;
  }

  static std::string raw_deflate(const std::string& data) {
    z_stream stream{};
    deflateInit2(&stream, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
  }

 private:
  static std::string u16(std::uint16_t v) {
    return std::string{static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)};
  }
  static std::string u32(std::uint32_t v) {
    return u16(static_cast<std::uint16_t>(v & 0xFFFF)) + u16(static_cast<std::uint16_t>(v >> 16));
  }

  std::vector<Member> members_;
  std::uint16_t entries_override_ = 0;
};

}  // namespace gatekeeper::test

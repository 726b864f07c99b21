// INTERIM: minimal Record hashing and Chain until the full implementation (store.cpp, record.cpp)
// is merged; this file is deleted then.
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"

#include <openssl/sha.h>

#include <array>
#include <cstdio>

namespace gatekeeper::audit {
namespace {
constexpr std::array<std::string_view, 4> kKindNames = {"request", "admin", "triage", "report"};

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  std::string hex;
  char byte[3];
  for (unsigned char c : digest) {
    std::snprintf(byte, sizeof byte, "%02x", c);
    hex += byte;
  }
  return hex;
}
}  // namespace

std::string_view to_string(RecordKind kind) noexcept {
  return kKindNames[static_cast<std::size_t>(kind)];
}

std::optional<RecordKind> record_kind_from_string(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == text) return static_cast<RecordKind>(i);
  return std::nullopt;
}

std::string Record::canonical_payload() const {
  const nlohmann::json payload = {{"time", time},           {"kind", std::string(to_string(kind))},
                                  {"instance", instance},   {"sequence", sequence},
                                  {"reference", reference}, {"about", about},
                                  {"body", body}};
  return payload.dump();
}

std::string Record::compute_hash() const {
  return sha256_hex(previous_hash + "\n" + canonical_payload());
}

Chain::Chain(std::string instance, const Record* last) : instance_(std::move(instance)) {
  if (last) {
    sequence_ = last->sequence;
    last_hash_ = last->hash;
  } else {
    last_hash_ = std::string(64, '0');
  }
}

void Chain::stamp(Record& record) {
  std::lock_guard lock(mutex_);
  record.instance = instance_;
  record.sequence = ++sequence_;
  record.previous_hash = last_hash_;
  record.hash = record.compute_hash();
  last_hash_ = record.hash;
}

}  // namespace gatekeeper::audit

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace gatekeeper::audit {
namespace {
std::string hmac_hex(const std::string& key, std::string_view data, std::size_t bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  std::string hex;
  char byte[3];
  for (std::size_t i = 0; i < bytes && i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}
}  // namespace

Result<std::shared_ptr<const Pseudonymizer>> Pseudonymizer::load_or_create(
    const std::filesystem::path& data_dir) {
  const auto file = data_dir / kKeyFileName;
  std::ifstream in(file, std::ios::binary);
  if (in) {
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() == 32) return from_key(std::move(key));
    return Errc::ConfigInvalid;
  }
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1) return Errc::IoError;
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errc::IoError;
  const bool ok = ::write(fd, key.data(), key.size()) == 32 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Errc::IoError;
  return from_key(std::move(key));
}

std::shared_ptr<const Pseudonymizer> Pseudonymizer::from_key(std::string key) {
  return std::shared_ptr<const Pseudonymizer>(new Pseudonymizer(std::move(key)));
}

std::string Pseudonymizer::value_hmac(std::string_view normalized) const {
  return "h:" + hmac_hex(key_, "value:" + std::string(normalized), 16);
}

std::string Pseudonymizer::user_pseudonym(std::string_view user) const {
  return "u:" + hmac_hex(key_, "user:" + std::string(user), 8);
}

}  // namespace gatekeeper::audit

namespace gatekeeper::audit {
// INTERIM: the SQLite store is not merged yet.
Result<StorePtr> open_sqlite_store(const std::string&) { return Errc::DatabaseError; }
}  // namespace gatekeeper::audit

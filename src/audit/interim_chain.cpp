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

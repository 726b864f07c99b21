#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/core/error.hpp"

namespace gatekeeper::audit {

// The audit trail's secret: keys the HMAC of matched values and of user names, so the DPO can see
// that the same identifier or the same user recurs without anyone being able to read it back.
// Lives in DATA_DIR next to the CA key (mode 0600), created on first use.
class Pseudonymizer {
 public:
  inline static const char* kKeyFileName = "audit-hmac.key";

  // Loads DATA_DIR/audit-hmac.key, creating it (32 random bytes, 0600) when missing.
  static Result<std::shared_ptr<const Pseudonymizer>> load_or_create(
      const std::filesystem::path& data_dir);
  static std::shared_ptr<const Pseudonymizer> from_key(std::string key);  // tests

  // "h:" + first 16 bytes of HMAC-SHA-256(key, "value:" + normalized value), hex. `normalized`
  // should be the finding's canonical form (digits only for numbers) so spacing variants agree.
  std::string value_hmac(std::string_view normalized) const;
  // "u:" + first 8 bytes of HMAC-SHA-256(key, "user:" + user), hex.
  std::string user_pseudonym(std::string_view user) const;

 private:
  explicit Pseudonymizer(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// Masks a matched value for display. Separators (anything not a letter or digit) are kept; of the
// n letters and digits, n/3 (at most 5) are shown, the first ones and the last one or two, the rest
// become '*': "1 85 05 78 006 084 36" -> "1 85 ** ** *** *** 36". Values with fewer than 6 letters
// and digits are hidden entirely; non-ASCII letters are never shown (one '*' each); values longer
// than 64 characters are cut with a trailing "…". So an excerpt never holds more than a third of
// the value, and never enough to rebuild an identifier.
std::string mask_value(std::string_view value);

// The form of a matched value that is HMACed (after the rule's own normalize pairs): lower-case;
// when it contains a digit, only its letters and digits ("1 85 05..." and "18505..." agree);
// otherwise its words separated by single spaces.
std::string canonical_value(std::string_view value);

// Keeps the hash chain of one instance: assigns sequence, previous_hash and hash to records in
// the order they are stamped. Thread-safe.
class Chain {
 public:
  // Continues after `last` (a restart) or starts a new chain when `last` is null.
  Chain(std::string instance, const Record* last);
  void stamp(Record& record);
  const std::string& instance() const noexcept { return instance_; }

 private:
  std::mutex mutex_;
  std::string instance_;
  std::uint64_t sequence_ = 0;
  std::string last_hash_;
};

// Result of `gatekeeper audit verify`.
struct VerifyReport {
  std::uint64_t records_checked = 0;
  std::uint64_t chains = 0;
  bool ok = true;
  std::int64_t first_broken_id = 0;  // 0 when ok
  std::string first_broken_reason;   // "hash mismatch", "previous_hash does not link", "gap"...
};
// Walks every chain in the store in order and checks each record's hash and link. A chain whose
// first remaining record follows a purge is accepted when the purge record names its link.
Result<VerifyReport> verify_chain(Store& store);

// Retention. Deletes the records older than `before` (ISO 8601) and fills `purge_record` with the
// Admin record that says so — {"event": "retention_purge", "before", "count", "chains": [{"instance",
// "last_sequence", "last_hash"}...]}, one entry per chain that lost records — for the caller to
// stamp and store (Chain / Writer). Returns how many records were deleted.
Result<std::uint64_t> purge_records_before(Store& store, std::string_view before,
                                           Record& purge_record);
// Same, for records older than `retention` before `now`.
Result<std::uint64_t> purge_expired(
    Store& store, std::chrono::hours retention, Record& purge_record,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// An Admin record for `event` ("rules_reloaded", "ca_created", "audit_exported"...) with `details`
// merged into its body; time is now. Not yet stamped.
Record make_admin_record(std::string_view event, const nlohmann::json& details = {});
// The Request record for a decision body (http::InspectOutcome::decision_record): time and
// reference taken from the body, indexed columns projected from it. Not yet stamped.
Record make_request_record(nlohmann::json body);

}  // namespace gatekeeper::audit

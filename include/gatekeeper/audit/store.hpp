#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"

namespace gatekeeper::config {
struct Settings;
}

namespace gatekeeper::audit {

// What a record is about.
//  - Request: one inspected request to an AI platform (the decision).
//  - Admin:   an administrative event (rules reloaded, retention purge, CA created, console login,
//             audit exported...).
//  - Triage:  the DPO's verdict on a request record ("false_positive" | "confirmed" + comment);
//             `about` holds the reference id it judges. The latest triage of a reference wins.
//  - Report:  a researcher's "signaler un faux positif" report; `about` holds the reference id.
enum class RecordKind { Request, Admin, Triage, Report };
std::string_view to_string(RecordKind kind) noexcept;
std::optional<RecordKind> record_kind_from_string(std::string_view text) noexcept;

// One audit record as stored. Every field is free of raw sensitive values: the builder
// (audit/record.hpp) masks matched values and keeps only keyed HMACs of them.
//
// Hash chain: records are chained per `instance` (several gatekeeper instances may share one
// PostgreSQL trail; each keeps its own chain). hash = hex SHA-256 of
//   previous_hash + "\n" + canonical_payload()
// where canonical_payload() is the compact JSON dump of {time, kind, instance, sequence,
// reference, about, body} with sorted keys. The first record of a chain has previous_hash = 64 '0'.
struct Record {
  std::int64_t id = 0;           // store-assigned, increasing in insertion order; 0 before append
  std::string instance;          // who wrote it (settings.audit.instance, default: host name)
  std::uint64_t sequence = 0;    // position in the instance's chain, from 1
  std::string time;              // ISO 8601 UTC with milliseconds, "2026-11-22T18:52:01.123Z"
  RecordKind kind = RecordKind::Request;
  std::string reference;         // reference id shown to the user ("GK-..."), may be empty (admin)
  std::string about;             // Triage/Report: the reference judged; empty otherwise
  nlohmann::json body;           // the record's fields (docs/audit-log.md), a JSON object
  std::string previous_hash;     // hex SHA-256, 64 chars
  std::string hash;              // hex SHA-256, 64 chars

  // Indexed projections of `body`, filled by the builder, stored in columns for filtering.
  std::string platform;                 // platform id, empty when unknown
  std::string action;                   // block | redact | warn | log | allow (requests)
  std::string user;                     // pseudonym (or name when configured)
  std::vector<std::string> categories;  // sorted

  std::string canonical_payload() const;
  std::string compute_hash() const;  // over previous_hash and canonical_payload()

  // Sets platform, action, user and categories from `body` ("platform", "action", "user",
  // "categories"), so the indexed columns always say what the hashed body says.
  void project_body();
};

// The record as one JSON object (every column, body included): `audit show`, JSONL export, console.
nlohmann::json record_to_json(const Record& record);

// The first hash of every chain: 64 '0'.
const std::string& genesis_hash();

// Normalises a time bound to the stored form "YYYY-MM-DDTHH:MM:SS.mmmZ" so that bounds and stored
// times compare as strings. Accepts "2026-11-22" (midnight UTC), "2026-11-22T18:52",
// "2026-11-22T18:52:01", with optional ".mmm" and optional "Z"; nullopt for anything else.
std::optional<std::string> canonical_time(std::string_view text);
// Now, in the stored form.
std::string now_time();

// Filters shared by the CLI, the console and exports. Empty / nullopt = no constraint.
struct Filter {
  std::string since;  // inclusive ISO 8601 (a date "2026-11-01" means its midnight UTC)
  std::string until;  // exclusive
  std::optional<RecordKind> kind;
  std::string platform;
  std::string category;
  std::string action;
  std::string user;
  std::string reference;  // exact reference, or `about` for Triage/Report
  std::string instance;
  std::int64_t after_id = 0;   // keyset pagination: id > after_id (ascending listings)
  std::int64_t before_id = 0;  // id < before_id when non-zero (descending listings)
  bool newest_first = true;
  std::size_t limit = 100;     // 0 = no limit (exports, verification)
};

struct CountRow {
  std::string key;  // category, platform, action or day ("2026-11-22")
  std::uint64_t count = 0;
};

// Request-record statistics for the filter (Admin/Triage/Report records are not counted).
struct Stats {
  std::uint64_t total = 0;
  std::vector<CountRow> by_action;
  std::vector<CountRow> by_category;
  std::vector<CountRow> by_platform;
  std::vector<CountRow> by_day;  // ascending
};

// Durable storage of the audit trail: SQLite (default, DATA_DIR/audit.db, WAL) or PostgreSQL
// (several instances sharing one trail). Implementations are thread-safe; each call is one
// transaction. No method throws.
class Store {
 public:
  virtual ~Store() = default;

  // Appends records atomically (all or none), assigning ids in order. The caller has already set
  // instance, sequence, previous_hash and hash (see Chain in audit/record.hpp).
  virtual Result<void> append(std::vector<Record>& records) = 0;

  // Records matching `filter`, ordered by id (newest_first: descending).
  virtual Result<std::vector<Record>> list(const Filter& filter) = 0;
  // Streams every matching record in ascending id order without holding them all in memory.
  // Returning false from `visit` stops early.
  virtual Result<void> for_each(const Filter& filter,
                                const std::function<bool(const Record&)>& visit) = 0;
  // Errc::NotFound when there is no such record.
  virtual Result<Record> get(std::int64_t id) = 0;
  // The request record carrying this reference id.
  virtual Result<Record> find_reference(std::string_view reference) = 0;

  virtual Result<Stats> stats(const Filter& filter) = 0;

  // The last record of `instance`'s chain (to continue it after a restart); NotFound when empty.
  virtual Result<Record> last_of_chain(std::string_view instance) = 0;

  // Deletes records with time < `before` (ISO 8601). Returns how many were deleted. The caller
  // audits the purge (an Admin record naming the count and the last purged hash per chain, so
  // `verify` can tell a purge from tampering).
  virtual Result<std::uint64_t> purge_before(std::string_view before) = 0;

  // "sqlite:/path/audit.db" or "postgresql://host/db" with the password removed: for logs.
  virtual std::string describe() const = 0;
};

using StorePtr = std::shared_ptr<Store>;

// Opens (creating the file or schema and migrating it when needed) the SQLite store.
Result<StorePtr> open_sqlite_store(const std::string& path);
// The store the configuration names: PostgreSQL when settings.audit.postgres_dsn is set, otherwise
// SQLite at DATA_DIR/audit.db. When `diagnostics` is given, a failure leaves there a message an
// administrator can act on (which store, what to check).
Result<StorePtr> open_store(const config::Settings& settings, Diagnostics* diagnostics = nullptr);
// Connects to PostgreSQL with a libpq connection string; creates/migrates the schema.
Result<StorePtr> open_postgres_store(const std::string& dsn);

}  // namespace gatekeeper::audit

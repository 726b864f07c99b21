// The default audit store: one SQLite file (WAL), safe to share between the proxy and the
// `gatekeeper audit` command running at the same time.
#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <variant>

#include "gatekeeper/audit/store.hpp"

namespace gatekeeper::audit {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5'000;
constexpr std::size_t kPageSize = 500;  // for_each reads this many records per query

// Each entry upgrades the schema from version i to i + 1, in one transaction.
constexpr const char* kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE records (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  instance      TEXT    NOT NULL,
  sequence      INTEGER NOT NULL,
  time          TEXT    NOT NULL,
  kind          TEXT    NOT NULL,
  reference     TEXT    NOT NULL DEFAULT '',
  about         TEXT    NOT NULL DEFAULT '',
  body          TEXT    NOT NULL,
  previous_hash TEXT    NOT NULL,
  hash          TEXT    NOT NULL,
  platform      TEXT    NOT NULL DEFAULT '',
  action        TEXT    NOT NULL DEFAULT '',
  user          TEXT    NOT NULL DEFAULT '',
  categories    TEXT    NOT NULL DEFAULT '[]'
);
-- One row per (record, category): a category filter is an exact match, not a substring.
CREATE TABLE record_categories (
  category  TEXT    NOT NULL,
  record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
  PRIMARY KEY (category, record_id)
) WITHOUT ROWID;
CREATE INDEX record_categories_record ON record_categories(record_id);
CREATE INDEX records_time ON records(time);
CREATE INDEX records_platform ON records(platform, id);
CREATE INDEX records_action ON records(action, id);
CREATE INDEX records_user ON records(user, id);
CREATE INDEX records_reference ON records(reference) WHERE reference <> '';
CREATE INDEX records_about ON records(about) WHERE about <> '';
CREATE INDEX records_instance ON records(instance, sequence);
CREATE INDEX records_kind ON records(kind, id);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

constexpr const char* kColumns =
    "id, instance, sequence, time, kind, reference, about, body, previous_hash, hash, platform, "
    "action, user, categories";

using Binding = std::variant<std::string, std::int64_t>;

struct Where {
  std::string sql;
  std::vector<Binding> bindings;
  bool invalid = false;  // a bound that is not a date: matches nothing rather than everything
};

Where where_clause(const Filter& filter, bool requests_only) {
  Where where;
  std::vector<std::string> terms;
  auto add = [&](std::string term, Binding value) {
    terms.push_back(std::move(term));
    where.bindings.push_back(std::move(value));
  };
  if (!filter.since.empty()) {
    if (auto since = canonical_time(filter.since)) add("time >= ?", *since);
    else where.invalid = true;
  }
  if (!filter.until.empty()) {
    if (auto until = canonical_time(filter.until)) add("time < ?", *until);
    else where.invalid = true;
  }
  if (requests_only) add("kind = ?", std::string(to_string(RecordKind::Request)));
  else if (filter.kind) add("kind = ?", std::string(to_string(*filter.kind)));
  if (!filter.platform.empty()) add("platform = ?", filter.platform);
  if (!filter.action.empty()) add("action = ?", filter.action);
  if (!filter.user.empty()) add("user = ?", filter.user);
  if (!filter.instance.empty()) add("instance = ?", filter.instance);
  if (!filter.category.empty())
    add("id IN (SELECT record_id FROM record_categories WHERE category = ?)", filter.category);
  if (!filter.reference.empty()) {
    terms.push_back("(reference = ? OR about = ?)");
    where.bindings.push_back(filter.reference);
    where.bindings.push_back(filter.reference);
  }
  if (filter.after_id > 0) add("id > ?", filter.after_id);
  if (filter.before_id > 0) add("id < ?", filter.before_id);
  for (std::size_t i = 0; i < terms.size(); ++i)
    where.sql += (i == 0 ? " WHERE " : " AND ") + terms[i];
  return where;
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  ~SqliteStore() override {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    if (db_ != nullptr) sqlite3_close(db_);
  }

  Result<void> open() {
    std::error_code ec;
    const std::filesystem::path file(path_);
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) return failure("open");
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // The records only describe decisions, but they are still personal data: not world-readable.
    std::filesystem::permissions(file, std::filesystem::perms::others_all,
                                 std::filesystem::perm_options::remove, ec);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                               "PRAGMA foreign_keys=ON"})
      if (auto done = exec(pragma); !done) return done;
    return migrate();
  }

  Result<void> append(std::vector<Record>& records) override {
    std::lock_guard lock(mutex_);
    if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun;
    std::vector<std::int64_t> ids;
    ids.reserve(records.size());
    for (const Record& record : records) {
      auto id = insert(record);
      if (!id) {
        exec("ROLLBACK");
        return id.error();
      }
      ids.push_back(*id);
    }
    if (auto committed = exec("COMMIT"); !committed) {
      exec("ROLLBACK");
      return committed;
    }
    for (std::size_t i = 0; i < records.size(); ++i) records[i].id = ids[i];
    return {};
  }

  Result<std::vector<Record>> list(const Filter& filter) override {
    std::lock_guard lock(mutex_);
    return select(filter);
  }

  Result<void> for_each(const Filter& filter,
                        const std::function<bool(const Record&)>& visit) override {
    // Page by id so no lock or read transaction is held while `visit` runs (it may be slow, or
    // write to this store).
    Filter page = filter;
    page.newest_first = false;
    std::size_t remaining = filter.limit;
    while (true) {
      page.limit = remaining == 0 ? kPageSize : std::min(remaining, kPageSize);
      Result<std::vector<Record>> records;
      {
        std::lock_guard lock(mutex_);
        records = select(page);
      }
      if (!records) return records.error();
      for (const Record& record : *records)
        if (!visit(record)) return {};
      if (records->size() < page.limit) return {};
      if (remaining != 0 && (remaining -= records->size()) == 0) return {};
      page.after_id = records->back().id;
    }
  }

  Result<Record> get(std::int64_t id) override {
    std::lock_guard lock(mutex_);
    return select_one(std::string("SELECT ") + kColumns + " FROM records WHERE id = ?", id);
  }

  Result<Record> find_reference(std::string_view reference) override {
    std::lock_guard lock(mutex_);
    return select_one(std::string("SELECT ") + kColumns +
                          " FROM records WHERE reference = ? AND kind = 'request' "
                          "ORDER BY id DESC LIMIT 1",
                      std::string(reference));
  }

  Result<Stats> stats(const Filter& filter) override {
    std::lock_guard lock(mutex_);
    const Where where = where_clause(filter, /*requests_only=*/true);
    Stats stats;
    if (where.invalid) return stats;
    const std::string from = " FROM records" + where.sql;
    auto rows = [&](const std::string& key, std::vector<CountRow>& out,
                    const std::string& order) -> Result<void> {
      return query("SELECT " + key + ", COUNT(*)" + from + " GROUP BY 1 ORDER BY " + order,
                   where.bindings, [&](sqlite3_stmt* statement) {
                     out.push_back({column_text(statement, 0),
                                    static_cast<std::uint64_t>(sqlite3_column_int64(statement, 1))});
                   });
    };
    auto total = query("SELECT COUNT(*)" + from, where.bindings, [&](sqlite3_stmt* statement) {
      stats.total = static_cast<std::uint64_t>(sqlite3_column_int64(statement, 0));
    });
    if (!total) return total.error();
    if (auto r = rows("action", stats.by_action, "2 DESC, 1"); !r) return r.error();
    if (auto r = rows("platform", stats.by_platform, "2 DESC, 1"); !r) return r.error();
    if (auto r = rows("substr(time, 1, 10)", stats.by_day, "1"); !r) return r.error();
    auto categories = query(
        "SELECT c.category, COUNT(*) FROM record_categories c WHERE c.record_id IN (SELECT id" +
            from + ") GROUP BY 1 ORDER BY 2 DESC, 1",
        where.bindings, [&](sqlite3_stmt* statement) {
          stats.by_category.push_back(
              {column_text(statement, 0),
               static_cast<std::uint64_t>(sqlite3_column_int64(statement, 1))});
        });
    if (!categories) return categories.error();
    return stats;
  }

  Result<Record> last_of_chain(std::string_view instance) override {
    std::lock_guard lock(mutex_);
    return select_one(std::string("SELECT ") + kColumns +
                          " FROM records WHERE instance = ? ORDER BY sequence DESC, id DESC "
                          "LIMIT 1",
                      std::string(instance));
  }

  Result<std::uint64_t> purge_before(std::string_view before) override {
    const auto bound = canonical_time(before);
    if (!bound) return make_error_code(Errc::ConfigInvalid);
    std::lock_guard lock(mutex_);
    if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun.error();
    auto removed = run("DELETE FROM records WHERE time < ?", {*bound});
    if (!removed) {
      exec("ROLLBACK");
      return removed.error();
    }
    const auto count = static_cast<std::uint64_t>(sqlite3_changes64(db_));
    if (auto committed = exec("COMMIT"); !committed) {
      exec("ROLLBACK");
      return committed.error();
    }
    return count;
  }

  std::string describe() const override { return "sqlite:" + path_; }

 private:
  // Logs SQLite's own message (it names the statement's problem, never a bound value).
  boost::system::error_code failure(const char* what) {
    spdlog::warn("audit store {}: {} failed: {}", describe(), what,
                 db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory");
    return make_error_code(Errc::DatabaseError);
  }

  Result<void> exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      spdlog::warn("audit store {}: {}", describe(), message != nullptr ? message : "error");
      sqlite3_free(message);
      return make_error_code(Errc::DatabaseError);
    }
    return {};
  }

  Result<void> migrate() {
    if (auto made = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        !made)
      return made;
    if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun;
    int version = 0;
    bool present = false;
    auto read = query("SELECT version FROM schema_version", {}, [&](sqlite3_stmt* statement) {
      version = sqlite3_column_int(statement, 0);
      present = true;
    });
    if (!read) {
      exec("ROLLBACK");
      return read;
    }
    if (version > kSchemaVersion) {
      spdlog::error("audit store {}: schema version {} is newer than this gatekeeper ({})",
                    describe(), version, kSchemaVersion);
      exec("ROLLBACK");
      return make_error_code(Errc::DatabaseError);
    }
    for (int step = version; step < kSchemaVersion; ++step)
      if (auto applied = exec(kMigrations[step]); !applied) {
        exec("ROLLBACK");
        return applied;
      }
    if (version != kSchemaVersion) {
      auto stored = run(present ? "UPDATE schema_version SET version = ?"
                                : "INSERT INTO schema_version (version) VALUES (?)",
                        {std::int64_t{kSchemaVersion}});
      if (!stored) {
        exec("ROLLBACK");
        return stored.error();
      }
    }
    return exec("COMMIT");
  }

  // Cached prepared statement for `sql`, reset and unbound.
  Result<sqlite3_stmt*> prepare(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* statement = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK)
        return failure("prepare");
      it = statements_.emplace(sql, statement).first;
    }
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }

  Result<sqlite3_stmt*> bind(const std::string& sql, const std::vector<Binding>& bindings) {
    auto statement = prepare(sql);
    if (!statement) return statement;
    for (std::size_t i = 0; i < bindings.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      const int rc = std::holds_alternative<std::int64_t>(bindings[i])
                         ? sqlite3_bind_int64(*statement, index, std::get<std::int64_t>(bindings[i]))
                         : sqlite3_bind_text(*statement, index,
                                             std::get<std::string>(bindings[i]).data(),
                                             static_cast<int>(std::get<std::string>(bindings[i]).size()),
                                             SQLITE_TRANSIENT);
      if (rc != SQLITE_OK) return failure("bind");
    }
    return statement;
  }

  // Runs a statement that returns no rows.
  Result<void> run(const std::string& sql, const std::vector<Binding>& bindings) {
    auto statement = bind(sql, bindings);
    if (!statement) return statement.error();
    const int rc = sqlite3_step(*statement);
    sqlite3_reset(*statement);
    if (rc != SQLITE_DONE) return failure("write");
    return {};
  }

  Result<void> query(const std::string& sql, const std::vector<Binding>& bindings,
                     const std::function<void(sqlite3_stmt*)>& row) {
    auto statement = bind(sql, bindings);
    if (!statement) return statement.error();
    int rc;
    while ((rc = sqlite3_step(*statement)) == SQLITE_ROW) row(*statement);
    sqlite3_reset(*statement);
    if (rc != SQLITE_DONE) return failure("read");
    return {};
  }

  static std::string column_text(sqlite3_stmt* statement, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
    return text != nullptr
               ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement, column)))
               : std::string();
  }

  static Record read_record(sqlite3_stmt* statement) {
    Record record;
    record.id = sqlite3_column_int64(statement, 0);
    record.instance = column_text(statement, 1);
    record.sequence = static_cast<std::uint64_t>(sqlite3_column_int64(statement, 2));
    record.time = column_text(statement, 3);
    record.kind = record_kind_from_string(column_text(statement, 4)).value_or(RecordKind::Admin);
    record.reference = column_text(statement, 5);
    record.about = column_text(statement, 6);
    // A body that no longer parses was altered: keep it as a string so verify reports a mismatch.
    const std::string body = column_text(statement, 7);
    record.body = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (record.body.is_discarded()) record.body = body;
    record.previous_hash = column_text(statement, 8);
    record.hash = column_text(statement, 9);
    record.platform = column_text(statement, 10);
    record.action = column_text(statement, 11);
    record.user = column_text(statement, 12);
    const auto categories =
        nlohmann::json::parse(column_text(statement, 13), nullptr, /*allow_exceptions=*/false);
    if (categories.is_array())
      for (const auto& category : categories)
        if (category.is_string()) record.categories.push_back(category.get<std::string>());
    return record;
  }

  Result<std::int64_t> insert(const Record& record) {
    const nlohmann::json categories = record.categories;
    auto inserted = run(
        "INSERT INTO records (instance, sequence, time, kind, reference, about, body, "
        "previous_hash, hash, platform, action, user, categories) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {record.instance, static_cast<std::int64_t>(record.sequence), record.time,
         std::string(to_string(record.kind)), record.reference, record.about,
         (record.body.is_null() ? nlohmann::json::object() : record.body)
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
         record.previous_hash, record.hash, record.platform, record.action, record.user,
         categories.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
    if (!inserted) return inserted.error();
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    for (const std::string& category : record.categories) {
      auto linked = run("INSERT OR IGNORE INTO record_categories (category, record_id) VALUES (?, ?)",
                        {category, id});
      if (!linked) return linked.error();
    }
    return id;
  }

  Result<std::vector<Record>> select(const Filter& filter) {
    const Where where = where_clause(filter, /*requests_only=*/false);
    std::vector<Record> records;
    if (where.invalid) return records;
    std::string sql = std::string("SELECT ") + kColumns + " FROM records" + where.sql +
                      (filter.newest_first ? " ORDER BY id DESC" : " ORDER BY id ASC");
    std::vector<Binding> bindings = where.bindings;
    if (filter.limit != 0) {
      sql += " LIMIT ?";
      bindings.emplace_back(static_cast<std::int64_t>(filter.limit));
    }
    auto done = query(sql, bindings,
                      [&](sqlite3_stmt* statement) { records.push_back(read_record(statement)); });
    if (!done) return done.error();
    return records;
  }

  Result<Record> select_one(const std::string& sql, Binding key) {
    std::optional<Record> found;
    auto done = query(sql, {std::move(key)},
                      [&](sqlite3_stmt* statement) { found = read_record(statement); });
    if (!done) return done.error();
    if (!found) return make_error_code(Errc::NotFound);
    return std::move(*found);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  // One connection, one statement cache: calls are serialised (SQLite writes one at a time anyway).
  std::recursive_mutex mutex_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

Result<StorePtr> open_sqlite_store(const std::string& path) {
  auto store = std::make_shared<SqliteStore>(path);
  if (auto opened = store->open(); !opened) return opened.error();
  return StorePtr(std::move(store));
}

}  // namespace gatekeeper::audit

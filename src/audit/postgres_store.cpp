// The PostgreSQL audit store: several gatekeeper instances share one trail, each with its own
// hash chain. Every value travels as a query parameter (PQexecParams); no SQL is built from values.
#include "gatekeeper/audit/store.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gatekeeper::audit {
namespace {

// Bumped whenever the schema changes; migrate() brings older schemas up to date.
constexpr int kSchemaVersion = 1;
// Any fixed 64-bit number: every instance takes the same advisory lock while migrating.
constexpr const char* kMigrationLockKey = "7242021926";
constexpr std::size_t kMaxIdleConnections = 4;
constexpr std::size_t kForEachPage = 500;

constexpr const char* kSelectColumns =
    "id, instance, sequence, time, kind, reference, about, body, previous_hash, hash, platform, "
    "action, user_name, array_to_json(categories)::text";

struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnectionDeleter {
  void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
using PgConnection = std::unique_ptr<PGconn, ConnectionDeleter>;

// libpq prints NOTICEs ("relation already exists, skipping") on stderr by default.
void ignore_notice(void*, const char*) {}

// libpq error messages name the server and the failing statement, never parameter values.
std::string first_line(const char* message) {
  std::string text = message ? message : "";
  if (const auto end = text.find('\n'); end != std::string::npos) text.resize(end);
  return text;
}

// Binds text parameters: values stay alive for the duration of the call.
class Params {
 public:
  std::string add(std::string value) {
    values_.push_back(std::move(value));
    return "$" + std::to_string(values_.size());
  }
  int size() const noexcept { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const {
    std::vector<const char*> pointers;
    pointers.reserve(values_.size());
    for (const auto& value : values_) pointers.push_back(value.c_str());
    return pointers;
  }

 private:
  std::vector<std::string> values_;
};


std::string where_clause(const Filter& filter, Params& params) {
  std::vector<std::string> terms;
  // Bounds in the stored form compare as text; a bound that is not a time matches nothing.
  if (!filter.since.empty()) {
    const auto since = canonical_time(filter.since);
    terms.push_back(since ? "time >= " + params.add(*since) : std::string("FALSE"));
  }
  if (!filter.until.empty()) {
    const auto until = canonical_time(filter.until);
    terms.push_back(until ? "time < " + params.add(*until) : std::string("FALSE"));
  }
  if (filter.kind) terms.push_back("kind = " + params.add(std::string(to_string(*filter.kind))));
  if (!filter.platform.empty()) terms.push_back("platform = " + params.add(filter.platform));
  if (!filter.category.empty())
    terms.push_back(params.add(filter.category) + " = ANY(categories)");
  if (!filter.action.empty()) terms.push_back("action = " + params.add(filter.action));
  if (!filter.user.empty()) terms.push_back("user_name = " + params.add(filter.user));
  if (!filter.reference.empty()) {
    const std::string reference = params.add(filter.reference);
    terms.push_back("(reference = " + reference + " OR about = " + reference + ")");
  }
  if (!filter.instance.empty()) terms.push_back("instance = " + params.add(filter.instance));
  if (filter.after_id > 0) terms.push_back("id > " + params.add(std::to_string(filter.after_id)));
  if (filter.before_id > 0)
    terms.push_back("id < " + params.add(std::to_string(filter.before_id)));
  if (terms.empty()) return "";
  std::string clause = " WHERE ";
  for (std::size_t i = 0; i < terms.size(); ++i) clause += (i ? " AND " : "") + terms[i];
  return clause;
}

template <class Int>
Int parse_int(const char* text) {
  Int value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

Result<Record> record_from_row(const PGresult* result, int row) {
  Record record;
  auto text = [&](int column) { return std::string(PQgetvalue(result, row, column)); };
  record.id = parse_int<std::int64_t>(PQgetvalue(result, row, 0));
  record.instance = text(1);
  record.sequence = parse_int<std::uint64_t>(PQgetvalue(result, row, 2));
  record.time = text(3);
  const auto kind = record_kind_from_string(PQgetvalue(result, row, 4));
  if (!kind) return Errc::DatabaseError;
  record.kind = *kind;
  record.reference = text(5);
  record.about = text(6);
  record.body = nlohmann::json::parse(PQgetvalue(result, row, 7), nullptr, false);
  if (record.body.is_discarded()) return Errc::DatabaseError;
  record.previous_hash = text(8);
  record.hash = text(9);
  record.platform = text(10);
  record.action = text(11);
  record.user = text(12);
  const auto categories = nlohmann::json::parse(PQgetvalue(result, row, 13), nullptr, false);
  if (categories.is_array())
    for (const auto& category : categories)
      if (category.is_string()) record.categories.push_back(category.get<std::string>());
  return record;
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::string dsn) : dsn_(std::move(dsn)) {}

  // A malformed DSN is a configuration error; an unreachable server is not: the writer spools
  // until it is back, and the schema is created on the first connection that succeeds.
  Result<void> open() {
    char* parse_error = nullptr;
    PQconninfoOption* options = PQconninfoParse(dsn_.c_str(), &parse_error);
    if (!options) {
      spdlog::error("audit.postgres_dsn is not a valid libpq connection string: {}",
                    first_line(parse_error));
      if (parse_error) PQfreemem(parse_error);
      return Errc::ConfigInvalid;
    }
    std::string host = "localhost", port = "5432", database;
    for (PQconninfoOption* option = options; option->keyword; ++option) {
      if (!option->val) continue;
      const std::string keyword = option->keyword;
      if (keyword == "host" || keyword == "hostaddr") host = option->val;
      else if (keyword == "port") port = option->val;
      else if (keyword == "dbname") database = option->val;
    }
    PQconninfoFree(options);
    describe_ = "postgresql://" + host + ":" + port + "/" + database;
    auto conn = acquire();
    if (!conn) {
      if (schema_too_new_) return Errc::DatabaseError;
      spdlog::error("audit store {} unreachable: the schema is created when it is reachable",
                    describe_);
      return {};
    }
    release(std::move(*conn));
    return {};
  }

  Result<void> append(std::vector<Record>& records) override {
    if (records.empty()) return {};
    auto conn = acquire();
    if (!conn) return conn.error();
    PGconn* pg = conn->get();
    if (!command(pg, "BEGIN")) return discard(std::move(*conn));
    for (auto& record : records) {
      // An (instance, sequence) already present is a record replayed from the spool after a
      // crash between the commit and the spool trim: it is kept once, with its first id.
      static constexpr const char* kInsert =
          "INSERT INTO audit_records (instance, sequence, time, kind, reference, about, body, "
          "previous_hash, hash, platform, action, user_name, categories) VALUES ($1, $2, $3, $4, "
          "$5, $6, $7, $8, $9, $10, $11, $12, ARRAY(SELECT jsonb_array_elements_text($13::jsonb)))"
          " ON CONFLICT (instance, sequence) DO NOTHING RETURNING id";
      nlohmann::json categories = record.categories;
      const std::string values[] = {record.instance,
                                    std::to_string(record.sequence),
                                    record.time,
                                    std::string(to_string(record.kind)),
                                    record.reference,
                                    record.about,
                                    (record.body.is_null() ? nlohmann::json::object()
                                                           : record.body)
                                        .dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace),
                                    record.previous_hash,
                                    record.hash,
                                    record.platform,
                                    record.action,
                                    record.user,
                                    categories.dump()};
      const char* pointers[std::size(values)];
      for (std::size_t i = 0; i < std::size(values); ++i) pointers[i] = values[i].c_str();
      PgResult inserted(PQexecParams(pg, kInsert, static_cast<int>(std::size(values)), nullptr,
                                     pointers, nullptr, nullptr, 0));
      if (!tuples_ok(pg, inserted.get(), "insert")) {
        command(pg, "ROLLBACK");
        return discard(std::move(*conn));
      }
      if (PQntuples(inserted.get()) == 1) {
        record.id = parse_int<std::int64_t>(PQgetvalue(inserted.get(), 0, 0));
        continue;
      }
      const char* key[] = {values[0].c_str(), values[1].c_str()};
      PgResult existing(PQexecParams(
          pg, "SELECT id FROM audit_records WHERE instance = $1 AND sequence = $2", 2, nullptr,
          key, nullptr, nullptr, 0));
      if (!tuples_ok(pg, existing.get(), "duplicate lookup") || PQntuples(existing.get()) != 1) {
        command(pg, "ROLLBACK");
        return discard(std::move(*conn));
      }
      record.id = parse_int<std::int64_t>(PQgetvalue(existing.get(), 0, 0));
    }
    if (!command(pg, "COMMIT")) return discard(std::move(*conn));
    release(std::move(*conn));
    return {};
  }

  Result<std::vector<Record>> list(const Filter& filter) override {
    Params params;
    std::string sql = std::string("SELECT ") + kSelectColumns + " FROM audit_records" +
                      where_clause(filter, params) +
                      (filter.newest_first ? " ORDER BY id DESC" : " ORDER BY id ASC");
    if (filter.limit > 0) sql += " LIMIT " + params.add(std::to_string(filter.limit));
    return query_records(sql, params);
  }

  Result<void> for_each(const Filter& filter,
                        const std::function<bool(const Record&)>& visit) override {
    Filter page = filter;
    page.newest_first = false;
    std::size_t remaining = filter.limit;  // 0 = all
    while (true) {
      page.limit = remaining == 0 ? kForEachPage : std::min(remaining, kForEachPage);
      auto records = list(page);
      if (!records) return records.error();
      for (const auto& record : *records) {
        if (!visit(record)) return {};
      }
      if (records->size() < page.limit) return {};
      if (remaining != 0) {
        remaining -= records->size();
        if (remaining == 0) return {};
      }
      page.after_id = records->back().id;
    }
  }

  Result<Record> get(std::int64_t id) override {
    Params params;
    const std::string sql = std::string("SELECT ") + kSelectColumns +
                            " FROM audit_records WHERE id = " + params.add(std::to_string(id));
    return single(query_records(sql, params));
  }

  Result<Record> find_reference(std::string_view reference) override {
    Params params;
    const std::string sql = std::string("SELECT ") + kSelectColumns +
                            " FROM audit_records WHERE reference = " +
                            params.add(std::string(reference)) +
                            " AND kind = 'request' ORDER BY id LIMIT 1";
    return single(query_records(sql, params));
  }

  Result<Stats> stats(const Filter& filter) override {
    Filter requests = filter;
    requests.kind = RecordKind::Request;
    Stats stats;
    auto count_by = [&](const std::string& key_expression,
                        std::vector<CountRow>& rows) -> Result<void> {
      Params params;
      const std::string where = where_clause(requests, params);
      const std::string sql = "SELECT " + key_expression + " AS key, count(*) FROM audit_records" +
                              where + " GROUP BY key ORDER BY " +
                              (key_expression.starts_with("substr") ? "key ASC"
                                                                    : "count(*) DESC, key ASC");
      auto result = run(sql, params);
      if (!result) return result.error();
      for (int row = 0; row < PQntuples(result->get()); ++row)
        rows.push_back({PQgetvalue(result->get(), row, 0),
                        parse_int<std::uint64_t>(PQgetvalue(result->get(), row, 1))});
      return {};
    };
    {
      Params params;
      auto total = run("SELECT count(*) FROM audit_records" + where_clause(requests, params),
                       params);
      if (!total) return total.error();
      stats.total = parse_int<std::uint64_t>(PQgetvalue(total->get(), 0, 0));
    }
    if (auto done = count_by("action", stats.by_action); !done) return done.error();
    if (auto done = count_by("unnest(categories)", stats.by_category); !done) return done.error();
    if (auto done = count_by("platform", stats.by_platform); !done) return done.error();
    if (auto done = count_by("substr(time, 1, 10)", stats.by_day); !done) return done.error();
    return stats;
  }

  Result<Record> last_of_chain(std::string_view instance) override {
    Params params;
    const std::string sql = std::string("SELECT ") + kSelectColumns +
                            " FROM audit_records WHERE instance = " +
                            params.add(std::string(instance)) + " ORDER BY sequence DESC LIMIT 1";
    return single(query_records(sql, params));
  }

  Result<std::uint64_t> purge_before(std::string_view before) override {
    const auto bound = canonical_time(before);
    if (!bound) return Errc::ConfigInvalid;
    Params params;
    auto result = run("DELETE FROM audit_records WHERE time < " + params.add(*bound), params,
                      PGRES_COMMAND_OK);
    if (!result) return result.error();
    return parse_int<std::uint64_t>(PQcmdTuples(result->get()));
  }

  std::string describe() const override { return describe_; }

 private:
  Result<PgConnection> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        PgConnection conn = std::move(idle_.back());
        idle_.pop_back();
        if (PQstatus(conn.get()) == CONNECTION_OK) return conn;
      }
    }
    PgConnection conn(PQconnectdb(dsn_.c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      log_error("connect", conn ? PQerrorMessage(conn.get()) : "out of memory");
      return Errc::DatabaseError;
    }
    PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
    std::lock_guard lock(migration_mutex_);
    if (!migrated_) {
      if (auto migrated = migrate(conn.get()); !migrated) return migrated.error();
      migrated_ = true;
    }
    return conn;
  }

  void release(PgConnection conn) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdleConnections && PQstatus(conn.get()) == CONNECTION_OK)
      idle_.push_back(std::move(conn));
  }

  // A connection whose transaction failed is dropped rather than reused.
  Errc discard(PgConnection) { return Errc::DatabaseError; }

  void log_error(std::string_view step, const char* message) {
    spdlog::error("audit store {}: {} failed: {}", describe_.empty() ? "postgresql" : describe_,
                  step, first_line(message));
  }

  bool command(PGconn* pg, const char* sql) {
    PgResult result(PQexec(pg, sql));
    if (PQresultStatus(result.get()) == PGRES_COMMAND_OK) return true;
    log_error(sql, PQerrorMessage(pg));
    return false;
  }

  bool tuples_ok(PGconn* pg, const PGresult* result, std::string_view step) {
    if (PQresultStatus(result) == PGRES_TUPLES_OK) return true;
    log_error(step, PQerrorMessage(pg));
    return false;
  }

  Result<PgResult> run(const std::string& sql, const Params& params,
                       ExecStatusType expected = PGRES_TUPLES_OK) {
    auto conn = acquire();
    if (!conn) return conn.error();
    const auto pointers = params.pointers();
    PgResult result(PQexecParams(conn->get(), sql.c_str(), params.size(), nullptr,
                                 pointers.data(), nullptr, nullptr, 0));
    if (PQresultStatus(result.get()) != expected) {
      log_error("query", PQerrorMessage(conn->get()));
      return discard(std::move(*conn));
    }
    release(std::move(*conn));
    return result;
  }

  Result<std::vector<Record>> query_records(const std::string& sql, const Params& params) {
    auto result = run(sql, params);
    if (!result) return result.error();
    std::vector<Record> records;
    records.reserve(static_cast<std::size_t>(PQntuples(result->get())));
    for (int row = 0; row < PQntuples(result->get()); ++row) {
      auto record = record_from_row(result->get(), row);
      if (!record) return record.error();
      records.push_back(std::move(*record));
    }
    return records;
  }

  static Result<Record> single(Result<std::vector<Record>> records) {
    if (!records) return records.error();
    if (records->empty()) return Errc::NotFound;
    return std::move(records->front());
  }

  // Creates or upgrades the schema under an advisory lock, so that instances starting together
  // do not race each other.
  Result<void> migrate(PGconn* pg) {
    if (!command(pg, "BEGIN")) return Errc::DatabaseError;
    const char* lock_params[] = {kMigrationLockKey};
    PgResult locked(PQexecParams(pg, "SELECT pg_advisory_xact_lock($1::bigint)", 1, nullptr,
                                 lock_params, nullptr, nullptr, 0));
    if (!tuples_ok(pg, locked.get(), "migration lock") ||
        !command(pg, "CREATE TABLE IF NOT EXISTS gatekeeper_schema (version integer NOT NULL)")) {
      command(pg, "ROLLBACK");
      return Errc::DatabaseError;
    }
    PgResult version_result(PQexec(pg, "SELECT max(version) FROM gatekeeper_schema"));
    if (!tuples_ok(pg, version_result.get(), "schema version")) {
      command(pg, "ROLLBACK");
      return Errc::DatabaseError;
    }
    const int version = PQgetisnull(version_result.get(), 0, 0)
                            ? 0
                            : parse_int<int>(PQgetvalue(version_result.get(), 0, 0));
    if (version > kSchemaVersion) {
      schema_too_new_ = true;
      spdlog::error("audit store: the database schema is version {}, newer than this gatekeeper "
                    "(version {}); upgrade gatekeeper",
                    version, kSchemaVersion);
      command(pg, "ROLLBACK");
      return Errc::DatabaseError;
    }
    // Times are ISO 8601 text of one fixed shape (they compare as text and are hashed as text);
    // the body is the exact JSON that was hashed.
    static constexpr const char* kMigrations[] = {
        "CREATE TABLE audit_records ("
        " id bigserial PRIMARY KEY,"
        " instance text NOT NULL,"
        " sequence bigint NOT NULL,"
        " time text NOT NULL,"
        " kind text NOT NULL,"
        " reference text NOT NULL DEFAULT '',"
        " about text NOT NULL DEFAULT '',"
        " body text NOT NULL,"
        " previous_hash text NOT NULL,"
        " hash text NOT NULL,"
        " platform text NOT NULL DEFAULT '',"
        " action text NOT NULL DEFAULT '',"
        " user_name text NOT NULL DEFAULT '',"
        " categories text[] NOT NULL DEFAULT '{}',"
        " UNIQUE (instance, sequence));"
        "CREATE INDEX audit_records_time ON audit_records (time);"
        "CREATE INDEX audit_records_reference ON audit_records (reference);"
        "CREATE INDEX audit_records_about ON audit_records (about) WHERE about <> '';"
        "CREATE INDEX audit_records_platform ON audit_records (platform, id);"
        "CREATE INDEX audit_records_user ON audit_records (user_name, id);"
        "CREATE INDEX audit_records_categories ON audit_records USING gin (categories);"
        "INSERT INTO gatekeeper_schema (version) VALUES (1);",
    };
    static_assert(std::size(kMigrations) == kSchemaVersion);
    for (int step = version; step < kSchemaVersion; ++step) {
      if (!command(pg, kMigrations[step])) {
        command(pg, "ROLLBACK");
        return Errc::DatabaseError;
      }
      spdlog::info("audit store: schema migrated to version {}", step + 1);
    }
    if (!command(pg, "COMMIT")) return Errc::DatabaseError;
    return {};
  }

  std::string dsn_;
  std::string describe_;
  std::mutex mutex_;
  std::vector<PgConnection> idle_;
  std::mutex migration_mutex_;
  bool migrated_ = false;
  std::atomic<bool> schema_too_new_{false};
};

}  // namespace

Result<StorePtr> open_postgres_store(const std::string& dsn) {
  auto store = std::make_shared<PostgresStore>(dsn);
  if (auto opened = store->open(); !opened) return opened.error();
  return StorePtr(std::move(store));
}

}  // namespace gatekeeper::audit

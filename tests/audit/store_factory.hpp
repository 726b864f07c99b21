#pragma once
// Store factories for the behavioural suites shared by every audit store: each test gets a fresh,
// empty store of the kind under test.

#include <gtest/gtest.h>

#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"
#include "support/postgres_server.hpp"
#include "support/tls_test_support.hpp"

#include <memory>
#include <string>

namespace gatekeeper::test {

// A store of one kind; `open()` may be called again to reopen the same trail (another instance,
// or the process restarting).
class StoreFactory {
 public:
  virtual ~StoreFactory() = default;
  // Empty when the store can be used; otherwise why the test is skipped.
  virtual std::string unavailable() = 0;
  virtual Result<audit::StorePtr> open() = 0;
  // "dsn" or "sqlite:path" for child processes (see writer_test.cpp).
  virtual std::string locator() const = 0;
  const std::filesystem::path& data_dir() const { return dir_.path(); }

 private:
  test_support::TempDir dir_;
};

class PostgresStoreFactory final : public StoreFactory {
 public:
  std::string unavailable() override {
    std::string why_not;
    PostgresServer* server = PostgresServer::shared(why_not);
    if (!server) return why_not;
    if (dsn_.empty()) dsn_ = server->create_database();
    return dsn_.empty() ? "cannot create a test database" : "";
  }
  Result<audit::StorePtr> open() override { return audit::open_postgres_store(dsn_); }
  std::string locator() const override { return dsn_; }

 private:
  std::string dsn_;
};

class SqliteStoreFactory final : public StoreFactory {
 public:
  std::string unavailable() override { return ""; }
  Result<audit::StorePtr> open() override {
    return audit::open_sqlite_store((data_dir() / "audit.db").string());
  }
  std::string locator() const override { return "sqlite:" + (data_dir() / "audit.db").string(); }
};

// Opens a store by locator in a child process: "sqlite:PATH" or a libpq DSN.
inline Result<audit::StorePtr> open_store_by_locator(const std::string& locator) {
  if (locator.starts_with("sqlite:")) return audit::open_sqlite_store(locator.substr(7));
  return audit::open_postgres_store(locator);
}

// A record as the proxy would submit it (instance/sequence/hashes are stamped by the chain).
inline audit::Record sample_record(int n, std::string time = "2026-11-22T10:00:00.000Z") {
  audit::Record record;
  record.time = std::move(time);
  record.kind = audit::RecordKind::Request;
  record.reference = "GK-20261122-" + std::to_string(100000 + n);
  record.platform = n % 2 ? "chatgpt" : "claude";
  record.action = n % 3 == 0 ? "block" : "log";
  record.user = "u:" + std::to_string(n % 4);
  record.categories = n % 3 == 0 ? std::vector<std::string>{"health_identifier", "secret"}
                                 : std::vector<std::string>{};
  record.body = {{"n", n},
                 {"platform", record.platform},
                 {"action", record.action},
                 {"categories", record.categories},
                 {"masked", "1 85 ** ** *** *** 36"}};
  return record;
}

}  // namespace gatekeeper::test

#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/core/error.hpp"

namespace gatekeeper::audit {

// Gets records from the proxy's I/O threads to the store without making them wait on a database.
//
// submit() stamps the record into the instance's hash chain, appends it to the spool file
// (DATA_DIR/audit-spool.jsonl, one write(2), fdatasync per batch policy) and puts it on a bounded
// queue; a background thread writes batches to the store and trims the spool once they are
// committed. If the store is unavailable, records stay in the spool and are replayed in order when
// it returns (also at the next start after a crash or kill -9). A record is "acknowledged" once
// submit() returned success: from then on it is never lost.
//
// If even the spool cannot be written (disk full...), submit() returns Errc::AuditUnavailable and
// the caller fails closed (settings.audit.fail_closed) — the reason is counted in /metrics
// (gatekeeper_audit_spool_failures_total) and logged.
class Writer {
 public:
  struct Options {
    std::filesystem::path spool_file;
    std::size_t queue_capacity = 10'000;
    std::size_t batch_size = 256;
    std::string instance;
    std::string syslog_target;  // empty = off; "udp://host:port" or "unix:/dev/log" (RFC 5424)
    // true: submit() returns only once the spool line is fdatasync'ed (survives a power cut);
    // false: once it is written (survives a crash or kill -9 of the process; a power cut can lose
    // what the store had not committed yet, normally the last few milliseconds).
    bool sync_before_acknowledging = true;
  };

  static Result<std::unique_ptr<Writer>> start(StorePtr store, Options options);
  ~Writer();  // drains the queue (bounded wait), then stops the thread
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Stamps, spools and enqueues. Never blocks on the store.
  Result<void> submit(Record record);
  // Blocks until every submitted record is in the store (tests, shutdown, CLI).
  Result<void> flush();

  std::size_t pending() const;  // records in the spool not yet committed to the store
  // For /metrics: counters since start (label-free numbers, never content).
  struct Figures {
    std::uint64_t pending = 0;
    std::uint64_t queue_depth = 0;
    std::uint64_t committed = 0;
    std::uint64_t spool_failures = 0;
    std::uint64_t store_errors = 0;
    std::uint64_t syslog_failures = 0;
    bool store_available = true;
  };
  Figures figures() const;
  Store& store() noexcept;

 private:
  struct Impl;
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatekeeper::audit

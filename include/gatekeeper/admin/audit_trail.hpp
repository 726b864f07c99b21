#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/writer.hpp"
#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/core/error.hpp"

namespace gatekeeper::admin {

// The running proxy's audit trail: the store the settings name (SQLite in DATA_DIR by default,
// PostgreSQL with audit.postgres_dsn), the writer in front of it, and the turning of the proxy's
// decision records and administrative events into audit records. Thread-safe.
class AuditTrail {
 public:
  static Result<std::unique_ptr<AuditTrail>> open(
      const config::Settings& settings, std::shared_ptr<const audit::Pseudonymizer> pseudonymizer);
  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  // A decision from the inspector or the session (JSON without raw values): a Request record;
  // {"event": ...} records that are not about a request (config_change...) become Admin records.
  Result<void> record_decision(const nlohmann::json& decision);
  // An administrative event ("start", "ca_created", "shutdown"...), with its details.
  Result<void> record_admin(std::string_view event, nlohmann::json details = nlohmann::json::object());
  // Deletes records older than the retention period, then audits the purge: how many, and the
  // last purged record of each chain, so that `audit verify` can tell a purge from tampering.
  Result<std::uint64_t> purge_expired(std::chrono::system_clock::time_point now);
  // Runs purge_expired after `first_delay`, then every 24 hours, on its own thread.
  void start_retention(std::chrono::milliseconds first_delay);
  void stop_retention();  // also done by the destructor

  audit::Writer& writer() noexcept { return *writer_; }
  const std::string& instance() const noexcept { return instance_; }

 private:
  AuditTrail() = default;
  std::unique_ptr<audit::Writer> writer_;
  std::shared_ptr<const audit::Pseudonymizer> pseudonymizer_;
  std::string instance_;
  bool name_users_ = false;
  std::chrono::hours retention_{0};
  std::mutex retention_mutex_;
  std::condition_variable retention_wakeup_;
  bool retention_stop_ = false;
  std::thread retention_thread_;
};

// The decision turned into a record (kind, reference, projections, user pseudonymised unless
// `name_users`). Not yet stamped into a chain.
audit::Record record_from_decision(const nlohmann::json& decision,
                                   const audit::Pseudonymizer* pseudonymizer, bool name_users);

}  // namespace gatekeeper::admin

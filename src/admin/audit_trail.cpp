#include "gatekeeper/admin/audit_trail.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace gatekeeper::admin {
namespace {

constexpr const char* kSpoolFileName = "audit-spool.jsonl";
constexpr const char* kSqliteFileName = "audit.db";
constexpr std::size_t kBatchSize = 256;

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "gatekeeper";
  return name;
}

std::string string_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Session events about one request; any other {"event": ...} is administrative.
bool is_request_event(std::string_view event) {
  return event.empty() || event == "platform_denied" || event == "upstream_tls_error";
}

}  // namespace

std::string audit_time(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[40];
  const std::size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buffer + length, sizeof buffer - length, ".%03dZ", static_cast<int>(millis));
  return buffer;
}

audit::Record record_from_decision(const nlohmann::json& decision,
                                   const audit::Pseudonymizer* pseudonymizer, bool name_users) {
  audit::Record record;
  record.time = audit_time(std::chrono::system_clock::now());
  record.body = decision.is_object() ? decision : nlohmann::json{{"value", decision}};
  const std::string event = string_field(record.body, "event");
  record.kind = is_request_event(event) ? audit::RecordKind::Request : audit::RecordKind::Admin;
  record.reference = string_field(record.body, "reference");
  record.platform = string_field(record.body, "platform");
  record.action = string_field(record.body, "action");
  if (record.kind == audit::RecordKind::Request && record.action.empty()) record.action = "block";

  // The user as the proxy saw it (top level from the inspector, under "client" from the
  // session), replaced by its keyed pseudonym unless the configuration names users.
  nlohmann::json* user = nullptr;
  if (auto it = record.body.find("user"); it != record.body.end() && it->is_string()) {
    user = &*it;
  } else if (auto client = record.body.find("client");
             client != record.body.end() && client->is_object()) {
    if (auto nested = client->find("user"); nested != client->end() && nested->is_string())
      user = &*nested;
  }
  if (user && !user->get_ref<const std::string&>().empty()) {
    if (!name_users && pseudonymizer)
      *user = pseudonymizer->user_pseudonym(user->get_ref<const std::string&>());
    record.user = user->get<std::string>();
  }
  if (auto categories = record.body.find("categories");
      categories != record.body.end() && categories->is_array()) {
    for (const auto& category : *categories)
      if (category.is_string()) record.categories.push_back(category.get<std::string>());
    std::sort(record.categories.begin(), record.categories.end());
    record.categories.erase(std::unique(record.categories.begin(), record.categories.end()),
                            record.categories.end());
  }
  return record;
}

Result<std::unique_ptr<AuditTrail>> AuditTrail::open(
    const config::Settings& settings, std::shared_ptr<const audit::Pseudonymizer> pseudonymizer) {
  std::unique_ptr<AuditTrail> trail(new AuditTrail());
  trail->pseudonymizer_ = std::move(pseudonymizer);
  trail->instance_ = settings.audit.instance.empty() ? host_name() : settings.audit.instance;
  trail->name_users_ = settings.audit.name_users;
  trail->retention_ = settings.audit.retention;

  Result<audit::StorePtr> store =
      settings.audit.postgres_dsn.empty()
          ? audit::open_sqlite_store((settings.data_dir / kSqliteFileName).string())
          : audit::open_postgres_store(settings.audit.postgres_dsn);
  if (!store) {
    spdlog::critical("cannot open the audit store ({}): {}",
                     settings.audit.postgres_dsn.empty()
                         ? (settings.data_dir / kSqliteFileName).string()
                         : std::string("audit.postgres_dsn"),
                     store.error().message());
    return store.error();
  }
  audit::Writer::Options options;
  options.spool_file = settings.data_dir / kSpoolFileName;
  options.queue_capacity = settings.audit.queue_capacity;
  options.batch_size = kBatchSize;
  options.instance = trail->instance_;
  options.syslog_target = settings.audit.syslog;
  auto writer = audit::Writer::start(*store, std::move(options));
  if (!writer) return writer.error();
  trail->writer_ = std::move(*writer);
  spdlog::info("audit trail: {} (instance '{}'{})", (*store)->describe(), trail->instance_,
               settings.audit.syslog.empty() ? "" : ", syslog " + settings.audit.syslog);
  return trail;
}

AuditTrail::~AuditTrail() { stop_retention(); }

void AuditTrail::start_retention(std::chrono::milliseconds first_delay) {
  if (retention_thread_.joinable()) return;
  retention_thread_ = std::thread([this, first_delay] {
    std::unique_lock lock(retention_mutex_);
    auto next = std::chrono::steady_clock::now() + first_delay;
    while (!retention_wakeup_.wait_until(lock, next, [this] { return retention_stop_; })) {
      lock.unlock();
      if (auto purged = purge_expired(std::chrono::system_clock::now()); !purged)
        spdlog::error("audit retention purge failed: {}", purged.error().message());
      lock.lock();
      next = std::chrono::steady_clock::now() + std::chrono::hours(24);
    }
  });
}

void AuditTrail::stop_retention() {
  {
    std::lock_guard lock(retention_mutex_);
    retention_stop_ = true;
  }
  retention_wakeup_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
}

Result<void> AuditTrail::record_decision(const nlohmann::json& decision) {
  return writer_->submit(record_from_decision(decision, pseudonymizer_.get(), name_users_));
}

Result<void> AuditTrail::record_admin(std::string_view event, nlohmann::json details) {
  audit::Record record;
  record.time = audit_time(std::chrono::system_clock::now());
  record.kind = audit::RecordKind::Admin;
  record.body = details.is_object() ? std::move(details) : nlohmann::json::object();
  record.body["event"] = std::string(event);
  return writer_->submit(std::move(record));
}

Result<std::uint64_t> AuditTrail::purge_expired(std::chrono::system_clock::time_point now) {
  const std::string before = audit_time(now - retention_);
  audit::Store& store = writer_->store();
  // The last record of each chain about to go: the purge record names its link.
  std::map<std::string, std::pair<std::uint64_t, std::string>> last_purged;
  audit::Filter older;
  older.until = before;
  older.limit = 0;
  auto walked = store.for_each(older, [&](const audit::Record& record) {
    auto& last = last_purged[record.instance];
    if (record.sequence > last.first) last = {record.sequence, record.hash};
    return true;
  });
  if (!walked) return walked.error();
  auto purged = store.purge_before(before);
  if (!purged) return purged.error();
  nlohmann::json chains = nlohmann::json::object();
  for (const auto& [instance, last] : last_purged)
    chains[instance] = {{"sequence", last.first}, {"hash", last.second}};
  spdlog::info("audit retention: {} record(s) older than {} purged", *purged, before);
  if (auto recorded = record_admin(
          "retention_purge", {{"before", before}, {"deleted", *purged}, {"last_purged", chains}});
      !recorded)
    return recorded.error();
  return *purged;
}

}  // namespace gatekeeper::admin

#include "gatekeeper/admin/audit_trail.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace gatekeeper::admin {
namespace {

constexpr const char* kSpoolFileName = "audit-spool.jsonl";
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

audit::Record record_from_decision(const nlohmann::json& decision,
                                   const audit::Pseudonymizer* pseudonymizer, bool name_users) {
  nlohmann::json body = decision.is_object() ? decision : nlohmann::json{{"value", decision}};
  // The session's events carry {"client": {"ip", "user"}}: flattened to the inspector's shape
  // so that the indexed user column says what the hashed body says.
  if (auto client = body.find("client"); client != body.end() && client->is_object()) {
    const nlohmann::json nested = *client;
    body["client"] = nested.value("ip", std::string());
    if (!body.contains("user")) body["user"] = nested.value("user", std::string());
  }
  if (auto user = body.find("user"); user != body.end() && user->is_string() &&
                                     !user->get_ref<const std::string&>().empty() && !name_users &&
                                     pseudonymizer) {
    *user = pseudonymizer->user_pseudonym(user->get_ref<const std::string&>());
  }
  const std::string event = string_field(body, "event");
  audit::Record record;
  if (is_request_event(event)) {
    // Refusals decided by the session (denied platform, unverifiable upstream) are blocks.
    if (!body.contains("action") || !body["action"].is_string()) body["action"] = "block";
    record = audit::make_request_record(std::move(body));
  } else {
    body.erase("event");
    record = audit::make_admin_record(event, body);
  }
  // Session events time themselves to the second: every stored time has one shape.
  record.time = audit::canonical_time(record.time).value_or(audit::now_time());
  return record;
}

Result<std::unique_ptr<AuditTrail>> AuditTrail::open(
    const config::Settings& settings, std::shared_ptr<const audit::Pseudonymizer> pseudonymizer) {
  std::unique_ptr<AuditTrail> trail(new AuditTrail());
  trail->pseudonymizer_ = std::move(pseudonymizer);
  trail->instance_ = settings.audit.instance.empty() ? host_name() : settings.audit.instance;
  trail->name_users_ = settings.audit.name_users;
  trail->retention_ = settings.audit.retention;

  Diagnostics diagnostics;
  auto store = audit::open_store(settings, &diagnostics);
  if (!store) {
    for (const auto& diagnostic : diagnostics) spdlog::critical("{}", diagnostic.message);
    return store.error();
  }
  audit::Writer::Options options;
  options.spool_file = settings.data_dir / kSpoolFileName;
  options.queue_capacity = settings.audit.queue_capacity;
  options.batch_size = kBatchSize;
  options.instance = trail->instance_;
  options.syslog_target = settings.audit.syslog;
  options.sync_before_acknowledging = settings.audit.durability == "disk";
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
  return writer_->submit(audit::make_admin_record(event, details));
}

Result<std::uint64_t> AuditTrail::purge_expired(std::chrono::system_clock::time_point now) {
  audit::Record purge_record;
  auto purged = audit::purge_expired(writer_->store(), retention_, purge_record, now);
  if (!purged) return purged.error();
  spdlog::info("audit retention: {} record(s) older than {} day(s) purged", *purged,
               retention_.count() / 24);
  if (auto recorded = writer_->submit(std::move(purge_record)); !recorded)
    return recorded.error();
  return *purged;
}

}  // namespace gatekeeper::admin

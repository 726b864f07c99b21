#include "gatekeeper/admin/metrics.hpp"

#include <charconv>
#include <cmath>

namespace gatekeeper::admin {
namespace {

std::string format_number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buffer[400];  // fixed notation of any finite double fits
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buffer, end) : std::string("NaN");
}

void header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(value).append("\n");
}

std::string label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + escape_label_value(value) + "\"";
}

void labelled_counter(std::string& out, std::string_view name, std::string_view help,
                      std::string_view label_name,
                      const std::map<std::string, std::uint64_t, std::less<>>& values) {
  header(out, name, help, "counter");
  for (const auto& [key, count] : values) {
    sample(out, name, label(label_name, key), std::to_string(count));
  }
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Metrics& Metrics::instance() {
  static Metrics metrics;
  return metrics;
}

void Metrics::count_connection(std::string_view kind) {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(kind);
  if (it == connections_.end()) it = connections_.emplace(std::string(kind), 0).first;
  ++it->second;
}

void Metrics::count_request(std::string_view platform) {
  std::lock_guard lock(mutex_);
  auto it = requests_.find(platform);
  if (it == requests_.end()) it = requests_.emplace(std::string(platform), 0).first;
  ++it->second;
}

void Metrics::count_decision(std::string_view action, std::string_view category) {
  std::lock_guard lock(mutex_);
  ++decisions_[{std::string(action), std::string(category)}];
}

void Metrics::count_error(std::string_view error_name) {
  std::lock_guard lock(mutex_);
  auto it = errors_.find(error_name);
  if (it == errors_.end()) it = errors_.emplace(std::string(error_name), 0).first;
  ++it->second;
}

void Metrics::count_websocket_message(std::string_view outcome) {
  std::lock_guard lock(mutex_);
  auto it = websocket_messages_.find(outcome);
  if (it == websocket_messages_.end())
    it = websocket_messages_.emplace(std::string(outcome), 0).first;
  ++it->second;
}

void Metrics::observe_scan_seconds(double seconds) {
  std::lock_guard lock(mutex_);
  // Buckets are stored non-cumulatively and summed when rendered.
  for (std::size_t i = 0; i < kScanBuckets.size(); ++i) {
    if (seconds <= kScanBuckets[i]) {
      ++scan_buckets_[i];
      break;
    }
  }
  ++scan_count_;
  scan_sum_ += seconds;
}

void Metrics::count_reload(bool success) {
  std::lock_guard lock(mutex_);
  ++(success ? reloads_ok_ : reloads_failed_);
}

void Metrics::set_config_revision(std::uint64_t revision) {
  std::lock_guard lock(mutex_);
  config_revision_ = revision;
}

std::string Metrics::render_prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(4096);
  labelled_counter(out, "gatekeeper_connections_total",
                   "Client connections accepted, by how they were handled.", "kind", connections_);
  labelled_counter(out, "gatekeeper_requests_total", "Requests to AI platforms inspected.",
                   "platform", requests_);

  header(out, "gatekeeper_decisions_total", "Policy decisions, by action and category.", "counter");
  for (const auto& [key, count] : decisions_) {
    sample(out, "gatekeeper_decisions_total",
           label("action", key.first) + "," + label("category", key.second), std::to_string(count));
  }

  labelled_counter(out, "gatekeeper_errors_total", "Failures, by error name.", "error", errors_);
  labelled_counter(out, "gatekeeper_websocket_messages_total",
                   "WebSocket messages to AI platforms inspected, by outcome.", "outcome",
                   websocket_messages_);

  header(out, "gatekeeper_scan_seconds", "Time spent scanning one request's text.", "histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kScanBuckets.size(); ++i) {
    cumulative += scan_buckets_[i];
    sample(out, "gatekeeper_scan_seconds_bucket", label("le", format_number(kScanBuckets[i])),
           std::to_string(cumulative));
  }
  sample(out, "gatekeeper_scan_seconds_bucket", label("le", "+Inf"), std::to_string(scan_count_));
  sample(out, "gatekeeper_scan_seconds_sum", "", format_number(scan_sum_));
  sample(out, "gatekeeper_scan_seconds_count", "", std::to_string(scan_count_));

  header(out, "gatekeeper_reloads_total", "Configuration reloads, by result.", "counter");
  sample(out, "gatekeeper_reloads_total", label("result", "success"), std::to_string(reloads_ok_));
  sample(out, "gatekeeper_reloads_total", label("result", "failure"), std::to_string(reloads_failed_));

  header(out, "gatekeeper_config_revision", "Revision of the active configuration snapshot.",
         "gauge");
  sample(out, "gatekeeper_config_revision", "", std::to_string(config_revision_));

  if (audit_source_) {
    const AuditFigures audit = audit_source_();
    const auto figure = [&](std::string_view name, std::string_view help, std::string_view type,
                            std::uint64_t value) {
      header(out, name, help, type);
      sample(out, name, "", std::to_string(value));
    };
    figure("gatekeeper_audit_pending_records",
           "Acknowledged audit records in the spool, not yet in the store.", "gauge",
           audit.pending);
    figure("gatekeeper_audit_queue_depth", "Audit records queued in memory for the writer.",
           "gauge", audit.queue_depth);
    figure("gatekeeper_audit_records_total", "Audit records committed to the store.", "counter",
           audit.committed);
    figure("gatekeeper_audit_spool_failures_total",
           "Audit records that could not be written to the spool (requests refused when "
           "fail_closed).",
           "counter", audit.spool_failures);
    figure("gatekeeper_audit_store_errors_total",
           "Failed attempts to write to the audit store (records stay spooled).", "counter",
           audit.store_errors);
    figure("gatekeeper_audit_syslog_failures_total", "Audit records syslog could not send.",
           "counter", audit.syslog_failures);
    figure("gatekeeper_audit_store_up", "1 when the last write to the audit store succeeded.",
           "gauge", audit.store_available ? 1 : 0);
  }
  return out;
}

void Metrics::set_audit_source(std::function<AuditFigures()> source) {
  std::lock_guard lock(mutex_);
  audit_source_ = std::move(source);
}

void Metrics::reset_for_test() {
  std::lock_guard lock(mutex_);
  connections_.clear();
  requests_.clear();
  decisions_.clear();
  errors_.clear();
  websocket_messages_.clear();
  scan_buckets_.fill(0);
  scan_count_ = 0;
  scan_sum_ = 0;
  reloads_ok_ = 0;
  reloads_failed_ = 0;
  config_revision_ = 0;
  audit_source_ = nullptr;
}

}  // namespace gatekeeper::admin

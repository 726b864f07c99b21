#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace gatekeeper::admin {

// Process-wide counters exported as Prometheus text on the admin listener's /metrics.
// Label values are categories, actions and error names: never request content.
class Metrics {
 public:
  static Metrics& instance();

  void count_connection(std::string_view kind);  // "tunnel" | "intercept" | "http" | "denied" | "pac"
  void count_request(std::string_view platform);
  void count_decision(std::string_view action, std::string_view category);
  void count_error(std::string_view error_name);
  // WebSocket messages to AI hosts inspected, by outcome: "forwarded", "redacted", "blocked".
  void count_websocket_message(std::string_view outcome);
  void observe_scan_seconds(double seconds);
  void count_reload(bool success);
  void set_config_revision(std::uint64_t revision);

  // The audit trail's figures, read when /metrics is rendered (null: no audit section).
  struct AuditFigures {
    std::uint64_t pending = 0;      // acknowledged records not yet in the store
    std::uint64_t queue_depth = 0;  // records waiting in memory for the writer thread
    std::uint64_t committed = 0;
    std::uint64_t spool_failures = 0;
    std::uint64_t store_errors = 0;
    std::uint64_t syslog_failures = 0;
    bool store_available = true;
  };
  void set_audit_source(std::function<AuditFigures()> source);

  std::string render_prometheus() const;
  void reset_for_test();

 private:
  static constexpr std::array<double, 12> kScanBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                        0.01,   0.025,   0.05,   0.1,   0.5,    1.0};
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t, std::less<>> connections_;
  std::map<std::string, std::uint64_t, std::less<>> requests_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> decisions_;
  std::map<std::string, std::uint64_t, std::less<>> errors_;
  std::map<std::string, std::uint64_t, std::less<>> websocket_messages_;
  std::array<std::uint64_t, kScanBuckets.size()> scan_buckets_{};
  std::uint64_t scan_count_ = 0;
  double scan_sum_ = 0;
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  std::uint64_t config_revision_ = 0;
  std::function<AuditFigures()> audit_source_;
};

// Escapes a label value for the text exposition format (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);

}  // namespace gatekeeper::admin

#pragma once

#include "gatekeeper/config/settings.hpp"

#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace gatekeeper::admin {

// Builds a new snapshot (revision + 1) on request (SIGHUP) or when a watched file changes, and
// publishes it only when it loaded without error: otherwise every diagnostic is logged, the
// failure is counted and the old snapshot stays active. In-flight requests keep the snapshot they
// started with (they hold its shared_ptr).
class Reloader {
 public:
  struct Options {
    config::Overrides overrides;     // command-line values win on every reload
    config::SnapshotStore* store = nullptr;
    std::function<void(const nlohmann::json&)> record_decision;  // may be empty
    std::chrono::milliseconds poll_interval{1000};
  };

  Reloader(boost::asio::io_context& ioc, Options options);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Starts polling the watched files' mtimes and sizes (when the snapshot's watch_files is on).
  // A change triggers a reload once the files have been stable for one poll interval.
  void start();
  // Stops polling and waits for a reload in progress.
  void stop();
  // Asynchronous reload on the reloader's own thread (never on the proxy's threads).
  void request_reload(std::string_view reason);
  // Synchronous reload; returns true when a new snapshot was published.
  bool reload_now(std::string_view reason);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Logs "config revision N active (rules fingerprint ...)" and records the config_change event.
void announce_snapshot(const config::Snapshot& snapshot,
                       const std::function<void(const nlohmann::json&)>& record_decision,
                       std::string_view reason);

}  // namespace gatekeeper::admin

#include "gatekeeper/admin/reloader.hpp"

#include "gatekeeper/admin/metrics.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>

namespace gatekeeper::admin {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;

// What the poller compares: for each input, whether it exists, its mtime and its size.
struct FileState {
  bool exists = false;
  std::int64_t mtime_ns = 0;
  std::uintmax_t size = 0;
  bool operator==(const FileState&) const = default;
};
using WatchSignature = std::map<std::string, FileState>;

FileState stat_file(const fs::path& path) {
  FileState state;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return state;
  state.exists = true;
  state.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       fs::last_write_time(path, ec).time_since_epoch())
                       .count();
  if (fs::is_regular_file(status)) state.size = fs::file_size(path, ec);
  return state;
}

WatchSignature signature_of(const std::vector<fs::path>& watched) {
  WatchSignature signature;
  for (const auto& path : watched) {
    signature[path.string()] = stat_file(path);
    // A watched directory contributes every rule file in it, including ones added since the last
    // successful load (their content changes do not touch the directory's own mtime).
    std::error_code ec;
    if (!fs::is_directory(path, ec)) continue;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const auto extension = it->path().extension();
      if (extension == ".yaml" || extension == ".yml") {
        signature[it->path().string()] = stat_file(it->path());
      }
    }
  }
  return signature;
}

void warn_restart_needed(const config::Settings& before, const config::Settings& after) {
  auto warn = [](std::string_view what) {
    spdlog::warn("config: a change of {} takes effect only after a restart", what);
  };
  if (before.listen_host != after.listen_host || before.listen_port != after.listen_port) {
    warn("listen");
  }
  if (before.admin_host != after.admin_host || before.admin_port != after.admin_port) {
    warn("admin_listen");
  }
  if (before.data_dir != after.data_dir) warn("data_dir");
  if (before.threads != after.threads) warn("threads");
  if (before.upstream_ca != after.upstream_ca) warn("upstream_ca");
  if (before.leaf_cache_size != after.leaf_cache_size) warn("limits.leaf_cache_size");
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

void announce_snapshot(const config::Snapshot& snapshot,
                       const std::function<void(const nlohmann::json&)>& record_decision,
                       std::string_view reason) {
  const std::string fingerprint = snapshot.rules ? snapshot.rules->fingerprint() : std::string();
  spdlog::info("config revision {} active (rules fingerprint {})", snapshot.revision, fingerprint);
  Metrics::instance().set_config_revision(snapshot.revision);
  if (record_decision) {
    record_decision(nlohmann::json{{"time", utc_now()},
                                   {"event", "config_change"},
                                   {"revision", snapshot.revision},
                                   {"rules_fingerprint", fingerprint},
                                   {"reason", std::string(reason)}});
  }
}

struct Reloader::Impl : std::enable_shared_from_this<Reloader::Impl> {
  Impl(net::io_context& ioc, Options opts)
      : options(std::move(opts)), timer(net::make_strand(ioc)), worker(1) {}

  bool reload_now(std::string_view reason) {
    std::lock_guard reload_lock(reload_mutex);
    const config::SnapshotConstSharedPtr old = options.store->current();
    const WatchSignature before = signature_of(old->watched_files);
    Diagnostics diagnostics;
    auto loaded = config::load_snapshot(options.overrides, old->revision + 1, diagnostics);
    if (!loaded) {
      Metrics::instance().count_reload(false);
      spdlog::error("config reload ({}) failed: {} problem(s); revision {} stays active", reason,
                    diagnostics.size(), old->revision);
      for (const auto& diagnostic : diagnostics) spdlog::error("{}", diagnostic.to_string());
      if (options.record_decision) {
        options.record_decision(nlohmann::json{{"time", utc_now()},
                                               {"event", "config_reload_refused"},
                                               {"active_revision", old->revision},
                                               {"problems", diagnostics.size()},
                                               {"reason", std::string(reason)}});
      }
      std::lock_guard lock(watch_mutex);
      loaded_signature = before;  // retry only when the files change again
      return false;
    }
    for (const auto& diagnostic : diagnostics) spdlog::warn("{}", diagnostic.to_string());
    const config::SnapshotConstSharedPtr next = *loaded;
    warn_restart_needed(old->settings, next->settings);
    spdlog::set_level(spdlog::level::from_str(next->settings.log_level));
    options.store->publish(next);
    Metrics::instance().count_reload(true);
    announce_snapshot(*next, options.record_decision, reason);
    std::lock_guard lock(watch_mutex);
    loaded_signature = signature_of(next->watched_files);
    return true;
  }

  void request_reload(std::string reason) {
    if (stopped.load()) return;
    net::post(worker, [this, reason = std::move(reason)] {
      if (!stopped.load()) reload_now(reason);
    });
  }

  void schedule_poll() {
    timer.expires_after(options.poll_interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped.load()) return;
      self->poll();
      self->schedule_poll();
    });
  }

  void poll() {
    const config::SnapshotConstSharedPtr current = options.store->current();
    if (!current->settings.watch_files) return;
    const WatchSignature now = signature_of(current->watched_files);
    std::lock_guard lock(watch_mutex);
    // Editors write in several steps: reload once the files look the same on two polls in a row.
    const bool changed = now != loaded_signature;
    const bool settled = now == last_seen;
    last_seen = now;
    if (changed && settled) {
      loaded_signature = now;
      request_reload("file change");
    }
  }

  Options options;
  net::steady_timer timer;
  net::thread_pool worker;  // one thread: reloads are serialised and never block the proxy
  std::mutex reload_mutex;
  std::mutex watch_mutex;
  WatchSignature loaded_signature;
  WatchSignature last_seen;
  std::atomic<bool> stopped{false};
};

Reloader::Reloader(net::io_context& ioc, Options options)
    : impl_(std::make_shared<Impl>(ioc, std::move(options))) {
  const auto current = impl_->options.store->current();
  impl_->loaded_signature = signature_of(current->watched_files);
  impl_->last_seen = impl_->loaded_signature;
}

Reloader::~Reloader() { stop(); }

void Reloader::start() {
  net::post(impl_->timer.get_executor(), [impl = impl_] { impl->schedule_poll(); });
}

void Reloader::stop() {
  if (impl_->stopped.exchange(true)) return;
  net::post(impl_->timer.get_executor(), [impl = impl_] { impl->timer.cancel(); });
  impl_->worker.join();
}

void Reloader::request_reload(std::string_view reason) { impl_->request_reload(std::string(reason)); }

bool Reloader::reload_now(std::string_view reason) { return impl_->reload_now(reason); }

}  // namespace gatekeeper::admin

// The audit writer: proxy threads stamp, spool and enqueue; one background thread commits batches
// to the store and trims the spool.
//
// Spool file (DATA_DIR/audit-spool.jsonl), one record per line, in chain order:
//   {"s":SEQUENCE,"r":{...record...}}
// After each trim the file starts with the chain's last committed record, marked "t":1 (the tip),
// so that the chain can be continued even when the store is unreachable at the next start.
// Invariant: every record with a sequence above the store's last committed one is in the spool.
#include "gatekeeper/audit/writer.hpp"

#include "gatekeeper/audit/syslog.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace gatekeeper::audit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kMinBackoff = 100ms;
constexpr auto kMaxBackoff = 5s;
constexpr auto kShutdownDrain = 5s;
constexpr auto kFlushTimeout = 30s;
// The spool is rewritten once this much of it is committed (and little is pending).
constexpr std::uint64_t kTrimCommittedBytes = 1u << 20;

nlohmann::json spool_json(const Record& record) {
  return {{"instance", record.instance},   {"sequence", record.sequence},
          {"time", record.time},           {"kind", std::string(to_string(record.kind))},
          {"reference", record.reference}, {"about", record.about},
          {"body", record.body},           {"previous_hash", record.previous_hash},
          {"hash", record.hash},           {"platform", record.platform},
          {"action", record.action},       {"user", record.user},
          {"categories", record.categories}};
}

std::optional<Record> record_from_spool_json(const nlohmann::json& json) {
  if (!json.is_object()) return std::nullopt;
  try {
    Record record;
    record.instance = json.at("instance").get<std::string>();
    record.sequence = json.at("sequence").get<std::uint64_t>();
    record.time = json.at("time").get<std::string>();
    const auto kind = record_kind_from_string(json.at("kind").get<std::string>());
    if (!kind) return std::nullopt;
    record.kind = *kind;
    record.reference = json.at("reference").get<std::string>();
    record.about = json.at("about").get<std::string>();
    record.body = json.at("body");
    record.previous_hash = json.at("previous_hash").get<std::string>();
    record.hash = json.at("hash").get<std::string>();
    record.platform = json.at("platform").get<std::string>();
    record.action = json.at("action").get<std::string>();
    record.user = json.at("user").get<std::string>();
    record.categories = json.at("categories").get<std::vector<std::string>>();
    return record;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string spool_line(const Record& record, bool tip) {
  return "{\"s\":" + std::to_string(record.sequence) + (tip ? ",\"t\":1" : "") +
         ",\"r\":" +
         spool_json(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}\n";
}

struct SpoolEntry {
  std::uint64_t sequence = 0;
  bool tip = false;
  std::string_view line;  // including '\n'
};

// Reads the sequence from the line's fixed prefix without parsing the record.
std::optional<SpoolEntry> peek_line(std::string_view line) {
  constexpr std::string_view kPrefix = "{\"s\":";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  SpoolEntry entry;
  const char* begin = line.data() + kPrefix.size();
  const auto [end, error] = std::from_chars(begin, line.data() + line.size(), entry.sequence);
  if (error != std::errc()) return std::nullopt;
  entry.tip = std::string_view(end, line.data() + line.size() - end).starts_with(",\"t\":1");
  entry.line = line;
  return entry;
}

std::optional<Record> parse_line(std::string_view line) {
  const auto json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.contains("r")) return std::nullopt;
  return record_from_spool_json(json["r"]);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

Result<std::string> read_file(int fd) {
  std::string content;
  char buffer[1 << 16];
  off_t offset = 0;
  while (true) {
    const ssize_t got = ::pread(fd, buffer, sizeof buffer, offset);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Errc::IoError;
    }
    if (got == 0) return content;
    content.append(buffer, static_cast<std::size_t>(got));
    offset += got;
  }
}

// The spool's descriptor, shared so that a group-commit fdatasync in flight keeps it open while
// the background thread swaps in a trimmed file.
struct SpoolFile {
  explicit SpoolFile(int descriptor) : fd(descriptor) {}
  ~SpoolFile() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

bool sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

struct Writer::Impl {
  StorePtr store;
  Options options;
  std::unique_ptr<SyslogSink> syslog;

  // Spool: submit() appends under spool_mutex; the background thread trims under it.
  mutable std::mutex spool_mutex;
  std::unique_ptr<Chain> chain;
  Record last_written;  // sequence and hash only: restarts the chain after a failed write
  std::shared_ptr<SpoolFile> file;
  std::uint64_t file_size = 0;
  std::atomic<std::uint64_t> written_sequence{0};

  // Group commit: one fdatasync covers every line written before it started.
  std::mutex sync_mutex;
  std::condition_variable sync_cv;
  bool syncing = false;
  std::uint64_t synced_sequence = 0;

  // Queue to the background thread, in sequence order.
  struct Queued {
    Record record;
    std::uint64_t bytes = 0;
  };
  mutable std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::condition_variable committed_cv;
  std::deque<Queued> queue;
  bool overflowed = false;
  bool stopping = false;
  std::atomic<std::uint64_t> committed_sequence{0};

  // Background thread only.
  bool replaying = false;
  std::uint64_t replay_offset = 0;
  std::uint64_t committed_bytes = 0;  // since the last trim
  Record last_committed;              // the spool's tip after a trim
  bool have_last_committed = false;
  std::chrono::milliseconds backoff = kMinBackoff;
  std::thread thread;

  std::atomic<std::uint64_t> committed_total{0};
  std::atomic<std::uint64_t> spool_failures{0};
  std::atomic<std::uint64_t> store_errors{0};
  std::atomic<std::uint64_t> syslog_failures{0};
  std::atomic<bool> store_available{true};

  Result<void> recover();
  Result<void> submit(Record record);
  Result<void> sync_through(std::uint64_t sequence);
  void run();
  bool step();
  Result<void> commit(std::vector<Record>& batch, std::uint64_t bytes);
  bool trim();
  std::shared_ptr<SpoolFile> current_file(std::uint64_t* size = nullptr) const {
    std::lock_guard lock(spool_mutex);
    if (size) *size = file_size;
    return file;
  }
};

// Reads the spool left by the previous run, decides where the chain continues and which spooled
// records the store still lacks.
Result<void> Writer::Impl::recover() {
  const fs::path& path = options.spool_file;
  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  const bool existed = fs::exists(path, ec);
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::critical("audit spool {}: cannot open: {}", path.string(), std::strerror(errno));
    return Errc::AuditUnavailable;
  }
  file = std::make_shared<SpoolFile>(fd);
  auto content = read_file(fd);
  if (!content) return Errc::AuditUnavailable;

  // A line without its '\n' was being written when the process died: never acknowledged.
  const std::size_t complete = content->rfind('\n') == std::string::npos ? 0
                                                                         : content->rfind('\n') + 1;
  if (complete < content->size()) {
    spdlog::warn("audit spool {}: dropping an incomplete last line ({} bytes) left by a crash",
                 path.string(), content->size() - complete);
    if (::ftruncate(fd, static_cast<off_t>(complete)) != 0) return Errc::AuditUnavailable;
    content->resize(complete);
  }
  file_size = complete;

  std::optional<Record> tip;
  std::optional<Record> last_spooled;
  std::uint64_t first_spooled = 0;
  for (std::size_t begin = 0; begin < content->size();) {
    const std::size_t end = content->find('\n', begin) + 1;
    const std::string_view line(content->data() + begin, end - begin);
    begin = end;
    const auto entry = peek_line(line);
    auto record = entry ? parse_line(line) : std::nullopt;
    if (!record || record->instance != options.instance) {
      if (!record) spdlog::error("audit spool {}: skipping an unreadable line", path.string());
      continue;
    }
    if (entry->tip) {
      tip = std::move(record);
      continue;
    }
    if (first_spooled == 0) first_spooled = entry->sequence;
    if (!last_spooled || last_spooled->sequence < entry->sequence) last_spooled = std::move(record);
  }

  auto stored = store->last_of_chain(options.instance);
  if (!stored && stored.error() != Errc::NotFound) {
    store_available = false;
    ++store_errors;
    // Without the store, the spool must say where the chain stands: a tip, or a chain that
    // starts in the spool itself, or an existing (empty) spool of a chain never written.
    if (!tip && !(first_spooled == 1) && !(existed && !last_spooled)) {
      spdlog::critical("audit store {} unreachable and no local spool tells where the hash "
                       "chain of '{}' stands: cannot record safely",
                       store->describe(), options.instance);
      return Errc::AuditUnavailable;
    }
    spdlog::error("audit store {} unreachable at start: records are spooled to {} and will be "
                  "written when it returns",
                  store->describe(), path.string());
  }

  // The committed point: the store's last record, or the tip when the store was purged past it
  // or is unreachable.
  const Record* committed = nullptr;
  if (stored) committed = &*stored;
  if (tip && (!committed || tip->sequence > committed->sequence)) committed = &*tip;
  if (committed) {
    last_committed = *committed;
    have_last_committed = true;
    committed_sequence = committed->sequence;
  }
  const Record* chain_last = committed;
  if (last_spooled && (!chain_last || last_spooled->sequence > chain_last->sequence))
    chain_last = &*last_spooled;
  chain = std::make_unique<Chain>(options.instance, chain_last);
  if (chain_last) {
    last_written.sequence = chain_last->sequence;
    last_written.hash = chain_last->hash;
  }
  written_sequence = chain_last ? chain_last->sequence : 0;
  synced_sequence = written_sequence;
  replaying = written_sequence > committed_sequence;
  if (replaying) {
    spdlog::info("audit spool {}: {} record(s) not yet in the store will be replayed",
                 path.string(), written_sequence - committed_sequence);
  }
  // A fresh spool starting with the tip, so that the next start knows the chain even offline.
  if (!trim()) return Errc::AuditUnavailable;
  return {};
}

Result<void> Writer::Impl::submit(Record record) {
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(spool_mutex);
    record.instance = options.instance;
    chain->stamp(record);
    const std::string line = spool_line(record, false);
    if (!write_all(file->fd, line)) {
      const int error = errno;
      // Undo a partial line and the chain step, so the next record links to the last good one.
      if (::ftruncate(file->fd, static_cast<off_t>(file_size)) != 0) {
        spdlog::error("audit spool {}: cannot remove a partial line: {}",
                      options.spool_file.string(), std::strerror(errno));
      }
      chain = std::make_unique<Chain>(options.instance,
                                      last_written.sequence == 0 ? nullptr : &last_written);
      ++spool_failures;
      spdlog::error("audit spool {}: a record could not be written ({}); the request is not "
                    "acknowledged",
                    options.spool_file.string(), std::strerror(error));
      return Errc::AuditUnavailable;
    }
    file_size += line.size();
    last_written.sequence = record.sequence;
    last_written.hash = record.hash;
    sequence = record.sequence;
    written_sequence = sequence;
    {
      std::lock_guard queue_lock(queue_mutex);
      if (queue.size() < options.queue_capacity) {
        queue.push_back({std::move(record), line.size()});
      } else {
        overflowed = true;  // the spool has it: the background thread replays from the file
      }
    }
    queue_cv.notify_one();
  }
  if (!options.sync_before_acknowledging) return {};
  return sync_through(sequence);
}

Result<void> Writer::Impl::sync_through(std::uint64_t sequence) {
  std::unique_lock lock(sync_mutex);
  while (synced_sequence < sequence) {
    if (syncing) {
      sync_cv.wait(lock);
      continue;
    }
    syncing = true;
    lock.unlock();
    std::shared_ptr<SpoolFile> target_file;
    std::uint64_t target = 0;
    {
      std::lock_guard spool_lock(spool_mutex);
      target = written_sequence;
      target_file = file;
    }
    const bool ok = ::fdatasync(target_file->fd) == 0;
    const int error = errno;
    lock.lock();
    syncing = false;
    if (ok) synced_sequence = std::max(synced_sequence, target);
    sync_cv.notify_all();
    if (!ok) {
      ++spool_failures;
      spdlog::error("audit spool {}: fdatasync failed ({}); the request is not acknowledged",
                    options.spool_file.string(), std::strerror(error));
      return Errc::AuditUnavailable;
    }
  }
  return {};
}

Result<void> Writer::Impl::commit(std::vector<Record>& batch, std::uint64_t bytes) {
  if (auto appended = store->append(batch); !appended) {
    ++store_errors;
    if (store_available.exchange(false)) {
      spdlog::error("audit store {} unavailable ({}): records stay in the spool {} and will be "
                    "replayed when it returns",
                    store->describe(), appended.error().message(), options.spool_file.string());
    }
    return appended.error();
  }
  if (!store_available.exchange(true)) {
    spdlog::info("audit store {} is back: writing the spooled records", store->describe());
  }
  committed_total += batch.size();
  committed_bytes += bytes;
  last_committed = batch.back();
  have_last_committed = true;
  {
    std::lock_guard lock(queue_mutex);
    committed_sequence = batch.back().sequence;
  }
  committed_cv.notify_all();
  if (syslog) {
    for (const auto& record : batch)
      if (!syslog->send(record)) ++syslog_failures;
  }
  return {};
}

// One unit of background work; false when the store failed (the caller backs off).
bool Writer::Impl::step() {
  std::vector<Record> batch;
  std::uint64_t bytes = 0;
  const std::uint64_t committed = committed_sequence;
  if (!replaying) {
    std::lock_guard lock(queue_mutex);
    while (!queue.empty() && queue.front().record.sequence <= committed) queue.pop_front();
    if (!queue.empty() && queue.front().record.sequence != committed + 1) {
      replaying = true;  // a gap: records overflowed the queue; the spool has them all
    } else {
      while (!queue.empty() && batch.size() < options.batch_size) {
        bytes += queue.front().bytes;
        batch.push_back(std::move(queue.front().record));
        queue.pop_front();
      }
    }
  }
  if (replaying) {
    // Read the spool from where the last replay stopped; skip what is committed.
    std::uint64_t size = 0;
    auto spool = current_file(&size);
    std::uint64_t offset = replay_offset;
    std::string chunk;
    std::vector<std::pair<Record, std::uint64_t>> found;
    bool unreadable = false;
    while (offset < size && found.size() < options.batch_size) {
      const std::size_t want = std::min<std::uint64_t>(size - offset, 1u << 20);
      chunk.resize(want);
      const ssize_t got = ::pread(spool->fd, chunk.data(), want, static_cast<off_t>(offset));
      if (got <= 0) {
        unreadable = true;
        break;
      }
      chunk.resize(static_cast<std::size_t>(got));
      std::size_t begin = 0;
      while (begin < chunk.size() && found.size() < options.batch_size) {
        const std::size_t newline = chunk.find('\n', begin);
        if (newline == std::string::npos) break;
        const std::string_view line(chunk.data() + begin, newline + 1 - begin);
        begin = newline + 1;
        const auto entry = peek_line(line);
        if (!entry || entry->tip || entry->sequence <= committed) continue;
        auto record = parse_line(line);
        if (!record || record->instance != options.instance) continue;
        found.emplace_back(std::move(*record), line.size());
      }
      if (begin == 0) break;  // a line longer than the chunk cannot happen: records are small
      offset += begin;
    }
    if (unreadable) {
      spdlog::error("audit spool {}: cannot read it back for replay", options.spool_file.string());
      return false;
    }
    if (found.empty()) {
      // Caught up with the spool: back to the in-memory queue.
      std::lock_guard lock(queue_mutex);
      replay_offset = offset;
      if (written_sequence == committed_sequence || (!queue.empty() &&
                                                     queue.front().record.sequence <=
                                                         committed_sequence + 1)) {
        replaying = false;
        overflowed = false;
      }
      return true;
    }
    if (found.front().first.sequence != committed + 1) {
      spdlog::error("audit spool {}: records {}..{} of chain '{}' are missing from the spool",
                    options.spool_file.string(), committed + 1, found.front().first.sequence - 1,
                    options.instance);
    }
    for (auto& [record, length] : found) {
      bytes += length;
      batch.push_back(std::move(record));
    }
    if (auto done = commit(batch, bytes); !done) return false;
    replay_offset = offset;
    // Free queue room taken by records the replay just wrote.
    std::lock_guard lock(queue_mutex);
    while (!queue.empty() && queue.front().record.sequence <= committed_sequence) queue.pop_front();
    return true;
  }
  if (batch.empty()) return true;
  if (auto done = commit(batch, bytes); !done) {
    replaying = true;  // the batch is in the spool: the replay picks it up after the backoff
    return false;
  }
  return true;
}

// Rewrites the spool as the tip plus the records not yet committed (atomic rename), so it does
// not grow without bound. Submitters wait on the mutex meanwhile; kept rare and small.
bool Writer::Impl::trim() {
  const fs::path temporary = options.spool_file.string() + ".tmp";
  std::lock_guard lock(spool_mutex);
  const int fd =
      ::open(temporary.c_str(), O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::error("audit spool {}: cannot trim: {}", temporary.string(), std::strerror(errno));
    return false;
  }
  auto fresh = std::make_shared<SpoolFile>(fd);
  std::string content = have_last_committed ? spool_line(last_committed, true) : std::string();
  const std::uint64_t tip_size = content.size();
  const std::uint64_t committed = committed_sequence;
  if (written_sequence > committed) {
    auto old = read_file(file->fd);
    if (!old) return false;
    for (std::size_t begin = 0; begin < old->size();) {
      const std::size_t newline = old->find('\n', begin);
      if (newline == std::string::npos) break;
      const std::string_view line(old->data() + begin, newline + 1 - begin);
      begin = newline + 1;
      const auto entry = peek_line(line);
      if (entry && !entry->tip && entry->sequence > committed) content += line;
    }
  }
  if (!write_all(fd, content) || ::fdatasync(fd) != 0 ||
      ::rename(temporary.c_str(), options.spool_file.c_str()) != 0) {
    spdlog::error("audit spool {}: cannot trim: {}", options.spool_file.string(),
                  std::strerror(errno));
    return false;
  }
  sync_directory(options.spool_file.parent_path());
  file = std::move(fresh);
  file_size = content.size();
  replay_offset = tip_size;
  committed_bytes = 0;
  return true;
}

void Writer::Impl::run() {
  std::optional<std::chrono::steady_clock::time_point> drain_deadline;
  while (true) {
    {
      std::unique_lock lock(queue_mutex);
      if (!replaying) {
        queue_cv.wait(lock, [&] { return stopping || !queue.empty() || overflowed; });
      }
      if (overflowed) replaying = true;
      if (stopping && !drain_deadline)
        drain_deadline = std::chrono::steady_clock::now() + kShutdownDrain;
    }
    const bool ok = step();
    const bool drained = committed_sequence == written_sequence;
    if (ok && committed_bytes >= kTrimCommittedBytes &&
        (drained || written_sequence - committed_sequence <= 4 * options.batch_size))
      trim();
    if (drain_deadline && (drained || std::chrono::steady_clock::now() >= *drain_deadline)) break;
    if (!ok) {
      std::unique_lock lock(queue_mutex);
      queue_cv.wait_for(lock, backoff, [&] { return stopping && !drain_deadline; });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
    } else {
      backoff = kMinBackoff;
    }
  }
  if (committed_bytes > 0) trim();
  if (written_sequence != committed_sequence) {
    spdlog::warn("audit: {} record(s) stay in the spool {} for the next start",
                 written_sequence - committed_sequence, options.spool_file.string());
  }
}

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Writer>> Writer::start(StorePtr store, Options options) {
  if (!store || options.instance.empty() || options.spool_file.empty()) return Errc::ConfigInvalid;
  auto impl = std::make_unique<Impl>();
  impl->store = std::move(store);
  if (options.queue_capacity == 0) options.queue_capacity = 1;
  if (options.batch_size == 0) options.batch_size = 1;
  impl->options = std::move(options);
  if (!impl->options.syslog_target.empty()) {
    auto sink = SyslogSink::open(impl->options.syslog_target);
    if (!sink) {
      spdlog::critical("audit syslog target '{}' is not usable: {}", impl->options.syslog_target,
                       sink.error().message());
      return sink.error();
    }
    impl->syslog = std::move(*sink);
  }
  if (auto recovered = impl->recover(); !recovered) return recovered.error();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

Writer::~Writer() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<void> Writer::submit(Record record) { return impl_->submit(std::move(record)); }

Result<void> Writer::flush() {
  const std::uint64_t target = impl_->written_sequence;
  impl_->queue_cv.notify_one();
  std::unique_lock lock(impl_->queue_mutex);
  if (!impl_->committed_cv.wait_for(lock, kFlushTimeout,
                                    [&] { return impl_->committed_sequence >= target; }))
    return Errc::AuditUnavailable;
  return {};
}

std::size_t Writer::pending() const {
  return static_cast<std::size_t>(impl_->written_sequence - impl_->committed_sequence);
}

Writer::Figures Writer::figures() const {
  Figures figures;
  figures.pending = pending();
  {
    std::lock_guard lock(impl_->queue_mutex);
    figures.queue_depth = impl_->queue.size();
  }
  figures.committed = impl_->committed_total;
  figures.spool_failures = impl_->spool_failures;
  figures.store_errors = impl_->store_errors;
  figures.syslog_failures = impl_->syslog_failures;
  figures.store_available = impl_->store_available;
  return figures;
}

Store& Writer::store() noexcept { return *impl_->store; }

}  // namespace gatekeeper::audit

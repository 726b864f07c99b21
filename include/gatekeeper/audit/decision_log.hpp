#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "gatekeeper/core/error.hpp"

namespace gatekeeper::audit {

// The decision log: an append-only JSON Lines file, one line per inspected request.
//
// Records come from http::inspect() and hold categories, rule ids, counts and scores only; this
// class adds nothing and removes nothing, so whoever builds a record is responsible for keeping raw
// values out of it. Each line is written with one write(2) on an O_APPEND descriptor: it leaves the
// process at once (no user-space buffer; no fsync either), and lines written concurrently, even by
// several processes, never interleave. Thread-safe.
class DecisionLog {
 public:
  // Opens (creating it and its directory when missing, mode 0640) `file` for appending.
  static Result<std::unique_ptr<DecisionLog>> open(const std::filesystem::path& file);

  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Appends `record` (a JSON object) as one line. Errc::AuditUnavailable when it cannot be written:
  // callers decide whether the request may proceed without its audit line.
  Result<void> append(const nlohmann::json& record);

  // Closes and reopens the file, e.g. after logrotate moved it away.
  Result<void> reopen();

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  explicit DecisionLog(std::filesystem::path path) : path_(std::move(path)) {}
  Result<void> open_locked();

  std::filesystem::path path_;
  std::mutex mutex_;
  int fd_ = -1;
};

}  // namespace gatekeeper::audit

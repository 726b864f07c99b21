#include "gatekeeper/audit/decision_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace gatekeeper::audit {

Result<std::unique_ptr<DecisionLog>> DecisionLog::open(const std::filesystem::path& file) {
  std::unique_ptr<DecisionLog> log(new DecisionLog(file));
  std::lock_guard lock(log->mutex_);
  if (auto opened = log->open_locked(); !opened) return opened.error();
  return log;
}

DecisionLog::~DecisionLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> DecisionLog::open_locked() {
  std::error_code ec;
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), ec);
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return make_error_code(Errc::AuditUnavailable);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return {};
}

Result<void> DecisionLog::reopen() {
  std::lock_guard lock(mutex_);
  return open_locked();
}

Result<void> DecisionLog::append(const nlohmann::json& record) {
  if (!record.is_object()) return make_error_code(Errc::AuditUnavailable);
  std::string line;
  try {
    line = record.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception&) {
    return make_error_code(Errc::AuditUnavailable);
  }
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return make_error_code(Errc::AuditUnavailable);
  std::size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error_code(Errc::AuditUnavailable);
    }
    written += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace gatekeeper::audit

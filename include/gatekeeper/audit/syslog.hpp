#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/core/error.hpp"

namespace gatekeeper::audit {

// One RFC 5424 message for a record: facility "log audit" (13), severity notice for requests the
// policy acted on (block, redact, warn), informational otherwise; MSGID is the record kind and
// MSG the record as compact ASCII JSON (the same fields as the store, never raw values).
std::string format_syslog_message(const Record& record, std::string_view hostname, int pid);

// Sends every committed record to the institute's SIEM over UDP or a local datagram socket.
// Best effort by nature (syslog over UDP has no acknowledgement): the store remains the trail.
class SyslogSink {
 public:
  // "udp://HOST:PORT" (IPv4/IPv6 or a name) or "unix:/dev/log". Errc::ConfigInvalid when the
  // target does not parse or does not resolve.
  static Result<std::unique_ptr<SyslogSink>> open(std::string_view target);
  ~SyslogSink();
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  Result<void> send(const Record& record);
  const std::string& target() const noexcept { return target_; }

 private:
  SyslogSink(int fd, std::string target);
  int fd_ = -1;
  std::string target_;
  std::string hostname_;
  int pid_ = 0;
};

}  // namespace gatekeeper::audit

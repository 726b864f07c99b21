#include "gatekeeper/audit/syslog.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace gatekeeper::audit {
namespace {

constexpr int kFacilityLogAudit = 13;
constexpr int kSeverityNotice = 5;
constexpr int kSeverityInformational = 6;

// RFC 5424 HOSTNAME/APP-NAME fields: printable US-ASCII without spaces, at most 255 characters.
std::string header_field(std::string_view value) {
  std::string field;
  for (const char c : value.substr(0, 255))
    if (c > 32 && c < 127) field += c;
  return field.empty() ? "-" : field;
}

}  // namespace

std::string format_syslog_message(const Record& record, std::string_view hostname, int pid) {
  const bool acted_on = record.kind == RecordKind::Request &&
                        (record.action == "block" || record.action == "redact" ||
                         record.action == "warn");
  const int priority =
      kFacilityLogAudit * 8 + (acted_on ? kSeverityNotice : kSeverityInformational);
  const nlohmann::json message = record_to_json(record);
  std::string line = "<" + std::to_string(priority) + ">1 ";
  line += record.time.empty() ? "-" : record.time;
  line += " " + header_field(hostname) + " gatekeeper " + std::to_string(pid) + " " +
          header_field(to_string(record.kind)) + " - ";
  // ASCII only (ensure_ascii): no BOM needed, and no SIEM mangles the text.
  line += message.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  return line;
}

SyslogSink::SyslogSink(int fd, std::string target) : fd_(fd), target_(std::move(target)) {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) hostname_ = name;
  pid_ = static_cast<int>(::getpid());
}

SyslogSink::~SyslogSink() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<SyslogSink>> SyslogSink::open(std::string_view target) {
  if (target.starts_with("unix:")) {
    const std::string path(target.substr(5));
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof address.sun_path) return Errc::ConfigInvalid;
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Errc::IoError;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return Errc::IoError;
    }
    return std::unique_ptr<SyslogSink>(new SyslogSink(fd, std::string(target)));
  }
  if (!target.starts_with("udp://")) return Errc::ConfigInvalid;
  std::string_view rest = target.substr(6);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == rest.size()) return Errc::ConfigInvalid;
  std::string host(rest.substr(0, colon));
  const std::string port(rest.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port_number = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (host.empty() || error != std::errc() || end != port.data() + port.size() ||
      port_number <= 0 || port_number > 65535)
    return Errc::ConfigInvalid;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
    return Errc::ConfigInvalid;
  int fd = -1;
  for (addrinfo* candidate = found; candidate; candidate = candidate->ai_next) {
    fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC,
                  candidate->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) return Errc::IoError;
  return std::unique_ptr<SyslogSink>(new SyslogSink(fd, std::string(target)));
}

Result<void> SyslogSink::send(const Record& record) {
  const std::string message = format_syslog_message(record, hostname_, pid_);
  // A refused datagram (no receiver yet: ECONNREFUSED from an earlier send) is not retried.
  if (::send(fd_, message.data(), message.size(), MSG_NOSIGNAL) < 0) return Errc::IoError;
  return {};
}

}  // namespace gatekeeper::audit

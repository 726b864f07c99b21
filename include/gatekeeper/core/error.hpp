#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace gatekeeper {

// The one project-wide error enum. Each value says what went wrong in words an operator can act on;
// details (file:line, rule id, host) travel next to the code, never inside it.
enum class Errc {
  Ok = 0,
  // Configuration and rules (control plane).
  ConfigNotFound,       // a configuration, policy or rule file or directory does not exist
  ConfigUnreadable,     // the file exists but cannot be read
  ConfigSyntax,         // the YAML (or JSON) is not well-formed
  ConfigInvalid,        // well-formed, but a value is missing, of the wrong type or out of range
  RulePatternInvalid,   // a regex is not valid RE2 syntax (or uses lookaround / backreferences)
  RuleValidatorUnknown, // a rule names a validator that does not exist
  RuleExampleFailed,    // a rule's own example does not behave as the rule file says
  RuleSetTooLarge,      // the compiled pattern set exceeds the engine memory budget
  // Scanning (data plane): every one of these must fail closed on an AI host.
  ScanOutOfMemory,      // the regex engine ran out of memory while scanning
  ScanFailed,           // the prefilter or a validator reported an internal failure
  InputTooLarge,        // the text or body exceeds the configured inspection limit
  // Wire formats and HTTP.
  BodyUndecodable,      // Content-Encoding or charset the inspector cannot decode
  FileMalformed,        // an attached file claims a format (docx, pdf, zip...) and cannot be read
  ExtractionLimit,      // a file exceeds an extraction limit (ratio, size, depth, pages, time)
  WebSocketProtocol,    // a WebSocket frame or extension that violates RFC 6455 / 7692
  PayloadMalformed,     // a body that claims a format (JSON, form, multipart) and is not
  HttpMalformed,        // a request that is not valid HTTP/1.1
  HeadersTooLarge,      // request head above the header limit
  // Network and TLS.
  UpstreamUnreachable,  // the platform could not be reached
  UpstreamTlsFailed,    // the platform's certificate did not verify
  TlsSetupFailed,       // local CA, leaf certificate or TLS context could not be built
  Timeout,              // a step did not finish within its timer
  AccessDenied,         // the client is not allowed to use the proxy
  // Storage.
  IoError,              // reading or writing a local file failed
  AuditUnavailable,     // the audit trail cannot record, so the request cannot proceed
  AuditChainBroken,     // an audit record does not match the hash chain (tampering or loss)
  DatabaseError,        // SQLite or PostgreSQL refused a statement or the connection
  NotFound,             // the requested record does not exist
};

const boost::system::error_category& gatekeeper_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), gatekeeper_category()};
}

// A short, stable, lower_snake name for metrics and JSON (e.g. "scan_out_of_memory").
const char* errc_name(Errc e) noexcept;

template <class T>
using Result = boost::system::result<T>;

}  // namespace gatekeeper

namespace boost::system {
template <>
struct is_error_code_enum<gatekeeper::Errc> : std::true_type {};
}  // namespace boost::system

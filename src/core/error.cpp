#include "gatekeeper/core/error.hpp"

namespace gatekeeper {
namespace {

class GatekeeperCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "gatekeeper"; }

  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::Ok: return "success";
      case Errc::ConfigNotFound: return "file or directory not found";
      case Errc::ConfigUnreadable: return "file cannot be read";
      case Errc::ConfigSyntax: return "file is not well-formed YAML";
      case Errc::ConfigInvalid: return "invalid configuration value";
      case Errc::RulePatternInvalid: return "invalid or unsupported RE2 pattern";
      case Errc::RuleValidatorUnknown: return "unknown validator";
      case Errc::RuleExampleFailed: return "a rule example does not behave as declared";
      case Errc::RuleSetTooLarge: return "the compiled rule set exceeds the engine memory budget";
      case Errc::ScanOutOfMemory: return "the regex engine ran out of memory while scanning";
      case Errc::ScanFailed: return "the scan could not be completed";
      case Errc::InputTooLarge: return "input exceeds the inspection size limit";
      case Errc::BodyUndecodable: return "the body encoding cannot be decoded for inspection";
      case Errc::FileMalformed: return "an attached file is damaged or not of its declared format";
      case Errc::ExtractionLimit: return "an attached file exceeds an extraction limit";
      case Errc::WebSocketProtocol: return "WebSocket protocol violation";
      case Errc::PayloadMalformed: return "the body does not match its declared format";
      case Errc::HttpMalformed: return "malformed HTTP request";
      case Errc::HeadersTooLarge: return "request headers too large";
      case Errc::UpstreamUnreachable: return "the platform could not be reached";
      case Errc::UpstreamTlsFailed: return "the platform's TLS certificate could not be verified";
      case Errc::TlsSetupFailed: return "local TLS setup failed";
      case Errc::Timeout: return "timed out";
      case Errc::AccessDenied: return "access denied";
      case Errc::IoError: return "input/output error";
      case Errc::AuditUnavailable: return "the audit trail is unavailable";
      case Errc::AuditChainBroken: return "the audit hash chain is broken";
      case Errc::DatabaseError: return "database error";
      case Errc::NotFound: return "not found";
    }
    return "unknown gatekeeper error";
  }
};

}  // namespace

const boost::system::error_category& gatekeeper_category() noexcept {
  static const GatekeeperCategory category;
  return category;
}

const char* errc_name(Errc e) noexcept {
  switch (e) {
    case Errc::Ok: return "ok";
    case Errc::ConfigNotFound: return "config_not_found";
    case Errc::ConfigUnreadable: return "config_unreadable";
    case Errc::ConfigSyntax: return "config_syntax";
    case Errc::ConfigInvalid: return "config_invalid";
    case Errc::RulePatternInvalid: return "rule_pattern_invalid";
    case Errc::RuleValidatorUnknown: return "rule_validator_unknown";
    case Errc::RuleExampleFailed: return "rule_example_failed";
    case Errc::RuleSetTooLarge: return "rule_set_too_large";
    case Errc::ScanOutOfMemory: return "scan_out_of_memory";
    case Errc::ScanFailed: return "scan_failed";
    case Errc::InputTooLarge: return "input_too_large";
    case Errc::BodyUndecodable: return "body_undecodable";
    case Errc::FileMalformed: return "file_malformed";
    case Errc::ExtractionLimit: return "extraction_limit";
    case Errc::WebSocketProtocol: return "websocket_protocol";
    case Errc::PayloadMalformed: return "payload_malformed";
    case Errc::HttpMalformed: return "http_malformed";
    case Errc::HeadersTooLarge: return "headers_too_large";
    case Errc::UpstreamUnreachable: return "upstream_unreachable";
    case Errc::UpstreamTlsFailed: return "upstream_tls_failed";
    case Errc::TlsSetupFailed: return "tls_setup_failed";
    case Errc::Timeout: return "timeout";
    case Errc::AccessDenied: return "access_denied";
    case Errc::IoError: return "io_error";
    case Errc::AuditUnavailable: return "audit_unavailable";
    case Errc::AuditChainBroken: return "audit_chain_broken";
    case Errc::DatabaseError: return "database_error";
    case Errc::NotFound: return "not_found";
  }
  return "unknown";
}

}  // namespace gatekeeper

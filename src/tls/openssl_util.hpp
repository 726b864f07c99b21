#pragma once
// Helpers shared by the TLS sources only (not part of the public interface).

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace gatekeeper::tls::detail {

struct BioDeleter { void operator()(BIO* p) const noexcept { BIO_free_all(p); } };
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Drains the thread's OpenSSL error queue into one line ("reason; reason"). These strings name
// library, function and reason only: never key material or peer data.
inline std::string openssl_errors() {
  std::string out;
  char buffer[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? std::string("no OpenSSL error reported") : out;
}

// Reports a problem to the caller's diagnostics when it gave some, to the log otherwise.
inline void report(Diagnostics* diagnostics, const std::string& file, std::string message,
                   Diagnostic::Severity severity = Diagnostic::Severity::Error) {
  if (diagnostics != nullptr) {
    diagnostics->push_back(Diagnostic{severity, file, 0, 0, {}, std::move(message)});
    return;
  }
  const std::string where = file.empty() ? std::string() : file + ": ";
  if (severity == Diagnostic::Severity::Error) {
    spdlog::error("tls: {}{}", where, message);
  } else {
    spdlog::warn("tls: {}{}", where, message);
  }
}

// Logs an OpenSSL failure on the data path and returns the error code to propagate.
inline boost::system::error_code tls_failure(std::string_view what) {
  spdlog::error("tls: {}: {}", what, openssl_errors());
  return make_error_code(Errc::TlsSetupFailed);
}

}  // namespace gatekeeper::tls::detail

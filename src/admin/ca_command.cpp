#include "gatekeeper/admin/ca_command.hpp"

#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/tls/certificate_authority.hpp"

#include <optional>
#include <ostream>

namespace gatekeeper::admin {
namespace {

void print_ca_usage(std::ostream& out) {
  out << "Usage:\n"
         "  gatekeeper ca init [--config FILE | --data-dir DIR] [--force]\n"
         "      Create the local CA (kept if one exists, replaced with --force).\n"
         "  gatekeeper ca export [--config FILE | --data-dir DIR]\n"
         "      Print the CA certificate (PEM) to install in browsers and trust stores.\n"
         "  The CA lives in the data_dir of the configuration file (default: the shipped\n"
         "  config/gatekeeper.yaml); --data-dir names the directory directly.\n";
}

void print_diagnostics(const Diagnostics& diagnostics, std::ostream& err) {
  for (const Diagnostic& d : diagnostics) err << "gatekeeper ca: " << d.to_string() << '\n';
}

}  // namespace

int run_ca_command(const Args& args, std::ostream& out, std::ostream& err) {
  return run_ca_command(args, out, err, config::Settings{}.data_dir);
}

namespace {

// The data_dir `gatekeeper run --config FILE` would use, so that both commands agree on the CA.
std::optional<std::filesystem::path> data_dir_of(const std::filesystem::path& config_file,
                                                 std::ostream& err) {
  Diagnostics diagnostics;
  auto settings = config::load_settings(config_file, diagnostics);
  print_diagnostics(diagnostics, err);
  if (!settings) return std::nullopt;
  return settings->data_dir;
}

}  // namespace

int run_ca_command(const Args& args, std::ostream& out, std::ostream& err,
                   const std::filesystem::path& default_data_dir) {
  if (args.empty()) {
    print_ca_usage(err);
    return kExitInvalidRules;
  }
  const std::string& action = args[0];
  if (action == "-h" || action == "--help" || action == "help") {
    print_ca_usage(out);
    return kExitOk;
  }
  if (action != "init" && action != "export") {
    err << "gatekeeper ca: unknown action '" << action << "'\n";
    print_ca_usage(err);
    return kExitInvalidRules;
  }
  std::filesystem::path data_dir = default_data_dir;
  std::optional<std::filesystem::path> config_file;
  bool data_dir_given = false;
  bool force = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--data-dir" && i + 1 < args.size()) {
      data_dir = args[++i];
      data_dir_given = true;
    } else if (args[i].rfind("--data-dir=", 0) == 0) {
      data_dir = args[i].substr(std::string_view("--data-dir=").size());
      data_dir_given = true;
    } else if (args[i] == "--config" && i + 1 < args.size()) {
      config_file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      config_file = args[i].substr(std::string_view("--config=").size());
    } else if (args[i] == "--force" && action == "init") {
      force = true;
    } else {
      err << "gatekeeper ca " << action << ": unexpected argument '" << args[i] << "'\n";
      print_ca_usage(err);
      return kExitInvalidRules;
    }
  }
  if (data_dir.empty()) {
    err << "gatekeeper ca " << action << ": --data-dir needs a directory\n";
    return kExitInvalidRules;
  }
  if (config_file && !data_dir_given) {
    auto configured = data_dir_of(*config_file, err);
    if (!configured) {
      err << "gatekeeper ca " << action << ": cannot read " << config_file->string() << "\n";
      return kExitInvalidRules;
    }
    data_dir = *configured;
  }

  Diagnostics diagnostics;
  if (action == "export") {
    auto ca = tls::CertificateAuthority::load_or_create(data_dir, &diagnostics);
    print_diagnostics(diagnostics, err);
    if (!ca) return kExitFailure;
    if ((*ca)->created()) {
      err << "gatekeeper ca export: there was no CA in " << data_dir.string()
          << "; created one (SHA-256 " << (*ca)->fingerprint_sha256() << ")\n";
    }
    out << (*ca)->certificate_pem();
    return out ? kExitOk : kExitFailure;
  }

  if (!force && tls::CertificateAuthority::exists(data_dir)) {
    auto ca = tls::CertificateAuthority::load_or_create(data_dir, &diagnostics);
    print_diagnostics(diagnostics, err);
    if (!ca) {
      err << "gatekeeper ca init: the existing CA is unusable; fix it or pass --force to replace "
             "it\n";
      return kExitFailure;
    }
    out << "A CA already exists in " << data_dir.string() << " (SHA-256 "
        << (*ca)->fingerprint_sha256() << "); kept it. Pass --force to replace it.\n";
    return kExitOk;
  }
  auto ca = tls::CertificateAuthority::create(data_dir, force, &diagnostics);
  print_diagnostics(diagnostics, err);
  if (!ca) return kExitFailure;
  out << "Created a new CA in " << data_dir.string() << "\n"
      << "  certificate: " << (data_dir / tls::kCaCertFileName).string() << "\n"
      << "  private key: " << (data_dir / tls::kCaKeyFileName).string() << " (mode 0600)\n"
      << "  SHA-256 fingerprint: " << (*ca)->fingerprint_sha256() << "\n"
      << "Install it in browsers and trust stores: gatekeeper ca export > gatekeeper-ca.pem\n";
  return kExitOk;
}

}  // namespace gatekeeper::admin

#pragma once

#include "gatekeeper/admin/cli.hpp"

#include <filesystem>
#include <iosfwd>

namespace gatekeeper::admin {

// `gatekeeper ca init [--data-dir DIR] [--force]`
//     Creates the local CA in DIR. When a valid CA is already there it is kept (exit 0) unless
//     --force, which replaces it (every user must then install the new certificate).
// `gatekeeper ca export [--data-dir DIR]`
//     Prints the CA certificate (PEM) on `out` and nothing else, so it can be redirected to a
//     file. Like `gatekeeper run`, it creates the CA on first use and then says so on `err`: the
//     certificate users install is then the one the proxy will present.
// Exit codes: kExitOk, kExitFailure (CA unreadable or not writable), kExitInvalidRules (usage).
int run_ca_command(const Args& args, std::ostream& out, std::ostream& err);
// Same, with the data directory to use when --data-dir is absent (pass the one `run` resolves
// from the configuration; the 3-argument form uses config::Settings{}.data_dir).
int run_ca_command(const Args& args, std::ostream& out, std::ostream& err,
                   const std::filesystem::path& default_data_dir);

}  // namespace gatekeeper::admin

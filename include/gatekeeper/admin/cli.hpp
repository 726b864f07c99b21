#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace gatekeeper::admin {

// Exit codes of the command line, stable for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;     // runtime failure (I/O, scan error, server could not start)
inline constexpr int kExitInvalidRules = 2;  // rules, policy or configuration invalid; also bad usage

using Args = std::vector<std::string>;

// Entry point of the `gatekeeper` binary; main() only forwards to it.
int run_command_line(int argc, char** argv);

// Subcommands. `args` excludes the program and subcommand names.
int run_scan_command(const Args& args, std::istream& in, std::ostream& out, std::ostream& err);
int run_rules_command(const Args& args, std::ostream& out, std::ostream& err);

}  // namespace gatekeeper::admin

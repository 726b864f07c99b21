#include "gatekeeper/admin/cli.hpp"
#include "gatekeeper/admin/audit_command.hpp"
#include "gatekeeper/admin/ca_command.hpp"
#include "gatekeeper/admin/run_command.hpp"

#include <iostream>
#include <string_view>

namespace gatekeeper::admin {
namespace {

void print_usage(std::ostream& out) {
  out << "gatekeeper " GATEKEEPER_VERSION " — local AI-use gatekeeper proxy\n"
         "\n"
         "Usage:\n"
         "  gatekeeper run [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT]\n"
         "                 [--data-dir DIR] [--upstream-ca FILE] [--connect-to HOST:PORT:ADDR:PORT]...\n"
         "      Start the proxy (default 127.0.0.1:3128, admin 127.0.0.1:3129).\n"
         "  gatekeeper scan [--rules DIR] [--policy FILE] [--platforms FILE] [--destination HOST] [--jsonl]\n"
         "      Classify text read on stdin and print the decision as JSON.\n"
         "  gatekeeper rules test [DIR]     Run every rule's examples.\n"
         "  gatekeeper rules lint [DIR] [--policy FILE] [--list-validators]\n"
         "      Report every problem in the rule files.\n"
         "  gatekeeper rules eval [--rules DIR] [--corpus FILE] [--json]\n"
         "      Recall per category and false-positive rate on a labelled corpus.\n"
         "  gatekeeper ca init [--data-dir DIR] [--force]\n"
         "      Create the local CA (done automatically on first run).\n"
         "  gatekeeper ca export [--data-dir DIR]\n"
         "      Print the CA certificate (PEM) to install in browsers and tools.\n"
         "  gatekeeper audit list|show ID|stats|export|verify|purge [--data-dir DIR] [--config FILE]\n"
         "      Review, export, verify and purge the audit trail (gatekeeper audit --help).\n"
         "  gatekeeper version\n"
         "\n"
         "Exit codes: 0 ok, 1 runtime failure, 2 invalid rules/policy/configuration or bad usage.\n";
}

}  // namespace

int run_command_line(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? kExitInvalidRules : kExitOk;
  }
  const std::string command = args[0];
  const Args rest(args.begin() + 1, args.end());
  if (command == "version" || command == "--version") {
    std::cout << "gatekeeper " GATEKEEPER_VERSION "\n";
    return kExitOk;
  }
  if (command == "scan") return run_scan_command(rest, std::cin, std::cout, std::cerr);
  if (command == "rules") return run_rules_command(rest, std::cout, std::cerr);
  if (command == "ca") return run_ca_command(rest, std::cout, std::cerr);
  if (command == "audit") return run_audit_command(rest, std::cout, std::cerr);
  if (command == "run") return run_run_command(rest, std::cout, std::cerr);
  std::cerr << "gatekeeper: unknown command '" << command << "'\n\n";
  print_usage(std::cerr);
  return kExitInvalidRules;
}

}  // namespace gatekeeper::admin

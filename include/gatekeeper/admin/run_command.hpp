#pragma once

#include "gatekeeper/admin/cli.hpp"

#include <iosfwd>

namespace gatekeeper::admin {

// `gatekeeper run [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT]
//                 [--data-dir DIR] [--upstream-ca FILE] [--connect-to HOST:PORT:ADDR:PORT]...`
// Serves until SIGINT/SIGTERM (graceful, exit 0); SIGHUP reloads. Once both listeners are bound it
// prints one line to `out`: "gatekeeper listening on HOST:PORT (admin HOST:PORT)" with the ports
// actually bound (so port 0 can be used). Invalid configuration: every diagnostic on `err`, exit 2.
int run_run_command(const Args& args, std::ostream& out, std::ostream& err);

}  // namespace gatekeeper::admin

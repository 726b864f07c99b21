#pragma once

#include "gatekeeper/admin/cli.hpp"

#include <iosfwd>
#include <string>
#include <string_view>

namespace gatekeeper::admin {

// `gatekeeper audit list|show ID|stats|export|verify|purge [--data-dir DIR] [--config FILE]`
//   Filters (list, stats, export): --since DATE --until DATE --platform ID --category ID
//   --action ACTION --user PSEUDONYM|NAME --kind request|admin|triage|report --reference GK-...
//   --instance NAME --limit N.
//   list    [--format table|jsonl]   newest first (default limit 50)
//   show    ID|REFERENCE             one record as JSON
//   stats   [--format table|json]    request counts by action, category, platform and day
//   export  --format csv|jsonl [--output FILE]   oldest first, no limit; audited
//   verify                           exit 0 when every chain verifies, 1 naming the first broken
//   purge   [--before DATE]          default: the configured retention; audited
// The store is the one the configuration names (SQLite at DATA_DIR/audit.db by default).
// Exit codes: kExitOk, kExitFailure (store unavailable, chain broken, record not found),
// kExitInvalidRules (bad usage or configuration).
int run_audit_command(const Args& args, std::ostream& out, std::ostream& err);

// One CSV cell per RFC 4180, made safe for spreadsheets: a cell starting with = + - @ (or a tab or
// carriage return) gets a leading ' so it is never evaluated as a formula.
std::string csv_cell(std::string_view value);

}  // namespace gatekeeper::admin

#include "gatekeeper/admin/cli.hpp"

#include <ostream>

namespace gatekeeper::admin {

// Replaced by the real command in the detection-engine work; kept only so the tree links meanwhile.
int run_rules_command(const Args&, std::ostream&, std::ostream& err) {
  err << "gatekeeper rules: not built yet\n";
  return kExitFailure;
}

}  // namespace gatekeeper::admin

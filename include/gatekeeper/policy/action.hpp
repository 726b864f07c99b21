#pragma once

#include <string_view>

namespace gatekeeper::policy {

// What happens to a request. Ordered by precedence: when findings ask for different actions, the
// request gets the highest one (Block > Warn > Redact > Log > Allow).
enum class Action { Allow = 0, Log = 1, Redact = 2, Warn = 3, Block = 4 };

// Destination trust tier of an AI platform (config/platforms.yaml).
//   internal:  run by the institute on its own infrastructure
//   sovereign: external but hosted under French/EU law with contractual guarantees (e.g. Mistral)
//   external:  every other platform; the default for an unknown host
enum class Tier { Internal = 0, Sovereign = 1, External = 2 };

std::string_view to_string(Action action) noexcept;
bool parse_action(std::string_view text, Action* out) noexcept;
std::string_view to_string(Tier tier) noexcept;
bool parse_tier(std::string_view text, Tier* out) noexcept;

}  // namespace gatekeeper::policy

#include "gatekeeper/policy/action.hpp"

namespace gatekeeper::policy {

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::Allow: return "allow";
    case Action::Log: return "log";
    case Action::Redact: return "redact";
    case Action::Warn: return "warn";
    case Action::Block: return "block";
  }
  return "block";
}

bool parse_action(std::string_view text, Action* out) noexcept {
  static constexpr Action kAll[] = {Action::Allow, Action::Log, Action::Redact, Action::Warn,
                                    Action::Block};
  for (Action action : kAll) {
    if (text == to_string(action)) {
      if (out != nullptr) *out = action;
      return true;
    }
  }
  return false;
}

std::string_view to_string(Tier tier) noexcept {
  switch (tier) {
    case Tier::Internal: return "internal";
    case Tier::Sovereign: return "sovereign";
    case Tier::External: return "external";
  }
  return "external";
}

bool parse_tier(std::string_view text, Tier* out) noexcept {
  static constexpr Tier kAll[] = {Tier::Internal, Tier::Sovereign, Tier::External};
  for (Tier tier : kAll) {
    if (text == to_string(tier)) {
      if (out != nullptr) *out = tier;
      return true;
    }
  }
  return false;
}

}  // namespace gatekeeper::policy

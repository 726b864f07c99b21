#include "gatekeeper/detect/finding.hpp"

namespace gatekeeper::detect {

std::string_view to_string(Severity severity) noexcept {
  switch (severity) {
    case Severity::Low:
      return "low";
    case Severity::Medium:
      return "medium";
    case Severity::High:
      return "high";
    case Severity::Critical:
      return "critical";
  }
  return "medium";
}

bool parse_severity(std::string_view text, Severity* out) noexcept {
  Severity value;
  if (text == "low") {
    value = Severity::Low;
  } else if (text == "medium") {
    value = Severity::Medium;
  } else if (text == "high") {
    value = Severity::High;
  } else if (text == "critical") {
    value = Severity::Critical;
  } else {
    return false;
  }
  if (out != nullptr) *out = value;
  return true;
}

}  // namespace gatekeeper::detect

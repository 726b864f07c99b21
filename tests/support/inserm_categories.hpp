#pragma once

#include <array>
#include <string_view>

namespace gatekeeper::test {

// The categories shared by the default rule pack, the labelled corpus and the policy file.
inline constexpr std::array<std::string_view, 9> kInsermCategories = {
    "health_identifier", "nominative_health",     "patient_data",
    "unpublished_research", "confidential",       "intellectual_property",
    "evaluation",        "secret",                "personal_data",
};

inline bool is_inserm_category(std::string_view name) {
  for (auto category : kInsermCategories) {
    if (category == name) return true;
  }
  return false;
}

}  // namespace gatekeeper::test

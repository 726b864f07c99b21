#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace gatekeeper {

// ASCII case-insensitive equality, for header names, tokens and media types.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Removes leading and trailing ASCII whitespace (space, tab, CR, LF, VT, FF).
inline std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

}  // namespace gatekeeper

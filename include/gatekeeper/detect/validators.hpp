#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gatekeeper::detect {

using ValidatorParams = std::map<std::string, std::string>;

// What a validator sees for one candidate match.
struct ValidationInput {
  std::string_view candidate;  // the match after the rule's `normalize` pairs were applied
  std::string_view text;       // the whole normalised text the match was found in (`text` view)
  std::size_t start = 0;       // span of the match inside `text`
  std::size_t end = 0;
  const ValidatorParams* params = nullptr;  // never null when called by the scanner
};

using ValidatorFn = bool (*)(const ValidationInput&);

struct ValidatorInfo {
  std::string_view name;
  std::string_view description;  // one line, shown by `gatekeeper rules lint --list-validators`
  ValidatorFn fn;
  std::vector<std::string_view> params;  // accepted parameter names (others are a load error)
};

// Named validators a rule file may reference. Rule files hold no code: this table is the whole API.
const std::vector<ValidatorInfo>& validators();
const ValidatorInfo* find_validator(std::string_view name);

// The checks themselves, exposed for tests and benchmarks. The identifier checks skip the
// separators people type inside numbers (space, tab, newline, '.', '-') and ignore letter case.
bool nir_is_valid(std::string_view nir);        // 15 chars, 2A/2B Corsica, key = 97 - (N mod 97)
bool luhn_is_valid(std::string_view digits);
bool siren_is_valid(std::string_view digits);   // 9 digits, Luhn
bool siret_is_valid(std::string_view digits);   // 14 digits, Luhn (La Poste rule included)
bool iban_is_valid(std::string_view iban);      // ISO 13616 mod 97 == 1, country lengths
bool jwt_is_valid(std::string_view token);      // header and payload are base64url JSON objects
bool date_is_valid(int year, int month, int day);  // calendar only; `date` adds the year range

}  // namespace gatekeeper::detect

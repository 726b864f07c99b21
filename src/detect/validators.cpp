#include "gatekeeper/detect/validators.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

namespace gatekeeper::detect {
namespace {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool is_alpha(char c) { return is_upper(c) || is_lower(c); }
constexpr bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
constexpr char to_upper(char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
constexpr char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// Separators people type inside identifiers ("1 80 12", "404.833.048", "FR76-3000-...").
constexpr bool is_separator(char c) {
  return c == ' ' || c == '.' || c == '-' || c == '\t' || c == '\n' || c == '\r';
}

// A fixed-capacity copy of the candidate without separators, upper-cased. Identifiers are short, so
// the checks never allocate; anything longer than the capacity cannot be valid.
template <std::size_t N>
struct Compact {
  std::array<char, N> chars{};
  std::size_t size = 0;
  bool overflow = false;

  std::string_view view() const { return {chars.data(), size}; }
};

template <std::size_t N>
Compact<N> compact(std::string_view in) {
  Compact<N> out;
  for (char c : in) {
    if (is_separator(c)) continue;
    if (out.size == N) {
      out.overflow = true;
      return out;
    }
    out.chars[out.size++] = to_upper(c);
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

int two_digits(std::string_view s, std::size_t pos) {
  return (s[pos] - '0') * 10 + (s[pos + 1] - '0');
}

// Luhn over a digit-only view; the caller guarantees digits.
bool luhn_digits(std::string_view digits) {
  unsigned sum = 0;
  bool doubled = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    unsigned d = static_cast<unsigned>(*it - '0');
    if (doubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    doubled = !doubled;
  }
  return sum % 10 == 0;
}

const ValidatorParams& params_of(const ValidationInput& in) {
  static const ValidatorParams kEmpty;
  return in.params ? *in.params : kEmpty;
}

// Parameter values are checked as names only at load time; a value that does not parse falls back
// to the default rather than failing a scan.
[[maybe_unused]] long long int_param(const ValidationInput& in, std::string_view name, long long fallback) {
  const auto& params = params_of(in);
  auto it = params.find(std::string(name));
  if (it == params.end()) return fallback;
  long long value = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return fallback;
  return value;
}

[[maybe_unused]] double double_param(const ValidationInput& in, std::string_view name, double fallback) {
  const auto& params = params_of(in);
  auto it = params.find(std::string(name));
  if (it == params.end()) return fallback;
  double value = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(value)) return fallback;
  return value;
}

// ---------------------------------------------------------------------------------------------
// IBAN registry: BBAN structure per country, in the SWIFT IBAN registry notation without the
// "!" (every length is fixed): <count><n|a|c>, n = digits, a = upper-case letters, c = alphanumeric.
struct IbanCountry {
  std::string_view code;
  std::string_view bban;
};

constexpr IbanCountry kIbanCountries[] = {
    {"AD", "4n4n12c"},        {"AE", "3n16n"},        {"AL", "8n16c"},
    {"AT", "5n11n"},          {"AZ", "4a20c"},        {"BA", "3n3n8n2n"},
    {"BE", "3n7n2n"},         {"BG", "4a4n2n8c"},     {"BH", "4a14c"},
    {"BI", "5n5n11n2n"},      {"BR", "8n5n10n1a1c"},  {"BY", "4c4n16c"},
    {"CH", "5n12c"},          {"CR", "4n14n"},        {"CY", "3n5n16c"},
    {"CZ", "4n6n10n"},        {"DE", "8n10n"},        {"DJ", "5n5n11n2n"},
    {"DK", "4n9n1n"},         {"DO", "4c20n"},        {"EE", "2n2n11n1n"},
    {"EG", "4n4n17n"},        {"ES", "4n4n1n1n10n"},  {"FI", "3n11n"},
    {"FO", "4n9n1n"},         {"FR", "5n5n11c2n"},    {"GB", "4a6n8n"},
    {"GE", "2a16n"},          {"GI", "4a15c"},        {"GL", "4n9n1n"},
    {"GR", "3n4n16c"},        {"GT", "4c20c"},        {"HR", "7n10n"},
    {"HU", "3n4n1n15n1n"},    {"IE", "4a6n8n"},       {"IL", "3n3n13n"},
    {"IQ", "4a3n12n"},        {"IS", "4n2n6n10n"},    {"IT", "1a5n5n12c"},
    {"JO", "4a4n18c"},        {"KW", "4a22c"},        {"KZ", "3n13c"},
    {"LB", "4n20c"},          {"LC", "4a24c"},        {"LI", "5n12c"},
    {"LT", "5n11n"},          {"LU", "3n13c"},        {"LV", "4a13c"},
    {"LY", "3n3n15n"},        {"MC", "5n5n11c2n"},    {"MD", "2c18c"},
    {"ME", "3n13n2n"},        {"MK", "3n10c2n"},      {"MR", "5n5n11n2n"},
    {"MT", "4a5n18c"},        {"MU", "4a2n2n12n3n3a"}, {"NL", "4a10n"},
    {"NO", "4n6n1n"},         {"PK", "4a16c"},        {"PL", "8n16n"},
    {"PS", "4a21c"},          {"PT", "4n4n11n2n"},    {"QA", "4a21c"},
    {"RO", "4a16c"},          {"RS", "3n13n2n"},      {"RU", "9n5n15c"},
    {"SA", "2n18c"},          {"SC", "4a2n2n16n3a"},  {"SD", "2n12n"},
    {"SE", "3n16n1n"},        {"SI", "5n8n2n"},       {"SK", "4n6n10n"},
    {"SM", "1a5n5n12c"},      {"ST", "4n4n11n2n"},    {"SV", "4a20n"},
    {"TL", "3n14n2n"},        {"TN", "2n3n13n2n"},    {"TR", "5n1n16c"},
    {"UA", "6n19c"},          {"VA", "3n15n"},        {"VG", "4a16n"},
    {"XK", "4n10n2n"},
};

const IbanCountry* find_iban_country(std::string_view code) {
  for (const auto& country : kIbanCountries) {
    if (country.code == code) return &country;
  }
  return nullptr;
}

bool bban_matches(std::string_view structure, std::string_view bban) {
  std::size_t pos = 0;
  std::size_t i = 0;
  while (i < structure.size()) {
    std::size_t count = 0;
    while (i < structure.size() && is_digit(structure[i])) {
      count = count * 10 + static_cast<std::size_t>(structure[i] - '0');
      ++i;
    }
    if (i == structure.size() || pos + count > bban.size()) return false;
    const char kind = structure[i++];
    for (std::size_t k = 0; k < count; ++k, ++pos) {
      const char c = bban[pos];
      const bool ok = kind == 'n' ? is_digit(c) : kind == 'a' ? is_upper(c) : is_alnum(c);
      if (!ok) return false;
    }
  }
  return pos == bban.size();
}

// ISO 7064 mod 97-10 over the rearranged IBAN, letters expanded to two digits, one digit at a time
// so no big integer is needed.
unsigned iban_mod97(std::string_view iban) {
  unsigned remainder = 0;
  auto feed = [&remainder](char c) {
    if (is_digit(c)) {
      remainder = (remainder * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else {
      remainder = (remainder * 100 + static_cast<unsigned>(c - 'A' + 10)) % 97;
    }
  };
  for (char c : iban.substr(4)) feed(c);
  for (char c : iban.substr(0, 4)) feed(c);
  return remainder;
}

constexpr std::size_t kIbanMaxLength = 34;

bool iban_compact_is_valid(std::string_view iban) {
  if (iban.size() < 5 || iban.size() > kIbanMaxLength) return false;
  if (!std::all_of(iban.begin(), iban.end(), is_alnum)) return false;
  const IbanCountry* country = find_iban_country(iban.substr(0, 2));
  if (country == nullptr) return false;
  // Check characters follow python-stdnum: any alphanumeric, the mod 97 has to hold anyway.
  if (!bban_matches(country->bban, iban.substr(4))) return false;
  return iban_mod97(iban) == 1;
}

// French RIB table: letters of the account number map to digits (A/J->1, B/K/S->2, ..., I/R/Z->9).
unsigned rib_digit(char c) {
  if (is_digit(c)) return static_cast<unsigned>(c - '0');
  if (c >= 'A' && c <= 'I') return static_cast<unsigned>(c - 'A' + 1);
  if (c >= 'J' && c <= 'R') return static_cast<unsigned>(c - 'J' + 1);
  return static_cast<unsigned>(c - 'S' + 2);  // S..Z
}

std::uint64_t rib_number(std::string_view s) {
  std::uint64_t n = 0;
  for (char c : s) n = n * 10 + rib_digit(c);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Validator adaptors: the registry entries.

bool validate_nir(const ValidationInput& in) { return nir_is_valid(in.candidate); }
bool validate_luhn(const ValidationInput& in) { return luhn_is_valid(in.candidate); }
bool validate_siren(const ValidationInput& in) { return siren_is_valid(in.candidate); }
bool validate_siret(const ValidationInput& in) { return siret_is_valid(in.candidate); }
bool validate_iban(const ValidationInput& in) { return iban_is_valid(in.candidate); }

bool validate_fr_iban(const ValidationInput& in) {
  const auto iban = compact<kIbanMaxLength>(in.candidate);
  if (iban.overflow || iban.size != 27) return false;
  const std::string_view s = iban.view();
  if (s.substr(0, 2) != "FR" && s.substr(0, 2) != "MC") return false;
  if (!iban_compact_is_valid(s)) return false;
  const std::uint64_t bank = rib_number(s.substr(4, 5));
  const std::uint64_t branch = rib_number(s.substr(9, 5));
  const std::uint64_t account = rib_number(s.substr(14, 11));
  const int key = two_digits(s, 25);
  return key == static_cast<int>(97 - (89 * bank + 15 * branch + 3 * account) % 97);
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// Public checks.

bool nir_is_valid(std::string_view candidate) {
  const auto nir = compact<15>(candidate);
  if (nir.overflow || nir.size != 15) return false;
  const std::string_view s = nir.view();
  if (!all_digits(s.substr(0, 5)) || !all_digits(s.substr(7))) return false;
  std::string_view department = s.substr(5, 2);
  // Corsica: 2A and 2B stand for 19 and 18 in the key computation.
  if (department == "2A") {
    department = "19";
  } else if (department == "2B") {
    department = "18";
  } else if (!all_digits(department)) {
    return false;
  }
  // Stricter than python-stdnum, which checks only the key: real numbers start with a sex digit
  // 1/2 (3/4 and 7/8 for provisional and NIA numbers) and carry a month 01-12, 13 or a pseudo-month
  // 20-42 / 50-99 (unknown or incomplete birth month).
  const char sex = s[0];
  if (sex != '1' && sex != '2' && sex != '3' && sex != '4' && sex != '7' && sex != '8') {
    return false;
  }
  const int month = two_digits(s, 3);
  if (!((month >= 1 && month <= 13) || (month >= 20 && month <= 42) || month >= 50)) return false;

  std::uint64_t body = 0;
  for (char c : s.substr(0, 5)) body = body * 10 + static_cast<std::uint64_t>(c - '0');
  for (char c : department) body = body * 10 + static_cast<std::uint64_t>(c - '0');
  for (char c : s.substr(7, 6)) body = body * 10 + static_cast<std::uint64_t>(c - '0');
  const int key = two_digits(s, 13);
  return key == static_cast<int>(97 - body % 97);
}

bool luhn_is_valid(std::string_view candidate) {
  // Digit runs can be long (card numbers, IMEI...), so walk the input instead of copying it.
  unsigned sum = 0;
  bool doubled = false;
  bool any = false;
  for (auto it = candidate.rbegin(); it != candidate.rend(); ++it) {
    const char c = *it;
    if (is_separator(c)) continue;
    if (!is_digit(c)) return false;
    unsigned d = static_cast<unsigned>(c - '0');
    if (doubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum = (sum + d) % 10;
    doubled = !doubled;
    any = true;
  }
  return any && sum == 0;
}

bool siren_is_valid(std::string_view candidate) {
  const auto siren = compact<9>(candidate);
  if (siren.overflow || siren.size != 9 || !all_digits(siren.view())) return false;
  return luhn_digits(siren.view());
}

bool siret_is_valid(std::string_view candidate) {
  const auto siret = compact<14>(candidate);
  if (siret.overflow || siret.size != 14) return false;
  const std::string_view s = siret.view();
  if (!all_digits(s)) return false;
  // La Poste's establishments share one SIREN and use a digit sum multiple of 5 instead of Luhn,
  // except the head office, which follows the general rule.
  if (s.substr(0, 9) == "356000000" && s != "35600000000048") {
    unsigned sum = 0;
    for (char c : s) sum += static_cast<unsigned>(c - '0');
    if (sum % 5 != 0) return false;
  } else if (!luhn_digits(s)) {
    return false;
  }
  return luhn_digits(s.substr(0, 9));
}

bool iban_is_valid(std::string_view candidate) {
  const auto iban = compact<kIbanMaxLength>(candidate);
  if (iban.overflow) return false;
  return iban_compact_is_valid(iban.view());
}

// -----------------------------------------------------------------------------------------------
// Registry.

const std::vector<ValidatorInfo>& validators() {
  static const std::vector<ValidatorInfo> kValidators{
      {"nir", "French NIR / INS-NIR / NIA: 15 characters, 2A/2B Corsica, key 97 - (N mod 97)",
       validate_nir, {}},
      {"luhn", "Luhn (mod 10) check digit over a digit run", validate_luhn, {}},
      {"siren", "French SIREN: 9 digits, Luhn", validate_siren, {}},
      {"siret", "French SIRET: 14 digits, Luhn (La Poste digit-sum rule), SIREN part valid",
       validate_siret, {}},
      {"iban", "IBAN (ISO 13616): registry country, BBAN structure and length, mod 97 == 1",
       validate_iban, {}},
      {"fr_iban", "French/Monegasque IBAN (27 chars) with a valid RIB key", validate_fr_iban, {}},
  };
  return kValidators;
}

const ValidatorInfo* find_validator(std::string_view name) {
  for (const auto& info : validators()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace gatekeeper::detect

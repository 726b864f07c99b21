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
long long int_param(const ValidationInput& in, std::string_view name, long long fallback) {
  const auto& params = params_of(in);
  auto it = params.find(std::string(name));
  if (it == params.end()) return fallback;
  long long value = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return fallback;
  return value;
}

double double_param(const ValidationInput& in, std::string_view name, double fallback) {
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

// Direct index by the two country letters: the lookup is on every IBAN candidate.
const IbanCountry* find_iban_country(std::string_view code) {
  static const auto kIndex = [] {
    std::array<const IbanCountry*, 26 * 26> index{};
    for (const auto& country : kIbanCountries) {
      index[static_cast<std::size_t>((country.code[0] - 'A') * 26 + (country.code[1] - 'A'))] =
          &country;
    }
    return index;
  }();
  if (code.size() != 2 || !is_upper(code[0]) || !is_upper(code[1])) return nullptr;
  return kIndex[static_cast<std::size_t>((code[0] - 'A') * 26 + (code[1] - 'A'))];
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

// ISO 7064 mod 97-10 over the rearranged IBAN, letters expanded to two digits. The running value
// is reduced only when it nears 64 bits, so no big integer and few divisions are needed.
unsigned iban_mod97(std::string_view iban) {
  constexpr std::uint64_t kReduceAbove = 100'000'000'000'000'000ULL;  // 10^17: room for 2 digits
  std::uint64_t value = 0;
  auto feed = [&value](char c) {
    if (is_digit(c)) {
      value = value * 10 + static_cast<std::uint64_t>(c - '0');
    } else {
      value = value * 100 + static_cast<std::uint64_t>(c - 'A' + 10);
    }
    if (value >= kReduceAbove) value %= 97;
  };
  for (char c : iban.substr(4)) feed(c);
  for (char c : iban.substr(0, 4)) feed(c);
  return static_cast<unsigned>(value % 97);
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

// ---------------------------------------------------------------------------------------------
// JWT: base64url parts, header and payload JSON objects.

int base64url_value(char c) {
  if (is_upper(c)) return c - 'A';
  if (is_lower(c)) return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Decodes unpadded or '='-padded base64url; false on any other character or an impossible length.
bool base64url_decode(std::string_view in, std::string& out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.empty() || in.size() % 4 == 1) return false;
  out.clear();
  out.reserve(in.size() * 3 / 4);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (char c : in) {
    const int value = base64url_value(c);
    if (value < 0) return false;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xFF));
    }
  }
  return true;
}

std::optional<nlohmann::json> parse_json_object(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

// ---------------------------------------------------------------------------------------------
// Dates.

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
};

struct MonthName {
  std::string_view name;
  int month;
};

// French and English names and their usual abbreviations, accents already folded.
constexpr MonthName kMonthNames[] = {
    {"janvier", 1},   {"janv", 1},    {"january", 1},  {"jan", 1},
    {"fevrier", 2},   {"fevr", 2},    {"fev", 2},      {"february", 2}, {"feb", 2},
    {"mars", 3},      {"march", 3},   {"mar", 3},
    {"avril", 4},     {"avr", 4},     {"april", 4},    {"apr", 4},
    {"mai", 5},       {"may", 5},
    {"juin", 6},      {"june", 6},    {"jun", 6},
    {"juillet", 7},   {"juil", 7},    {"july", 7},     {"jul", 7},
    {"aout", 8},      {"august", 8},  {"aug", 8},
    {"septembre", 9}, {"september", 9}, {"sept", 9},   {"sep", 9},
    {"octobre", 10},  {"october", 10}, {"oct", 10},
    {"novembre", 11}, {"november", 11}, {"nov", 11},
    {"decembre", 12}, {"december", 12}, {"dec", 12},
};

int month_from_name(std::string_view word) {
  for (const auto& entry : kMonthNames) {
    if (entry.name == word) return entry.month;
  }
  return 0;
}

struct DateToken {
  enum class Kind { Number, Word, Separator } kind;
  std::string text;  // digits, folded lower-case letters, or the separator character
};

// Two-byte UTF-8 Latin-1 letters that occur in French month names, folded to ASCII.
char fold_latin1(unsigned char second) {
  switch (second) {
    case 0xA8: case 0xA9: case 0xAA: case 0xAB: case 0x88: case 0x89: case 0x8A: case 0x8B:
      return 'e';
    case 0xB9: case 0xBA: case 0xBB: case 0xBC: case 0x99: case 0x9A: case 0x9B: case 0x9C:
      return 'u';
    case 0xA0: case 0xA2: case 0x80: case 0x82:
      return 'a';
    case 0xB4: case 0x94:
      return 'o';
    case 0xAE: case 0xAF: case 0x8E: case 0x8F:
      return 'i';
    case 0xA7: case 0x87:
      return 'c';
    default:
      return 0;
  }
}

constexpr std::size_t kMaxDateLength = 64;

bool tokenize_date(std::string_view s, std::vector<DateToken>& tokens) {
  if (s.size() > kMaxDateLength) return false;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (is_digit(c)) {
      std::size_t j = i;
      while (j < s.size() && is_digit(s[j])) ++j;
      if (j - i > 4) return false;
      tokens.push_back({DateToken::Kind::Number, std::string(s.substr(i, j - i))});
      i = j;
    } else if (is_alpha(c) || static_cast<unsigned char>(c) == 0xC3) {
      std::string word;
      while (i < s.size()) {
        if (is_alpha(s[i])) {
          word += to_lower(s[i++]);
        } else if (static_cast<unsigned char>(s[i]) == 0xC3 && i + 1 < s.size()) {
          const char folded = fold_latin1(static_cast<unsigned char>(s[i + 1]));
          if (folded == 0) return false;
          word += folded;
          i += 2;
        } else {
          break;
        }
      }
      if (word.empty()) return false;
      tokens.push_back({DateToken::Kind::Word, std::move(word)});
    } else if (c == '/' || c == '-' || c == '.' || c == ',' || c == ' ' || c == '\t') {
      tokens.push_back({DateToken::Kind::Separator, std::string(1, c)});
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

int to_int(const std::string& digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

std::optional<Date> parse_date(std::string_view candidate) {
  std::vector<DateToken> tokens;
  if (!tokenize_date(candidate, tokens)) return std::nullopt;
  // Trim surrounding blanks.
  while (!tokens.empty() && tokens.back().kind == DateToken::Kind::Separator &&
         (tokens.back().text == " " || tokens.back().text == "\t")) {
    tokens.pop_back();
  }
  std::size_t first = 0;
  while (first < tokens.size() && tokens[first].kind == DateToken::Kind::Separator &&
         (tokens[first].text == " " || tokens[first].text == "\t")) {
    ++first;
  }
  tokens.erase(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(first));

  using Kind = DateToken::Kind;
  // Numeric forms: dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd (one separator kind).
  if (tokens.size() == 5 && tokens[0].kind == Kind::Number && tokens[2].kind == Kind::Number &&
      tokens[4].kind == Kind::Number && tokens[1].kind == Kind::Separator &&
      tokens[1].text == tokens[3].text &&
      (tokens[1].text == "/" || tokens[1].text == "-" || tokens[1].text == ".")) {
    const auto& a = tokens[0].text;
    const auto& b = tokens[2].text;
    const auto& c = tokens[4].text;
    if (a.size() == 4 && b.size() <= 2 && c.size() <= 2) return Date{to_int(a), to_int(b), to_int(c)};
    if (a.size() <= 2 && b.size() <= 2 && c.size() == 4) return Date{to_int(c), to_int(b), to_int(a)};
    return std::nullopt;
  }
  // Written forms: "12 mars 1980", "1er janvier 2000", "March 12, 1980", "12th March 1980".
  std::vector<const DateToken*> words;
  for (const auto& token : tokens) {
    if (token.kind == Kind::Separator) continue;
    if (token.kind == Kind::Word &&
        (token.text == "er" || token.text == "st" || token.text == "nd" || token.text == "rd" ||
         token.text == "th")) {
      if (words.empty() || words.back()->kind != Kind::Number) return std::nullopt;
      continue;
    }
    words.push_back(&token);
  }
  if (words.size() != 3) return std::nullopt;
  const DateToken* day = nullptr;
  const DateToken* month = nullptr;
  if (words[0]->kind == Kind::Number && words[1]->kind == Kind::Word) {
    day = words[0];
    month = words[1];
  } else if (words[0]->kind == Kind::Word && words[1]->kind == Kind::Number) {
    month = words[0];
    day = words[1];
  } else {
    return std::nullopt;
  }
  const DateToken* year = words[2];
  if (year->kind != Kind::Number || year->text.size() != 4 || day->text.size() > 2) {
    return std::nullopt;
  }
  const int month_number = month_from_name(month->text);
  if (month_number == 0) return std::nullopt;
  return Date{to_int(year->text), month_number, to_int(day->text)};
}

int current_year() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return utc.tm_year + 1900;
}

// ---------------------------------------------------------------------------------------------
// Placeholders (detect-secrets style false positives).

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Substrings that only appear in documentation, templates or masked values.
constexpr std::string_view kPlaceholderMarkers[] = {
    "dummy",    "redacted",    "example",     "changeme",   "change_me",  "change-me",
    "placeholder", "your_",    "your-",       "yourapikey", "yourtoken",  "yoursecret",
    "yourpassword", "not_real", "notreal",    "not-real",   "fake",       "sample",
    "xxxx",     "****",        "....",        "{{",         "}}",         "${",
    "{%",       "%(",          "$(",          "<%",         "process.env", "os.environ",
    "getenv(",  "secrets.",    "vault:",      "insert_",    "insert-",    "replace_me",
    "replaceme", "masked",     "hidden",      "obfuscated", "anonymized", "anonymised",
};

// Whole values (letters only, digits and punctuation removed) that are words, not secrets.
constexpr std::string_view kPlaceholderWords[] = {
    "none",     "null",     "nil",     "undefined", "true",     "false",   "empty",
    "todo",     "tbd",      "na",      "password",  "passwd",   "pass",    "pwd",
    "secret",   "token",    "apikey",  "key",       "test",     "testing", "tests",
    "admin",    "root",     "default", "value",     "string",   "motdepasse", "mdp",
    "changeit", "letmein",  "qwerty",  "azerty",    "welcome",  "user",    "username",
    "login",    "foo",      "bar",     "foobar",    "abc",      "demo",    "temp",
};

bool is_sequential(std::string_view s) {
  if (s.size() < 3) return false;
  bool ascending = true;
  bool descending = true;
  for (std::size_t i = 1; i < s.size(); ++i) {
    ascending = ascending && s[i] == s[i - 1] + 1;
    descending = descending && s[i] == s[i - 1] - 1;
  }
  return ascending || descending;
}

// "$API_KEY", "${...}" (caught as a marker) or "%API_KEY%": the value names a variable.
bool is_variable_reference(std::string_view s) {
  auto is_identifier = [](std::string_view name) {
    return !name.empty() && !is_digit(name.front()) &&
           std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
  };
  if (s.front() == '$') return is_identifier(s.substr(1));
  if (s.size() >= 3 && s.front() == '%' && s.back() == '%') {
    return is_identifier(s.substr(1, s.size() - 2));
  }
  return false;
}

bool looks_like_placeholder(std::string_view value) {
  const std::string lower = ascii_lower(value);
  if (lower.front() == '<' && lower.back() == '>') return true;
  if (is_variable_reference(lower)) return true;
  if (std::none_of(lower.begin(), lower.end(), is_alnum)) return true;
  for (std::string_view marker : kPlaceholderMarkers) {
    if (contains(lower, marker)) return true;
  }
  std::string letters;
  for (char c : lower) {
    if (is_lower(c)) letters += c;
  }
  for (std::string_view word : kPlaceholderWords) {
    if (letters == word) return true;
    // "testtest", "passwordpassword"
    if (!word.empty() && letters.size() == 2 * word.size() &&
        letters.compare(0, word.size(), word) == 0 &&
        letters.compare(word.size(), word.size(), word) == 0) {
      return true;
    }
  }
  if (std::all_of(lower.begin(), lower.end(), [&](char c) { return c == lower.front(); })) {
    return true;
  }
  return is_sequential(lower);
}

std::string_view trim_quotes(std::string_view s) {
  auto is_trim = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' || c == '`';
  };
  while (!s.empty() && is_trim(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_trim(s.back())) s.remove_suffix(1);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Delimited tables.

constexpr char kTableDelimiters[] = {',', ';', '\t', '|'};

// Delimiters outside double-quoted fields.
std::size_t count_delimiters(std::string_view line, char delimiter) {
  std::size_t count = 0;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == delimiter && !quoted) {
      ++count;
    }
  }
  return count;
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// ---------------------------------------------------------------------------------------------
// Phone numbers and e-mail addresses.

bool is_phone_separator(char c) {
  return is_separator(c) || c == '/' || c == '(' || c == ')';
}

constexpr std::size_t kMaxEmailLength = 254;
constexpr std::size_t kMaxLocalPartLength = 64;
constexpr std::size_t kMaxLabelLength = 63;

bool is_local_char(char c) {
  if (is_alnum(c)) return true;
  constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~.-";
  return kSpecials.find(c) != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Validator adaptors for the non-checksum validators.

bool validate_jwt(const ValidationInput& in) { return jwt_is_valid(in.candidate); }

bool validate_date(const ValidationInput& in) {
  const auto date = parse_date(in.candidate);
  if (!date) return false;
  const long long min_year = int_param(in, "min_year", 1900);
  const long long max_year = int_param(in, "max_year", current_year());
  if (date->year < min_year || date->year > max_year) return false;
  return date_is_valid(date->year, date->month, date->day);
}

bool validate_not_placeholder(const ValidationInput& in) {
  const std::string_view value = trim_quotes(in.candidate);
  const long long min_length = int_param(in, "min_length", 8);
  if (value.empty() || static_cast<long long>(value.size()) < min_length) return false;
  return !looks_like_placeholder(value);
}

bool validate_entropy(const ValidationInput& in) {
  const std::string_view value = in.candidate;
  const long long min_length = int_param(in, "min_length", 16);
  if (value.empty() || static_cast<long long>(value.size()) < min_length) return false;
  std::array<std::size_t, 256> counts{};
  for (char c : value) ++counts[static_cast<unsigned char>(c)];
  const double size = static_cast<double>(value.size());
  double bits = 0.0;
  for (std::size_t count : counts) {
    if (count == 0) continue;
    const double p = static_cast<double>(count) / size;
    bits -= p * std::log2(p);
  }
  return bits >= double_param(in, "min_bits_per_char", 3.0);
}

bool validate_delimited_table(const ValidationInput& in) {
  const std::string_view header = strip_cr(in.candidate);
  const long long min_rows = int_param(in, "min_rows", 2);
  const long long min_columns = int_param(in, "min_columns", 3);
  char delimiter = 0;
  std::size_t delimiters = 0;
  for (char candidate : kTableDelimiters) {
    const std::size_t count = count_delimiters(header, candidate);
    if (count > delimiters) {
      delimiter = candidate;
      delimiters = count;
    }
  }
  if (delimiter == 0 || static_cast<long long>(delimiters + 1) < min_columns) return false;
  if (min_rows <= 0) return true;

  const std::string_view text = in.text;
  if (in.end > text.size()) return false;
  // Rows start on the line after the header, whether or not the match took the newline.
  std::size_t pos = in.end;
  if (pos == 0 || text[pos - 1] != '\n') {
    pos = text.find('\n', pos);
    if (pos == std::string_view::npos) return false;
    ++pos;
  }
  long long rows = 0;
  while (pos < text.size() && rows < min_rows) {
    std::size_t line_end = text.find('\n', pos);
    if (line_end == std::string_view::npos) line_end = text.size();
    const std::string_view line = strip_cr(text.substr(pos, line_end - pos));
    if (line.empty() || count_delimiters(line, delimiter) != delimiters) break;
    ++rows;
    pos = line_end + 1;
  }
  return rows >= min_rows;
}

bool validate_rpps(const ValidationInput& in) {
  // Format only: no authoritative check digit is published, so a failed Luhn never rejects.
  const auto rpps = compact<12>(in.candidate);
  if (rpps.overflow || !all_digits(rpps.view())) return false;
  std::string_view digits = rpps.view();
  if (digits.size() == 12 && digits.front() == '8') digits.remove_prefix(1);  // IDNPS form
  return digits.size() == 11;
}

bool validate_phone_fr(const ValidationInput& in) {
  std::array<char, 24> buffer{};
  std::size_t size = 0;
  for (std::size_t i = 0; i < in.candidate.size(); ++i) {
    const char c = in.candidate[i];
    if (is_phone_separator(c)) continue;
    if (!is_digit(c) && !(c == '+' && size == 0)) return false;
    if (size == buffer.size()) return false;
    buffer[size++] = c;
  }
  std::string_view number(buffer.data(), size);
  std::string_view rest;
  if (number.substr(0, 3) == "+33") {
    rest = number.substr(3);
  } else if (number.substr(0, 4) == "0033") {
    rest = number.substr(4);
  } else if (number.size() == 10 && number.front() == '0') {
    rest = number.substr(1);
  } else {
    return false;
  }
  // "+33 (0)6 ..." keeps the trunk zero once the parentheses are gone.
  if (rest.size() == 10 && rest.front() == '0') rest.remove_prefix(1);
  if (rest.size() != 9 || rest.front() == '0' || !all_digits(rest)) return false;
  // Obvious fakes: 06 00 00 00 00, 06 12 34 56 78, 01 23 45 67 89.
  const std::string_view subscriber = rest.substr(1);
  if (std::all_of(subscriber.begin(), subscriber.end(),
                  [&](char c) { return c == subscriber.front(); })) {
    return false;
  }
  return !is_sequential(subscriber);
}

bool validate_email(const ValidationInput& in) {
  const std::string_view email = in.candidate;
  if (email.size() > kMaxEmailLength) return false;
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view local = email.substr(0, at);
  const std::string_view domain = email.substr(at + 1);
  if (local.empty() || local.size() > kMaxLocalPartLength) return false;
  if (local.front() == '.' || local.back() == '.' || contains(local, "..")) return false;
  if (!std::all_of(local.begin(), local.end(), is_local_char)) return false;

  std::size_t labels = 0;
  std::string_view last_label;
  std::size_t pos = 0;
  while (true) {
    const std::size_t dot = domain.find('.', pos);
    const std::string_view label =
        domain.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_alnum(c) && c != '-') return false;
    }
    ++labels;
    last_label = label;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (labels < 2 || last_label.size() < 2 || last_label.size() > 24) return false;
  return std::all_of(last_label.begin(), last_label.end(), is_alpha);
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

bool jwt_is_valid(std::string_view token) {
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return false;
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return false;
  if (token.find('.', second_dot + 1) != std::string_view::npos) return false;
  const std::string_view header = token.substr(0, first_dot);
  const std::string_view payload = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature = token.substr(second_dot + 1);
  // An unsecured token ("alg": "none") has an empty signature; otherwise it is base64url too.
  for (char c : signature) {
    if (base64url_value(c) < 0 && c != '=') return false;
  }
  std::string decoded;
  if (!base64url_decode(header, decoded)) return false;
  const auto header_json = parse_json_object(decoded);
  if (!header_json || !header_json->contains("alg") || !(*header_json)["alg"].is_string()) {
    return false;
  }
  if (!base64url_decode(payload, decoded)) return false;
  return parse_json_object(decoded).has_value();
}

bool date_is_valid(int year, int month, int day) {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int days = month == 2 && leap ? 29 : kDaysInMonth[month - 1];
  return day <= days;
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
      {"jwt", "JSON Web Token: base64url header (with \"alg\") and payload decode to JSON objects",
       validate_jwt, {}},
      {"date",
       "calendar date (dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd, \"12 mars 1980\", "
       "\"March 12, 1980\") within [min_year (1900), max_year (this year)]",
       validate_date, {"min_year", "max_year"}},
      {"not_placeholder",
       "rejects placeholder secrets (dummy, redacted, changeme, <password>, {{...}}, ${...}, "
       "xxxx...) and values shorter than min_length (8)",
       validate_not_placeholder, {"min_length"}},
      {"entropy",
       "Shannon entropy >= min_bits_per_char (3.0) and length >= min_length (16)",
       validate_entropy, {"min_bits_per_char", "min_length"}},
      {"delimited_table",
       "header line with >= min_columns (3) fields followed by >= min_rows (2) lines with the same "
       "delimiter (, ; tab |) and field count",
       validate_delimited_table, {"min_rows", "min_columns"}},
      {"rpps", "RPPS: 11 digits (IDNPS form 8 + RPPS accepted); format only, no checksum",
       validate_rpps, {}},
      {"phone_fr",
       "French phone number: 0[1-9] + 8 digits or +33/0033 + [1-9] + 8 digits, obvious fakes "
       "rejected",
       validate_phone_fr, {}},
      {"email", "e-mail address: local@domain.tld, TLD of 2-24 letters, no consecutive dots",
       validate_email, {}},
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

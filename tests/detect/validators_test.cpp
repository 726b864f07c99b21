#include "gatekeeper/detect/validators.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace gatekeeper::detect {
namespace {

bool run(std::string_view name, std::string_view candidate, const ValidatorParams& params = {}) {
  const ValidatorInfo* info = find_validator(name);
  EXPECT_NE(info, nullptr) << name;
  if (info == nullptr) return false;
  ValidationInput input;
  input.candidate = candidate;
  input.text = candidate;
  input.start = 0;
  input.end = candidate.size();
  input.params = &params;
  return info->fn(input);
}

std::string strip_spaces(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ') out += c;
  }
  return out;
}

TEST(ValidatorsRegistry, NamesAreUniqueAndDescribed) {
  std::set<std::string_view> names;
  for (const auto& info : validators()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_FALSE(info.description.empty()) << info.name;
    EXPECT_NE(info.fn, nullptr) << info.name;
    EXPECT_EQ(find_validator(info.name), &info);
  }
  for (std::string_view name : {"nir", "luhn", "siren", "siret", "iban", "fr_iban"}) {
    EXPECT_NE(find_validator(name), nullptr) << name;
  }
  EXPECT_EQ(find_validator("no_such_validator"), nullptr);
  EXPECT_EQ(find_validator(""), nullptr);
}

TEST(ValidatorsRegistry, NullParamsPointerIsTolerated) {
  for (const auto& info : validators()) {
    ValidationInput input;
    input.candidate = "1801275123456 42";
    input.text = input.candidate;
    input.end = input.candidate.size();
    input.params = nullptr;
    (void)info.fn(input);
  }
}

TEST(ValidatorsNir, CatalogueVectorsAreValid) {
  for (std::string_view nir : {"1 80 12 75 123 456 42", "2 55 08 14 168 025 38",
                               "1 80 12 2A 123 456 02", "1 80 12 2B 123 456 29"}) {
    EXPECT_TRUE(nir_is_valid(strip_spaces(nir))) << nir;
    EXPECT_TRUE(nir_is_valid(nir)) << nir;  // separators are tolerated
    EXPECT_TRUE(run("nir", strip_spaces(nir))) << nir;
  }
}

TEST(ValidatorsNir, ThirteenPlusTwoFormAndLowerCaseCorsica) {
  EXPECT_TRUE(nir_is_valid("1801275123456 42"));
  EXPECT_TRUE(nir_is_valid("180122a12345602"));
  EXPECT_TRUE(nir_is_valid("1.80.12.2b.123.456-29"));
}

TEST(ValidatorsNir, WrongKeyOrStructureIsRejected) {
  EXPECT_FALSE(nir_is_valid("180127512345643"));   // key off by one
  EXPECT_FALSE(nir_is_valid("180122A12345629"));   // 2B's key on a 2A number
  EXPECT_FALSE(nir_is_valid("180122C12345602"));   // no department 2C
  EXPECT_FALSE(nir_is_valid("18012751234564"));    // 14 characters
  EXPECT_FALSE(nir_is_valid("1801275123456420"));  // 16 characters
  EXPECT_FALSE(nir_is_valid("18012751234564A"));
  // The key is recomputed for each mutated body so only the structural check can reject.
  auto with_key = [](std::string body) {
    unsigned long long n = std::stoull(body);
    const unsigned key = 97 - static_cast<unsigned>(n % 97);
    body += static_cast<char>('0' + key / 10);
    body += static_cast<char>('0' + key % 10);
    return body;
  };
  EXPECT_TRUE(nir_is_valid(with_key("1801275123456")));
  EXPECT_FALSE(nir_is_valid(with_key("5801275123456")));  // sex digit 5
  EXPECT_FALSE(nir_is_valid(with_key("0801275123456")));  // sex digit 0
  EXPECT_FALSE(nir_is_valid(with_key("1800075123456")));  // month 00
  EXPECT_FALSE(nir_is_valid(with_key("1801575123456")));  // month 15
  EXPECT_FALSE(nir_is_valid(with_key("1804575123456")));  // month 45
  EXPECT_TRUE(nir_is_valid(with_key("7802575123456")));   // NIA, pseudo-month 25
  EXPECT_TRUE(nir_is_valid(with_key("2809975123456")));   // pseudo-month 99
  EXPECT_TRUE(nir_is_valid(with_key("2801399123456")));   // born abroad, month 13
}

TEST(ValidatorsLuhn, KnownNumbers) {
  EXPECT_TRUE(luhn_is_valid("79927398713"));
  EXPECT_FALSE(luhn_is_valid("79927398710"));
  EXPECT_TRUE(luhn_is_valid("4539 1488 0343 6467"));
  EXPECT_TRUE(luhn_is_valid("0"));
  EXPECT_FALSE(luhn_is_valid(""));
  EXPECT_FALSE(luhn_is_valid(" - "));
  EXPECT_FALSE(luhn_is_valid("7992739871a"));
  EXPECT_TRUE(run("luhn", "79927398713"));
}

TEST(ValidatorsSiren, CatalogueVectors) {
  EXPECT_TRUE(siren_is_valid("404833048"));
  EXPECT_FALSE(siren_is_valid("404833047"));
  EXPECT_TRUE(siren_is_valid("404 833 048"));
  EXPECT_FALSE(siren_is_valid("4048330480"));
  EXPECT_FALSE(siren_is_valid("40483304"));
  EXPECT_TRUE(run("siren", "404833048"));
  EXPECT_FALSE(run("siren", "404833047"));
}

TEST(ValidatorsSiret, CatalogueVectorsAndLaPoste) {
  EXPECT_TRUE(siret_is_valid("73282932000074"));
  EXPECT_TRUE(siret_is_valid("732 829 320 00074"));
  EXPECT_FALSE(siret_is_valid("73282932000075"));
  EXPECT_FALSE(siret_is_valid("7328293200007"));
  // La Poste head office follows Luhn; its establishments use a digit sum multiple of 5.
  EXPECT_TRUE(siret_is_valid("35600000000048"));
  EXPECT_TRUE(siret_is_valid("35600000049837"));   // digit sum 45
  EXPECT_FALSE(siret_is_valid("35600000049838"));  // digit sum 46
  EXPECT_TRUE(run("siret", "73282932000074"));
}

TEST(ValidatorsIban, CatalogueVectorAndOtherCountries) {
  EXPECT_TRUE(iban_is_valid("FR14 2004 1010 0505 0001 3M02 606"));
  EXPECT_TRUE(iban_is_valid("FR1420041010050500013M02606"));
  EXPECT_TRUE(iban_is_valid("fr1420041010050500013m02606"));
  EXPECT_FALSE(iban_is_valid("FR1520041010050500013M02606"));
  EXPECT_FALSE(iban_is_valid("FR1420041010050500013M0260"));    // one short
  EXPECT_FALSE(iban_is_valid("ZZ1420041010050500013M02606"));   // unknown country
  EXPECT_TRUE(iban_is_valid("DE89 3704 0044 0532 0130 00"));
  EXPECT_TRUE(iban_is_valid("GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(iban_is_valid("BE68 5390 0754 7034"));
  EXPECT_FALSE(iban_is_valid("GB82 WEST 1234 5698 7654 3"));
  EXPECT_TRUE(run("iban", "FR1420041010050500013M02606"));
}

TEST(ValidatorsIban, FrenchRibKey) {
  EXPECT_TRUE(run("fr_iban", "FR1420041010050500013M02606"));
  EXPECT_TRUE(run("fr_iban", "FR14 2004 1010 0505 0001 3M02 606"));
  EXPECT_TRUE(run("fr_iban", "FR76 3000 6000 0112 3456 7890 189"));
  EXPECT_FALSE(run("fr_iban", "DE89370400440532013000"));  // valid IBAN, not French
  EXPECT_FALSE(run("fr_iban", "FR7630006000011234567890188"));  // both checks fail
  // Same IBAN check digits recomputed for a wrong RIB key: the IBAN is valid, the RIB is not.
  std::string wrong_key = "FR0030006000011234567890188";
  for (int check = 0; check < 100; ++check) {
    wrong_key[2] = static_cast<char>('0' + check / 10);
    wrong_key[3] = static_cast<char>('0' + check % 10);
    if (iban_is_valid(wrong_key)) break;
  }
  EXPECT_TRUE(iban_is_valid(wrong_key));
  EXPECT_FALSE(run("fr_iban", wrong_key));
}

// --- JWT ------------------------------------------------------------------------------------------

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (bytes.size() - i == 1) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::string jwt(std::string_view header, std::string_view payload, std::string_view signature) {
  return base64url(header) + "." + base64url(payload) + "." + std::string(signature);
}

TEST(ValidatorsJwt, WellFormedTokensAreAccepted) {
  const std::string token = jwt(R"({"alg":"HS256","typ":"JWT"})",
                                R"({"sub":"1234567890","name":"A B","iat":1516239022})",
                                base64url("not a real signature, only bytes"));
  EXPECT_TRUE(jwt_is_valid(token));
  EXPECT_TRUE(run("jwt", token));
  // Unsecured token: empty signature.
  EXPECT_TRUE(jwt_is_valid(jwt(R"({"alg":"none"})", R"({"a":1})", "")));
  // Every payload length exercises a different base64 tail.
  for (int extra = 0; extra < 6; ++extra) {
    const std::string payload = R"({"k":")" + std::string(static_cast<std::size_t>(extra), 'x') +
                                R"("})";
    EXPECT_TRUE(jwt_is_valid(jwt(R"({"alg":"RS256"})", payload, "c2ln"))) << payload;
  }
}

TEST(ValidatorsJwt, MalformedTokensAreRejected) {
  const std::string header = R"({"alg":"HS256"})";
  EXPECT_FALSE(jwt_is_valid(jwt(R"({"typ":"JWT"})", R"({"a":1})", "c2ln")));  // no alg
  EXPECT_FALSE(jwt_is_valid(jwt(R"({"alg":5})", R"({"a":1})", "c2ln")));      // alg not a string
  EXPECT_FALSE(jwt_is_valid(jwt(header, R"([1,2,3])", "c2ln")));            // payload not object
  EXPECT_FALSE(jwt_is_valid(jwt(header, "not json", "c2ln")));
  EXPECT_FALSE(jwt_is_valid(jwt(R"(["alg"])", R"({"a":1})", "c2ln")));
  EXPECT_FALSE(jwt_is_valid(base64url(header) + "." + base64url(R"({"a":1})")));  // two parts
  EXPECT_FALSE(jwt_is_valid(jwt(header, R"({"a":1})", "c2ln") + ".x"));           // four parts
  EXPECT_FALSE(jwt_is_valid(jwt(header, R"({"a":1})", "si*gn")));
  EXPECT_FALSE(jwt_is_valid("eyJ!!!.eyJ.sig"));
  EXPECT_FALSE(jwt_is_valid(".."));
  EXPECT_FALSE(jwt_is_valid(""));
  EXPECT_FALSE(jwt_is_valid("eyJhbGciOiJIUzI1NiJ9"));
  // Invalid UTF-8 inside a JSON string must not throw.
  EXPECT_FALSE(jwt_is_valid(jwt(header, "{\"a\":\"\xff\xfe\"}", "c2ln")));
  // Deep nesting must not exhaust the stack.
  const std::string deep = R"({"a":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  (void)jwt_is_valid(jwt(header, deep, "c2ln"));
}

// --- Dates ----------------------------------------------------------------------------------------

TEST(ValidatorsDate, CalendarRules) {
  EXPECT_TRUE(date_is_valid(2024, 2, 29));
  EXPECT_FALSE(date_is_valid(2023, 2, 29));
  EXPECT_TRUE(date_is_valid(2000, 2, 29));
  EXPECT_FALSE(date_is_valid(1900, 2, 29));
  EXPECT_FALSE(date_is_valid(2023, 4, 31));
  EXPECT_TRUE(date_is_valid(2023, 12, 31));
  EXPECT_FALSE(date_is_valid(2023, 13, 1));
  EXPECT_FALSE(date_is_valid(2023, 0, 1));
  EXPECT_FALSE(date_is_valid(2023, 1, 0));
}

TEST(ValidatorsDate, NumericAndWrittenForms) {
  EXPECT_TRUE(run("date", "29/02/2024"));
  EXPECT_FALSE(run("date", "29/02/2023"));
  EXPECT_TRUE(run("date", "12-03-1980"));
  EXPECT_TRUE(run("date", "12.03.1980"));
  EXPECT_TRUE(run("date", "1980-03-12"));
  EXPECT_TRUE(run("date", "1/3/1980"));
  EXPECT_FALSE(run("date", "12/13/1980"));   // month 13
  EXPECT_FALSE(run("date", "31/04/1980"));
  EXPECT_FALSE(run("date", "12/03-1980"));   // mixed separators
  EXPECT_FALSE(run("date", "12/03/80"));     // two-digit year
  EXPECT_TRUE(run("date", "12 mars 1980"));
  EXPECT_TRUE(run("date", "1er janvier 2000"));
  EXPECT_TRUE(run("date", "29 février 2024"));
  EXPECT_TRUE(run("date", "15 AOÛT 1995"));
  EXPECT_TRUE(run("date", "15 aout 1995"));
  EXPECT_FALSE(run("date", "30 fevrier 2024"));
  EXPECT_TRUE(run("date", "March 12, 1980"));
  EXPECT_TRUE(run("date", "march 12th, 1980"));
  EXPECT_TRUE(run("date", "12 Sept. 1980"));
  EXPECT_FALSE(run("date", "12 brumaire 1980"));
  EXPECT_FALSE(run("date", "mars 1980"));
}

TEST(ValidatorsDate, PlausibleYearRange) {
  EXPECT_FALSE(run("date", "01/01/1899"));
  EXPECT_TRUE(run("date", "01/01/1900"));
  EXPECT_FALSE(run("date", "01/01/9999"));
  EXPECT_TRUE(run("date", "01/01/1850", {{"min_year", "1800"}}));
  EXPECT_FALSE(run("date", "01/01/2001", {{"max_year", "2000"}}));
  EXPECT_TRUE(run("date", "01/01/1901", {{"min_year", "not a number"}}));  // default kept
}

// --- Placeholders and entropy ---------------------------------------------------------------------

TEST(ValidatorsNotPlaceholder, PlaceholdersAreRejected) {
  for (std::string_view value :
       {"dummy_password", "REDACTED", "[redacted-value]", "test", "testtest", "Test1234!",
        "example-key-123", "changeme", "ChangeMe123", "xxxxxxxxxxxx", "XXXX-XXXX-XXXX", "<password>",
        "<your-api-key>", "{{ api_key }}", "${API_KEY}", "$API_KEY", "%API_KEY%", "None", "null",
        "********", "your_api_key", "YOUR_API_KEY_HERE", "sk-xxxxxxxxxxxxxxxx", "password123",
        "\"password\"", "12345678", "abcdefgh", "aaaaaaaaaa", "not_real_key", "placeholder",
        "os.environ['KEY']", "process.env.API_KEY", "--------", "short"}) {
    EXPECT_FALSE(run("not_placeholder", value)) << value;
  }
}

TEST(ValidatorsNotPlaceholder, RealLookingSecretsPass) {
  for (std::string_view value :
       {"hZ7q2LmX9vRt4KpW", "Tr0ub4dor&3xK!", "ghp_4fJ8kLq2ZxV9mNp3RsT7wYb1", "48213975",
        "AKIAQ3EGZP5Y7WK2MNRD", "s3cr3t-Bq9#Lw2!"}) {
    EXPECT_TRUE(run("not_placeholder", value)) << value;
  }
  EXPECT_FALSE(run("not_placeholder", "hZ7q2LmX9v", {{"min_length", "12"}}));
  EXPECT_TRUE(run("not_placeholder", "hZ7q", {{"min_length", "4"}}));
}

TEST(ValidatorsEntropy, ThresholdAndLength) {
  EXPECT_TRUE(run("entropy", "hZ7q2LmX9vRt4KpW"));           // 16 distinct: 4 bits/char
  EXPECT_FALSE(run("entropy", "aaaaaaaaaaaaaaaaaaaa"));       // 0 bits
  EXPECT_FALSE(run("entropy", "abababababababababab"));       // 1 bit
  EXPECT_FALSE(run("entropy", "hZ7q2LmX9v"));                 // too short by default
  EXPECT_TRUE(run("entropy", "hZ7q2LmX9v", {{"min_length", "8"}}));
  EXPECT_FALSE(run("entropy", "hZ7q2LmX9vRt4KpW", {{"min_bits_per_char", "4.5"}}));
  EXPECT_TRUE(run("entropy", "abcdabcdabcdabcd", {{"min_bits_per_char", "2"}}));  // exactly 2
  EXPECT_FALSE(run("entropy", "abcdabcdabcdabcd", {{"min_bits_per_char", "2.01"}}));
}

// --- Delimited tables -----------------------------------------------------------------------------

bool table(std::string_view text, std::string_view header, const ValidatorParams& params = {}) {
  const ValidatorInfo* info = find_validator("delimited_table");
  EXPECT_NE(info, nullptr);
  if (info == nullptr) return false;
  const std::size_t start = text.find(header);
  EXPECT_NE(start, std::string_view::npos);
  ValidationInput input;
  input.candidate = header;
  input.text = text;
  input.start = start;
  input.end = start + header.size();
  input.params = &params;
  return info->fn(input);
}

TEST(ValidatorsDelimitedTable, RowsWithTheHeaderShapeAreATable) {
  const std::string csv = "voici le fichier\nnom,age,diagnostic\nA,54,diabete\nB,61,\"asthme, severe\"\n";
  EXPECT_TRUE(table(csv, "nom,age,diagnostic"));
  EXPECT_TRUE(table("id;sexe;age;code\r\n1;F;34;E11\r\n2;M;51;I10\r\n", "id;sexe;age;code"));
  EXPECT_TRUE(table("id\tsexe\tage\n1\tF\t34\n2\tM\t51", "id\tsexe\tage"));
  EXPECT_TRUE(table("| id | sexe | age |\n|---|---|---|\n| 1 | F | 34 |\n", "| id | sexe | age |"));
  // The match may end before the newline or include it.
  EXPECT_TRUE(table(csv, "nom,age,diagnostic\n"));
}

TEST(ValidatorsDelimitedTable, TooFewRowsColumnsOrMismatchedShapes) {
  EXPECT_FALSE(table("nom,age,diagnostic\nA,54,diabete\n", "nom,age,diagnostic"));  // 1 row
  EXPECT_FALSE(table("nom,age\nA,54\nB,61\n", "nom,age"));                          // 2 columns
  EXPECT_TRUE(table("nom,age\nA,54\nB,61\n", "nom,age", {{"min_columns", "2"}}));
  EXPECT_FALSE(table("a,b,c\n1,2\n3,4\n", "a,b,c"));                                 // shape differs
  EXPECT_FALSE(table("a,b,c\n1;2;3\n4;5;6\n", "a,b,c"));                             // delimiter differs
  EXPECT_FALSE(table("a,b,c\n\n1,2,3\n4,5,6\n", "a,b,c"));                           // blank line
  EXPECT_FALSE(table("a,b,c\n1,2,3\n4,5,6\n", "a,b,c", {{"min_rows", "3"}}));
  EXPECT_FALSE(table("a,b,c", "a,b,c"));                                             // end of text
  EXPECT_FALSE(table("un texte sans séparateur\nx\ny\n", "un texte sans séparateur"));
}

TEST(ValidatorsDelimitedTable, OutOfRangeSpanIsRejected) {
  const ValidatorInfo* info = find_validator("delimited_table");
  ASSERT_NE(info, nullptr);
  const ValidatorParams params;
  ValidationInput input;
  input.candidate = "a,b,c";
  input.text = "a,b,c";
  input.start = 0;
  input.end = 1000;
  input.params = &params;
  EXPECT_FALSE(info->fn(input));
}

// --- RPPS, phone, e-mail --------------------------------------------------------------------------

TEST(ValidatorsRpps, FormatOnly) {
  EXPECT_TRUE(run("rpps", "10005173140"));
  EXPECT_TRUE(run("rpps", "10005173141"));   // a failed Luhn never rejects
  EXPECT_TRUE(run("rpps", "810005173140"));  // IDNPS form
  EXPECT_FALSE(run("rpps", "910005173140"));
  EXPECT_FALSE(run("rpps", "1000517314"));
  EXPECT_FALSE(run("rpps", "1000517314a"));
  EXPECT_TRUE(run("rpps", "100 051 731 40"));
}

TEST(ValidatorsPhoneFr, NationalAndInternationalForms) {
  for (std::string_view phone : {"0145678923", "01 45 67 89 23", "06.71.82.93.04", "07-71-82-93-04",
                                 "+33 6 71 82 93 04", "+33671829304", "0033 1 45 67 89 23",
                                 "+33 (0)1 45 67 89 23"}) {
    EXPECT_TRUE(run("phone_fr", phone)) << phone;
  }
  for (std::string_view phone :
       {"0045678923", "145678923", "01456789231", "+34671829304", "+3306718293", "0666666666",
        "0600000000", "0123456789", "0612345678", "06 12 34 56 78", "+33 0 0 0", "06-71-82-93-0x",
        "++33671829304"}) {
    EXPECT_FALSE(run("phone_fr", phone)) << phone;
  }
}

TEST(ValidatorsEmail, Structure) {
  for (std::string_view email : {"jean.dupont@inserm.fr", "a+tag@sub.example.org", "x_y@a-b.co",
                                 "prenom.nom@chu-lille.fr"}) {
    EXPECT_TRUE(run("email", email)) << email;
  }
  for (std::string_view email :
       {"jean..dupont@inserm.fr", ".jean@inserm.fr", "jean.@inserm.fr", "jean@inserm", "@inserm.fr",
        "jean@", "jean@@inserm.fr", "jean@inserm..fr", "jean@-inserm.fr", "jean@inserm.f",
        "jean@inserm.f1", "jean@inserm.abcdefghijklmnopqrstuvwxyz", "jean dupont@inserm.fr",
        "jean@inser m.fr", "jean@.inserm.fr"}) {
    EXPECT_FALSE(run("email", email)) << email;
  }
}

// --- Hostile inputs -------------------------------------------------------------------------------

TEST(ValidatorsHostile, NoValidatorCrashesOnHostileInput) {
  std::vector<std::string> inputs = {
      "",
      std::string(1, '\0'),
      std::string("1801275\0" "12345642", 15),
      std::string("FR14\0" "2004101005050001", 20),
      "\xff\xfe\xfd",
      "\xc3",                       // truncated UTF-8
      "12 f\xc3vrier 1980",         // broken accent
      "🙂🙂🙂🙂🙂🙂🙂🙂",
      "ÉÈÀ,ÇÔ,Û\nÉ,È,À\n",
      std::string(1 << 20, '9'),
      std::string(1 << 20, 'A'),
      std::string(1 << 16, '.'),
      std::string(1 << 16, ','),
      std::string(1 << 16, '\n'),
      "....",
      "a.b.c.d",
      "@@@",
      "+",
      "+33",
      "%",
      "$",
      "<",
      "{{",
  };
  const ValidatorParams empty;
  const ValidatorParams hostile_params = {{"min_length", "-5"},
                                          {"min_rows", "999999999999999999999"},
                                          {"min_columns", "0"},
                                          {"min_bits_per_char", "nan"},
                                          {"min_year", ""},
                                          {"max_year", "1e9"}};
  for (const auto& info : validators()) {
    for (const auto& text : inputs) {
      for (const ValidatorParams* params : {&empty, &hostile_params}) {
        ValidationInput input;
        input.candidate = text;
        input.text = text;
        input.start = 0;
        input.end = text.size();
        input.params = params;
        (void)info.fn(input);
        input.end = text.size() / 2;
        input.candidate = std::string_view(text).substr(0, input.end);
        (void)info.fn(input);
      }
    }
  }
  EXPECT_FALSE(nir_is_valid(std::string(1 << 20, '1')));
  EXPECT_FALSE(iban_is_valid(std::string(1 << 20, '1')));
  EXPECT_FALSE(siret_is_valid(std::string(1 << 20, '1')));
  EXPECT_FALSE(luhn_is_valid(std::string(1 << 20, 'x')));
  EXPECT_FALSE(jwt_is_valid(std::string(1 << 20, '.')));
  EXPECT_FALSE(nir_is_valid(std::string("180127512345642\0", 16)));
}

}  // namespace
}  // namespace gatekeeper::detect

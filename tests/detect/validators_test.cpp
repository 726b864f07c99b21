#include "gatekeeper/detect/validators.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

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
  EXPECT_FALSE(run("fr_iban", "DE89370400440532013000"));  // valid IBAN, not French
}

}  // namespace
}  // namespace gatekeeper::detect

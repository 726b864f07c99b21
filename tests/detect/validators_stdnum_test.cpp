// Cross-check of the identifier validators against python-stdnum, the reference implementation.
// tests/tools/stdnum_vectors.py generates the numbers and stdnum decides their validity; every
// single one must get the same answer from the C++ validator. A missing python3 or stdnum is a test
// failure, not a skip: `make test` installs python3-stdnum.

#include "gatekeeper/detect/validators.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gatekeeper::detect {
namespace {

struct Vector {
  std::string kind;
  std::string value;
  bool valid = false;
};

// The Debian package python3-stdnum installs for the system interpreter, which a pyenv or venv
// python3 earlier on PATH can shadow: try each and keep the first that imports stdnum.
std::optional<std::string> python_with_stdnum() {
  std::vector<std::string> candidates;
  if (const char* configured = std::getenv("GATEKEEPER_PYTHON")) candidates.emplace_back(configured);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const auto& python : candidates) {
    const std::string probe = python + " -c 'import stdnum' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return python;
  }
  return std::nullopt;
}

struct VectorRun {
  std::vector<Vector> vectors;
  std::string error;
};

VectorRun load_vectors() {
  VectorRun run;
  const auto python = python_with_stdnum();
  if (!python) {
    run.error = "python3 with python-stdnum is required for this test and was not found "
                "(tried $GATEKEEPER_PYTHON, python3, /usr/bin/python3): install python3-stdnum "
                "(`make test` does it)";
    return run;
  }
  const std::string command = *python + " " GATEKEEPER_TEST_DIR "/tools/stdnum_vectors.py";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    run.error = "could not start: " + command;
    return run;
  }
  std::string line;
  char buffer[4096];
  std::size_t line_number = 0;
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
    line += buffer;
    if (line.empty() || line.back() != '\n') continue;
    ++line_number;
    const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    line.clear();
    if (json.is_discarded() || !json.is_object() || !json.contains("kind") ||
        !json["kind"].is_string() || !json.contains("value") || !json["value"].is_string() ||
        !json.contains("valid") || !json["valid"].is_boolean()) {
      run.error = "malformed generator output at line " + std::to_string(line_number);
      break;
    }
    run.vectors.push_back(Vector{json["kind"].get<std::string>(),
                                 json["value"].get<std::string>(), json["valid"].get<bool>()});
  }
  const int status = pclose(pipe);
  if (run.error.empty() && status != 0) {
    run.error = "generator `" + command + "` failed with status " + std::to_string(status) +
                " (see its message above)";
  }
  return run;
}

const VectorRun& vectors() {
  static const VectorRun kRun = load_vectors();
  return kRun;
}

bool registry_says(std::string_view kind, std::string_view value) {
  const ValidatorInfo* info = find_validator(kind);
  if (info == nullptr) return false;
  const ValidatorParams params;
  ValidationInput input;
  input.candidate = value;
  input.text = value;
  input.end = value.size();
  input.params = &params;
  return info->fn(input);
}

bool function_says(std::string_view kind, std::string_view value) {
  if (kind == "nir") return nir_is_valid(value);
  if (kind == "siren") return siren_is_valid(value);
  if (kind == "siret") return siret_is_valid(value);
  if (kind == "iban") return iban_is_valid(value);
  return luhn_is_valid(value);
}

void check_kind(const std::string& kind) {
  const VectorRun& run = vectors();
  ASSERT_TRUE(run.error.empty()) << run.error;
  ASSERT_NE(find_validator(kind), nullptr) << kind;

  std::size_t total = 0;
  std::size_t valid = 0;
  std::size_t disagreements = 0;
  for (const auto& vector : run.vectors) {
    if (vector.kind != kind) continue;
    ++total;
    if (vector.valid) ++valid;
    const bool by_registry = registry_says(kind, vector.value);
    const bool by_function = function_says(kind, vector.value);
    if (by_registry != vector.valid || by_function != vector.valid) {
      // Synthetic numbers only: printing them is safe and makes a disagreement reproducible.
      if (++disagreements <= 20) {
        ADD_FAILURE() << kind << " \"" << vector.value << "\": stdnum says "
                      << (vector.valid ? "valid" : "invalid") << ", registry says "
                      << (by_registry ? "valid" : "invalid") << ", function says "
                      << (by_function ? "valid" : "invalid");
      }
    }
  }
  EXPECT_EQ(disagreements, 0u) << kind << ": disagreements with stdnum out of " << total;
  EXPECT_GE(total, 10000u) << kind;
  EXPECT_GE(valid, 1000u) << kind;
  EXPECT_GE(total - valid, 1000u) << kind;
}

TEST(ValidatorsStdnum, NirAgreesWithStdnum) { check_kind("nir"); }
TEST(ValidatorsStdnum, SirenAgreesWithStdnum) { check_kind("siren"); }
TEST(ValidatorsStdnum, SiretAgreesWithStdnum) { check_kind("siret"); }
TEST(ValidatorsStdnum, IbanAgreesWithStdnum) { check_kind("iban"); }
TEST(ValidatorsStdnum, LuhnAgreesWithStdnum) { check_kind("luhn"); }

TEST(ValidatorsStdnum, CoversCorsicaLaPosteAndForeignIbans) {
  const VectorRun& run = vectors();
  ASSERT_TRUE(run.error.empty()) << run.error;
  std::size_t corsican_valid = 0;
  std::size_t corsican_invalid = 0;
  std::size_t la_poste_valid = 0;
  std::size_t la_poste_invalid = 0;
  std::size_t french_iban_valid = 0;
  std::size_t foreign_iban_valid = 0;
  auto compact = [](const std::string& value) {
    std::string out;
    for (char c : value) {
      if (c != ' ' && c != '.' && c != '-') out += static_cast<char>(std::toupper(c));
    }
    return out;
  };
  for (const auto& vector : run.vectors) {
    const std::string value = compact(vector.value);
    if (vector.kind == "nir" && value.size() == 15) {
      const std::string department = value.substr(5, 2);
      if (department == "2A" || department == "2B") {
        ++(vector.valid ? corsican_valid : corsican_invalid);
      }
    } else if (vector.kind == "siret" && value.rfind("356000000", 0) == 0) {
      ++(vector.valid ? la_poste_valid : la_poste_invalid);
    } else if (vector.kind == "iban" && vector.valid) {
      ++(value.rfind("FR", 0) == 0 ? french_iban_valid : foreign_iban_valid);
    }
  }
  EXPECT_GE(corsican_valid, 100u);
  EXPECT_GE(corsican_invalid, 100u);
  EXPECT_GE(la_poste_valid, 100u);
  EXPECT_GE(la_poste_invalid, 100u);
  EXPECT_GE(french_iban_valid, 100u);
  EXPECT_GE(foreign_iban_valid, 100u);
}

}  // namespace
}  // namespace gatekeeper::detect

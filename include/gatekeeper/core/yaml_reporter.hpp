#pragma once

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gatekeeper {

// Collects diagnostics located at YAML nodes of one file (yaml-cpp marks are 0-based; diagnostics
// are 1-based). Shared by every loader of administrator-written files.
class YamlReporter {
 public:
  YamlReporter(const std::string& file, Diagnostics& diagnostics)
      : file_(file), diagnostics_(diagnostics) {}

  // `id` names the rule, category or platform the problem is in (empty when none).
  void error(const YAML::Mark& mark, std::string message, std::string id = {});
  void warning(const YAML::Mark& mark, std::string message, std::string id = {});
  bool failed() const noexcept { return errors_ > 0; }

  // Parses a whole file that must be a YAML map. Bad YAML is reported at its position
  // (Errc::ConfigSyntax); a valid document of another shape gets `not_a_map` (Errc::ConfigInvalid).
  Result<YAML::Node> load_map(std::string_view yaml, std::string_view not_a_map);

 private:
  void add(Diagnostic::Severity severity, const YAML::Mark& mark, std::string message, std::string id);

  const std::string& file_;
  Diagnostics& diagnostics_;
  int errors_ = 0;
};

// Reads an administrator-written file whole. `what` names it in messages ("policy file"): a
// missing file, a directory or an unreadable file each get a diagnostic saying what to fix.
Result<std::string> read_config_file(const std::filesystem::path& file, std::string_view what,
                                     Diagnostics& diagnostics);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it plausibly is a typo of it (distance at most
// max(2, size/3)); empty otherwise.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace gatekeeper

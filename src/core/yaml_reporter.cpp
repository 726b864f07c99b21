#include "gatekeeper/core/yaml_reporter.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>

namespace gatekeeper {

void YamlReporter::error(const YAML::Mark& mark, std::string message, std::string id) {
  add(Diagnostic::Severity::Error, mark, std::move(message), std::move(id));
}

void YamlReporter::warning(const YAML::Mark& mark, std::string message, std::string id) {
  add(Diagnostic::Severity::Warning, mark, std::move(message), std::move(id));
}

// YAML::Node converts from almost any type, so errors are built with in_place_error.
Result<YAML::Node> YamlReporter::load_map(std::string_view yaml, std::string_view not_a_map) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    error(e.mark, "not valid YAML: " + e.msg);
    return {boost::system::in_place_error, make_error_code(Errc::ConfigSyntax)};
  }
  if (!root.IsMap()) {
    error(root.Mark(), std::string(not_a_map));
    return {boost::system::in_place_error, make_error_code(Errc::ConfigInvalid)};
  }
  return root;
}

void YamlReporter::add(Diagnostic::Severity severity, const YAML::Mark& mark, std::string message,
                       std::string id) {
  Diagnostic d;
  d.severity = severity;
  d.file = file_;
  if (!mark.is_null()) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.rule_id = std::move(id);
  d.message = std::move(message);
  if (severity == Diagnostic::Severity::Error) ++errors_;
  diagnostics_.push_back(std::move(d));
}

Result<std::string> read_config_file(const std::filesystem::path& file, std::string_view what,
                                     Diagnostics& diagnostics) {
  const auto problem = [&](std::string message) {
    Diagnostic d;
    d.file = file.string();
    d.message = std::move(message);
    diagnostics.push_back(std::move(d));
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    const bool missing = !std::filesystem::exists(file, ec);
    problem(missing ? std::string(what) + " not found"
                    : "not a regular file; give the path of the " + std::string(what));
    return missing ? Errc::ConfigNotFound : Errc::ConfigUnreadable;
  }
  std::ifstream in(file, std::ios::binary);
  std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.is_open() || in.bad()) {
    problem(std::string(what) + " cannot be read (check its permissions)");
    return Errc::ConfigUnreadable;
  }
  return content;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return std::string(best);
}

}  // namespace gatekeeper

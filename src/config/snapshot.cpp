#include "gatekeeper/config/settings.hpp"

#include <algorithm>

namespace gatekeeper::config {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> rule_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto extension = it->path().extension();
    if (extension == ".yaml" || extension == ".yml") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<SnapshotConstSharedPtr> load_snapshot(const Overrides& overrides, std::uint64_t revision,
                                             Diagnostics& diagnostics) {
  const fs::path config_file =
      fs::absolute(overrides.config_file.value_or(default_config_file())).lexically_normal();
  auto settings = load_settings(config_file, diagnostics);
  if (!settings) return settings.error();
  if (auto applied = apply_overrides(*settings, overrides, diagnostics); !applied) {
    return applied.error();
  }

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->revision = revision;
  snapshot->settings = std::move(*settings);
  const Settings& s = snapshot->settings;

  // Every loader runs even after one fails, so that a single start reports every problem.
  std::optional<Errc> first_error;
  auto note = [&](const boost::system::error_code& ec) {
    if (!first_error) {
      first_error = ec.category() == gatekeeper_category() ? static_cast<Errc>(ec.value())
                                                           : Errc::ConfigInvalid;
    }
  };

  if (auto platforms = PlatformRegistry::load(s.platforms_file, diagnostics)) {
    snapshot->platforms = *platforms;
  } else {
    note(platforms.error());
  }
  if (auto policy = policy::Policy::load(s.policy_file, diagnostics)) {
    snapshot->policy = *policy;
  } else {
    note(policy.error());
  }
  if (auto rules = detect::RuleSet::load(s.rules_dir, detect::RuleSetOptions{}, diagnostics)) {
    snapshot->rules = *rules;
  } else {
    note(rules.error());
  }
  if (s.htpasswd) {
    if (auto credentials = Credentials::load(*s.htpasswd, diagnostics)) {
      snapshot->credentials = *credentials;
    } else {
      note(credentials.error());
    }
  }
  if (s.upstream_ca) {
    std::error_code ec;
    if (!fs::is_regular_file(*s.upstream_ca, ec)) {
      Diagnostic d;
      d.file = config_file.string();
      d.message = "upstream_ca: file not found: " + s.upstream_ca->string();
      diagnostics.push_back(std::move(d));
      note(Errc::ConfigNotFound);
    }
  }
  if (!first_error && has_errors(diagnostics)) first_error = Errc::ConfigInvalid;
  if (first_error) return *first_error;

  // The directory itself is watched too: its mtime changes when a rule file is added or removed.
  snapshot->watched_files = {config_file, s.platforms_file, s.policy_file, s.rules_dir};
  for (auto& file : rule_files(s.rules_dir)) snapshot->watched_files.push_back(std::move(file));
  if (s.htpasswd) snapshot->watched_files.push_back(*s.htpasswd);
  return SnapshotConstSharedPtr(std::move(snapshot));
}

}  // namespace gatekeeper::config

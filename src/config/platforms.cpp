#include "gatekeeper/config/platforms.hpp"

#include "gatekeeper/core/yaml_reporter.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <system_error>

namespace gatekeeper::config {
namespace {

constexpr int kPlatformsVersion = 1;

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Lower-case, without port or trailing dot: "API.OpenAI.com:443." -> "api.openai.com".
std::string normalize_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (const auto colon = host.find(':');
             colon != std::string_view::npos &&
             host.find(':', colon + 1) == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// Matches an already-normalised host. A leading "*" stands for one or more characters.
bool matches_normalized(std::string_view pattern, std::string_view host) noexcept {
  if (!pattern.empty() && pattern.front() == '*') {
    const std::string_view suffix = pattern.substr(1);
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return pattern == host;
}

// Among matching patterns, an exact name beats a wildcard and a longer wildcard beats a shorter.
int specificity(std::string_view pattern) noexcept {
  return pattern.starts_with('*') ? static_cast<int>(pattern.size()) : 1 << 20;
}

using Reporter = YamlReporter;

// Checks one host pattern and returns it lower-cased; empty on error (already reported).
std::string read_host_pattern(const YAML::Node& node, Reporter& report, const std::string& id) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    report.error(node.Mark(), "a host must be a name such as api.example.com", id);
    return {};
  }
  std::string pattern = node.Scalar();
  std::transform(pattern.begin(), pattern.end(), pattern.begin(), lower);
  if (pattern.find("://") != std::string::npos || pattern.find('/') != std::string::npos ||
      pattern.find(':') != std::string::npos) {
    report.error(node.Mark(),
                 "'" + pattern +
                     "' must be a bare host name: no scheme (https://), "
                     "port or path",
                 id);
    return {};
  }
  const std::string_view body = std::string_view(pattern).substr(pattern.front() == '*' ? 1 : 0);
  const bool charset_ok = !body.empty() && std::all_of(body.begin(), body.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
  if (!charset_ok) {
    report.error(node.Mark(),
                 "'" + pattern +
                     "' is not a host name (letters, digits, '.', '-'; "
                     "'*' only as the first character)",
                 id);
    return {};
  }
  if (pattern.front() == '*') {
    // "*.com" or "*-x" would capture far more than one platform.
    const bool anchored = (body.front() == '.' || body.front() == '-') &&
                          body.find('.', 1) != std::string_view::npos &&
                          body.find('.', 1) < body.size() - 1;
    if (!anchored) {
      report.error(node.Mark(),
                   "wildcard '" + pattern +
                       "' is too broad; use \"*.\" or \"*-\" "
                       "followed by at least a domain such as example.com",
                   id);
      return {};
    }
  } else if (pattern.find('.') == std::string::npos) {
    report.error(node.Mark(), "'" + pattern + "' has no domain; give a full host name", id);
    return {};
  }
  return pattern;
}

std::vector<std::string> read_hosts(const YAML::Node& node, const std::string& key,
                                    Reporter& report, const std::string& id) {
  std::vector<std::string> hosts;
  if (!node.IsSequence()) {
    report.error(node.Mark(), "'" + key + "' must be a list of host names, e.g. [api.example.com]",
                 id);
    return hosts;
  }
  for (const auto& item : node) {
    std::string host = read_host_pattern(item, report, id);
    if (!host.empty()) hosts.push_back(std::move(host));
  }
  return hosts;
}

bool read_text(const YAML::Node& node, const std::string& key, Reporter& report, std::string* out,
               const std::string& id) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    report.error(node.Mark(), "'" + key + "' must be a non-empty text", id);
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool is_identifier(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

template <class Fn>
void for_each_key(const YAML::Node& map, Reporter& report, const std::string& where,
                  const std::string& id, Fn&& fn) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      report.error(key.Mark(), "keys of " + where + " must be plain names", id);
      continue;
    }
    if (!seen.insert(key.Scalar()).second) {
      report.error(key.Mark(), "'" + key.Scalar() + "' is given twice in " + where, id);
      continue;
    }
    fn(key, it->second);
  }
}

struct HostOwner {
  std::string owner;  // platform id or "deny: <name>"
  YAML::Mark mark;
};

void claim_host(std::map<std::string, HostOwner>& owners, const std::string& host,
                const std::string& owner, const YAML::Mark& mark, Reporter& report) {
  const auto [it, inserted] = owners.try_emplace(host, HostOwner{owner, mark});
  if (!inserted && it->second.owner != owner) {
    report.error(mark,
                 "host '" + host + "' is already listed by " + it->second.owner + " (line " +
                     std::to_string(it->second.mark.line + 1) +
                     "); a host belongs to one entry only",
                 owner);
  } else if (!inserted) {
    report.warning(mark, "host '" + host + "' is listed twice", owner);
  }
}

Platform read_platform(const YAML::Node& node, Reporter& report) {
  Platform platform;
  if (!node.IsMap()) {
    report.error(node.Mark(), "each platform must be a map with id, name, tier, adapter, hosts");
    return platform;
  }
  {
    const YAML::Node& const_node = node;
    const YAML::Node id = const_node["id"];
    if (id && id.IsScalar()) platform.id = id.Scalar();
  }
  const std::string& id = platform.id;
  bool has[5] = {};  // id, name, tier, adapter, hosts
  for_each_key(node, report, "a platform", id, [&](const YAML::Node& key, const YAML::Node& value) {
    const std::string name = key.Scalar();
    if (name == "id") {
      has[0] = true;
      if (!value.IsScalar() || !is_identifier(value.Scalar())) {
        report.error(value.Mark(), "id must be lower_snake_case letters, digits and '_'", id);
      }
    } else if (name == "name") {
      has[1] = read_text(value, name, report, &platform.name, id);
    } else if (name == "tier") {
      has[2] = true;
      if (!value.IsScalar() || !policy::parse_tier(value.Scalar(), &platform.tier)) {
        report.error(value.Mark(), "tier must be internal, sovereign or external", id);
      }
    } else if (name == "adapter") {
      has[3] = read_text(value, name, report, &platform.adapter, id);
      if (has[3] && !is_identifier(platform.adapter)) {
        report.error(value.Mark(), "adapter must be a lower_snake_case name such as openai", id);
      }
    } else if (name == "hosts") {
      has[4] = true;
      platform.hosts = read_hosts(value, name, report, id);
      if (value.IsSequence() && value.size() == 0) {
        report.error(value.Mark(), "hosts is empty; a platform needs at least one host", id);
      }
    } else if (name == "upload_hosts") {
      platform.upload_hosts = read_hosts(value, name, report, id);
    } else if (name == "note") {
      // Free text for administrators (sources, caveats); not used by the proxy.
    } else {
      report.error(key.Mark(),
                   "unknown key '" + name +
                       "' in a platform; expected id, name, tier, "
                       "adapter, hosts, upload_hosts, note",
                   id);
    }
  });
  static constexpr const char* kRequired[] = {"id", "name", "tier", "adapter", "hosts"};
  for (int i = 0; i < 5; ++i) {
    if (!has[i]) {
      report.error(node.Mark(), std::string("platform has no '") + kRequired[i] + "'", id);
    }
  }
  return platform;
}

DeniedPlatform read_denied(const YAML::Node& node, Reporter& report) {
  DeniedPlatform denied;
  if (!node.IsMap()) {
    report.error(node.Mark(), "each deny entry must be a map with name, hosts and reason");
    return denied;
  }
  bool has_name = false, has_hosts = false, has_fr = false, has_en = false;
  for_each_key(
      node, report, "a deny entry", {}, [&](const YAML::Node& key, const YAML::Node& value) {
        const std::string name = key.Scalar();
        if (name == "name") {
          has_name = read_text(value, name, report, &denied.name, {});
        } else if (name == "hosts") {
          has_hosts = true;
          denied.hosts = read_hosts(value, name, report, denied.name);
        } else if (name == "reason") {
          if (!value.IsMap()) {
            report.error(value.Mark(), "reason must be a map with 'fr' and 'en' texts",
                         denied.name);
            return;
          }
          for_each_key(
              value, report, "reason", denied.name,
              [&](const YAML::Node& lang, const YAML::Node& text) {
                if (lang.Scalar() == "fr") {
                  has_fr = read_text(text, "reason.fr", report, &denied.reason_fr, denied.name);
                } else if (lang.Scalar() == "en") {
                  has_en = read_text(text, "reason.en", report, &denied.reason_en, denied.name);
                } else {
                  report.error(lang.Mark(),
                               "unknown language '" + lang.Scalar() + "'; use fr and en",
                               denied.name);
                }
              });
        } else {
          report.error(key.Mark(),
                       "unknown key '" + name +
                           "' in a deny entry; expected name, hosts, "
                           "reason",
                       denied.name);
        }
      });
  if (!has_name) report.error(node.Mark(), "deny entry has no 'name'");
  if (!has_hosts) report.error(node.Mark(), "deny entry has no 'hosts'", denied.name);
  if (!has_fr || !has_en) {
    report.error(node.Mark(), "deny entry needs reason.fr and reason.en: users are told why",
                 denied.name);
  }
  return denied;
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view host) noexcept {
  try {
    return matches_normalized(normalize_host(pattern), normalize_host(host));
  } catch (...) {
    return false;
  }
}

Result<PlatformRegistryConstSharedPtr> PlatformRegistry::load(const std::filesystem::path& file,
                                                              Diagnostics& diagnostics) {
  auto content = read_config_file(file, "platforms file", diagnostics);
  if (!content) return content.error();
  return parse(*content, file.string(), diagnostics);
}

Result<PlatformRegistryConstSharedPtr> PlatformRegistry::parse(std::string_view yaml,
                                                               const std::string& file_name,
                                                               Diagnostics& diagnostics) {
  Reporter report(file_name, diagnostics);
  auto loaded = report.load_map(yaml, "the platforms file must be a YAML map with 'platforms' and 'deny'");
  if (!loaded) return loaded.error();
  const YAML::Node root = *loaded;
  auto registry = std::make_shared<PlatformRegistry>();
  std::map<std::string, HostOwner> owners;
  std::set<std::string> ids;
  bool has_platforms = false;
  try {
    for_each_key(
        root, report, "the platforms file", {},
        [&](const YAML::Node& key, const YAML::Node& value) {
          const std::string name = key.Scalar();
          if (name == "version") {
            int version = 0;
            if (!YAML::convert<int>::decode(value, version) || version != kPlatformsVersion) {
              report.error(value.Mark(), "unsupported version; this gatekeeper reads version " +
                                             std::to_string(kPlatformsVersion));
            }
          } else if (name == "platforms") {
            has_platforms = true;
            if (!value.IsSequence()) {
              report.error(value.Mark(), "platforms must be a list of platform entries");
              return;
            }
            for (const auto& item : value) {
              Platform platform = read_platform(item, report);
              if (!platform.id.empty() && !ids.insert(platform.id).second) {
                report.error(item.Mark(), "platform id '" + platform.id + "' is used twice",
                             platform.id);
              }
              for (const auto& host : platform.hosts) {
                claim_host(owners, host, platform.id, item.Mark(), report);
              }
              for (const auto& host : platform.upload_hosts) {
                claim_host(owners, host, platform.id, item.Mark(), report);
              }
              registry->platforms_.push_back(std::move(platform));
            }
          } else if (name == "deny") {
            if (!value.IsSequence()) {
              report.error(value.Mark(), "deny must be a list of entries with name, hosts, reason");
              return;
            }
            for (const auto& item : value) {
              DeniedPlatform denied = read_denied(item, report);
              for (const auto& host : denied.hosts) {
                claim_host(owners, host, "deny: " + denied.name, item.Mark(), report);
              }
              registry->denied_.push_back(std::move(denied));
            }
          } else {
            report.error(key.Mark(),
                         "unknown key '" + name + "'; expected version, platforms, deny");
          }
        });
  } catch (const YAML::Exception& e) {
    report.error(e.mark, "unexpected YAML structure: " + e.msg);
  }
  if (!has_platforms) report.error(root.Mark(), "the file has no 'platforms' list");
  if (report.failed()) return Errc::ConfigInvalid;
  return PlatformRegistryConstSharedPtr(std::move(registry));
}

HostMatch PlatformRegistry::match(std::string_view host) const {
  const std::string normalized = normalize_host(host);
  HostMatch best;
  int best_specificity = -1;
  for (const auto& platform : platforms_) {
    for (int upload = 0; upload < 2; ++upload) {
      for (const auto& pattern : upload == 0 ? platform.hosts : platform.upload_hosts) {
        if (!matches_normalized(pattern, normalized)) continue;
        const int rank = specificity(pattern);
        if (rank > best_specificity) {
          best_specificity = rank;
          best.platform = &platform;
          best.upload_host = upload == 1;
        }
      }
    }
  }
  return best;
}

const DeniedPlatform* PlatformRegistry::denied(std::string_view host) const {
  const std::string normalized = normalize_host(host);
  const DeniedPlatform* best = nullptr;
  int best_specificity = -1;
  for (const auto& entry : denied_) {
    for (const auto& pattern : entry.hosts) {
      if (matches_normalized(pattern, normalized) && specificity(pattern) > best_specificity) {
        best_specificity = specificity(pattern);
        best = &entry;
      }
    }
  }
  return best;
}

policy::Tier PlatformRegistry::tier_for(std::string_view host) const {
  const HostMatch found = match(host);
  return found.platform == nullptr ? policy::Tier::External : found.platform->tier;
}

}  // namespace gatekeeper::config

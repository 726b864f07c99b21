#pragma once

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"
#include "gatekeeper/policy/action.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatekeeper::config {

// One AI platform from config/platforms.yaml. Host patterns are exact names or wildcards where a
// leading "*" stands for one or more characters: "*.example.com" matches "a.example.com" and
// "a.b.example.com", not "example.com"; "*-aiplatform.googleapis.com" matches
// "europe-west1-aiplatform.googleapis.com". An exact name wins over a wildcard, a longer wildcard
// over a shorter one.
struct Platform {
  std::string id;            // e.g. "openai_api"
  std::string name;          // shown to users, e.g. "OpenAI API"
  policy::Tier tier = policy::Tier::External;
  std::string adapter;       // request-format adapter, e.g. "openai", "anthropic", "generic"
  std::vector<std::string> hosts;         // prompt/API hosts
  std::vector<std::string> upload_hosts;  // storage hosts that receive this platform's files
};

// A platform that is refused outright (unsanctioned), with the explanation users see.
struct DeniedPlatform {
  std::string name;
  std::vector<std::string> hosts;
  std::string reason_fr;
  std::string reason_en;
};

struct HostMatch {
  const Platform* platform = nullptr;  // null when the host is not an AI platform
  bool upload_host = false;            // matched through upload_hosts
};

class PlatformRegistry;
using PlatformRegistryConstSharedPtr = std::shared_ptr<const PlatformRegistry>;

class PlatformRegistry {
 public:
  static Result<PlatformRegistryConstSharedPtr> load(const std::filesystem::path& file, Diagnostics& diagnostics);
  static Result<PlatformRegistryConstSharedPtr> parse(std::string_view yaml, const std::string& file_name,
                                                      Diagnostics& diagnostics);

  // Host names are compared case-insensitively, without a trailing dot or port.
  HostMatch match(std::string_view host) const;
  const DeniedPlatform* denied(std::string_view host) const;
  // Tier of a destination host; hosts that are not listed are External.
  policy::Tier tier_for(std::string_view host) const;

  const std::vector<Platform>& platforms() const noexcept { return platforms_; }
  const std::vector<DeniedPlatform>& denied_platforms() const noexcept { return denied_; }

 private:
  std::vector<Platform> platforms_;
  std::vector<DeniedPlatform> denied_;
};

// Exposed for tests: does `host` match `pattern` (exact or leading-"*" wildcard)? Both sides are
// compared case-insensitively, without port or trailing dot.
bool host_matches(std::string_view pattern, std::string_view host) noexcept;

}  // namespace gatekeeper::config

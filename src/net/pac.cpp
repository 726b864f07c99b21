#include "gatekeeper/net/pac.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace gatekeeper::net {

namespace {

// Host patterns come from validated configuration, but a PAC file is code run by browsers:
// anything outside the host-name alphabet is dropped rather than escaped.
bool safe_pattern(std::string_view pattern) {
  if (pattern.empty()) return false;
  return std::all_of(pattern.begin(), pattern.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '.' || c == '*' || c == '_';
  });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string make_pac(const config::PlatformRegistry& platforms, std::string_view proxy_host,
                     std::uint16_t proxy_port) {
  std::set<std::string> patterns;  // sorted and deduplicated: stable output
  auto add = [&](const std::vector<std::string>& hosts) {
    for (const auto& host : hosts) {
      if (safe_pattern(host)) patterns.insert(lower(host));
    }
  };
  for (const auto& platform : platforms.platforms()) {
    add(platform.hosts);
    add(platform.upload_hosts);
  }
  for (const auto& denied : platforms.denied_platforms()) add(denied.hosts);

  std::string proxy(proxy_host);
  if (proxy.find(':') != std::string::npos && proxy.front() != '[') proxy = "[" + proxy + "]";
  std::string pac;
  pac +=
      "// gatekeeper: AI platforms go through the inspecting proxy, everything else is direct.\n";
  pac += "function FindProxyForURL(url, host) {\n";
  pac += "  host = host.toLowerCase();\n";
  pac +=
      "  if (host.charAt(host.length - 1) == \".\") host = host.substring(0, host.length - 1);\n";
  for (const auto& pattern : patterns) {
    if (pattern.find('*') != std::string::npos) {
      pac += "  if (shExpMatch(host, \"" + pattern + "\")) return \"PROXY " + proxy + ":" +
             std::to_string(proxy_port) + "\";\n";
    } else {
      pac += "  if (host == \"" + pattern + "\") return \"PROXY " + proxy + ":" +
             std::to_string(proxy_port) + "\";\n";
    }
  }
  pac += "  return \"DIRECT\";\n";
  pac += "}\n";
  return pac;
}

}  // namespace gatekeeper::net

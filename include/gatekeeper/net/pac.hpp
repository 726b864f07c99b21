#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gatekeeper/config/platforms.hpp"

namespace gatekeeper::net {

// Proxy auto-config script: AI platform hosts, upload hosts and denied platforms' hosts go through
// the proxy at proxy_host:proxy_port (denied ones so users get the explanation instead of a
// silent direct connection); everything else is DIRECT.
std::string make_pac(const config::PlatformRegistry& platforms, std::string_view proxy_host,
                     std::uint16_t proxy_port);

}  // namespace gatekeeper::net

#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/config/platforms.hpp"
#include "gatekeeper/config/settings.hpp"

// Pure helpers of the proxy data path: what to do with a CONNECT host, where to connect, who may
// use the proxy. No I/O, so they are unit-tested without sockets.
namespace gatekeeper::net {

enum class ConnectAction {
  Tunnel,     // not an AI host: blind byte relay, no decryption
  Intercept,  // AI platform or upload host: TLS is terminated and requests are inspected
  Deny,       // unsanctioned platform: 403 with the reason
};

struct ConnectDecision {
  ConnectAction action = ConnectAction::Tunnel;
  const config::Platform* platform = nullptr;      // set for Intercept
  bool upload_host = false;                        // Intercept through upload_hosts
  const config::DeniedPlatform* denied = nullptr;  // set for Deny
};

// Denied wins over intercept (a host listed in both is refused). `platforms` may be null.
ConnectDecision decide_connect(const config::PlatformRegistry* platforms, std::string_view host);

struct HostPort {
  std::string host;  // lower-case, no brackets, no trailing dot
  std::uint16_t port = 0;
};

// "host:port", "[v6]:port", or "host" (then `default_port`). Fails on an empty host or a bad port.
std::optional<HostPort> split_host_port(std::string_view authority, std::uint16_t default_port);

// curl --connect-to semantics: the first entry whose host (empty = any) and port (0 = any) match
// gives the address to dial; otherwise the destination itself.
HostPort remap_connect_to(const std::vector<config::ConnectTo>& rules, const HostPort& destination);

// "http://host[:port]/path?q" -> destination and origin-form target ("/" when empty).
struct AbsoluteTarget {
  HostPort destination;
  std::string origin_target;
};
std::optional<AbsoluteTarget> parse_http_absolute_target(std::string_view target);

// Loopback clients are always allowed; others must fall inside one of the CIDRs
// ("10.0.0.0/8", "2001:db8::/32", or a bare address). Malformed CIDRs match nothing.
bool client_allowed(const boost::asio::ip::address& client, const std::vector<std::string>& cidrs);

struct BasicCredentials {
  std::string user;
  std::string password;
};
// Value of a Proxy-Authorization header, "Basic base64(user:password)".
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value);

}  // namespace gatekeeper::net

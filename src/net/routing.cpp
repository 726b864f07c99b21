#include "gatekeeper/net/routing.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <cctype>
#include <charconv>

namespace gatekeeper::net {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

ConnectDecision decide_connect(const config::PlatformRegistry* platforms, std::string_view host) {
  ConnectDecision decision;
  if (platforms == nullptr) return decision;
  if (const auto* denied = platforms->denied(host)) {
    decision.action = ConnectAction::Deny;
    decision.denied = denied;
    return decision;
  }
  const auto match = platforms->match(host);
  if (match.platform != nullptr) {
    decision.action = ConnectAction::Intercept;
    decision.platform = match.platform;
    decision.upload_host = match.upload_host;
  }
  return decision;
}

std::optional<HostPort> split_host_port(std::string_view authority, std::uint16_t default_port) {
  HostPort out;
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      // A bare IPv6 literal without brackets is ambiguous: refuse it.
      if (authority.find(':') != colon) return std::nullopt;
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    } else {
      host = authority;
    }
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return std::nullopt;
  for (const char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == ':')) return std::nullopt;
  }
  out.host = lower(host);
  if (port.empty()) {
    out.port = default_port;
  } else {
    const auto parsed = parse_port(port);
    if (!parsed) return std::nullopt;
    out.port = *parsed;
  }
  return out;
}

HostPort remap_connect_to(const std::vector<config::ConnectTo>& rules,
                          const HostPort& destination) {
  for (const auto& rule : rules) {
    const bool host_ok = rule.host.empty() || lower(rule.host) == destination.host;
    const bool port_ok = rule.port == 0 || rule.port == destination.port;
    if (!host_ok || !port_ok) continue;
    HostPort target = destination;
    if (!rule.address.empty()) target.host = rule.address;
    if (rule.address_port != 0) target.port = rule.address_port;
    return target;
  }
  return destination;
}

std::optional<AbsoluteTarget> parse_http_absolute_target(std::string_view target) {
  constexpr std::string_view kScheme = "http://";
  if (target.size() < kScheme.size() || lower(target.substr(0, kScheme.size())) != kScheme) {
    return std::nullopt;
  }
  const auto rest = target.substr(kScheme.size());
  const auto path_start = rest.find_first_of("/?#");
  auto authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no userinfo
  auto destination = split_host_port(authority, 80);
  if (!destination) return std::nullopt;
  AbsoluteTarget out;
  out.destination = std::move(*destination);
  if (path_start == std::string_view::npos) {
    out.origin_target = "/";
  } else {
    auto path = rest.substr(path_start);
    if (const auto hash = path.find('#'); hash != std::string_view::npos)
      path = path.substr(0, hash);
    out.origin_target =
        path.empty() || path.front() != '/' ? "/" + std::string(path) : std::string(path);
  }
  return out;
}

bool client_allowed(const boost::asio::ip::address& client, const std::vector<std::string>& cidrs) {
  auto address = client;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_loopback()) return true;
  for (const auto& cidr : cidrs) {
    boost::system::error_code ec;
    std::string text = cidr;
    if (text.find('/') == std::string::npos) text += address.is_v4() ? "/32" : "/128";
    if (address.is_v4()) {
      const auto network = boost::asio::ip::make_network_v4(text, ec);
      if (ec) continue;
      const auto host_net = boost::asio::ip::network_v4(address.to_v4(), network.prefix_length());
      if (host_net.canonical() == network.canonical()) return true;
    } else {
      const auto network = boost::asio::ip::make_network_v6(text, ec);
      if (ec) continue;
      const auto host_net = boost::asio::ip::network_v6(address.to_v6(), network.prefix_length());
      if (host_net.canonical() == network.canonical()) return true;
    }
  }
  return false;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value) {
  while (!header_value.empty() && header_value.front() == ' ') header_value.remove_prefix(1);
  constexpr std::string_view kBasic = "basic ";
  if (header_value.size() <= kBasic.size() ||
      lower(header_value.substr(0, kBasic.size())) != kBasic) {
    return std::nullopt;
  }
  auto encoded = header_value.substr(kBasic.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);

  std::array<int, 256> table{};
  table.fill(-1);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  std::string decoded;
  unsigned accumulator = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (const char c : encoded) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding != 0) return std::nullopt;  // data after padding
    const int value = table[static_cast<unsigned char>(c)];
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((accumulator >> bits) & 0xFF));
    }
  }
  if (padding > 2 || (encoded.size() % 4) != 0) return std::nullopt;
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

}  // namespace gatekeeper::net

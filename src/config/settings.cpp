#include "gatekeeper/config/settings.hpp"

#include "gatekeeper/core/yaml_reporter.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace gatekeeper::config {
namespace {

namespace fs = std::filesystem;

Result<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return Errc::ConfigInvalid;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return Errc::ConfigInvalid;
  }
  return static_cast<std::uint16_t>(value);
}

// Takes one host token ("[v6]" or up to the next ':') from the front of `text`.
Result<std::string> take_host(std::string_view& text) {
  std::string host;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return Errc::ConfigInvalid;
    host = std::string(text.substr(1, close - 1));
    text.remove_prefix(close + 1);
  } else {
    const auto colon = text.find(':');
    host = std::string(text.substr(0, colon));
    text.remove_prefix(colon == std::string_view::npos ? text.size() : colon);
  }
  if (host.empty()) return Errc::ConfigInvalid;
  return host;
}

// Takes ":PORT" followed by ':' or the end.
Result<std::uint16_t> take_port(std::string_view& text) {
  if (text.empty() || text.front() != ':') return Errc::ConfigInvalid;
  text.remove_prefix(1);
  const auto colon = text.find(':');
  auto port = parse_port(text.substr(0, colon));
  text.remove_prefix(colon == std::string_view::npos ? text.size() : colon);
  return port;
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (const auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool valid_client_network(const std::string& text) {
  boost::system::error_code ec;
  if (text.find('/') == std::string::npos) {
    boost::asio::ip::make_address(text, ec);
    return !ec;
  }
  if (text.find(':') != std::string::npos) {
    boost::asio::ip::make_network_v6(text, ec);
  } else {
    boost::asio::ip::make_network_v4(text, ec);
  }
  return !ec;
}

const std::vector<std::string_view> kTopLevelKeys{
    "listen",      "admin_listen", "allowed_clients", "htpasswd",       "data_dir",
    "rules_dir",   "policy_file",  "platforms_file",  "upstream_ca",    "connect_to",
    "limits",      "timeouts",     "threads",         "watch_files",    "log_level",
    "audit",       "console",      "files",           "websocket"};
const std::vector<std::string_view> kLimitKeys{"max_body_bytes", "max_header_bytes",
                                               "leaf_cache_size"};
const std::vector<std::string_view> kTimeoutKeys{
    "request_header",   "request_body",  "keep_alive_idle", "tls_handshake",
    "upstream_connect", "upstream_idle", "tunnel_idle",     "shutdown_grace"};
const std::vector<std::string_view> kLogLevels{"trace", "debug", "info",    "warn",
                                               "error", "critical", "off"};

// Walks one parsed document, collecting every problem instead of stopping at the first.
class SettingsParser {
 public:
  SettingsParser(std::string file, fs::path base_dir, Diagnostics& diagnostics)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), diagnostics_(diagnostics) {}

  void parse(const YAML::Node& root, Settings& settings) {
    if (!root || root.IsNull()) return;  // an empty file means "all defaults"
    if (!root.IsMap()) {
      error(root, "the configuration must be a mapping of 'key: value' lines");
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : root) {
      const std::string key = entry.first.Scalar();
      const YAML::Node& value = entry.second;
      if (!first_occurrence(entry.first, key, seen)) continue;
      if (key == "listen" || key == "admin_listen") {
        if (auto text = scalar(value, key)) {
          auto parsed = parse_host_port(*text);
          if (!parsed) {
            error(value, key + ": expected HOST:PORT (e.g. 127.0.0.1:3128), got '" + *text + "'");
          } else if (key == "listen") {
            settings.listen_host = parsed->host;
            settings.listen_port = parsed->port;
          } else {
            settings.admin_host = parsed->host;
            settings.admin_port = parsed->port;
          }
        }
      } else if (key == "allowed_clients") {
        settings.allowed_clients.clear();
        for_each_item(value, key, [&](const YAML::Node& item) {
          if (auto text = scalar(item, key)) {
            if (!valid_client_network(*text)) {
              error(item, "allowed_clients: '" + *text +
                              "' is not an address or network (e.g. 10.0.0.0/8, ::1/128)");
            } else {
              settings.allowed_clients.push_back(*text);
            }
          }
        });
      } else if (key == "htpasswd") {
        settings.htpasswd = optional_path(value, key);
      } else if (key == "upstream_ca") {
        settings.upstream_ca = optional_path(value, key);
      } else if (key == "data_dir" || key == "rules_dir" || key == "policy_file" ||
                 key == "platforms_file") {
        if (auto path = optional_path(value, key)) {
          if (key == "data_dir") settings.data_dir = *path;
          if (key == "rules_dir") settings.rules_dir = *path;
          if (key == "policy_file") settings.policy_file = *path;
          if (key == "platforms_file") settings.platforms_file = *path;
        } else {
          error(value, key + ": a path is required");
        }
      } else if (key == "connect_to") {
        settings.connect_to.clear();
        for_each_item(value, key, [&](const YAML::Node& item) {
          if (auto text = scalar(item, key)) {
            auto parsed = parse_connect_to(*text);
            if (!parsed) {
              error(item, "connect_to: expected HOST:PORT:ADDRESS:PORT (e.g. "
                          "api.openai.com:443:127.0.0.1:8443), got '" + *text + "'");
            } else {
              settings.connect_to.push_back(*parsed);
            }
          }
        });
      } else if (key == "limits") {
        parse_limits(value, settings);
      } else if (key == "timeouts") {
        parse_timeouts(value, settings.timeouts);
      } else if (key == "audit") {
        parse_audit(value, settings.audit);
      } else if (key == "console") {
        parse_console(value, settings.console);
      } else if (key == "files") {
        parse_files(value, settings.files);
      } else if (key == "websocket") {
        parse_websocket(value, settings.websocket);
      } else if (key == "threads") {
        if (auto text = scalar(value, key)) {
          unsigned threads = 0;
          const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), threads);
          if (ec != std::errc() || end != text->data() + text->size() || threads < 1 ||
              threads > 256) {
            error(value, "threads: expected a whole number from 1 to 256, got '" + *text + "'");
          } else {
            settings.threads = threads;
          }
        }
      } else if (key == "watch_files") {
        bool flag = false;
        if (!value.IsScalar() || !YAML::convert<bool>::decode(value, flag)) {
          error(value, "watch_files: expected true or false");
        } else {
          settings.watch_files = flag;
        }
      } else if (key == "log_level") {
        if (auto text = scalar(value, key)) {
          if (std::find(kLogLevels.begin(), kLogLevels.end(), *text) == kLogLevels.end()) {
            error(value, "log_level: expected one of " + join(kLogLevels) + ", got '" + *text + "'");
          } else {
            settings.log_level = *text;
          }
        }
      } else {
        unknown_key(entry.first, key, kTopLevelKeys, "");
      }
    }
  }

 private:
  void error(const YAML::Node& node, std::string message) {
    Diagnostic d;
    d.file = file_;
    const YAML::Mark mark = node.Mark();
    if (mark.line >= 0) {
      d.line = mark.line + 1;
      d.column = mark.column + 1;
    }
    d.message = std::move(message);
    diagnostics_.push_back(std::move(d));
  }

  // yaml-cpp keeps one of two identical keys silently; an administrator must be told.
  bool first_occurrence(const YAML::Node& key_node, const std::string& key,
                        std::set<std::string>& seen) {
    if (seen.insert(key).second) return true;
    error(key_node, "key '" + key + "' appears more than once; only one value can apply");
    return false;
  }

  void unknown_key(const YAML::Node& key_node, const std::string& key,
                   const std::vector<std::string_view>& known, const std::string& section) {
    const std::string where = section.empty() ? std::string() : " in '" + section + "'";
    std::string message = "unknown key '" + key + "'" + where;
    const std::string suggestion = closest_match(key, known);
    if (!suggestion.empty()) {
      message += "; did you mean '" + suggestion + "'?";
    } else {
      message += "; known keys: " + join(known);
    }
    error(key_node, std::move(message));
  }

  std::optional<std::string> scalar(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar()) {
      error(node, key + ": expected a single value");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<fs::path> optional_path(const YAML::Node& node, const std::string& key) {
    if (node.IsNull()) return std::nullopt;
    auto text = scalar(node, key);
    if (!text) return std::nullopt;
    if (text->empty()) {
      error(node, key + ": the path is empty");
      return std::nullopt;
    }
    const fs::path path(*text);
    return path.is_absolute() ? path : (base_dir_ / path).lexically_normal();
  }

  void for_each_item(const YAML::Node& node, const std::string& key,
                     const std::function<void(const YAML::Node&)>& visit) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      error(node, key + ": expected a list (lines starting with '- ')");
      return;
    }
    for (const auto& item : node) visit(item);
  }

  void parse_limits(const YAML::Node& node, Settings& settings) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      error(node, "limits: expected a mapping (max_body_bytes, max_header_bytes, leaf_cache_size)");
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (!first_occurrence(entry.first, key, seen)) continue;
      std::size_t* target = key == "max_body_bytes"     ? &settings.max_body_bytes
                            : key == "max_header_bytes" ? &settings.max_header_bytes
                            : key == "leaf_cache_size"  ? &settings.leaf_cache_size
                                                        : nullptr;
      if (target == nullptr) {
        unknown_key(entry.first, key, kLimitKeys, "limits");
        continue;
      }
      auto text = scalar(entry.second, key);
      if (!text) continue;
      auto size = parse_size(*text);
      if (!size || *size == 0) {
        error(entry.second, key + ": expected a positive size such as 16MiB, 64KiB or 10000, got '" +
                                *text + "'");
        continue;
      }
      *target = *size;
    }
  }

  void parse_timeouts(const YAML::Node& node, Timeouts& timeouts) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      error(node, "timeouts: expected a mapping such as 'request_header: 30s'");
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (!first_occurrence(entry.first, key, seen)) continue;
      std::chrono::milliseconds* target =
          key == "request_header"     ? &timeouts.request_header
          : key == "request_body"     ? &timeouts.request_body
          : key == "keep_alive_idle"  ? &timeouts.keep_alive_idle
          : key == "tls_handshake"    ? &timeouts.tls_handshake
          : key == "upstream_connect" ? &timeouts.upstream_connect
          : key == "upstream_idle"    ? &timeouts.upstream_idle
          : key == "tunnel_idle"      ? &timeouts.tunnel_idle
          : key == "shutdown_grace"   ? &timeouts.shutdown_grace
                                      : nullptr;
      if (target == nullptr) {
        unknown_key(entry.first, key, kTimeoutKeys, "timeouts");
        continue;
      }
      auto text = scalar(entry.second, key);
      if (!text) continue;
      auto duration = parse_duration(*text);
      if (!duration || (duration->count() == 0 && key != "shutdown_grace")) {
        error(entry.second, "timeouts." + key +
                                ": expected a duration with a unit such as 500ms, 30s, 2m or 1h, "
                                "got '" + *text + "'");
        continue;
      }
      *target = *duration;
    }
  }

  // A mapping section whose keys each have their own value parser; unknown and repeated keys are
  // reported like everywhere else.
  using FieldParser = std::function<void(const YAML::Node& value, const std::string& key)>;
  void parse_section(const YAML::Node& node, const std::string& section,
                     const std::vector<std::pair<std::string_view, FieldParser>>& fields) {
    if (node.IsNull()) return;
    std::vector<std::string_view> known;
    for (const auto& field : fields) known.push_back(field.first);
    if (!node.IsMap()) {
      error(node, section + ": expected a mapping with keys " + join(known));
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (!first_occurrence(entry.first, key, seen)) continue;
      const auto field = std::find_if(fields.begin(), fields.end(),
                                      [&](const auto& candidate) { return candidate.first == key; });
      if (field == fields.end()) {
        unknown_key(entry.first, key, known, section);
        continue;
      }
      field->second(entry.second, section + "." + key);
    }
  }

  FieldParser text_field(std::string& target) {
    return [this, &target](const YAML::Node& value, const std::string& key) {
      if (value.IsNull()) {
        target.clear();
      } else if (auto text = scalar(value, key)) {
        target = *text;
      }
    };
  }
  FieldParser bool_field(bool& target) {
    return [this, &target](const YAML::Node& value, const std::string& key) {
      bool flag = false;
      if (!value.IsScalar() || !YAML::convert<bool>::decode(value, flag)) {
        error(value, key + ": expected true or false");
      } else {
        target = flag;
      }
    };
  }
  FieldParser size_field(std::size_t& target) {
    return [this, &target](const YAML::Node& value, const std::string& key) {
      auto text = scalar(value, key);
      if (!text) return;
      auto size = parse_size(*text);
      if (!size || *size == 0) {
        error(value, key + ": expected a positive size such as 16MiB, 64KiB or 10000, got '" +
                         *text + "'");
      } else {
        target = *size;
      }
    };
  }
  template <class Duration>
  FieldParser duration_field(Duration& target) {
    return [this, &target](const YAML::Node& value, const std::string& key) {
      auto text = scalar(value, key);
      if (!text) return;
      auto duration = parse_duration(*text);
      if (!duration || duration->count() == 0 ||
          std::chrono::duration_cast<Duration>(*duration).count() == 0) {
        error(value, key + ": expected a duration with a unit such as 30s, 15m, 8h or 400d, got '" +
                         *text + "'");
      } else {
        target = std::chrono::duration_cast<Duration>(*duration);
      }
    };
  }
  FieldParser number_field(double& target, double minimum) {
    return [this, &target, minimum](const YAML::Node& value, const std::string& key) {
      auto text = scalar(value, key);
      if (!text) return;
      double number = 0;
      const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), number);
      if (ec != std::errc() || end != text->data() + text->size() || number < minimum) {
        error(value, key + ": expected a number of at least " + std::to_string(minimum) +
                         ", got '" + *text + "'");
      } else {
        target = number;
      }
    };
  }
  template <class Integer>
  FieldParser count_field(Integer& target) {
    return [this, &target](const YAML::Node& value, const std::string& key) {
      auto text = scalar(value, key);
      if (!text) return;
      Integer count = 0;
      const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), count);
      if (ec != std::errc() || end != text->data() + text->size() || count == 0) {
        error(value, key + ": expected a positive whole number, got '" + *text + "'");
      } else {
        target = count;
      }
    };
  }

  void parse_audit(const YAML::Node& node, AuditSettings& audit) {
    parse_section(node, "audit",
                  {{"postgres_dsn", text_field(audit.postgres_dsn)},
                   {"instance", text_field(audit.instance)},
                   {"name_users", bool_field(audit.name_users)},
                   {"retention", duration_field(audit.retention)},
                   {"fail_closed", bool_field(audit.fail_closed)},
                   {"queue_capacity", count_field(audit.queue_capacity)},
                   {"durability", [this, &audit](const YAML::Node& value, const std::string& key) {
                      auto text = scalar(value, key);
                      if (!text) return;
                      if (*text != "process" && *text != "disk") {
                        error(value, key + ": expected process or disk, got '" + *text + "'");
                        return;
                      }
                      audit.durability = *text;
                    }},
                   {"syslog", [this, &audit](const YAML::Node& value, const std::string& key) {
                      text_field(audit.syslog)(value, key);
                      if (!audit.syslog.empty() && audit.syslog.rfind("udp://", 0) != 0 &&
                          audit.syslog.rfind("unix:", 0) != 0)
                        error(value, key + ": expected udp://HOST:PORT or unix:/dev/log, got '" +
                                         audit.syslog + "'");
                    }}});
  }

  void parse_console(const YAML::Node& node, ConsoleSettings& console) {
    parse_section(node, "console",
                  {{"enabled", bool_field(console.enabled)},
                   {"password_hash", text_field(console.password_hash)},
                   {"token_file",
                    [this, &console](const YAML::Node& value, const std::string& key) {
                      console.token_file = optional_path(value, key);
                    }},
                   {"session_lifetime", duration_field(console.session_lifetime)},
                   {"public_url", text_field(console.public_url)}});
  }

  void parse_files(const YAML::Node& node, FileLimits& files) {
    parse_section(node, "files",
                  {{"max_decoded_bytes", size_field(files.max_decoded_bytes)},
                   {"max_compression_ratio", number_field(files.max_compression_ratio, 1.0)},
                   {"max_archive_depth", count_field(files.max_archive_depth)},
                   {"max_archive_entries", count_field(files.max_archive_entries)},
                   {"max_pdf_pages", count_field(files.max_pdf_pages)},
                   {"max_extraction_time", duration_field(files.max_extraction_time)}});
  }

  void parse_websocket(const YAML::Node& node, WebSocketSettings& websocket) {
    parse_section(node, "websocket",
                  {{"inspect", bool_field(websocket.inspect)},
                   {"max_message_bytes", size_field(websocket.max_message_bytes)}});
  }

  std::string file_;
  fs::path base_dir_;
  Diagnostics& diagnostics_;
};

Diagnostic file_diagnostic(const std::string& file, std::string message) {
  Diagnostic d;
  d.file = file;
  d.message = std::move(message);
  return d;
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
  auto host = take_host(text);
  if (!host) return host.error();
  auto port = take_port(text);
  if (!port || !text.empty()) return Errc::ConfigInvalid;
  return HostPort{*host, *port};
}

Result<ConnectTo> parse_connect_to(std::string_view text) {
  ConnectTo out;
  auto host = take_host(text);
  if (!host) return host.error();
  auto port = take_port(text);
  if (!port || *port == 0) return Errc::ConfigInvalid;
  if (text.empty() || text.front() != ':') return Errc::ConfigInvalid;
  text.remove_prefix(1);
  auto address = take_host(text);
  if (!address) return address.error();
  auto address_port = take_port(text);
  if (!address_port || *address_port == 0 || !text.empty()) return Errc::ConfigInvalid;
  out.host = *host;
  std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  out.port = *port;
  out.address = *address;
  out.address_port = *address_port;
  return out;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return Errc::ConfigInvalid;
  std::int64_t total_ms = 0;
  while (!text.empty()) {
    std::uint64_t number = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end == text.data()) return Errc::ConfigInvalid;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    std::size_t unit_length = 0;
    while (unit_length < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_length]))) {
      ++unit_length;
    }
    const std::string_view unit = text.substr(0, unit_length);
    text.remove_prefix(unit_length);
    std::int64_t factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    else return Errc::ConfigInvalid;
    // Twenty years covers any retention period; the bound also rules out overflow.
    constexpr std::int64_t kMaxMs = 20ll * 366 * 86'400'000;
    if (number > static_cast<std::uint64_t>(kMaxMs)) return Errc::ConfigInvalid;
    total_ms += static_cast<std::int64_t>(number) * factor;
    if (total_ms > kMaxMs) return Errc::ConfigInvalid;
  }
  return std::chrono::milliseconds(total_ms);
}

Result<std::size_t> parse_size(std::string_view text) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return Errc::ConfigInvalid;
  std::string_view unit = text.substr(static_cast<std::size_t>(end - text.data()));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  else if (unit == "KiB") factor = 1ull << 10;
  else if (unit == "MiB") factor = 1ull << 20;
  else if (unit == "GiB") factor = 1ull << 30;
  else if (unit == "kB" || unit == "KB") factor = 1000;
  else if (unit == "MB") factor = 1000 * 1000;
  else if (unit == "GB") factor = 1000 * 1000 * 1000;
  else return Errc::ConfigInvalid;
  if (number > std::numeric_limits<std::uint64_t>::max() / factor) return Errc::ConfigInvalid;
  return static_cast<std::size_t>(number * factor);
}

fs::path default_config_file() { return fs::path(GATEKEEPER_SOURCE_DIR) / "config" / "gatekeeper.yaml"; }

Result<Settings> parse_settings(std::string_view yaml, const std::string& file_name,
                                const fs::path& base_dir, Diagnostics& diagnostics) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    Diagnostic d = file_diagnostic(file_name, "not valid YAML: " + e.msg);
    if (e.mark.line >= 0) {
      d.line = e.mark.line + 1;
      d.column = e.mark.column + 1;
    }
    diagnostics.push_back(std::move(d));
    return Errc::ConfigSyntax;
  }
  // Defaults are relative to the configuration file's directory, like values written in it.
  Settings settings;
  const fs::path base = fs::absolute(base_dir);
  settings.data_dir = (base / settings.data_dir).lexically_normal();
  settings.rules_dir = (base / settings.rules_dir).lexically_normal();
  settings.policy_file = (base / settings.policy_file).lexically_normal();
  settings.platforms_file = (base / settings.platforms_file).lexically_normal();

  const std::size_t before = diagnostics.size();
  try {
    SettingsParser(file_name, base, diagnostics).parse(root, settings);
  } catch (const YAML::Exception& e) {
    // Defensive: the parser checks node types before converting, so this is not expected.
    diagnostics.push_back(file_diagnostic(file_name, std::string("unexpected YAML content: ") + e.what()));
  }
  const Diagnostics added(diagnostics.begin() + static_cast<std::ptrdiff_t>(before), diagnostics.end());
  if (has_errors(added)) return Errc::ConfigInvalid;
  return settings;
}

Result<Settings> load_settings(const fs::path& file, Diagnostics& diagnostics) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    diagnostics.push_back(file_diagnostic(file.string(), "configuration file not found"));
    return Errc::ConfigNotFound;
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    diagnostics.push_back(file_diagnostic(file.string(), "configuration file cannot be read"));
    return Errc::ConfigUnreadable;
  }
  return parse_settings(text.str(), file.string(), fs::absolute(file).parent_path(), diagnostics);
}

Result<void> apply_overrides(Settings& settings, const Overrides& overrides,
                             Diagnostics& diagnostics) {
  bool ok = true;
  auto fail = [&](std::string message) {
    diagnostics.push_back(file_diagnostic("command line", std::move(message)));
    ok = false;
  };
  if (overrides.listen) {
    if (auto parsed = parse_host_port(*overrides.listen)) {
      settings.listen_host = parsed->host;
      settings.listen_port = parsed->port;
    } else {
      fail("--listen: expected HOST:PORT (e.g. 127.0.0.1:3128), got '" + *overrides.listen + "'");
    }
  }
  if (overrides.admin_listen) {
    if (auto parsed = parse_host_port(*overrides.admin_listen)) {
      settings.admin_host = parsed->host;
      settings.admin_port = parsed->port;
    } else {
      fail("--admin-listen: expected HOST:PORT (e.g. 127.0.0.1:3129), got '" +
           *overrides.admin_listen + "'");
    }
  }
  if (overrides.data_dir) settings.data_dir = fs::absolute(*overrides.data_dir).lexically_normal();
  if (overrides.upstream_ca) {
    settings.upstream_ca = fs::absolute(*overrides.upstream_ca).lexically_normal();
  }
  for (const auto& text : overrides.connect_to) {
    if (auto parsed = parse_connect_to(text)) {
      settings.connect_to.push_back(*parsed);
    } else {
      fail("--connect-to: expected HOST:PORT:ADDRESS:PORT, got '" + text + "'");
    }
  }
  if (!ok) return Errc::ConfigInvalid;
  return {};
}

}  // namespace gatekeeper::config

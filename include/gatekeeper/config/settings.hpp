#pragma once

#include "gatekeeper/config/platforms.hpp"
#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/policy/policy.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace gatekeeper::config {

// --connect-to HOST:PORT:ADDR:PORT (curl's meaning): connections for HOST:PORT go to ADDR:PORT.
struct ConnectTo {
  std::string host;
  std::uint16_t port = 0;
  std::string address;
  std::uint16_t address_port = 0;
};
// Parses "HOST:PORT:ADDR:PORT"; IPv6 literals in brackets ("[::1]").
Result<ConnectTo> parse_connect_to(std::string_view text);

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
// Parses "HOST:PORT" ("[::1]:3128" for IPv6). Port 0 is accepted (bind to any free port).
Result<HostPort> parse_host_port(std::string_view text);

// Human durations: "500ms", "30s", "2m", "1h", "400d", "1m30s". A bare number is refused (unit
// unclear); at most twenty years.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
// Sizes: "16MiB", "64KiB", "1GiB", "500kB", "1MB" or a plain byte count.
Result<std::size_t> parse_size(std::string_view text);

struct Timeouts {
  std::chrono::milliseconds request_header{30'000};   // client must send a full request head
  std::chrono::milliseconds request_body{60'000};     // idle time allowed while reading a body
  std::chrono::milliseconds keep_alive_idle{120'000}; // between requests on a kept-alive connection
  std::chrono::milliseconds tls_handshake{15'000};
  std::chrono::milliseconds upstream_connect{10'000};
  std::chrono::milliseconds upstream_idle{300'000};   // idle (not total) while streaming a response
  std::chrono::milliseconds tunnel_idle{600'000};
  std::chrono::milliseconds shutdown_grace{10'000};  // SIGTERM: open sessions may finish this long
};

// `audit:` section: where the audit trail lives and how it behaves (docs/audit-log.md).
struct AuditSettings {
  std::string postgres_dsn;      // empty = SQLite at DATA_DIR/audit.db
  std::string instance;          // chain name; empty = this host's name
  bool name_users = false;       // record proxy user names instead of keyed pseudonyms
  std::chrono::hours retention{24 * 400};  // records older than this are purged (audited)
  bool fail_closed = true;       // AI traffic is refused when not even the spool can be written
  // When a record counts as written: "process" — in the spool file by write(2), which survives a
  // crash or kill -9 of gatekeeper; "disk" — also fdatasync'ed, which survives a power cut but
  // makes every AI request wait for a disk flush (shared between concurrent requests).
  std::string durability = "process";
  std::size_t queue_capacity = 10'000;
  std::string syslog;            // "" (off), "udp://HOST:PORT" or "unix:/dev/log" (RFC 5424)
};

// `console:` section: the DPO review console on the admin listener.
struct ConsoleSettings {
  bool enabled = true;
  std::string password_hash;                       // crypt(3) hash ($y$, $6$, $2y$)
  std::optional<std::filesystem::path> token_file;  // alternative: a file holding a secret token
  std::chrono::minutes session_lifetime{8 * 60};
  // Base URL of the console as researchers' browsers reach it, for the "signaler un faux
  // positif" link in block messages. Default: http://ADMIN_LISTEN.
  std::string public_url;
};

// `files:` section: limits on what is extracted from attached files and compressed bodies.
// Past any limit the request is blocked with an explanation (fail closed).
struct FileLimits {
  std::size_t max_decoded_bytes = 64u << 20;   // decompressed body or file, total per request
  double max_compression_ratio = 200.0;        // decoded / encoded, per member (zip bombs)
  unsigned max_archive_depth = 3;              // zip inside zip inside ...
  std::size_t max_archive_entries = 10'000;
  unsigned max_pdf_pages = 2'000;
  std::chrono::milliseconds max_extraction_time{10'000};  // all files of one request
};

// `websocket:` section.
struct WebSocketSettings {
  bool inspect = true;                    // false: refuse upgrades to AI hosts (502)
  std::size_t max_message_bytes = 16u << 20;  // larger messages to AI hosts close the socket (1009)
};

// config/gatekeeper.yaml, after command-line overrides. Relative paths are resolved against the
// directory of the configuration file.
struct Settings {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 3128;
  std::string admin_host = "127.0.0.1";
  std::uint16_t admin_port = 3129;
  std::vector<std::string> allowed_clients;  // CIDRs; empty = loopback only
  std::optional<std::filesystem::path> htpasswd;  // when set, Proxy-Authorization Basic is required
  // CA, leaf key, logs, decision log. Default: the repository's data/ (the shipped config says
  // "../data"), the same wherever the command runs from.
  std::filesystem::path data_dir = std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "data";
  std::filesystem::path rules_dir = "../rules";
  std::filesystem::path policy_file = "policy.yaml";
  std::filesystem::path platforms_file = "platforms.yaml";
  std::optional<std::filesystem::path> upstream_ca;  // extra trust anchors for upstream TLS
  std::vector<ConnectTo> connect_to;
  std::size_t max_body_bytes = 16u << 20;   // inspected request bodies to AI hosts
  std::size_t max_header_bytes = 64u << 10;
  std::size_t leaf_cache_size = 10'000;
  unsigned threads = 2;
  Timeouts timeouts;
  AuditSettings audit;
  ConsoleSettings console;
  FileLimits files;
  WebSocketSettings websocket;
  bool watch_files = true;  // reload when a config, policy, platforms or rule file changes
  std::string log_level = "info";
};

// Values given on the command line; they win over the file, and survive reloads.
struct Overrides {
  std::optional<std::filesystem::path> config_file;  // default: the shipped config/gatekeeper.yaml
  std::optional<std::string> listen;        // HOST:PORT
  std::optional<std::string> admin_listen;  // HOST:PORT
  std::optional<std::filesystem::path> data_dir;
  std::optional<std::filesystem::path> upstream_ca;
  std::vector<std::string> connect_to;      // appended to the file's list
};

// User name -> password hash from an htpasswd-style file (bcrypt "$2y$", sha512-crypt "$6$",
// yescrypt "$y$": anything crypt(3) verifies). Plain-text and unsalted entries are rejected.
struct Credentials {
  std::vector<std::pair<std::string, std::string>> users;
  // Clients send their password with every request and bcrypt is slow by design: a successful
  // check is remembered (as a keyed digest, never the password) for the life of this object.
  bool verify(std::string_view user, std::string_view password) const;

  // Reads "user:hash" lines; '#' starts a comment line. Every bad line is a diagnostic.
  static Result<std::shared_ptr<const Credentials>> load(const std::filesystem::path& file,
                                                         Diagnostics& diagnostics);
  static Result<std::shared_ptr<const Credentials>> parse(std::string_view text,
                                                          const std::string& file_name,
                                                          Diagnostics& diagnostics);

 private:
  struct VerifiedCache;
  std::shared_ptr<VerifiedCache> verified_ = make_verified_cache();
  static std::shared_ptr<VerifiedCache> make_verified_cache();
};

// Everything a request needs, compiled once and immutable: shared by shared_ptr<const> and kept
// alive by in-flight requests across reloads.
struct Snapshot {
  std::uint64_t revision = 0;
  Settings settings;
  detect::RuleSetConstSharedPtr rules;
  policy::PolicyConstSharedPtr policy;
  PlatformRegistryConstSharedPtr platforms;
  std::shared_ptr<const Credentials> credentials;  // null when authentication is off
  std::vector<std::filesystem::path> watched_files;  // inputs, for change detection
};
using SnapshotConstSharedPtr = std::shared_ptr<const Snapshot>;

// The shipped configuration file (config/gatekeeper.yaml of the source tree).
std::filesystem::path default_config_file();

// Parses a configuration file's text. Relative paths are resolved against `base_dir`; unknown keys
// are rejected with the closest known key suggested. Every problem goes to `diagnostics`.
Result<Settings> parse_settings(std::string_view yaml, const std::string& file_name,
                                const std::filesystem::path& base_dir, Diagnostics& diagnostics);
Result<Settings> load_settings(const std::filesystem::path& file, Diagnostics& diagnostics);
// Applies command-line values on top of the file's (relative override paths: against the cwd).
Result<void> apply_overrides(Settings& settings, const Overrides& overrides, Diagnostics& diagnostics);

// Loads config file + overrides + platforms + policy + rules. Every problem goes to `diagnostics`.
Result<SnapshotConstSharedPtr> load_snapshot(const Overrides& overrides, std::uint64_t revision,
                                             Diagnostics& diagnostics);

// Publishes the current snapshot. Readers take a reference with current(); reload builds a new
// snapshot and publish() swaps it in, or keeps the old one when loading failed.
class SnapshotStore {
 public:
  explicit SnapshotStore(SnapshotConstSharedPtr initial) : current_(std::move(initial)) {}
  SnapshotConstSharedPtr current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void publish(SnapshotConstSharedPtr next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  SnapshotConstSharedPtr current_;
};

}  // namespace gatekeeper::config

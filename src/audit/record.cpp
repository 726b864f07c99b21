#include "gatekeeper/audit/record.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace gatekeeper::audit {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxMaskedBytes = 64;

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0F]);
  }
  return out;
}

std::string keyed_digest(const std::string& key, std::string_view domain, std::string_view value,
                         std::size_t keep_bytes) {
  std::string input;
  input.reserve(domain.size() + value.size());
  input.append(domain).append(value);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest,
           &length) == nullptr)
    return std::string();
  return hex(digest, std::min<std::size_t>(keep_bytes, length));
}

bool is_ascii_alnum(unsigned char c) { return std::isalnum(c) != 0 && c < 0x80; }

// Reads the whole of `fd`; false on a read error.
bool read_all(int fd, std::string& out) {
  char buffer[256];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

Result<std::string> read_key(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return make_error_code(errno == ENOENT ? Errc::NotFound : Errc::IoError);
  struct stat info {};
  std::string key;
  bool ok = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  // The key must stay as private as the CA key: tighten a copy restored with looser permissions.
  if (ok && (info.st_mode & 077) != 0) ok = ::fchmod(fd, 0600) == 0;
  ok = ok && read_all(fd, key);
  ::close(fd);
  if (!ok || key.size() < kKeyBytes) return make_error_code(Errc::IoError);
  return key;
}

// Writes a fresh key to a temporary file and links it into place: a concurrent start either wins
// the link or reads the winner's key, and nobody ever sees a half-written key.
Result<std::string> create_key(const std::filesystem::path& file) {
  unsigned char random[kKeyBytes];
  if (RAND_bytes(random, sizeof random) != 1) return make_error_code(Errc::IoError);
  std::string temp = file.string() + ".XXXXXX";
  const int fd = ::mkstemp(temp.data());  // mode 0600
  if (fd < 0) return make_error_code(Errc::IoError);
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, random, sizeof random) == static_cast<ssize_t>(sizeof random) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (ok && ::link(temp.c_str(), file.c_str()) != 0) ok = errno == EEXIST;
  ::unlink(temp.c_str());
  if (!ok) return make_error_code(Errc::IoError);
  if (const int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return read_key(file);
}

struct ChainState {
  std::uint64_t sequence = 0;
  std::string hash;
};

}  // namespace

Result<std::shared_ptr<const Pseudonymizer>> Pseudonymizer::load_or_create(
    const std::filesystem::path& data_dir) {
  const std::filesystem::path file = data_dir / kKeyFileName;
  auto key = read_key(file);
  if (!key && key.error() == Errc::NotFound) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    key = create_key(file);
  }
  if (!key) return key.error();
  return std::shared_ptr<const Pseudonymizer>(new Pseudonymizer(std::move(*key)));
}

std::shared_ptr<const Pseudonymizer> Pseudonymizer::from_key(std::string key) {
  return std::shared_ptr<const Pseudonymizer>(new Pseudonymizer(std::move(key)));
}

std::string Pseudonymizer::value_hmac(std::string_view normalized) const {
  return "h:" + keyed_digest(key_, "value:", normalized, 16);
}

std::string Pseudonymizer::user_pseudonym(std::string_view user) const {
  return "u:" + keyed_digest(key_, "user:", user, 8);
}

std::string mask_value(std::string_view value) {
  bool truncated = false;
  if (value.size() > kMaxMaskedBytes) {
    std::size_t end = kMaxMaskedBytes;
    while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
    value = value.substr(0, end);
    truncated = true;
  }
  // Units: one per ASCII character or per UTF-8 sequence (a non-ASCII letter).
  struct Unit {
    std::string_view text;
    bool letter;
    bool ascii;
  };
  std::vector<Unit> units;
  std::size_t letters = 0;
  for (std::size_t i = 0; i < value.size();) {
    const auto c = static_cast<unsigned char>(value[i]);
    std::size_t length = 1;
    if (c >= 0x80)
      while (i + length < value.size() &&
             (static_cast<unsigned char>(value[i + length]) & 0xC0) == 0x80)
        ++length;
    const bool letter = c >= 0x80 || is_ascii_alnum(c);
    units.push_back({value.substr(i, length), letter, c < 0x80});
    letters += letter ? 1 : 0;
    i += length;
  }
  const std::size_t shown = letters < 6 ? 0 : std::min<std::size_t>(5, letters / 3);
  const std::size_t last = shown >= 4 ? 2 : shown >= 2 ? 1 : 0;
  const std::size_t first = shown - last;
  std::string out;
  out.reserve(value.size());
  std::size_t index = 0;
  for (const Unit& unit : units) {
    if (!unit.letter) {
      out.append(unit.text);
      continue;
    }
    const bool show = unit.ascii && (index < first || index >= letters - last);
    out.append(show ? unit.text : std::string_view("*"));
    ++index;
  }
  if (truncated) out += "…";
  return out;
}

std::string canonical_value(std::string_view value) {
  const bool numeric = std::any_of(value.begin(), value.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || is_ascii_alnum(c)) {
      if (pending_space && !out.empty()) out.push_back(' ');
      pending_space = false;
      out.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    } else if (!numeric) {
      if (std::isspace(c)) pending_space = true;
      else out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

Chain::Chain(std::string instance, const Record* last) : instance_(std::move(instance)) {
  if (last != nullptr) {
    sequence_ = last->sequence;
    last_hash_ = last->hash;
  } else {
    last_hash_ = genesis_hash();
  }
}

void Chain::stamp(Record& record) {
  std::lock_guard lock(mutex_);
  record.instance = instance_;
  record.sequence = ++sequence_;
  record.previous_hash = last_hash_;
  record.hash = record.compute_hash();
  last_hash_ = record.hash;
}

Result<VerifyReport> verify_chain(Store& store) {
  // Links that a retention purge vouches for: (instance, last purged sequence, its hash).
  std::set<std::tuple<std::string, std::uint64_t, std::string>> purged_links;
  Filter admin;
  admin.kind = RecordKind::Admin;
  admin.limit = 0;
  auto collected = store.for_each(admin, [&](const Record& record) {
    if (!record.body.is_object() || record.body.value("event", "") != "retention_purge") return true;
    const auto chains = record.body.find("chains");
    if (chains == record.body.end() || !chains->is_array()) return true;
    for (const auto& chain : *chains)
      if (chain.is_object())
        purged_links.emplace(chain.value("instance", ""), chain.value("last_sequence", 0ull),
                             chain.value("last_hash", ""));
    return true;
  });
  if (!collected) return collected.error();

  VerifyReport report;
  std::map<std::string, ChainState> chains;
  Filter all;
  all.limit = 0;
  all.newest_first = false;
  auto walked = store.for_each(all, [&](const Record& record) {
    ++report.records_checked;
    auto broken = [&](std::string reason) {
      report.ok = false;
      report.first_broken_id = record.id;
      report.first_broken_reason = std::move(reason);
      return false;
    };
    if (record.compute_hash() != record.hash) return broken("hash mismatch: the record was altered");
    Record projected;
    projected.body = record.body;
    projected.project_body();
    std::vector<std::string> stored_categories = record.categories;
    std::sort(stored_categories.begin(), stored_categories.end());
    if (projected.platform != record.platform || projected.action != record.action ||
        projected.user != record.user || projected.categories != stored_categories)
      return broken("indexed columns differ from the record's hashed body");
    auto [state, first] = chains.try_emplace(record.instance);
    if (first) {
      const bool genesis = record.sequence == 1 && record.previous_hash == genesis_hash();
      const bool after_purge = record.sequence > 1 &&
                               purged_links.count({record.instance, record.sequence - 1,
                                                   record.previous_hash}) != 0;
      if (!genesis && !after_purge)
        return broken(
            "the chain starts after missing records that no retention purge accounts for");
    } else {
      if (record.sequence != state->second.sequence + 1)
        return broken("gap in the sequence: expected " +
                      std::to_string(state->second.sequence + 1) + ", found " +
                      std::to_string(record.sequence) + " (records missing or reordered)");
      if (record.previous_hash != state->second.hash)
        return broken("previous_hash does not link to the record before it");
    }
    state->second.sequence = record.sequence;
    state->second.hash = record.hash;
    return true;
  });
  if (!walked) return walked.error();
  report.chains = chains.size();
  return report;
}

Result<std::uint64_t> purge_records_before(Store& store, std::string_view before,
                                           Record& purge_record) {
  const auto bound = canonical_time(before);
  if (!bound) return make_error_code(Errc::ConfigInvalid);
  std::map<std::string, ChainState> last_purged;
  Filter doomed;
  doomed.until = *bound;
  doomed.limit = 0;
  doomed.newest_first = false;
  auto scanned = store.for_each(doomed, [&](const Record& record) {
    ChainState& state = last_purged[record.instance];
    if (record.sequence >= state.sequence) state = {record.sequence, record.hash};
    return true;
  });
  if (!scanned) return scanned.error();
  auto count = store.purge_before(*bound);
  if (!count) return count.error();
  nlohmann::json chains = nlohmann::json::array();
  for (const auto& [instance, state] : last_purged)
    chains.push_back(
        {{"instance", instance}, {"last_sequence", state.sequence}, {"last_hash", state.hash}});
  purge_record =
      make_admin_record("retention_purge", {{"before", *bound}, {"count", *count}, {"chains", chains}});
  return *count;
}

Result<std::uint64_t> purge_expired(Store& store, std::chrono::hours retention,
                                    Record& purge_record,
                                    std::chrono::system_clock::time_point now) {
  const std::time_t cutoff = std::chrono::system_clock::to_time_t(now - retention);
  std::tm utc{};
  gmtime_r(&cutoff, &utc);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  auto count = purge_records_before(store, buffer, purge_record);
  if (count) purge_record.body["retention_hours"] = retention.count();
  return count;
}

Record make_admin_record(std::string_view event, const nlohmann::json& details) {
  Record record;
  record.kind = RecordKind::Admin;
  record.time = now_time();
  record.body = nlohmann::json::object();
  if (details.is_object()) record.body = details;
  record.body["event"] = std::string(event);
  record.project_body();
  return record;
}

Record make_request_record(nlohmann::json body) {
  Record record;
  record.kind = RecordKind::Request;
  if (!body.is_object()) body = nlohmann::json::object();
  for (const char* key : {"time", "ts"}) {
    const auto it = body.find(key);
    if (it != body.end() && it->is_string()) {
      record.time = it->get<std::string>();
      break;
    }
  }
  if (record.time.empty()) record.time = now_time();
  if (const auto it = body.find("reference"); it != body.end() && it->is_string())
    record.reference = it->get<std::string>();
  record.body = std::move(body);
  record.project_body();
  return record;
}

}  // namespace gatekeeper::audit

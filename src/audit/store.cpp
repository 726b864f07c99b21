#include "gatekeeper/audit/store.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "gatekeeper/config/settings.hpp"

namespace gatekeeper::audit {

std::string_view to_string(RecordKind kind) noexcept {
  switch (kind) {
    case RecordKind::Request: return "request";
    case RecordKind::Admin: return "admin";
    case RecordKind::Triage: return "triage";
    case RecordKind::Report: return "report";
  }
  return "request";
}

std::optional<RecordKind> record_kind_from_string(std::string_view text) noexcept {
  if (text == "request") return RecordKind::Request;
  if (text == "admin") return RecordKind::Admin;
  if (text == "triage") return RecordKind::Triage;
  if (text == "report") return RecordKind::Report;
  return std::nullopt;
}

std::string Record::canonical_payload() const {
  // nlohmann::json objects keep their keys sorted, nested ones included: the dump is canonical.
  const nlohmann::json payload = {{"time", time},
                                  {"kind", std::string(to_string(kind))},
                                  {"instance", instance},
                                  {"sequence", sequence},
                                  {"reference", reference},
                                  {"about", about},
                                  {"body", body.is_null() ? nlohmann::json::object() : body}};
  return payload.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

std::string Record::compute_hash() const {
  const std::string input = previous_hash + "\n" + canonical_payload();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    return std::string();  // never equal to a stored hash: verification reports it
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

void Record::project_body() {
  auto text = [this](const char* key) {
    const auto it = body.is_object() ? body.find(key) : body.end();
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  platform = text("platform");
  action = text("action");
  user = text("user");
  categories.clear();
  if (body.is_object())
    if (const auto it = body.find("categories"); it != body.end() && it->is_array())
      for (const auto& category : *it)
        if (category.is_string()) categories.push_back(category.get<std::string>());
  std::sort(categories.begin(), categories.end());
  categories.erase(std::unique(categories.begin(), categories.end()), categories.end());
}

nlohmann::json record_to_json(const Record& record) {
  return {{"id", record.id},
          {"instance", record.instance},
          {"sequence", record.sequence},
          {"time", record.time},
          {"kind", std::string(to_string(record.kind))},
          {"reference", record.reference},
          {"about", record.about},
          {"platform", record.platform},
          {"action", record.action},
          {"user", record.user},
          {"categories", record.categories},
          {"body", record.body},
          {"previous_hash", record.previous_hash},
          {"hash", record.hash}};
}

const std::string& genesis_hash() {
  static const std::string kGenesis(64, '0');
  return kGenesis;
}

std::optional<std::string> canonical_time(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  auto digits = [&text](std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  if (!digits(0, 4, year) || text.size() < 10 || text[4] != '-' || !digits(5, 2, month) ||
      text[7] != '-' || !digits(8, 2, day))
    return std::nullopt;
  std::size_t pos = 10;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
    if (!digits(pos + 1, 2, hour) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(pos + 4, 2, minute))
      return std::nullopt;
    pos += 6;
    if (pos < text.size() && text[pos] == ':') {
      if (!digits(pos + 1, 2, second)) return std::nullopt;
      pos += 3;
      if (pos < text.size() && text[pos] == '.') {
        if (!digits(pos + 1, 3, millis)) return std::nullopt;
        pos += 4;
      }
    }
    if (pos < text.size() && text[pos] == 'Z') ++pos;
  }
  if (pos != text.size()) return std::nullopt;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || hour > 23 ||
      minute > 59 || second > 60)
    return std::nullopt;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, day,
                hour, minute, second, millis);
  return std::string(buffer);
}

std::string now_time() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms));
  return buffer;
}

Result<StorePtr> open_store(const config::Settings& settings, Diagnostics* diagnostics) {
  auto report = [diagnostics](std::string message) {
    if (diagnostics == nullptr) return;
    Diagnostic diagnostic;
    diagnostic.message = std::move(message);
    diagnostics->push_back(std::move(diagnostic));
  };
  if (!settings.audit.postgres_dsn.empty()) {
    report(
        "audit.postgres_dsn is set, but this build of gatekeeper cannot use PostgreSQL yet: "
        "remove audit.postgres_dsn to keep the audit trail in DATA_DIR/audit.db (SQLite)");
    return make_error_code(Errc::ConfigInvalid);
  }
  const std::filesystem::path file = settings.data_dir / "audit.db";
  auto store = open_sqlite_store(file.string());
  if (!store)
    report("cannot open the audit database " + file.string() +
           ": check that the data directory exists, is writable, and that the file is a "
           "gatekeeper audit database");
  return store;
}

}  // namespace gatekeeper::audit

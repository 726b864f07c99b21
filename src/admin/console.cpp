#include "gatekeeper/admin/console.hpp"

#include "gatekeeper/admin/console_html.hpp"
#include "gatekeeper/audit/record.hpp"

#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

namespace gatekeeper::admin {
namespace {

namespace http = boost::beast::http;
using namespace console;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Request = Console::Request;
using Response = Console::Response;

constexpr std::string_view kSessionCookie = "gk_session";
constexpr std::string_view kFormCookie = "gk_form";
constexpr std::size_t kPageSize = 50;
constexpr std::size_t kMaxCommentBytes = 1000;
constexpr std::size_t kMaxPasswordBytes = 1024;
constexpr std::size_t kMaxSessions = 64;
constexpr std::size_t kMaxFilterValue = 128;
constexpr std::int64_t kFormTokenSeconds = 30 * 60;
constexpr int kDefaultPeriodDays = 30;

const std::string kCss = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1c2833;background:#f4f6f7}
header{background:#1b4f72;color:#fff;padding:10px 24px;display:flex;align-items:center;gap:24px}
header h1{font-size:18px;margin:0}
header a{color:#fff;text-decoration:none}
header nav{display:flex;gap:16px;flex:1}
header form{margin:0}
main{padding:16px 24px;max-width:1200px}
h2{font-size:20px}
h3{font-size:16px;margin-top:24px}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d5d8dc;padding:4px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#eaf2f8}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d5d8dc;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{background:#fff;border:1px solid #d5d8dc;padding:8px}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;background:#fff;padding:8px;border:1px solid #d5d8dc}
form.filters label{display:flex;flex-direction:column;font-size:12px}
.ok{color:#1e8449;font-weight:bold}
.bad{color:#b03a2e;font-weight:bold}
.notice{background:#fef9e7;border:1px solid #f4d03f;padding:8px}
.error{background:#fdedec;border:1px solid #e6b0aa;padding:8px}
.login{max-width:420px;margin:60px auto;background:#fff;padding:24px;border:1px solid #d5d8dc}
.login input,.login select,.login textarea{width:100%;box-sizing:border-box;margin:4px 0 12px}
button{background:#1b4f72;color:#fff;border:0;padding:6px 14px;cursor:pointer}
header button{background:#fff;color:#1b4f72}
code{font-size:12px;word-break:break-all}
pre{white-space:pre-wrap;font-size:12px}
)css";

// Reasons a researcher can give; the key is stored, the label shown.
const std::vector<std::pair<std::string, std::string>> kReportReasons{
    {"no_sensitive_data", "Le message ne contenait aucune donnée sensible"},
    {"fictitious_data", "Données fictives ou de test"},
    {"public_data", "Données publiques ou déjà publiées"},
    {"anonymised_data", "Données anonymisées"},
    {"other", "Autre raison"}};

const std::map<std::string, std::string> kFieldLabels{
    {"ts", "Horodatage"},
    {"time", "Horodatage"},
    {"reference", "Référence"},
    {"connection", "Connexion"},
    {"client", "Adresse du client"},
    {"user", "Utilisateur (pseudonyme)"},
    {"platform", "Plateforme"},
    {"host", "Hôte"},
    {"upload_host", "Hôte de téléversement"},
    {"method", "Méthode"},
    {"path", "Chemin"},
    {"tier", "Niveau de la plateforme"},
    {"endpoint", "Point d'accès"},
    {"monitor", "Mode surveillance"},
    {"action", "Action appliquée"},
    {"would_action", "Action prévue (hors surveillance)"},
    {"categories", "Catégories"},
    {"findings", "Détections"},
    {"segments", "Segments inspectés"},
    {"bytes_inspected", "Octets inspectés"},
    {"revision", "Révision de la configuration"},
    {"justification", "Justification de contournement"},
    {"error", "Erreur"},
    {"rules", "Empreinte du jeu de règles"},
    {"outcome", "Issue"},
    {"status", "Statut HTTP"},
    {"modified", "Requête modifiée (caviardage)"},
    {"verdict", "Verdict"},
    {"comment", "Commentaire"},
    {"reason", "Motif"},
    {"event", "Événement"}};

const std::map<std::string, std::string> kActionLabels{{"block", "bloqué"},
                                                       {"redact", "caviardé"},
                                                       {"warn", "averti"},
                                                       {"log", "journalisé"},
                                                       {"allow", "autorisé"}};

std::string action_label(const std::string& action) {
  auto it = kActionLabels.find(action);
  return it == kActionLabels.end() ? action : it->second + " (" + action + ")";
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::time_t> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int year = 0, month = 0, day = 0;
  auto number = [&](std::size_t at, std::size_t length, int& out) {
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, out);
    return ec == std::errc() && end == text.data() + at + length;
  };
  if (!number(0, 4, year) || !number(5, 2, month) || !number(8, 2, day)) return std::nullopt;
  if (year < 2000 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  return timegm(&tm);
}

std::string format_date(std::time_t t) {
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday);
  return buffer;
}

std::vector<std::string> days_between(const std::string& first, const std::string& last) {
  std::vector<std::string> days;
  auto from = parse_date(first);
  auto to = parse_date(last);
  if (!from || !to || *to < *from || *to - *from > 400 * 86400) return days;
  for (std::time_t t = *from; t <= *to; t += 86400) days.push_back(format_date(t));
  return days;
}

bool valid_reference(std::string_view ref) {
  // "GK-YYYYMMDD-" followed by 6 to 16 upper-case hex digits (make_reference_id()).
  if (ref.size() < 18 || ref.size() > 28 || !ref.starts_with("GK-") || ref[11] != '-') return false;
  for (std::size_t i = 3; i < 11; ++i) {
    if (ref[i] < '0' || ref[i] > '9') return false;
  }
  for (std::size_t i = 12; i < ref.size(); ++i) {
    const char c = ref[i];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

std::string sha256_raw(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(data.data()),
                                     static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(std::max(0, length)));
  return out;
}

std::string json_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "—";
  if (value.is_boolean()) return value.get<bool>() ? "oui" : "non";
  if (value.is_array()) {
    bool scalars = std::all_of(value.begin(), value.end(),
                               [](const json& v) { return v.is_primitive(); });
    if (scalars) {
      std::string out;
      for (const auto& item : value) {
        if (!out.empty()) out += ", ";
        out += json_text(item);
      }
      return out.empty() ? "—" : out;
    }
  }
  return value.dump(2, ' ', false, json::error_handler_t::replace);
}

// One line per matched value: masked excerpt, the context words that matched, keyed HMAC.
std::string render_matches(const json& matches) {
  if (!matches.is_array()) return html_escape(json_text(matches));
  std::string out;
  for (const auto& match : matches) {
    if (!out.empty()) out += "<br>";
    if (!match.is_object()) {
      out += html_escape(json_text(match));
      continue;
    }
    const auto excerpt = match.find("excerpt");
    out += "<code>" + html_escape(excerpt != match.end() ? json_text(*excerpt) : "") + "</code>";
    const auto context = match.find("context");
    if (context != match.end() && context->is_array() && !context->empty()) {
      std::string words;
      for (const auto& word : *context) words += (words.empty() ? "" : ", ") + json_text(word);
      out += " (contexte : " + html_escape(words) + ")";
    }
    const auto hmac = match.find("value_hmac");
    if (hmac != match.end()) out += " <small>" + html_escape(json_text(*hmac)) + "</small>";
  }
  return out;
}


// Sliding-window counter per key (client address) and overall.
class RateLimiter {
 public:
  RateLimiter(std::size_t per_key, std::size_t overall, Clock::duration window)
      : per_key_(per_key), overall_(overall), window_(window) {}

  bool allowed(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    prune(global_, now);
    if (global_.size() >= overall_) return false;
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return true;
    prune(it->second, now);
    return it->second.size() < per_key_;
  }
  void record(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (by_key_.size() > 10'000) by_key_.clear();  // bounded memory under a spray of addresses
    by_key_[key].push_back(now);
    global_.push_back(now);
  }
  void clear(const std::string& key) {
    std::lock_guard lock(mutex_);
    by_key_.erase(key);
  }

 private:
  void prune(std::deque<Clock::time_point>& events, Clock::time_point now) {
    while (!events.empty() && now - events.front() > window_) events.pop_front();
  }
  std::mutex mutex_;
  std::size_t per_key_, overall_;
  Clock::duration window_;
  std::map<std::string, std::deque<Clock::time_point>> by_key_;
  std::deque<Clock::time_point> global_;
};

struct Session {
  std::string csrf;
  Clock::time_point expires;
  Clock::time_point created;
};

// The list, overview and export share one filter, carried in the query string.
struct ListQuery {
  audit::Filter filter;
  std::string triage;  // "", "untriaged", "false_positive", "confirmed", "reported"
  std::map<std::string, std::string> values;  // validated parameters, for links and the form
  std::vector<std::string> problems;
};

ListQuery parse_list_query(std::string_view query_string, bool default_period) {
  ListQuery q;
  q.filter.kind = audit::RecordKind::Request;
  const auto raw = parse_form(query_string);
  auto get = [&](const char* name) -> std::string {
    auto it = raw.find(name);
    if (it == raw.end()) return {};
    return it->second.size() > kMaxFilterValue ? std::string() : it->second;
  };
  std::string since = get("since"), until = get("until");
  if (!since.empty() && !parse_date(since)) {
    q.problems.push_back("Date de début invalide (format AAAA-MM-JJ) : ignorée.");
    since.clear();
  }
  if (!until.empty() && !parse_date(until)) {
    q.problems.push_back("Date de fin invalide (format AAAA-MM-JJ) : ignorée.");
    until.clear();
  }
  if (since.empty() && default_period && raw.count("since") == 0) {
    since = format_date(std::time(nullptr) - kDefaultPeriodDays * 86400);
  }
  if (!since.empty()) {
    q.filter.since = since;
    q.values["since"] = since;
  }
  if (!until.empty()) {
    q.filter.until = format_date(*parse_date(until) + 86400);  // the end date is included
    q.values["until"] = until;
  }
  for (const char* name : {"platform", "category", "action", "user", "ref"}) {
    std::string value = get(name);
    if (value.empty()) continue;
    q.values[name] = value;
    if (std::string_view(name) == "platform") q.filter.platform = value;
    if (std::string_view(name) == "category") q.filter.category = value;
    if (std::string_view(name) == "action") q.filter.action = value;
    if (std::string_view(name) == "user") q.filter.user = value;
    if (std::string_view(name) == "ref") q.filter.reference = value;
  }
  const std::string triage = get("triage");
  if (triage == "untriaged" || triage == "false_positive" || triage == "confirmed" ||
      triage == "reported") {
    q.triage = triage;
    q.values["triage"] = triage;
  }
  const std::string before = get("before");
  std::int64_t before_id = 0;
  if (!before.empty()) {
    const auto [end, ec] = std::from_chars(before.data(), before.data() + before.size(), before_id);
    if (ec == std::errc() && end == before.data() + before.size() && before_id > 0) {
      q.filter.before_id = before_id;
    }
  }
  return q;
}

std::string query_string(const std::map<std::string, std::string>& values) {
  std::string out;
  for (const auto& [name, value] : values) {
    out += out.empty() ? "" : "&";
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

// The DPO's latest verdict per reference, and how many researchers' reports name it.
struct TriageIndex {
  struct Verdict {
    std::string verdict;  // "false_positive" | "confirmed"
    std::string time;
  };
  std::map<std::string, Verdict> verdicts;
  std::map<std::string, std::size_t> reports;

  std::string state_of(const std::string& reference) const {
    auto it = verdicts.find(reference);
    if (it != verdicts.end()) return it->second.verdict;
    return reports.count(reference) != 0 ? "reported" : "untriaged";
  }
  bool matches(const std::string& wanted, const std::string& reference) const {
    if (wanted.empty()) return true;
    const std::string state = state_of(reference);
    if (wanted == "reported") return reports.count(reference) != 0;
    if (wanted == "untriaged") return state == "untriaged" || state == "reported";
    return state == wanted;
  }
};

std::string triage_label(const std::string& state) {
  if (state == "false_positive") return "faux positif";
  if (state == "confirmed") return "confirmé";
  if (state == "reported") return "signalé, non traité";
  return "non traité";
}

std::string reason_label(const std::string& key) {
  for (const auto& [k, label] : kReportReasons) {
    if (k == key) return label;
  }
  return key;
}

Response make_response(http::status status) {
  Response response;
  response.result(status);
  return response;
}

Response redirect(std::string_view location, http::status status = http::status::see_other) {
  Response response = make_response(status);
  response.set(http::field::location, location);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = "Redirection\n";
  return response;
}

}  // namespace

struct Console::Impl {
  explicit Impl(Options opts) : options(std::move(opts)) {
    form_key = random_hex(32);
    style_hash = base64(sha256_raw(kCss));
    secure_cookies = options.settings.public_url.starts_with("https://");
    if (options.settings.token_file) {
      std::ifstream in(*options.settings.token_file, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      std::string token = text.str();
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                                token.back() == ' ')) {
        token.pop_back();
      }
      if (!in || token.size() < 16) {
        spdlog::error("console: the token file {} cannot be read or holds fewer than 16 "
                      "characters; token login is disabled",
                      options.settings.token_file->string());
      } else {
        token_digest = sha256_raw(token);
      }
    }
  }

  Response route(const Request& request, const std::string& client);

  // --- authentication and CSRF
  bool login_configured() const {
    return !options.settings.password_hash.empty() || !token_digest.empty();
  }
  bool password_matches(const std::string& password) const;
  std::optional<Session> current_session(const Request& request, std::string* id_digest = nullptr);
  std::string form_token(std::string_view cookie, std::string_view purpose,
                         std::int64_t expiry) const;
  bool form_token_valid(std::string_view cookie, std::string_view purpose,
                        std::string_view token) const;
  // An anonymous form's (login, report) CSRF token, checked against the pre-login cookie.
  template <class Form>
  bool anonymous_form_valid(const Request& request, const Form& form,
                            std::string_view purpose) const {
    const auto cookies = parse_cookies(request[http::field::cookie]);
    const auto cookie = cookies.find(std::string(kFormCookie));
    const auto csrf = form.find("csrf");
    return cookie != cookies.end() && csrf != form.end() &&
           form_token_valid(cookie->second, purpose, csrf->second);
  }
  std::string form_cookie(const Request& request, Response& response) const;
  std::string cookie_attributes() const {
    return std::string("; Path=/; HttpOnly; SameSite=Strict") + (secure_cookies ? "; Secure" : "");
  }
  void audit_admin(json body);

  // --- pages
  std::string page(std::string_view title, std::string_view body, const Session* session,
                   std::string_view active = "") const;
  Response html(http::status status, std::string_view title, std::string_view body,
                const Session* session, std::string_view active = "") const;
  Response login_page(const Request& request, std::string_view message, http::status status);
  Response login_submit(const Request& request, const std::string& client);
  Response logout(const Request& request, const std::string& session_digest);
  Response overview(const Request& request, const Session& session);
  Response list(const Request& request, const Session& session);
  Response detail(std::int64_t id, const Request& request, const Session& session);
  Response triage(std::int64_t id, const std::map<std::string, std::string>& form,
                  const Session& session);
  Response reports(const Request& request, const Session& session);
  Response export_csv(const Request& request);
  Response report_form(const Request& request, std::string_view message, http::status status);
  Response report_submit(const Request& request, const std::string& client);
  Result<TriageIndex> triage_index();
  std::string filter_form(const ListQuery& q, const audit::Stats* known) const;

  Options options;
  std::string form_key;
  std::string style_hash;
  std::string token_digest;
  bool secure_cookies = false;
  std::mutex mutex;
  std::map<std::string, Session> sessions;  // by SHA-256 of the cookie value
  RateLimiter login_failures{5, 50, std::chrono::minutes(15)};
  RateLimiter report_submissions{5, 200, std::chrono::minutes(10)};
};

bool Console::Impl::password_matches(const std::string& password) const {
  bool matched = false;
  const std::string& hash = options.settings.password_hash;
  if (!hash.empty()) {
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    matched = out != nullptr && out[0] != '*' && constant_time_equal(out, hash);
  }
  if (!matched && !token_digest.empty()) {
    matched = constant_time_equal(sha256_raw(password), token_digest);
  }
  return matched;
}

std::optional<Session> Console::Impl::current_session(const Request& request,
                                                      std::string* id_digest) {
  const auto cookies = parse_cookies(request[http::field::cookie]);
  auto it = cookies.find(std::string(kSessionCookie));
  if (it == cookies.end() || it->second.size() != 64) return std::nullopt;
  // Looked up by digest so that comparing map keys reveals nothing about live session ids.
  const std::string digest = sha256_raw(it->second);
  std::lock_guard lock(mutex);
  auto found = sessions.find(digest);
  if (found == sessions.end()) return std::nullopt;
  if (Clock::now() >= found->second.expires) {
    sessions.erase(found);
    return std::nullopt;
  }
  if (id_digest) *id_digest = digest;
  return found->second;
}

std::string Console::Impl::form_token(std::string_view cookie, std::string_view purpose,
                                      std::int64_t expiry) const {
  const std::string message =
      std::string(purpose) + "|" + std::string(cookie) + "|" + std::to_string(expiry);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), form_key.data(), static_cast<int>(form_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
  return std::to_string(expiry) + "." +
         to_hex(std::string_view(reinterpret_cast<const char*>(out), length));
}

bool Console::Impl::form_token_valid(std::string_view cookie, std::string_view purpose,
                                     std::string_view token) const {
  if (cookie.size() != 64 || token.size() > 128) return false;
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return false;
  std::int64_t expiry = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + dot, expiry);
  if (ec != std::errc() || end != token.data() + dot) return false;
  if (expiry < unix_now() || expiry > unix_now() + kFormTokenSeconds) return false;
  return constant_time_equal(form_token(cookie, purpose, expiry), token);
}

// The pre-login cookie that anonymous forms (login, report) bind their CSRF token to.
std::string Console::Impl::form_cookie(const Request& request, Response& response) const {
  const auto cookies = parse_cookies(request[http::field::cookie]);
  auto it = cookies.find(std::string(kFormCookie));
  if (it != cookies.end() && it->second.size() == 64 &&
      it->second.find_first_not_of("0123456789abcdef") == std::string::npos) {
    return it->second;
  }
  std::string value = random_hex(32);
  response.insert(http::field::set_cookie, std::string(kFormCookie) + "=" + value +
                                               "; Max-Age=" + std::to_string(kFormTokenSeconds) +
                                               cookie_attributes());
  return value;
}

void Console::Impl::audit_admin(json body) {
  if (!options.submit_record) return;
  audit::Record record;
  record.kind = audit::RecordKind::Admin;
  record.time = audit::now_time();
  record.body = std::move(body);
  if (auto submitted = options.submit_record(std::move(record)); !submitted) {
    spdlog::error("console: an audit record could not be written: {}",
                  submitted.error().message());
  }
}

std::string Console::Impl::page(std::string_view title, std::string_view body,
                                const Session* session, std::string_view active) const {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta name=\"referrer\" content=\"no-referrer\"><title>" +
      html_escape(title) + " — Gatekeeper</title><style>" + kCss + "</style></head><body>\n";
  out += "<header><h1>Gatekeeper · console du DPO</h1>";
  if (session != nullptr) {
    auto link = [&](std::string_view href, std::string_view label, std::string_view key) {
      return "<a href=\"" + std::string(href) + "\"" +
             (key == active ? " aria-current=\"page\"><b>" + std::string(label) + "</b>"
                            : ">" + std::string(label)) +
             "</a>";
    };
    out += "<nav>" + link("/console/", "Vue d'ensemble", "overview") +
           link("/console/records", "Journal", "records") +
           link("/console/reports", "Signalements", "reports") + "</nav>";
    out += "<form method=\"post\" action=\"/console/logout\"><input type=\"hidden\" name=\"csrf\" "
           "value=\"" +
           html_escape(session->csrf) + "\"><button type=\"submit\" id=\"logout\">Se déconnecter"
           "</button></form>";
  }
  out += "</header>\n<main>\n";
  out += body;
  out += "\n</main></body></html>\n";
  return out;
}

Response Console::Impl::html(http::status status, std::string_view title, std::string_view body,
                             const Session* session, std::string_view active) const {
  Response response = make_response(status);
  response.set(http::field::content_type, "text/html; charset=utf-8");
  response.body() = page(title, body, session, active);
  return response;
}

Response Console::Impl::login_page(const Request& request, std::string_view message,
                                   http::status status) {
  Response response = make_response(status);
  const std::string cookie = form_cookie(request, response);
  std::string body = "<div class=\"login\"><h2>Connexion</h2>";
  if (!login_configured()) {
    body += "<p class=\"error\">La console n'est pas configurée : renseignez "
            "<code>console.password_hash</code> ou <code>console.token_file</code> dans la "
            "configuration.</p></div>";
  } else {
    if (!message.empty()) body += "<p class=\"error\" id=\"message\">" + html_escape(message) + "</p>";
    body += "<form method=\"post\" action=\"/console/login\">"
            "<input type=\"hidden\" name=\"csrf\" value=\"" +
            html_escape(form_token(cookie, "login", unix_now() + kFormTokenSeconds)) +
            "\"><label for=\"password\">Mot de passe (ou jeton)</label>"
            "<input type=\"password\" id=\"password\" name=\"password\" required "
            "autocomplete=\"current-password\" maxlength=\"1024\" autofocus>"
            "<button type=\"submit\" id=\"login\">Se connecter</button></form></div>";
  }
  response.set(http::field::content_type, "text/html; charset=utf-8");
  response.body() = page("Connexion", body, nullptr);
  return response;
}

Response Console::Impl::login_submit(const Request& request, const std::string& client) {
  if (!login_configured()) return login_page(request, "", http::status::service_unavailable);
  if (!login_failures.allowed(client)) {
    spdlog::warn("console: login refused for {}: too many failed attempts", client);
    return login_page(request, "Trop de tentatives échouées : réessayez dans 15 minutes.",
                      http::status::too_many_requests);
  }
  const auto form = parse_form(request.body());
  if (!anonymous_form_valid(request, form, "login")) {
    return login_page(request, "Le formulaire a expiré : saisissez à nouveau le mot de passe.",
                      http::status::forbidden);
  }
  auto password = form.find("password");
  const bool ok = password != form.end() && password->second.size() <= kMaxPasswordBytes &&
                  password_matches(password->second);
  if (!ok) {
    login_failures.record(client);
    audit_admin({{"event", "console_login"}, {"result", "failure"}, {"client", client}});
    spdlog::warn("console: failed login from {}", client);
    return login_page(request, "Mot de passe incorrect.", http::status::unauthorized);
  }
  login_failures.clear(client);
  const std::string id = random_hex(32);
  if (id.empty()) return login_page(request, "Erreur interne.", http::status::internal_server_error);
  Session session;
  session.csrf = random_hex(32);
  session.created = Clock::now();
  session.expires = session.created + options.settings.session_lifetime;
  {
    std::lock_guard lock(mutex);
    for (auto it = sessions.begin(); it != sessions.end();) {
      it = Clock::now() >= it->second.expires ? sessions.erase(it) : std::next(it);
    }
    if (sessions.size() >= kMaxSessions) {
      auto oldest = std::min_element(sessions.begin(), sessions.end(), [](auto& a, auto& b) {
        return a.second.created < b.second.created;
      });
      sessions.erase(oldest);
    }
    sessions[sha256_raw(id)] = session;
  }
  audit_admin({{"event", "console_login"}, {"result", "success"}, {"client", client}});
  spdlog::info("console: DPO logged in from {}", client);
  Response response = redirect("/console/");
  const auto lifetime =
      std::chrono::duration_cast<std::chrono::seconds>(options.settings.session_lifetime).count();
  response.insert(http::field::set_cookie, std::string(kSessionCookie) + "=" + id + "; Max-Age=" +
                                               std::to_string(lifetime) + cookie_attributes());
  return response;
}

Response Console::Impl::logout(const Request&, const std::string& session_digest) {
  {
    std::lock_guard lock(mutex);
    sessions.erase(session_digest);
  }
  audit_admin({{"event", "console_logout"}});
  Response response = redirect("/console/login?logout=1");
  response.insert(http::field::set_cookie,
                  std::string(kSessionCookie) + "=; Max-Age=0" + cookie_attributes());
  return response;
}

Result<TriageIndex> Console::Impl::triage_index() {
  TriageIndex index;
  audit::Filter filter;
  filter.newest_first = false;
  filter.limit = 0;
  filter.kind = audit::RecordKind::Triage;
  auto triaged = options.store->for_each(filter, [&](const audit::Record& r) {
    const std::string verdict = r.body.is_object() ? r.body.value("verdict", "") : "";
    if (!r.about.empty() && (verdict == "false_positive" || verdict == "confirmed")) {
      index.verdicts[r.about] = {verdict, r.time};  // ascending: the latest wins
    }
    return true;
  });
  if (!triaged) return triaged.error();
  filter.kind = audit::RecordKind::Report;
  auto reported = options.store->for_each(filter, [&](const audit::Record& r) {
    if (!r.about.empty()) ++index.reports[r.about];
    return true;
  });
  if (!reported) return reported.error();
  return index;
}

std::string Console::Impl::filter_form(const ListQuery& q, const audit::Stats* known) const {
  auto value = [&](const char* name) {
    auto it = q.values.find(name);
    return it == q.values.end() ? std::string() : html_escape(it->second);
  };
  auto select = [&](const char* name, const std::vector<std::pair<std::string, std::string>>& opts) {
    std::string current;
    if (auto it = q.values.find(name); it != q.values.end()) current = it->second;
    std::string out = "<select name=\"" + std::string(name) + "\" id=\"f-" + name + "\">";
    for (const auto& [key, label] : opts) {
      out += "<option value=\"" + html_escape(key) + "\"" + (key == current ? " selected" : "") +
             ">" + html_escape(label) + "</option>";
    }
    return out + "</select>";
  };
  std::vector<std::pair<std::string, std::string>> platforms{{"", "toutes"}};
  std::vector<std::pair<std::string, std::string>> categories{{"", "toutes"}};
  if (known) {
    for (const auto& row : known->by_platform) platforms.emplace_back(row.key, row.key);
    for (const auto& row : known->by_category) categories.emplace_back(row.key, row.key);
  }
  // Keep a value typed into the URL selectable even when it has no record yet.
  for (auto [name, list] : {std::pair{"platform", &platforms}, std::pair{"category", &categories}}) {
    auto it = q.values.find(name);
    if (it != q.values.end() &&
        std::none_of(list->begin(), list->end(), [&](auto& p) { return p.first == it->second; })) {
      list->emplace_back(it->second, it->second);
    }
  }
  std::vector<std::pair<std::string, std::string>> actions{{"", "toutes"}};
  for (const auto& [key, label] : kActionLabels) actions.emplace_back(key, label);
  std::string out = "<form class=\"filters\" method=\"get\" action=\"/console/records\">";
  out += "<label>Du<input type=\"date\" name=\"since\" id=\"f-since\" value=\"" + value("since") +
         "\"></label>";
  out += "<label>Au (inclus)<input type=\"date\" name=\"until\" id=\"f-until\" value=\"" +
         value("until") + "\"></label>";
  out += "<label>Plateforme" + select("platform", platforms) + "</label>";
  out += "<label>Catégorie" + select("category", categories) + "</label>";
  out += "<label>Action" + select("action", actions) + "</label>";
  out += "<label>Utilisateur (pseudonyme)<input type=\"text\" name=\"user\" id=\"f-user\" "
         "maxlength=\"128\" value=\"" +
         value("user") + "\"></label>";
  out += "<label>Référence<input type=\"text\" name=\"ref\" id=\"f-ref\" maxlength=\"128\" "
         "value=\"" +
         value("ref") + "\"></label>";
  out += "<label>Triage" +
         select("triage", {{"", "tous"},
                           {"untriaged", "non traité"},
                           {"reported", "signalé par l'utilisateur"},
                           {"false_positive", "faux positif"},
                           {"confirmed", "confirmé"}}) +
         "</label>";
  out += "<button type=\"submit\" id=\"apply-filter\">Filtrer</button></form>";
  return out;
}

Response Console::Impl::overview(const Request& request, const Session& session) {
  ListQuery q = parse_list_query(query_of(request.target()), /*default_period=*/true);
  auto stats = options.store->stats(q.filter);
  if (!stats) {
    return html(http::status::service_unavailable, "Erreur",
                "<p class=\"error\">Le journal d'audit ne peut pas être lu.</p>", &session);
  }
  std::string body = "<h2>Vue d'ensemble</h2>";
  body += "<form class=\"filters\" method=\"get\" action=\"/console/\">"
          "<label>Du<input type=\"date\" name=\"since\" value=\"" +
          html_escape(q.filter.since) + "\"></label><label>Au (inclus)<input type=\"date\" "
          "name=\"until\" value=\"" +
          (q.values.count("until") ? html_escape(q.values.at("until")) : std::string()) +
          "\"></label><button type=\"submit\">Afficher</button></form>";
  for (const auto& problem : q.problems) body += "<p class=\"notice\">" + html_escape(problem) + "</p>";

  body += "<div class=\"cards\"><div class=\"card\" id=\"total\"><b>" +
          std::to_string(stats->total) + "</b>requêtes inspectées</div>";
  for (const auto& row : stats->by_action) {
    body += "<div class=\"card\"><b>" + std::to_string(row.count) + "</b>" +
            html_escape(action_label(row.key)) + "</div>";
  }
  if (auto index = triage_index()) {
    std::size_t pending = 0;
    for (const auto& [reference, count] : index->reports) {
      if (index->verdicts.count(reference) == 0) ++pending;
    }
    std::size_t false_positives = 0;
    for (const auto& [reference, verdict] : index->verdicts) {
      if (verdict.verdict == "false_positive") ++false_positives;
    }
    body += "<div class=\"card\"><b>" + std::to_string(pending) +
            "</b><a href=\"/console/reports\">signalements à traiter</a></div>";
    body += "<div class=\"card\"><b>" + std::to_string(false_positives) +
            "</b>faux positifs (triage)</div>";
  }
  body += "</div>";

  // Counts per day, stacked by action.
  std::vector<ChartSeries> series;
  for (const auto& row : stats->by_action) {
    audit::Filter by_action = q.filter;
    by_action.action = row.key;
    auto per_day = options.store->stats(by_action);
    if (!per_day) continue;
    ChartSeries s;
    s.name = action_label(row.key);
    for (const auto& day : per_day->by_day) s.by_day[day.key] = day.count;
    series.push_back(std::move(s));
  }
  std::vector<std::string> days;
  if (!stats->by_day.empty()) {
    days = days_between(stats->by_day.front().key.substr(0, 10),
                        stats->by_day.back().key.substr(0, 10));
    if (days.empty()) {
      for (const auto& row : stats->by_day) days.push_back(row.key);
    }
  }
  auto bars = [](const std::vector<audit::CountRow>& rows, bool actions) {
    std::vector<ChartBar> out;
    for (const auto& row : rows) out.push_back({actions ? action_label(row.key) : row.key, row.count});
    return out;
  };
  body += "<h3>Évolution</h3><div class=\"charts\"><div class=\"chart\" id=\"chart-days\">" +
          svg_stacked_days(days, series, "Requêtes par jour et par action") + "</div></div>";
  body += "<h3>Répartition</h3><div class=\"charts\">";
  body += "<div class=\"chart\" id=\"chart-actions\">" +
          svg_bar_chart(bars(stats->by_action, true), "Par action") + "</div>";
  body += "<div class=\"chart\" id=\"chart-categories\">" +
          svg_bar_chart(bars(stats->by_category, false), "Par catégorie") + "</div>";
  body += "<div class=\"chart\" id=\"chart-platforms\">" +
          svg_bar_chart(bars(stats->by_platform, false), "Par plateforme") + "</div>";
  body += "</div>";
  return html(http::status::ok, "Vue d'ensemble", body, &session, "overview");
}

Response Console::Impl::list(const Request& request, const Session& session) {
  ListQuery q = parse_list_query(query_of(request.target()), /*default_period=*/false);
  auto index = triage_index();
  audit::Filter all;
  all.kind = audit::RecordKind::Request;
  auto known = options.store->stats(all);
  if (!index || !known) {
    return html(http::status::service_unavailable, "Erreur",
                "<p class=\"error\">Le journal d'audit ne peut pas être lu.</p>", &session);
  }
  // Triage state is not a column of the store: page through until a screenful matches.
  std::vector<audit::Record> rows;
  audit::Filter page_filter = q.filter;
  page_filter.newest_first = true;
  page_filter.limit = q.triage.empty() ? kPageSize + 1 : 500;
  bool more = false;
  for (int rounds = 0; rounds < 200; ++rounds) {
    auto batch = options.store->list(page_filter);
    if (!batch) {
      return html(http::status::service_unavailable, "Erreur",
                  "<p class=\"error\">Le journal d'audit ne peut pas être lu.</p>", &session);
    }
    for (auto& record : *batch) {
      if (!index->matches(q.triage, record.reference)) continue;
      if (rows.size() == kPageSize) {
        more = true;
        break;
      }
      rows.push_back(std::move(record));
    }
    if (more || batch->size() < page_filter.limit) break;
    page_filter.before_id = batch->back().id;
  }

  std::string body = "<h2>Journal des requêtes</h2>" + filter_form(q, &*known);
  for (const auto& problem : q.problems) body += "<p class=\"notice\">" + html_escape(problem) + "</p>";
  std::map<std::string, std::string> export_values = q.values;
  body += "<p><a id=\"export\" href=\"/console/export.csv?" + html_escape(query_string(export_values)) +
          "\">Exporter ce filtre en CSV</a></p>";
  body += "<table id=\"records\"><thead><tr><th>Date (UTC)</th><th>Référence</th><th>Plateforme"
          "</th><th>Action</th><th>Catégories</th><th>Utilisateur</th><th>Triage</th></tr></thead>"
          "<tbody>";
  for (const auto& r : rows) {
    std::string categories;
    for (const auto& c : r.categories) categories += (categories.empty() ? "" : ", ") + c;
    body += "<tr><td>" + html_escape(r.time) + "</td><td><a href=\"/console/record/" +
            std::to_string(r.id) + "\">" + html_escape(r.reference.empty() ? "#" + std::to_string(r.id) : r.reference) +
            "</a></td><td>" + html_escape(r.platform) + "</td><td>" +
            html_escape(action_label(r.action)) + "</td><td>" + html_escape(categories) +
            "</td><td><code>" + html_escape(r.user) + "</code></td><td>" +
            html_escape(triage_label(index->state_of(r.reference))) + "</td></tr>";
  }
  if (rows.empty()) body += "<tr><td colspan=\"7\">Aucun enregistrement pour ce filtre.</td></tr>";
  body += "</tbody></table>";
  if (more && !rows.empty()) {
    auto next = q.values;
    next["before"] = std::to_string(rows.back().id);
    body += "<p><a id=\"next-page\" href=\"/console/records?" + html_escape(query_string(next)) +
            "\">Page suivante →</a></p>";
  }
  if (q.filter.before_id != 0) {
    body += "<p><a href=\"/console/records?" + html_escape(query_string(q.values)) +
            "\">← Revenir aux plus récents</a></p>";
  }
  return html(http::status::ok, "Journal", body, &session, "records");
}

Response Console::Impl::detail(std::int64_t id, const Request& request, const Session& session) {
  auto record = options.store->get(id);
  if (!record) {
    if (record.error() == Errc::NotFound) {
      return html(http::status::not_found, "Introuvable",
                  "<p class=\"error\">Aucun enregistrement n°" + std::to_string(id) + ".</p>",
                  &session);
    }
    return html(http::status::service_unavailable, "Erreur",
                "<p class=\"error\">Le journal d'audit ne peut pas être lu.</p>", &session);
  }
  const audit::Record& r = *record;
  std::string body = "<h2>Enregistrement n°" + std::to_string(r.id) + " — " +
                     html_escape(r.reference.empty() ? std::string(audit::to_string(r.kind))
                                                     : r.reference) +
                     "</h2>";
  const auto query = parse_form(query_of(request.target()));
  if (query.count("triaged")) {
    body += "<p class=\"notice\" id=\"triage-saved\">Le triage a été enregistré dans le journal "
            "d'audit.</p>";
  }
  body += "<table id=\"record\"><tbody>";
  auto row = [&](std::string_view label, std::string_view value_html) {
    body += "<tr><th>" + html_escape(label) + "</th><td>" + std::string(value_html) + "</td></tr>";
  };
  row("Type", html_escape(audit::to_string(r.kind)));
  row("Horodatage (UTC)", html_escape(r.time));
  if (!r.about.empty()) row("Concerne", html_escape(r.about));
  row("Instance, rang dans la chaîne",
      html_escape(r.instance) + ", n°" + std::to_string(r.sequence));
  const json body_json = r.body.is_object() ? r.body : json::object();
  // Who, where, what was decided, why: in that order, then whatever else the record holds.
  static const std::vector<std::string> kOrder{
      "user", "client", "platform", "tier", "host", "method", "path", "endpoint", "action",
      "would_action", "monitor", "categories", "justification", "rules", "bytes_inspected",
      "segments", "status", "outcome", "modified", "error"};
  std::vector<std::string> keys;
  for (const auto& key : kOrder) {
    if (body_json.contains(key)) keys.push_back(key);
  }
  for (const auto& [key, value] : body_json.items()) {
    if (std::find(kOrder.begin(), kOrder.end(), key) == kOrder.end()) keys.push_back(key);
  }
  for (const auto& key : keys) {
    const json& value = body_json[key];
    if (key == "findings" || key == "reference" || key == "ts" || key == "time") continue;
    auto label = kFieldLabels.find(key);
    std::string text = key == "action" || key == "would_action"
                           ? action_label(json_text(value))
                           : json_text(value);
    const bool block = !value.is_primitive() && text.find('\n') != std::string::npos;
    row(label == kFieldLabels.end() ? key : label->second,
        block ? "<pre>" + html_escape(text) + "</pre>" : html_escape(text));
  }
  body += "</tbody></table>";

  // Findings: one row per rule, every field the record holds (masked excerpts, keyed HMACs,
  // rule versions), never a raw value since the record never has one.
  if (body_json.contains("findings") && body_json["findings"].is_array()) {
    const json& findings = body_json["findings"];
    std::vector<std::string> columns;
    for (const auto& finding : findings) {
      if (!finding.is_object()) continue;
      for (const auto& [key, value] : finding.items()) {
        if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
      }
    }
    body += "<h3>Règles déclenchées</h3><table id=\"findings\"><thead><tr>";
    for (const auto& column : columns) body += "<th>" + html_escape(column) + "</th>";
    body += "</tr></thead><tbody>";
    for (const auto& finding : findings) {
      if (!finding.is_object()) continue;
      body += "<tr>";
      for (const auto& column : columns) {
        body += "<td>";
        if (!finding.contains(column)) {
        } else if (column == "matches") {
          body += render_matches(finding[column]);
        } else {
          body += html_escape(json_text(finding[column]));
        }
        body += "</td>";
      }
      body += "</tr>";
    }
    if (findings.empty()) body += "<tr><td>Aucune détection.</td></tr>";
    body += "</tbody></table>";
  }

  // Hash chain: this record's hash recomputed, and its link to the previous record of its chain.
  body += "<h3>Chaîne d'intégrité</h3><table id=\"chain\"><tbody>";
  const bool hash_ok = constant_time_equal(r.compute_hash(), r.hash);
  row("Empreinte (SHA-256)", "<code>" + html_escape(r.hash) + "</code>");
  row("Empreinte recalculée", hash_ok ? "<span class=\"ok\" id=\"hash-status\">conforme</span>"
                                      : "<span class=\"bad\" id=\"hash-status\">NON CONFORME : "
                                        "l'enregistrement a été modifié</span>");
  row("Empreinte du précédent", "<code>" + html_escape(r.previous_hash) + "</code>");
  std::string link;
  if (r.sequence <= 1) {
    link = r.previous_hash == std::string(64, '0')
               ? "<span class=\"ok\" id=\"link-status\">premier maillon de la chaîne</span>"
               : "<span class=\"bad\" id=\"link-status\">premier maillon mal formé</span>";
  } else {
    audit::Filter previous_filter;
    previous_filter.instance = r.instance;
    previous_filter.before_id = r.id;
    previous_filter.newest_first = true;
    previous_filter.limit = 1;
    auto previous = options.store->list(previous_filter);
    if (!previous) {
      link = "<span class=\"bad\" id=\"link-status\">vérification impossible</span>";
    } else if (previous->empty() || previous->front().sequence + 1 < r.sequence) {
      link = "<span class=\"notice\" id=\"link-status\">maillon précédent absent (purgé par la "
             "rétention ?) : lancez <code>gatekeeper audit verify</code></span>";
    } else if (previous->front().sequence + 1 == r.sequence &&
               constant_time_equal(previous->front().hash, r.previous_hash)) {
      link = "<span class=\"ok\" id=\"link-status\">relié au n°" +
             std::to_string(previous->front().id) + " (rang " +
             std::to_string(previous->front().sequence) + ")</span>";
    } else {
      link = "<span class=\"bad\" id=\"link-status\">rupture : ne suit pas le n°" +
             std::to_string(previous->front().id) + "</span>";
    }
  }
  row("Lien avec le précédent", link);
  body += "</tbody></table>";

  if (r.kind == audit::RecordKind::Request && !r.reference.empty()) {
    audit::Filter about;
    about.reference = r.reference;
    about.newest_first = false;
    about.limit = 0;
    body += "<h3>Triage et signalements</h3><table id=\"history\"><thead><tr><th>Date</th><th>Type"
            "</th><th>Verdict / motif</th><th>Commentaire</th></tr></thead><tbody>";
    std::size_t shown = 0;
    for (auto kind : {audit::RecordKind::Triage, audit::RecordKind::Report}) {
      about.kind = kind;
      auto items = options.store->list(about);
      if (!items) continue;
      for (const auto& item : *items) {
        const json& b = item.body.is_object() ? item.body : json::object();
        const std::string verdict = kind == audit::RecordKind::Triage
                                        ? triage_label(b.value("verdict", ""))
                                        : reason_label(b.value("reason", ""));
        std::string comment = b.contains("comment") && b["comment"].is_string()
                                  ? b["comment"].get<std::string>()
                                  : (b.value("comment_withheld", false)
                                         ? "(retenu : contenait une donnée détectée)"
                                         : "");
        body += "<tr><td>" + html_escape(item.time) + "</td><td>" +
                (kind == audit::RecordKind::Triage ? "triage du DPO" : "signalement") +
                "</td><td>" + html_escape(verdict) + "</td><td>" + html_escape(comment) +
                "</td></tr>";
        ++shown;
      }
    }
    if (shown == 0) body += "<tr><td colspan=\"4\">Aucun triage ni signalement.</td></tr>";
    body += "</tbody></table>";
    body += "<h3>Trier cet enregistrement</h3><form method=\"post\" id=\"triage-form\" action="
            "\"/console/record/" +
            std::to_string(r.id) +
            "/triage\"><input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(session.csrf) +
            "\"><p><label><input type=\"radio\" name=\"verdict\" value=\"false_positive\" "
            "id=\"verdict-fp\" required> faux positif</label> <label><input type=\"radio\" "
            "name=\"verdict\" value=\"confirmed\" id=\"verdict-confirmed\"> confirmé</label></p>"
            "<p><label for=\"comment\">Commentaire (sans recopier de donnée sensible)</label><br>"
            "<textarea id=\"comment\" name=\"comment\" rows=\"3\" cols=\"70\" maxlength=\"1000\">"
            "</textarea></p><button type=\"submit\" id=\"triage-submit\">Enregistrer le triage"
            "</button></form>";
  }
  return html(http::status::ok, "Enregistrement", body, &session, "records");
}

Response Console::Impl::triage(std::int64_t id, const std::map<std::string, std::string>& form,
                               const Session& session) {
  auto record = options.store->get(id);
  if (!record || record->kind != audit::RecordKind::Request || record->reference.empty()) {
    return html(http::status::not_found, "Introuvable",
                "<p class=\"error\">Cet enregistrement ne peut pas être trié.</p>", &session);
  }
  auto verdict = form.find("verdict");
  if (verdict == form.end() ||
      (verdict->second != "false_positive" && verdict->second != "confirmed")) {
    return html(http::status::bad_request, "Triage",
                "<p class=\"error\">Choisissez « faux positif » ou « confirmé ».</p>", &session);
  }
  std::string comment;
  if (auto it = form.find("comment"); it != form.end()) comment = it->second;
  if (comment.size() > kMaxCommentBytes) {
    return html(http::status::payload_too_large, "Triage",
                "<p class=\"error\">Le commentaire dépasse 1000 caractères.</p>", &session);
  }
  const bool withheld =
      !comment.empty() && options.contains_sensitive && options.contains_sensitive(comment);
  audit::Record triage;
  triage.kind = audit::RecordKind::Triage;
  triage.time = audit::now_time();
  triage.about = record->reference;
  triage.platform = record->platform;
  triage.body = {{"verdict", verdict->second},
                 {"record_id", record->id},
                 {"comment", withheld || comment.empty() ? json(nullptr) : json(comment)},
                 {"comment_withheld", withheld},
                 {"by", "console"}};
  if (!options.submit_record) {
    return html(http::status::service_unavailable, "Triage",
                "<p class=\"error\">Le journal d'audit n'accepte pas d'écriture.</p>", &session);
  }
  if (auto submitted = options.submit_record(std::move(triage)); !submitted) {
    spdlog::error("console: triage not recorded: {}", submitted.error().message());
    return html(http::status::service_unavailable, "Triage",
                "<p class=\"error\">Le triage n'a pas pu être enregistré dans le journal d'audit ; "
                "réessayez.</p>",
                &session);
  }
  return redirect("/console/record/" + std::to_string(id) + "?triaged=1");
}

Response Console::Impl::reports(const Request& request, const Session& session) {
  const auto query = parse_form(query_of(request.target()));
  audit::Filter filter;
  filter.kind = audit::RecordKind::Report;
  filter.newest_first = true;
  filter.limit = kPageSize + 1;
  if (auto it = query.find("before"); it != query.end()) {
    std::int64_t before = 0;
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), before);
    if (before > 0) filter.before_id = before;
  }
  auto items = options.store->list(filter);
  auto index = triage_index();
  if (!items || !index) {
    return html(http::status::service_unavailable, "Erreur",
                "<p class=\"error\">Le journal d'audit ne peut pas être lu.</p>", &session);
  }
  const bool more = items->size() > kPageSize;
  if (more) items->resize(kPageSize);
  std::string body = "<h2>Signalements de faux positifs</h2><p>Envoyés par les utilisateurs depuis "
                     "le message de blocage.</p><table id=\"reports\"><thead><tr><th>Date (UTC)"
                     "</th><th>Référence</th><th>Motif</th><th>Commentaire</th><th>Client</th>"
                     "<th>Triage</th></tr></thead><tbody>";
  for (const auto& item : *items) {
    const json& b = item.body.is_object() ? item.body : json::object();
    std::string reference_cell = html_escape(item.about);
    if (auto target = options.store->find_reference(item.about)) {
      reference_cell = "<a href=\"/console/record/" + std::to_string(target->id) + "\">" +
                       reference_cell + "</a>";
    } else {
      reference_cell += " (inconnue)";
    }
    std::string comment = b.contains("comment") && b["comment"].is_string()
                              ? b["comment"].get<std::string>()
                              : (b.value("comment_withheld", false)
                                     ? "(retenu : contenait une donnée détectée)"
                                     : "");
    body += "<tr><td>" + html_escape(item.time) + "</td><td>" + reference_cell + "</td><td>" +
            html_escape(reason_label(b.value("reason", ""))) + "</td><td>" +
            html_escape(comment) + "</td><td>" + html_escape(b.value("client", "")) + "</td><td>" +
            html_escape(triage_label(index->state_of(item.about))) + "</td></tr>";
  }
  if (items->empty()) body += "<tr><td colspan=\"6\">Aucun signalement.</td></tr>";
  body += "</tbody></table>";
  if (more) {
    body += "<p><a href=\"/console/reports?before=" + std::to_string(items->back().id) +
            "\">Page suivante →</a></p>";
  }
  return html(http::status::ok, "Signalements", body, &session, "reports");
}

Response Console::Impl::export_csv(const Request& request) {
  ListQuery q = parse_list_query(query_of(request.target()), /*default_period=*/false);
  auto index = triage_index();
  if (!index) {
    Response response = make_response(http::status::service_unavailable);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "Le journal d'audit ne peut pas être lu.\n";
    return response;
  }
  audit::Filter filter = q.filter;
  filter.newest_first = false;
  filter.limit = 0;
  filter.before_id = 0;
  std::string csv = csv_row({"id", "time", "reference", "instance", "sequence", "platform",
                             "action", "would_action", "user", "client", "host", "method", "path",
                             "categories", "rules", "triage", "hash"});
  std::uint64_t rows = 0;
  auto visited = options.store->for_each(filter, [&](const audit::Record& r) {
    if (!index->matches(q.triage, r.reference)) return true;
    const json& b = r.body.is_object() ? r.body : json::object();
    auto text = [&](const char* key) {
      return b.contains(key) && !b[key].is_null() ? json_text(b[key]) : std::string();
    };
    std::string categories, rules;
    for (const auto& c : r.categories) categories += (categories.empty() ? "" : ";") + c;
    if (b.contains("findings") && b["findings"].is_array()) {
      for (const auto& f : b["findings"]) {
        if (f.is_object() && f.contains("rule") && f["rule"].is_string()) {
          rules += (rules.empty() ? "" : ";") + f["rule"].get<std::string>();
        }
      }
    }
    csv += csv_row({std::to_string(r.id), r.time, r.reference, r.instance,
                    std::to_string(r.sequence), r.platform, r.action, text("would_action"), r.user,
                    text("client"), text("host"), text("method"), text("path"), categories, rules,
                    index->state_of(r.reference), r.hash});
    ++rows;
    return true;
  });
  if (!visited) {
    Response response = make_response(http::status::service_unavailable);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "Le journal d'audit ne peut pas être lu.\n";
    return response;
  }
  json filter_json = json::object();
  for (const auto& [name, value] : q.values) filter_json[name] = value;
  audit_admin({{"event", "console_export"}, {"rows", rows}, {"filter", filter_json}});
  Response response = make_response(http::status::ok);
  response.set(http::field::content_type, "text/csv; charset=utf-8; header=present");
  response.set(http::field::content_disposition,
               "attachment; filename=\"gatekeeper-audit-" + format_date(std::time(nullptr)) +
                   ".csv\"");
  response.body() = std::move(csv);
  return response;
}

Response Console::Impl::report_form(const Request& request, std::string_view message,
                                    http::status status) {
  Response response = make_response(status);
  const auto query = parse_form(query_of(request.target()));
  std::string reference;
  if (auto it = query.find("ref"); it != query.end()) reference = it->second;
  if (request.method() == http::verb::post) {
    const auto form = parse_form(request.body());
    if (auto it = form.find("ref"); it != form.end()) reference = it->second;
  }
  std::string body = "<div class=\"login\"><h2>Signaler un faux positif</h2>";
  if (!message.empty()) body += "<p class=\"error\" id=\"message\">" + html_escape(message) + "</p>";
  if (!valid_reference(reference)) {
    body += "<p class=\"error\">Ce lien ne contient pas de référence valide (GK-AAAAMMJJ-…). "
            "Ouvrez-le depuis le message de blocage.</p></div>";
    response.result(status == http::status::ok ? http::status::bad_request : status);
  } else {
    const std::string cookie = form_cookie(request, response);
    body += "<p>Votre envoi a été bloqué ou signalé sous la référence <b id=\"reference\">" +
            html_escape(reference) +
            "</b>. Si vous pensez qu'il s'agit d'une erreur, indiquez-le au DPO.</p>"
            "<form method=\"post\" action=\"/signaler\"><input type=\"hidden\" name=\"csrf\" "
            "value=\"" +
            html_escape(form_token(cookie, "report", unix_now() + kFormTokenSeconds)) +
            "\"><input type=\"hidden\" name=\"ref\" value=\"" + html_escape(reference) +
            "\"><label for=\"reason\">Motif</label><select id=\"reason\" name=\"reason\">";
    for (const auto& [key, label] : kReportReasons) {
      body += "<option value=\"" + key + "\">" + html_escape(label) + "</option>";
    }
    body += "</select><label for=\"comment\">Précisions (facultatif). <b>Ne recopiez pas la "
            "donnée bloquée.</b></label><textarea id=\"comment\" name=\"comment\" rows=\"4\" "
            "maxlength=\"1000\"></textarea><button type=\"submit\" id=\"send-report\">Envoyer au "
            "DPO</button></form></div>";
  }
  response.set(http::field::content_type, "text/html; charset=utf-8");
  response.body() = page("Signaler un faux positif", body, nullptr);
  return response;
}

Response Console::Impl::report_submit(const Request& request, const std::string& client) {
  if (!report_submissions.allowed(client)) {
    return report_form(request, "Trop de signalements envoyés : réessayez plus tard.",
                       http::status::too_many_requests);
  }
  const auto form = parse_form(request.body());
  if (!anonymous_form_valid(request, form, "report")) {
    return report_form(request, "Le formulaire a expiré : envoyez-le à nouveau.",
                       http::status::forbidden);
  }
  const std::string reference = form.count("ref") ? form.at("ref") : std::string();
  const std::string reason = form.count("reason") ? form.at("reason") : std::string();
  std::string comment = form.count("comment") ? form.at("comment") : std::string();
  if (!valid_reference(reference)) return report_form(request, "", http::status::bad_request);
  if (std::none_of(kReportReasons.begin(), kReportReasons.end(),
                   [&](const auto& r) { return r.first == reason; })) {
    return report_form(request, "Choisissez un motif dans la liste.", http::status::bad_request);
  }
  if (comment.size() > kMaxCommentBytes) {
    return report_form(request, "Les précisions dépassent 1000 caractères.",
                       http::status::payload_too_large);
  }
  report_submissions.record(client);
  const bool withheld =
      !comment.empty() && options.contains_sensitive && options.contains_sensitive(comment);
  bool known = false;
  if (options.store) known = static_cast<bool>(options.store->find_reference(reference));
  audit::Record report;
  report.kind = audit::RecordKind::Report;
  report.time = audit::now_time();
  report.about = reference;
  report.body = {{"reason", reason},
                 {"comment", withheld || comment.empty() ? json(nullptr) : json(comment)},
                 {"comment_withheld", withheld},
                 {"reference_known", known},
                 {"client", client}};
  if (!options.submit_record || !options.submit_record(std::move(report))) {
    return report_form(request, "Le signalement n'a pas pu être enregistré ; réessayez plus tard.",
                       http::status::service_unavailable);
  }
  spdlog::info("console: false-positive report for {} from {}", reference, client);
  std::string body = "<div class=\"login\"><h2>Merci</h2><p id=\"report-done\">Votre signalement "
                     "(référence <b>" +
                     html_escape(reference) + "</b>) a été transmis au DPO.";
  if (withheld) {
    body += " Vos précisions contenaient une donnée détectée comme sensible : elles n'ont pas été "
            "conservées.";
  }
  body += "</p></div>";
  return html(http::status::ok, "Signalement envoyé", body, nullptr);
}

Response Console::Impl::route(const Request& request, const std::string& client) {
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const auto method = request.method();
  const bool get = method == http::verb::get || method == http::verb::head;
  const bool post = method == http::verb::post;
  auto not_allowed = [&](const char* allow) {
    Response response = make_response(http::status::method_not_allowed);
    response.set(http::field::allow, allow);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "method not allowed\n";
    return response;
  };
  if (!options.settings.enabled) {
    Response response = make_response(http::status::not_found);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "not found\n";
    return response;
  }
  if (path == "/") return redirect("/console/", http::status::found);
  if (path == "/signaler") {
    if (get) return report_form(request, "", http::status::ok);
    if (post) return report_submit(request, client);
    return not_allowed("GET, HEAD, POST");
  }
  if (path == "/console/login") {
    if (get) return login_page(request, "", http::status::ok);
    if (post) return login_submit(request, client);
    return not_allowed("GET, HEAD, POST");
  }

  std::string session_digest;
  const auto session = current_session(request, &session_digest);
  if (!session) {
    if (get && path != "/console/export.csv") return redirect("/console/login", http::status::found);
    Response response = make_response(post ? http::status::forbidden : http::status::unauthorized);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "authentification requise\n";
    return response;
  }
  std::map<std::string, std::string> form;
  if (post) {
    form = parse_form(request.body());
    auto csrf = form.find("csrf");
    if (csrf == form.end() || !constant_time_equal(csrf->second, session->csrf)) {
      spdlog::warn("console: POST {} from {} refused: missing or wrong CSRF token",
                   std::string(path), client);
      return html(http::status::forbidden, "Refusé",
                  "<p class=\"error\">Requête refusée (jeton de formulaire absent ou invalide). "
                  "Rechargez la page.</p>",
                  &*session);
    }
  } else if (!get) {
    return not_allowed("GET, HEAD, POST");
  }
  if (path == "/console/logout") {
    return post ? logout(request, session_digest) : not_allowed("POST");
  }
  if (!options.store) {
    return html(http::status::service_unavailable, "Indisponible",
                "<p class=\"error\">Le journal d'audit n'est pas disponible.</p>", &*session);
  }
  if (path == "/console" || path == "/console/") {
    return get ? overview(request, *session) : not_allowed("GET, HEAD");
  }
  if (path == "/console/records") return get ? list(request, *session) : not_allowed("GET, HEAD");
  if (path == "/console/reports") return get ? reports(request, *session) : not_allowed("GET, HEAD");
  if (path == "/console/export.csv") return get ? export_csv(request) : not_allowed("GET, HEAD");
  constexpr std::string_view kRecordPrefix = "/console/record/";
  if (path.starts_with(kRecordPrefix)) {
    std::string_view rest = path.substr(kRecordPrefix.size());
    const bool triage_path = rest.ends_with("/triage");
    if (triage_path) rest.remove_suffix(std::string_view("/triage").size());
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (ec == std::errc() && end == rest.data() + rest.size() && id > 0) {
      if (triage_path) return post ? triage(id, form, *session) : not_allowed("POST");
      return get ? detail(id, request, *session) : not_allowed("GET, HEAD");
    }
  }
  return html(http::status::not_found, "Introuvable", "<p class=\"error\">Page introuvable.</p>",
              &*session);
}

Console::Console(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Console::~Console() = default;

bool Console::owns(std::string_view path) {
  return path == "/" || path == "/signaler" || path == "/console" || path.starts_with("/console/");
}

Console::Response Console::handle(const Request& request, std::string_view client_address) {
  Response response = impl_->route(request, std::string(client_address));
  response.version(request.version());
  response.set(http::field::server, "gatekeeper");
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::pragma, "no-cache");
  response.set("Content-Security-Policy",
               "default-src 'self'; style-src 'sha256-" + impl_->style_hash +
                   "'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                   "frame-ancestors 'none'");
  response.set("X-Frame-Options", "DENY");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.keep_alive(false);
  response.prepare_payload();
  return response;
}

}  // namespace gatekeeper::admin

// The console over real HTTP: a real AdminServer on 127.0.0.1 reading a real SQLite audit store,
// records chained by a real audit::Chain.
#include "gatekeeper/admin/admin_server.hpp"
#include "gatekeeper/admin/console_html.hpp"
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <crypt.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <thread>

namespace gatekeeper::admin {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;

constexpr const char* kPassword = "correct horse battery staple";

struct Reply {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::vector<std::string> set_cookies() const {
    std::vector<std::string> out;
    auto [from, to] = headers.equal_range("set-cookie");
    for (auto it = from; it != to; ++it) out.push_back(it->second);
    return out;
  }
};

std::string hash_password(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$6$", 0, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  return crypt_r(password.c_str(), salt, &data);
}

// A browser in miniature: keeps the cookies the console sets.
class Client {
 public:
  explicit Client(unsigned short port) : port_(port) {}

  Reply get(const std::string& target) { return send(http::verb::get, target, ""); }
  Reply post(const std::string& target, const std::map<std::string, std::string>& form) {
    std::string body;
    for (const auto& [name, value] : form) {
      body += (body.empty() ? "" : "&") + console::url_encode(name) + "=" +
              console::url_encode(value);
    }
    return send(http::verb::post, target, body);
  }
  Reply send(http::verb verb, const std::string& target, const std::string& body) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect({net::ip::make_address("127.0.0.1"), port_});
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    std::string cookie_header;
    for (const auto& [name, value] : cookies_) {
      cookie_header += (cookie_header.empty() ? "" : "; ") + name + "=" + value;
    }
    if (!cookie_header.empty()) request.set(http::field::cookie, cookie_header);
    if (verb == http::verb::post) {
      request.set(http::field::content_type, "application/x-www-form-urlencoded");
      request.body() = body;
      request.prepare_payload();
    }
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    Reply reply;
    reply.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      reply.headers.emplace(name, std::string(field.value()));
    }
    reply.body = response.body();
    for (const auto& set : reply.set_cookies()) {
      const auto eq = set.find('=');
      const auto semicolon = set.find(';');
      const std::string name = set.substr(0, eq);
      const std::string value = set.substr(eq + 1, semicolon - eq - 1);
      if (value.empty() || set.find("Max-Age=0") != std::string::npos) {
        cookies_.erase(name);
      } else {
        cookies_[name] = value;
      }
    }
    return reply;
  }

  std::map<std::string, std::string>& cookies() { return cookies_; }

 private:
  unsigned short port_;
  std::map<std::string, std::string> cookies_;
};

// The hidden CSRF field of the first form in a page.
std::string csrf_of(const std::string& page) {
  static const std::regex field("name=\"csrf\" value=\"([^\"]+)\"");
  std::smatch match;
  return std::regex_search(page, match, field) ? match[1].str() : std::string();
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gatekeeper-console-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto opened = audit::open_sqlite_store((dir_ / "audit.db").string());
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = *opened;
    chain_ = std::make_shared<audit::Chain>("test-instance", nullptr);
    settings_.password_hash = hash_password(kPassword);
  }

  void start() {
    AdminServer::Options options;
    options.store = store_;
    options.submit_record = [store = store_, chain = chain_](audit::Record record) -> Result<void> {
      chain->stamp(record);
      std::vector<audit::Record> batch{std::move(record)};
      return store->append(batch);
    };
    options.console = settings_;
    options.contains_sensitive = [](std::string_view text) {
      return text.find("1850578006084") != std::string_view::npos;
    };
    server_ = std::make_unique<AdminServer>(ioc_, options);
    ASSERT_TRUE(server_->start({net::ip::make_address("127.0.0.1"), 0}));
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
      ioc_.stop();
      thread_.join();
      server_.reset();
    }
    store_.reset();
    fs::remove_all(dir_);
  }

  // A request record as the proxy writes it (masked excerpt, keyed HMAC, no raw value).
  audit::Record add_request(const std::string& reference, const std::string& platform,
                            const std::string& action, const std::string& category,
                            const std::string& time, const std::string& user = "u:1a2b3c4d5e6f7081",
                            nlohmann::json extra = nlohmann::json::object()) {
    audit::Record record;
    record.kind = audit::RecordKind::Request;
    record.time = time;
    record.reference = reference;
    record.platform = platform;
    record.action = action;
    record.user = user;
    record.categories = {category};
    record.body = {{"reference", reference},
                   {"platform", platform},
                   {"host", "chatgpt.com"},
                   {"method", "POST"},
                   {"path", "/backend-api/conversation"},
                   {"action", action},
                   {"categories", {category}},
                   {"findings",
                    {{{"rule", "fr.nir"},
                      {"rule_version", "3"},
                      {"category", category},
                      {"count", 1},
                      {"matches",
                       {{{"excerpt", "1 85 ** ** *** *** 36"},
                         {"context", {"NIR", "<b>patient</b>"}},
                         {"value_hmac", "h:0f1e2d3c4b5a69788796a5b4c3d2e1f0"}}}}}}}};
    for (const auto& [key, value] : extra.items()) record.body[key] = value;
    chain_->stamp(record);
    std::vector<audit::Record> batch{record};
    EXPECT_TRUE(store_->append(batch));
    return batch.front();
  }

  std::vector<audit::Record> records_of(audit::RecordKind kind) {
    audit::Filter filter;
    filter.kind = kind;
    filter.limit = 0;
    filter.newest_first = false;
    auto listed = store_->list(filter);
    EXPECT_TRUE(listed);
    return listed ? *listed : std::vector<audit::Record>{};
  }

  Client logged_in() {
    Client client(port_);
    const Reply form = client.get("/console/login");
    EXPECT_EQ(form.status, 200);
    const Reply login = client.post("/console/login", {{"csrf", csrf_of(form.body)},
                                                       {"password", kPassword}});
    EXPECT_EQ(login.status, 303) << login.body;
    EXPECT_EQ(login.header("location"), "/console/");
    return client;
  }

  fs::path dir_;
  audit::StorePtr store_;
  std::shared_ptr<audit::Chain> chain_;
  config::ConsoleSettings settings_;
  net::io_context ioc_;
  std::unique_ptr<AdminServer> server_;
  unsigned short port_ = 0;
  std::thread thread_;
};

TEST_F(ConsoleTest, NothingWorksWithoutASession) {
  const auto record = add_request("GK-20261122-AAA001", "chatgpt", "block", "health_identifier",
                                  "2026-11-22T10:00:00.000Z");
  start();
  Client anonymous(port_);
  for (const std::string& page :
       std::vector<std::string>{"/console/", "/console/records", "/console/reports",
                                "/console/record/" + std::to_string(record.id)}) {
    const Reply reply = anonymous.get(page);
    EXPECT_EQ(reply.status, 302) << page;
    EXPECT_EQ(reply.header("location"), "/console/login") << page;
    EXPECT_EQ(reply.body.find("GK-20261122-AAA001"), std::string::npos) << page;
  }
  const Reply csv = anonymous.get("/console/export.csv");
  EXPECT_EQ(csv.status, 401);
  EXPECT_EQ(csv.body.find("GK-20261122-AAA001"), std::string::npos);
  const Reply triage = anonymous.post("/console/record/" + std::to_string(record.id) + "/triage",
                                      {{"verdict", "confirmed"}});
  EXPECT_EQ(triage.status, 403);
  // A made-up session cookie is no better.
  anonymous.cookies()["gk_session"] = std::string(64, 'a');
  EXPECT_EQ(anonymous.get("/console/").status, 302);
  EXPECT_TRUE(records_of(audit::RecordKind::Triage).empty());
}

TEST_F(ConsoleTest, LoginGivesAHardenedSessionCookieAndIsAudited) {
  start();
  Client client(port_);
  const Reply form = client.get("/console/login");
  ASSERT_EQ(form.status, 200);
  EXPECT_FALSE(csrf_of(form.body).empty());

  const Reply wrong = client.post("/console/login", {{"csrf", csrf_of(form.body)},
                                                     {"password", "not the password"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(client.cookies().count("gk_session") == 0);

  const Reply login = client.post("/console/login", {{"csrf", csrf_of(wrong.body)},
                                                     {"password", kPassword}});
  ASSERT_EQ(login.status, 303);
  std::string session_cookie;
  for (const auto& set : login.set_cookies()) {
    if (set.rfind("gk_session=", 0) == 0) session_cookie = set;
  }
  ASSERT_FALSE(session_cookie.empty());
  EXPECT_TRUE(std::regex_search(session_cookie, std::regex("^gk_session=[0-9a-f]{64};")));
  EXPECT_NE(session_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(session_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(session_cookie.find("Secure"), std::string::npos);  // plain HTTP on loopback

  const Reply overview = client.get("/console/");
  ASSERT_EQ(overview.status, 200);
  EXPECT_NE(overview.body.find("Vue d'ensemble"), std::string::npos);
  const std::string csp = overview.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(overview.header("x-frame-options"), "DENY");
  EXPECT_EQ(overview.header("cache-control"), "no-store");
  EXPECT_EQ(overview.body.find("<script"), std::string::npos);

  const auto admin = records_of(audit::RecordKind::Admin);
  ASSERT_EQ(admin.size(), 2u);
  EXPECT_EQ(admin[0].body.at("event"), "console_login");
  EXPECT_EQ(admin[0].body.at("result"), "failure");
  EXPECT_EQ(admin[1].body.at("result"), "success");
  for (const auto& record : admin) {
    EXPECT_EQ(record.body.dump().find("horse"), std::string::npos);  // never the password
    EXPECT_EQ(record.body.dump().find("not the password"), std::string::npos);
  }
}

TEST_F(ConsoleTest, HttpsPublicUrlMakesCookiesSecure) {
  settings_.public_url = "https://gatekeeper.inserm.example";
  start();
  Client client(port_);
  const Reply form = client.get("/console/login");
  ASSERT_FALSE(form.set_cookies().empty());
  EXPECT_NE(form.set_cookies().front().find("; Secure"), std::string::npos);
}

TEST_F(ConsoleTest, LoginNeedsTheFormTokenBoundToItsCookie) {
  start();
  Client client(port_);
  const Reply form = client.get("/console/login");
  const std::string token = csrf_of(form.body);
  EXPECT_EQ(client.post("/console/login", {{"password", kPassword}}).status, 403);
  EXPECT_EQ(client.post("/console/login", {{"csrf", token + "0"}, {"password", kPassword}}).status,
            403);
  // The same token with another browser's cookie (a forged cross-site login) is refused.
  Client other(port_);
  other.get("/console/login");
  EXPECT_EQ(other.post("/console/login", {{"csrf", token}, {"password", kPassword}}).status, 403);
  EXPECT_EQ(client.post("/console/login", {{"csrf", token}, {"password", kPassword}}).status, 303);
}

TEST_F(ConsoleTest, RepeatedFailuresLockTheLoginForThatClient) {
  start();
  Client client(port_);
  std::string token = csrf_of(client.get("/console/login").body);
  for (int i = 0; i < 5; ++i) {
    const Reply wrong = client.post("/console/login", {{"csrf", token}, {"password", "guess"}});
    EXPECT_EQ(wrong.status, 401);
    token = csrf_of(wrong.body);
  }
  const Reply locked = client.post("/console/login", {{"csrf", token}, {"password", kPassword}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(client.cookies().count("gk_session"), 0u);
}

TEST_F(ConsoleTest, SessionsExpireOnTheServer) {
  settings_.session_lifetime = std::chrono::minutes(0);
  start();
  Client client(port_);
  const Reply form = client.get("/console/login");
  const Reply login =
      client.post("/console/login", {{"csrf", csrf_of(form.body)}, {"password", kPassword}});
  ASSERT_EQ(login.status, 303);
  std::smatch id;
  std::string set_cookie;
  for (const auto& set : login.set_cookies()) {
    if (set.rfind("gk_session=", 0) == 0) set_cookie = set;
  }
  ASSERT_TRUE(std::regex_search(set_cookie, id, std::regex("^gk_session=([0-9a-f]{64})")));
  // A browser that ignores Max-Age still gets nothing: the server expired the session.
  client.cookies()["gk_session"] = id[1].str();
  EXPECT_EQ(client.get("/console/").status, 302);
}

TEST_F(ConsoleTest, TriageNeedsTheSessionCsrfTokenAndIsAudited) {
  const auto record = add_request("GK-20261122-AAA002", "chatgpt", "block", "health_identifier",
                                  "2026-11-22T10:00:00.000Z");
  start();
  Client client = logged_in();
  const std::string target = "/console/record/" + std::to_string(record.id) + "/triage";
  EXPECT_EQ(client.post(target, {{"verdict", "false_positive"}}).status, 403);
  EXPECT_EQ(client.post(target, {{"verdict", "false_positive"}, {"csrf", std::string(64, '0')}})
                .status,
            403);
  EXPECT_TRUE(records_of(audit::RecordKind::Triage).empty());

  const Reply detail = client.get("/console/record/" + std::to_string(record.id));
  ASSERT_EQ(detail.status, 200);
  const Reply saved = client.post(target, {{"verdict", "false_positive"},
                                           {"comment", "données de test"},
                                           {"csrf", csrf_of(detail.body)}});
  EXPECT_EQ(saved.status, 303);
  auto triage = records_of(audit::RecordKind::Triage);
  ASSERT_EQ(triage.size(), 1u);
  EXPECT_EQ(triage[0].about, "GK-20261122-AAA002");
  EXPECT_EQ(triage[0].body.at("verdict"), "false_positive");
  EXPECT_EQ(triage[0].body.at("comment"), "données de test");
  EXPECT_EQ(triage[0].sequence, record.sequence + 2);  // chained after the login record

  // A comment holding what the rules detect is withheld from the record.
  client.post(target, {{"verdict", "confirmed"},
                       {"comment", "NIR 1850578006084 bien présent"},
                       {"csrf", csrf_of(detail.body)}});
  triage = records_of(audit::RecordKind::Triage);
  ASSERT_EQ(triage.size(), 2u);
  EXPECT_TRUE(triage[1].body.at("comment").is_null());
  EXPECT_EQ(triage[1].body.at("comment_withheld"), true);
  const Reply after = client.get("/console/record/" + std::to_string(record.id));
  EXPECT_NE(after.body.find("triage du DPO"), std::string::npos);
  EXPECT_EQ(after.body.find("1850578006084"), std::string::npos);
}

TEST_F(ConsoleTest, LogoutEndsTheSession) {
  start();
  Client client = logged_in();
  const auto cookies = client.cookies();
  const Reply overview = client.get("/console/");
  EXPECT_EQ(client.post("/console/logout", {}).status, 403);  // no CSRF token
  const Reply out = client.post("/console/logout", {{"csrf", csrf_of(overview.body)}});
  EXPECT_EQ(out.status, 303);
  EXPECT_EQ(client.cookies().count("gk_session"), 0u);
  // The old cookie is dead on the server too, not just forgotten by the browser.
  client.cookies() = cookies;
  EXPECT_EQ(client.get("/console/").status, 302);
}

TEST_F(ConsoleTest, RecordValuesAreEscapedEverywhere) {
  const auto record = add_request(
      "GK-20261122-AAA003", "<script>alert(1)</script>", "block", "cat<img src=x onerror=1>",
      "2026-11-22T10:00:00.000Z", "u:\"><svg onload=alert(2)>",
      {{"path", "/x?<iframe src=//evil>"}});
  start();
  Client client = logged_in();
  for (const std::string& page : std::vector<std::string>{
           "/console/records", "/console/", "/console/record/" + std::to_string(record.id)}) {
    const Reply reply = client.get(page);
    ASSERT_EQ(reply.status, 200) << page;
    EXPECT_EQ(reply.body.find("<script>alert"), std::string::npos) << page;
    EXPECT_EQ(reply.body.find("<img src=x"), std::string::npos) << page;
    EXPECT_EQ(reply.body.find("<svg onload"), std::string::npos) << page;
    EXPECT_EQ(reply.body.find("<iframe"), std::string::npos) << page;
  }
  const Reply detail = client.get("/console/record/" + std::to_string(record.id));
  EXPECT_NE(detail.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // Each matched value on its own line: masked excerpt, context words (escaped), keyed HMAC.
  EXPECT_NE(detail.body.find("<code>1 85 ** ** *** *** 36</code> (contexte : NIR, "
                             "&lt;b&gt;patient&lt;/b&gt;) <small>h:0f1e2d3c4b5a69788796a5b4c3d2e1f0"
                             "</small>"),
            std::string::npos)
      << detail.body;
}

TEST_F(ConsoleTest, ListFiltersByPlatformActionCategoryPeriodUserAndTriage) {
  add_request("GK-20261120-B00001", "chatgpt", "block", "health_identifier",
              "2026-11-20T09:00:00.000Z", "u:aaaaaaaaaaaaaaaa");
  add_request("GK-20261121-B00002", "claude", "warn", "confidential_document",
              "2026-11-21T09:00:00.000Z", "u:bbbbbbbbbbbbbbbb");
  const auto third = add_request("GK-20261122-B00003", "claude", "block", "secret",
                                 "2026-11-22T09:00:00.000Z", "u:aaaaaaaaaaaaaaaa");
  start();
  Client client = logged_in();
  auto shown = [&](const std::string& query) {
    const Reply reply = client.get("/console/records?" + query);
    EXPECT_EQ(reply.status, 200) << query;
    std::string refs;
    static const std::regex ref("GK-2026112\\d-B0000(\\d)");
    for (auto it = std::sregex_iterator(reply.body.begin(), reply.body.end(), ref);
         it != std::sregex_iterator(); ++it) {
      if (refs.find((*it)[1].str()) == std::string::npos) refs += (*it)[1].str();
    }
    return refs;
  };
  EXPECT_EQ(shown(""), "321");  // newest first
  EXPECT_EQ(shown("platform=claude"), "32");
  EXPECT_EQ(shown("action=block"), "31");
  EXPECT_EQ(shown("category=confidential_document"), "2");
  EXPECT_EQ(shown("user=u%3Aaaaaaaaaaaaaaaaa"), "31");
  EXPECT_EQ(shown("since=2026-11-21&until=2026-11-21"), "2");
  EXPECT_EQ(shown("since=2026-11-21"), "32");
  EXPECT_EQ(shown("since=nonsense"), "321");

  const Reply detail = client.get("/console/record/" + std::to_string(third.id));
  client.post("/console/record/" + std::to_string(third.id) + "/triage",
              {{"verdict", "confirmed"}, {"csrf", csrf_of(detail.body)}});
  EXPECT_EQ(shown("triage=confirmed"), "3");
  EXPECT_EQ(shown("triage=untriaged"), "21");
  EXPECT_EQ(shown("triage=false_positive"), "");
}

TEST_F(ConsoleTest, ListPagesThroughManyRecords) {
  for (int i = 0; i < 60; ++i) {
    char reference[32];
    std::snprintf(reference, sizeof reference, "GK-20261122-C%05d", i);
    add_request(reference, "chatgpt", "block", "secret", "2026-11-22T09:00:00.000Z");
  }
  start();
  Client client = logged_in();
  const Reply first = client.get("/console/records");
  EXPECT_NE(first.body.find("GK-20261122-C00059"), std::string::npos);
  EXPECT_EQ(first.body.find("GK-20261122-C00009"), std::string::npos);
  std::smatch next;
  ASSERT_TRUE(std::regex_search(first.body, next, std::regex("href=\"(/console/records\\?before=\\d+)\"")));
  const Reply second = client.get(next[1].str());
  EXPECT_NE(second.body.find("GK-20261122-C00009"), std::string::npos);
  EXPECT_EQ(second.body.find("GK-20261122-C00059"), std::string::npos);
}

TEST_F(ConsoleTest, CsvExportFollowsTheFilterAndDefusesFormulas) {
  add_request("GK-20261121-D00001", "chatgpt", "block", "secret", "2026-11-21T09:00:00.000Z",
              "=HYPERLINK(\"http://evil\",\"x\")", {{"path", "/a,b \"c\""}});
  add_request("GK-20261122-D00002", "claude", "warn", "secret", "2026-11-22T09:00:00.000Z");
  start();
  Client client = logged_in();
  const Reply csv = client.get("/console/export.csv?platform=chatgpt");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("content-type").rfind("text/csv", 0), 0u);
  EXPECT_NE(csv.header("content-disposition").find("attachment"), std::string::npos);
  EXPECT_EQ(csv.body.rfind("id,time,reference,", 0), 0u);
  EXPECT_NE(csv.body.find("GK-20261121-D00001"), std::string::npos);
  EXPECT_EQ(csv.body.find("GK-20261122-D00002"), std::string::npos);
  EXPECT_NE(csv.body.find(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\","), std::string::npos);
  EXPECT_NE(csv.body.find(",\"/a,b \"\"c\"\"\","), std::string::npos);
  std::size_t lines = 0;
  for (std::size_t at = csv.body.find("\r\n"); at != std::string::npos;
       at = csv.body.find("\r\n", at + 2)) {
    ++lines;
  }
  EXPECT_EQ(lines, 2u);
  EXPECT_EQ(csv.body.find('\n', 0), csv.body.find("\r\n") + 1);
  const auto admin = records_of(audit::RecordKind::Admin);
  ASSERT_FALSE(admin.empty());
  EXPECT_EQ(admin.back().body.at("event"), "console_export");
  EXPECT_EQ(admin.back().body.at("rows"), 1);
}

TEST_F(ConsoleTest, DetailShowsTheHashChainStatus) {
  const auto first = add_request("GK-20261122-E00001", "chatgpt", "block", "secret",
                                 "2026-11-22T09:00:00.000Z");
  const auto second = add_request("GK-20261122-E00002", "chatgpt", "block", "secret",
                                  "2026-11-22T09:01:00.000Z");
  start();
  Client client = logged_in();
  const Reply one = client.get("/console/record/" + std::to_string(first.id));
  EXPECT_NE(one.body.find("premier maillon de la chaîne"), std::string::npos);
  EXPECT_NE(one.body.find("id=\"hash-status\">conforme"), std::string::npos);
  const Reply two = client.get("/console/record/" + std::to_string(second.id));
  EXPECT_NE(two.body.find("relié au n°" + std::to_string(first.id)), std::string::npos);
  EXPECT_NE(two.body.find(second.hash), std::string::npos);
  EXPECT_EQ(client.get("/console/record/999999").status, 404);
}

TEST_F(ConsoleTest, ResearchersReportAFalsePositiveWithoutLogin) {
  add_request("GK-20261122-F00001", "chatgpt", "block", "secret", "2026-11-22T09:00:00.000Z");
  start();
  Client researcher(port_);
  const Reply form = researcher.get("/signaler?ref=GK-20261122-F00001");
  ASSERT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("GK-20261122-F00001"), std::string::npos);
  const std::string token = csrf_of(form.body);
  ASSERT_FALSE(token.empty());

  // Without its cookie (a cross-site post) the token is worthless.
  Client forger(port_);
  EXPECT_EQ(forger.post("/signaler", {{"csrf", token}, {"ref", "GK-20261122-F00001"},
                                      {"reason", "fictitious_data"}})
                .status,
            403);
  EXPECT_EQ(researcher.post("/signaler", {{"csrf", token}, {"ref", "GK-20261122-F00001"},
                                          {"reason", "fictitious_data"},
                                          {"comment", std::string(1001, 'x')}})
                .status,
            413);
  EXPECT_EQ(researcher.post("/signaler", {{"csrf", token}, {"ref", "<b>nope</b>"},
                                          {"reason", "other"}})
                .status,
            400);
  const Reply sent = researcher.post("/signaler", {{"csrf", token},
                                                   {"ref", "GK-20261122-F00001"},
                                                   {"reason", "fictitious_data"},
                                                   {"comment", "patient fictif, NIR 1850578006084"}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_NE(sent.body.find("transmis au DPO"), std::string::npos);
  auto reports = records_of(audit::RecordKind::Report);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].about, "GK-20261122-F00001");
  EXPECT_EQ(reports[0].body.at("reason"), "fictitious_data");
  EXPECT_EQ(reports[0].body.at("reference_known"), true);
  EXPECT_TRUE(reports[0].body.at("comment").is_null());  // held a detected value
  EXPECT_EQ(reports[0].body.dump().find("1850578006084"), std::string::npos);

  EXPECT_EQ(researcher.get("/signaler?ref=%3Cscript%3E").status, 400);
  EXPECT_EQ(researcher.get("/console/reports").status, 302);  // the report form is no way in

  Client dpo = logged_in();
  const Reply list = dpo.get("/console/reports");
  EXPECT_NE(list.body.find("GK-20261122-F00001"), std::string::npos);
  EXPECT_NE(list.body.find("Données fictives"), std::string::npos);
  EXPECT_NE(dpo.get("/console/records?triage=reported").body.find("GK-20261122-F00001"),
            std::string::npos);
}

TEST_F(ConsoleTest, ReportsAreRateLimitedPerClient) {
  start();
  Client researcher(port_);
  const std::string token = csrf_of(researcher.get("/signaler?ref=GK-20261122-F00002").body);
  int accepted = 0, limited = 0;
  for (int i = 0; i < 8; ++i) {
    const Reply reply = researcher.post(
        "/signaler", {{"csrf", token}, {"ref", "GK-20261122-F00002"}, {"reason", "other"}});
    accepted += reply.status == 200;
    limited += reply.status == 429;
  }
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(limited, 3);
  EXPECT_EQ(records_of(audit::RecordKind::Report).size(), 5u);
}

TEST_F(ConsoleTest, DisabledConsoleServesNothing) {
  settings_.enabled = false;
  start();
  Client client(port_);
  EXPECT_EQ(client.get("/console/login").status, 404);
  EXPECT_EQ(client.get("/signaler?ref=GK-20261122-F00003").status, 404);
}

}  // namespace
}  // namespace gatekeeper::admin

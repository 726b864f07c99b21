#pragma once

#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/core/error.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace gatekeeper::admin {

// The DPO's review console (French, server-rendered HTML, no script) and the researchers'
// "signaler un faux positif" form, both served by the admin listener.
//
// Paths: /console/... (login required: overview, list, record detail and triage, reports, CSV
// export) and /signaler (no login). Security: password (crypt(3) hash) or token file; session
// cookie HttpOnly + SameSite=Strict (+ Secure when public_url is https), 256-bit random ids,
// server-side expiry; a CSRF token checked in constant time on every POST; login and report rate
// limits; CSP without script, frame denial, no-store. Every value from a record is HTML-escaped.
//
// handle() is synchronous (SQLite queries, crypt(3)): the admin server calls it off its I/O threads.
// Thread-safe.
class Console {
 public:
  struct Options {
    audit::StorePtr store;  // null: pages answer 503 (the audit trail is not available)
    // Appends one record to the audit trail (Triage, Report, console logins and exports).
    std::function<Result<void>(audit::Record)> submit_record;
    config::ConsoleSettings settings;
    // Does this text hold something the rules detect? Comments typed by researchers and the DPO
    // are withheld from the record when it does. Null: comments are stored as typed.
    std::function<bool(std::string_view)> contains_sensitive;
  };

  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  explicit Console(Options options);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Is this path the console's (so the admin server hands the request over)?
  static bool owns(std::string_view path);
  // Largest request body the console accepts (forms).
  static constexpr std::size_t kMaxBodyBytes = 16 * 1024;

  Response handle(const Request& request, std::string_view client_address);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatekeeper::admin

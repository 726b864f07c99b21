#pragma once

#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/policy/action.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatekeeper::audit {
class Pseudonymizer;
}

namespace gatekeeper::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One request to an AI host, fully buffered, as the proxy session hands it over. Pure data: the
// inspector does no I/O, so it is tested without sockets.
struct InspectRequest {
  std::string host;          // lower-case, no port
  std::string method;        // "POST"
  std::string target;        // origin-form path and query, e.g. "/v1/chat/completions?beta=true"
  HeaderList headers;        // as received (names compared case-insensitively)
  std::string body;          // complete body (dechunked)
  bool body_too_large = false;  // the body exceeded settings.max_body_bytes: fail closed
  std::string client_address;   // "127.0.0.1"
  std::string client_user;      // authenticated proxy user, empty when authentication is off
  std::string connection_id;    // for the reference id and the decision log
  // Keys the user pseudonym and the HMAC of each matched value in the decision record. Null: no
  // HMACs and no user (unless settings.audit.name_users), masked excerpts only.
  const audit::Pseudonymizer* pseudonymizer = nullptr;
};

// What the session must do next. Exactly one of two outcomes:
//  - Forward: send the request upstream with `body` (unchanged or redacted) and `headers`
//    (Content-Length fixed, justification header stripped...).
//  - Reply:   send `status`/`reply_headers`/`reply_body` to the client; nothing goes upstream.
struct InspectOutcome {
  enum class Kind { Forward, Reply };
  Kind kind = Kind::Forward;
  // Forward
  std::string body;
  HeaderList headers;
  bool modified = false;
  // Reply
  int status = 0;
  HeaderList reply_headers;
  std::string reply_body;
  // For the decision log and metrics (never raw values).
  policy::Action action = policy::Action::Allow;
  std::string reference_id;     // shown to the user, findable by the DPO
  // One JSON object for the decision log and the audit trail (docs/audit-log.md). Never the
  // prompt or a matched value: masked excerpts and keyed HMACs only.
  nlohmann::json decision_record;
};

// Extract -> scan -> decide -> act, on one buffered request. `snapshot` supplies rules, policy and
// platforms. Never throws; any internal failure (malformed payload on a known endpoint, scan error,
// undecodable Content-Encoding, body too large) yields a Reply that blocks, with an explanation.
InspectOutcome inspect(const config::Snapshot& snapshot, const InspectRequest& request);

// Should a request with this method/target/headers to an AI host be buffered and inspected?
// (GET/HEAD/OPTIONS without a body are not; everything that can carry content is.)
bool needs_inspection(std::string_view method, const HeaderList& headers);

}  // namespace gatekeeper::http

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/extract/extractor.hpp"
#include "gatekeeper/http/inspector.hpp"

namespace gatekeeper::http {

// Why the proxy answers instead of the platform.
enum class ReplyReason {
  Blocked,             // the policy blocks what was found
  NeedsJustification,  // the policy warns: the user may resend with a justification
  Uninspectable,       // a file or binary content that cannot be checked yet
  TooLarge,            // the body exceeds the inspection limit
  Failure,  // the inspection itself failed (encoding, malformed body, scan error): fail closed
};

// What the user is told about one category (labels from the policy, never the matched values).
struct CategoryNotice {
  std::string id;
  std::string label_fr, label_en;
  std::string reason_fr, reason_en;
  std::string alternative_fr, alternative_en;
};

struct ReplyContent {
  ReplyReason reason = ReplyReason::Blocked;
  std::vector<CategoryNotice> categories;
  std::string reference;             // "GK-20261122-5F3A9C"
  std::string platform_name;         // "ChatGPT"; empty when unknown
  std::string justification_prefix;  // "#gk-justify:"
  std::string contact;               // DPO contact from the policy, may be empty
  std::string detail_fr, detail_en;  // Uninspectable / TooLarge / Failure: what could not be done
  // "http://127.0.0.1:3129/signaler?ref=GK-...": the false-positive report form; empty = no link.
  std::string report_url;
};

struct LocalReply {
  int status = 403;
  HeaderList headers;  // Content-Type, Cache-Control, X-Gatekeeper-Reference; no Content-Length
  std::string body;
};

// "GK-YYYYMMDD-XXXXXX": UTC date and 24 random bits in upper-case hex.
std::string make_reference_id();

// The explanation in French then English, plain text.
std::string reply_message(const ReplyContent& content);

// A reply in the shape the client expects, so that SDKs raise a readable error and web apps show
// the message: the API's own error JSON (OpenAI, Anthropic, Gemini), a server-sent event the web
// app renders (when `accept` asks for text/event-stream), or an HTML page for navigations.
LocalReply make_local_reply(extract::ReplyFamily family, std::string_view accept,
                            const ReplyContent& content);

}  // namespace gatekeeper::http

#include "gatekeeper/http/inspector.hpp"

#include "gatekeeper/admin/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "gatekeeper/detect/scanner.hpp"
#include "gatekeeper/extract/extractor.hpp"
#include "gatekeeper/http/local_reply.hpp"

namespace gatekeeper::http {
namespace {

using nlohmann::json;

// Where researchers' browsers reach the false-positive form: console.public_url, else the admin
// listener. No link when the console is off.
std::string report_url(const config::Settings& settings, const std::string& reference) {
  if (!settings.console.enabled) return {};
  std::string base = settings.console.public_url;
  if (base.empty()) {
    const bool ipv6 = settings.admin_host.find(':') != std::string::npos;
    base = "http://" + (ipv6 ? "[" + settings.admin_host + "]" : settings.admin_host) + ":" +
           std::to_string(settings.admin_port);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/signaler?ref=" + reference;
}

constexpr std::size_t kMaxJustificationBytes = 200;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

const std::string* header(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return &value;
  return nullptr;
}

std::string iso_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms));
  return buffer;
}

// Every coding listed must be "identity": anything else would hide the text from the scanner.
bool has_content_coding(const HeaderList& headers) {
  for (const auto& [key, value] : headers) {
    if (!iequals(key, "content-encoding")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view coding = trim(rest.substr(0, comma));
      if (!coding.empty() && !iequals(coding, "identity")) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

// "#gk-justify: reason\n" at the start of a segment (after leading blanks): removed from the text.
std::optional<std::string> strip_justification(std::string& text, std::string_view prefix) {
  if (prefix.empty()) return std::nullopt;
  std::size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  if (text.size() - start < prefix.size() ||
      !iequals(std::string_view(text).substr(start, prefix.size()), prefix))
    return std::nullopt;
  const std::size_t reason_start = start + prefix.size();
  const std::size_t eol = text.find('\n', reason_start);
  std::string reason(trim(std::string_view(text).substr(
      reason_start, eol == std::string::npos ? std::string::npos : eol - reason_start)));
  text.erase(0, eol == std::string::npos ? std::string::npos : eol + 1);
  return reason;
}

struct ScannedSegment {
  extract::Segment segment;
  std::optional<std::string> justification;  // present when the segment started with the prefix
  detect::Findings findings;
  std::vector<policy::Action> actions;  // parallel to findings
};

class Inspection {
 public:
  Inspection(const config::Snapshot& snapshot, const InspectRequest& request)
      : snapshot_(snapshot), request_(request) {
    reference_ = make_reference_id();
    path_ = request.target.substr(0, request.target.find('?'));
    if (snapshot.platforms) {
      auto match = snapshot.platforms->match(request.host);
      platform_ = match.platform;
      upload_host_ = match.upload_host;
      tier_ = platform_ ? platform_->tier : snapshot.platforms->tier_for(request.host);
    }
    endpoint_ = extract::select_endpoint(platform_ ? platform_->adapter : "generic", path_);
    if (snapshot.policy) monitor_ = snapshot.policy->monitor();
    record_ = {{"ts", iso_timestamp()},
               {"reference", reference_},
               {"connection", request.connection_id},
               {"client", request.client_address},
               {"user", request.client_user},
               {"platform", platform_ ? json(platform_->id) : json(nullptr)},
               {"host", request.host},
               {"upload_host", upload_host_},
               {"method", request.method},
               {"path", path_},
               {"tier", std::string(policy::to_string(tier_))},
               {"endpoint", std::string(extract::to_string(endpoint_))},
               {"monitor", monitor_},
               {"categories", json::array()},
               {"findings", json::array()},
               {"segments", 0},
               {"bytes_inspected", 0},
               {"justification", nullptr},
               {"error", nullptr}};
    if (snapshot.rules) record_["rules"] = snapshot.rules->fingerprint();
  }

  InspectOutcome run();

 private:
  InspectOutcome fail(ReplyReason reason, Errc error, std::string detail_fr, std::string detail_en);
  InspectOutcome reply(ReplyContent content, policy::Action action, policy::Action would_action);
  InspectOutcome forward(extract::Payload& payload, std::vector<ScannedSegment>& segments,
                         bool redact, policy::Action action, policy::Action would_action);
  ReplyContent content_for(ReplyReason reason) const;
  void record_findings(const std::vector<ScannedSegment>& segments,
                       const policy::Decision& decision);
  void record_justification(const std::vector<ScannedSegment>& segments);

  const config::Snapshot& snapshot_;
  const InspectRequest& request_;
  std::string reference_;
  std::string path_;
  const config::Platform* platform_ = nullptr;
  bool upload_host_ = false;
  policy::Tier tier_ = policy::Tier::External;
  extract::Endpoint endpoint_ = extract::Endpoint::Generic;
  bool monitor_ = false;
  json record_;
};

ReplyContent Inspection::content_for(ReplyReason reason) const {
  ReplyContent content;
  content.reason = reason;
  content.reference = reference_;
  content.platform_name = platform_ ? platform_->name : std::string();
  content.report_url = report_url(snapshot_.settings, reference_);
  if (snapshot_.policy) {
    content.justification_prefix = snapshot_.policy->justification_prefix();
    content.contact = snapshot_.policy->contact();
  } else {
    content.justification_prefix = "#gk-justify:";
  }
  return content;
}

InspectOutcome Inspection::reply(ReplyContent content, policy::Action action,
                                 policy::Action would_action) {
  const std::string* accept = header(request_.headers, "accept");
  LocalReply local =
      make_local_reply(extract::reply_family(endpoint_), accept ? *accept : "", content);
  InspectOutcome outcome;
  outcome.kind = InspectOutcome::Kind::Reply;
  outcome.status = local.status;
  outcome.reply_headers = std::move(local.headers);
  outcome.reply_body = std::move(local.body);
  outcome.action = action;
  outcome.reference_id = reference_;
  record_["action"] = std::string(policy::to_string(action));
  record_["would_action"] = std::string(policy::to_string(would_action));
  record_["outcome"] = "replied";
  record_["status"] = outcome.status;
  record_["modified"] = false;
  outcome.decision_record = std::move(record_);
  return outcome;
}

InspectOutcome Inspection::fail(ReplyReason reason, Errc error, std::string detail_fr,
                                std::string detail_en) {
  ReplyContent content = content_for(reason);
  content.detail_fr = std::move(detail_fr);
  content.detail_en = std::move(detail_en);
  record_["error"] = errc_name(error);
  return reply(std::move(content), policy::Action::Block, policy::Action::Block);
}

void Inspection::record_findings(const std::vector<ScannedSegment>& segments,
                                 const policy::Decision& decision) {
  struct Summary {
    std::string category;
    int count = 0;
    double max_score = 0.0;
    bool validated = false;
  };
  std::map<std::string, Summary> by_rule;
  for (const auto& scanned : segments)
    for (const auto& finding : scanned.findings) {
      Summary& summary = by_rule[finding.rule_id];
      summary.category = finding.category;
      ++summary.count;
      summary.max_score = std::max(summary.max_score, finding.score);
      summary.validated = summary.validated || finding.validated;
    }
  json findings = json::array();
  for (const auto& [rule, summary] : by_rule)
    findings.push_back({{"rule", rule},
                        {"category", summary.category},
                        {"count", summary.count},
                        {"max_score", summary.max_score},
                        {"validated", summary.validated}});
  record_["findings"] = std::move(findings);
  record_["categories"] = decision.categories;
}

// The most recent justification (the last segment that has one) is the one recorded. The reason is
// user-authored: it is scanned, and withheld from the log when it contains findings.
void Inspection::record_justification(const std::vector<ScannedSegment>& segments) {
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    if (!it->justification || it->justification->empty()) continue;
    std::string reason = truncate_utf8(*it->justification, kMaxJustificationBytes);
    auto findings = detect::scan(*snapshot_.rules, reason);
    json justification = {{"stored", true}, {"reason", reason}};
    if (!findings || !findings->empty()) justification = {{"stored", false}, {"reason", nullptr}};
    record_["justification"] = std::move(justification);
    return;
  }
}

InspectOutcome Inspection::forward(extract::Payload& payload, std::vector<ScannedSegment>& segments,
                                   bool redact, policy::Action action,
                                   policy::Action would_action) {
  bool modified = false;
  policy::Redactor redactor;  // one per request: the same value gets the same placeholder
  for (auto& scanned : segments) {
    const bool redacts = redact && std::find(scanned.actions.begin(), scanned.actions.end(),
                                             policy::Action::Redact) != scanned.actions.end();
    if (!redacts && !scanned.justification) continue;
    std::string text =
        redacts ? redactor.redact(scanned.segment.text, scanned.findings, scanned.actions)
                : scanned.segment.text;
    if (auto written = extract::write_text(payload, scanned.segment.where, text); !written)
      return fail(
          ReplyReason::Failure,
          written.error() == Errc::PayloadMalformed ? Errc::PayloadMalformed : Errc::ScanFailed,
          "réécriture de la requête impossible", "the request could not be rewritten");
    modified = true;
  }
  InspectOutcome outcome;
  outcome.kind = InspectOutcome::Kind::Forward;
  outcome.action = action;
  outcome.reference_id = reference_;
  if (modified) {
    auto body = extract::serialize(payload);
    if (!body)
      return fail(ReplyReason::Failure, Errc::PayloadMalformed,
                  "réécriture de la requête impossible", "the request could not be rewritten");
    outcome.body = std::move(*body);
    // The session recomputes Content-Length from the new body.
    for (const auto& [name, value] : request_.headers)
      if (!iequals(name, "content-length")) outcome.headers.emplace_back(name, value);
  } else {
    outcome.body = request_.body;
    outcome.headers = request_.headers;
  }
  outcome.modified = modified;
  record_["action"] = std::string(policy::to_string(action));
  record_["would_action"] = std::string(policy::to_string(would_action));
  record_["outcome"] = "forwarded";
  record_["modified"] = modified;
  outcome.decision_record = std::move(record_);
  return outcome;
}

InspectOutcome Inspection::run() {
  if (!snapshot_.rules || !snapshot_.policy)
    return fail(ReplyReason::Failure, Errc::ScanFailed, "règles ou politique non chargées",
                "rules or policy not loaded");
  if (request_.body_too_large) {
    const std::string limit = std::to_string(snapshot_.settings.max_body_bytes) + " bytes";
    record_["error"] = errc_name(Errc::InputTooLarge);
    ReplyContent content = content_for(ReplyReason::TooLarge);
    content.detail_fr = "limite : " + std::to_string(snapshot_.settings.max_body_bytes) + " octets";
    content.detail_en = "limit: " + limit;
    return reply(std::move(content), policy::Action::Block, policy::Action::Block);
  }
  if (has_content_coding(request_.headers))
    return fail(ReplyReason::Failure, Errc::BodyUndecodable,
                "les corps de requête compressés ne peuvent pas encore être inspectés",
                "compressed request bodies cannot be inspected yet");

  const std::string* content_type = header(request_.headers, "content-type");
  auto payload = extract::parse_payload(content_type ? *content_type : "", request_.body);
  if (!payload)
    return fail(ReplyReason::Failure, Errc::PayloadMalformed,
                "le corps de la requête ne correspond pas à son format déclaré",
                "the request body does not match its declared format");

  extract::Extraction extraction = extract::extract(endpoint_, *payload);
  endpoint_ =
      extraction.endpoint == extract::Endpoint::Generic && endpoint_ != extract::Endpoint::Generic
          ? endpoint_  // keep the reply shape of the platform's endpoint
          : extraction.endpoint;
  record_["endpoint"] = std::string(extract::to_string(extraction.endpoint));
  if (!extraction.uninspectable.empty()) {
    json items = json::array();
    for (const auto& item : extraction.uninspectable)
      items.push_back({{"kind", item.kind}, {"media_type", item.media_type}});
    record_["uninspectable"] = std::move(items);
  }

  const std::string& prefix = snapshot_.policy->justification_prefix();
  std::vector<ScannedSegment> segments;
  segments.reserve(extraction.segments.size());
  std::size_t bytes = 0;
  detect::Findings all_findings;
  double scan_seconds = 0;  // one histogram observation per request, all segments together
  for (auto& segment : extraction.segments) {
    ScannedSegment scanned{std::move(segment), std::nullopt, {}, {}};
    scanned.justification = strip_justification(scanned.segment.text, prefix);
    bytes += scanned.segment.text.size();
    const auto scan_started = std::chrono::steady_clock::now();
    auto findings = detect::scan(*snapshot_.rules, scanned.segment.text);
    scan_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - scan_started).count();
    if (!findings) {
      admin::Metrics::instance().observe_scan_seconds(scan_seconds);
      const Errc error = findings.error() == Errc::InputTooLarge     ? Errc::InputTooLarge
                         : findings.error() == Errc::ScanOutOfMemory ? Errc::ScanOutOfMemory
                                                                     : Errc::ScanFailed;
      record_["segments"] = segments.size();
      return fail(ReplyReason::Failure, error, "l'analyse a échoué, blocage par précaution",
                  "scan failed, fail closed");
    }
    scanned.findings = std::move(*findings);
    all_findings.insert(all_findings.end(), scanned.findings.begin(), scanned.findings.end());
    segments.push_back(std::move(scanned));
  }
  admin::Metrics::instance().observe_scan_seconds(scan_seconds);
  record_["segments"] = segments.size();
  record_["bytes_inspected"] = bytes;

  const policy::Decision decision = policy::decide(*snapshot_.policy, all_findings, tier_);
  std::size_t next = 0;
  for (auto& scanned : segments) {
    for (std::size_t i = 0; i < scanned.findings.size(); ++i, ++next)
      scanned.actions.push_back(next < decision.finding_actions.size()
                                    ? decision.finding_actions[next]
                                    : policy::Action::Block);
  }
  record_findings(segments, decision);
  record_justification(segments);

  // Content that cannot be inspected blocks like a finding would, unless monitoring.
  policy::Action would_action = decision.would_action;
  if (!extraction.uninspectable.empty()) would_action = policy::Action::Block;
  if (monitor_)
    return forward(*payload, segments, /*redact=*/false, policy::Action::Log, would_action);

  auto notices = [&] {
    std::vector<CategoryNotice> out;
    for (const auto& category : decision.categories) {
      CategoryNotice notice;
      notice.id = category;
      if (const auto* message = snapshot_.policy->message_for(category)) {
        notice.label_fr = message->label_fr;
        notice.label_en = message->label_en;
        notice.reason_fr = message->reason_fr;
        notice.reason_en = message->reason_en;
        notice.alternative_fr = message->alternative_fr;
        notice.alternative_en = message->alternative_en;
      }
      out.push_back(std::move(notice));
    }
    return out;
  };

  if (!extraction.uninspectable.empty() && decision.would_action != policy::Action::Block) {
    ReplyContent content = content_for(ReplyReason::Uninspectable);
    std::string kinds;
    for (const auto& item : extraction.uninspectable) {
      const std::string what = item.media_type.empty() ? item.kind : item.media_type;
      if (kinds.find(what) == std::string::npos) kinds += (kinds.empty() ? "" : ", ") + what;
    }
    content.detail_fr = "fichier ou données encodées : " + kinds;
    content.detail_en = "file or encoded data: " + kinds;
    return reply(std::move(content), policy::Action::Block, policy::Action::Block);
  }

  switch (decision.would_action) {
    case policy::Action::Block: {
      ReplyContent content = content_for(ReplyReason::Blocked);
      content.categories = notices();
      return reply(std::move(content), policy::Action::Block, policy::Action::Block);
    }
    case policy::Action::Warn: {
      // Each finding that warns must sit in a segment the user justified.
      bool justified = true;
      for (const auto& scanned : segments)
        for (auto action : scanned.actions)
          if (action == policy::Action::Warn &&
              (!scanned.justification || scanned.justification->empty()))
            justified = false;
      if (!justified) {
        ReplyContent content = content_for(ReplyReason::NeedsJustification);
        content.categories = notices();
        return reply(std::move(content), policy::Action::Warn, policy::Action::Warn);
      }
      record_["overridden"] = true;
      return forward(*payload, segments, /*redact=*/true, policy::Action::Warn,
                     policy::Action::Warn);
    }
    default:
      return forward(*payload, segments, /*redact=*/true, decision.action, decision.would_action);
  }
}

}  // namespace

namespace {

// Requests by platform and decisions by action and category (labels only, never content).
void record_metrics(const InspectOutcome& outcome) {
  auto& metrics = admin::Metrics::instance();
  const nlohmann::json& record = outcome.decision_record;
  const auto platform = record.find("platform");
  metrics.count_request(platform != record.end() && platform->is_string()
                            ? platform->get_ref<const std::string&>()
                            : std::string("unknown"));
  const std::string_view action = policy::to_string(outcome.action);
  const auto categories = record.find("categories");
  if (categories == record.end() || !categories->is_array() || categories->empty()) {
    metrics.count_decision(action, "none");
    return;
  }
  for (const auto& category : *categories) {
    if (category.is_string()) metrics.count_decision(action, category.get_ref<const std::string&>());
  }
}

}  // namespace

InspectOutcome inspect(const config::Snapshot& snapshot, const InspectRequest& request) {
  try {
    InspectOutcome outcome = Inspection(snapshot, request).run();
    record_metrics(outcome);
    return outcome;
  } catch (...) {
    // Out of memory or a bug: never forward what could not be checked.
    InspectOutcome outcome;
    outcome.kind = InspectOutcome::Kind::Reply;
    outcome.status = 403;
    outcome.action = policy::Action::Block;
    outcome.reply_headers = {{"Content-Type", "text/plain; charset=utf-8"},
                             {"Cache-Control", "no-store"}};
    outcome.reply_body =
        "[Gatekeeper] Envoi bloqué par précaution : erreur interne.\n"
        "[Gatekeeper] Request blocked as a precaution: internal error.\n";
    outcome.decision_record = {{"host", request.host}, {"action", "block"}, {"error", "internal"}};
    return outcome;
  }
}

bool needs_inspection(std::string_view method, const HeaderList& headers) {
  (void)method;  // any method can carry a body; only the framing headers say whether one follows
  if (header(headers, "transfer-encoding")) return true;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "content-length")) continue;
    std::string_view length = trim(value);
    if (length.empty() ||
        !std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return true;  // unparsable: inspect (and let the session reject it) rather than pass it
                    // through
    if (length.find_first_not_of('0') != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace gatekeeper::http

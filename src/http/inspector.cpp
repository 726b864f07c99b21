#include "gatekeeper/http/inspector.hpp"

#include "gatekeeper/core/text.hpp"

#include "gatekeeper/admin/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/detect/scanner.hpp"
#include "gatekeeper/http/content_coding.hpp"
#include "gatekeeper/extract/extractor.hpp"
#include "gatekeeper/extract/file_extractor.hpp"
#include "gatekeeper/extract/file_limits.hpp"
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
// Per rule, at most this many distinct values are described (excerpt + HMAC) in the record: a
// pasted table can hold thousands; the count still says how many there were.
constexpr std::size_t kMaxMatchesPerRule = 20;

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
  // Text from an attached file (or a file's name, or a finding for a file without text): it cannot
  // be rewritten, so a redact-level finding here blocks the request.
  bool in_file = false;
  std::size_t file = 0;     // index into the request's files
  std::string file_where;   // structural place in the file ("page 3"), never a name
};

// Categories for what a file is rather than what it says (config/policy.yaml).
constexpr const char* kImageCategory = "image_file";
constexpr const char* kBinaryCategory = "unknown_binary";
constexpr const char* kMedicalImageCategory = "patient_data";  // DICOM carries patient attributes

detect::Finding opaque_finding(const extract::OpaqueContent& opaque) {
  detect::Finding finding;
  switch (opaque.kind) {
    case extract::OpaqueKind::Image:
      finding.rule_id = "file_image";
      finding.category = kImageCategory;
      finding.severity = detect::Severity::Low;
      break;
    case extract::OpaqueKind::MedicalImage:
      finding.rule_id = "file_dicom";
      finding.category = kMedicalImageCategory;
      finding.severity = detect::Severity::Critical;
      break;
    case extract::OpaqueKind::Binary:
      finding.rule_id = "file_unknown_binary";
      finding.category = kBinaryCategory;
      finding.severity = detect::Severity::Medium;
      break;
  }
  finding.rule_version = "1";
  finding.pattern = "file_type";
  finding.score = 1.0;
  finding.validated = true;  // from the file's own structure, not a guess
  return finding;
}

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
    record_ = {{"time", iso_timestamp()},
               {"reference", reference_},
               {"connection", request.connection_id},
               {"client", request.client_address},
               {"user", user_field(snapshot.settings, request)},
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
    record_["revision"] = snapshot.revision;
  }

  InspectOutcome run();

 private:
  // Undoes Content-Encoding into decoded_; a failure is the blocking reply.
  std::optional<InspectOutcome> decode_body();
  InspectOutcome fail(ReplyReason reason, Errc error, std::string detail_fr, std::string detail_en);
  InspectOutcome reply(ReplyContent content, policy::Action action, policy::Action would_action);
  InspectOutcome forward(extract::Payload& payload, std::vector<ScannedSegment>& segments,
                         bool redact, policy::Action action, policy::Action would_action);
  ReplyContent content_for(ReplyReason reason) const;
  void record_findings(const std::vector<ScannedSegment>& segments,
                       const policy::Decision& decision);
  void record_justification(const std::vector<ScannedSegment>& segments);
  nlohmann::json describe_match(const ScannedSegment& scanned, const detect::Finding& finding,
                                std::string* hmac) const;
  static json user_field(const config::Settings& settings, const InspectRequest& request);
  std::optional<InspectOutcome> extract_files(extract::Extraction& extraction,
                                              std::vector<ScannedSegment>& file_segments);
  void record_file_findings(const std::vector<ScannedSegment>& segments);

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
  std::vector<Coding> codings_;  // Content-Encoding of the request, in the order applied
  std::string decoded_;          // the body with codings_ undone (when there are any)
};

std::optional<InspectOutcome> Inspection::decode_body() {
  std::string unknown;
  auto codings = parse_content_codings(request_.headers, &unknown);
  if (!codings)
    return fail(ReplyReason::Failure, Errc::BodyUndecodable,
                "codage de contenu inconnu (Content-Encoding : " + unknown +
                    "), le corps ne peut pas être inspecté",
                "unknown content coding (Content-Encoding: " + unknown +
                    "), the body cannot be inspected");
  codings_ = std::move(*codings);
  if (codings_.empty()) return std::nullopt;
  json names = json::array();
  std::string listed;
  for (const Coding coding : codings_) {
    names.push_back(std::string(to_string(coding)));
    listed += (listed.empty() ? "" : ", ") + std::string(to_string(coding));
  }
  record_["content_encoding"] = std::move(names);
  const config::FileLimits& files = snapshot_.settings.files;
  DecodeLimits limits;
  limits.max_decoded_bytes = files.max_decoded_bytes;
  limits.max_ratio = files.max_compression_ratio;
  auto decoded = decode_all(codings_, request_.body, limits);
  if (!decoded && decoded.error() == Errc::ExtractionLimit) {
    const std::string size = std::to_string(files.max_decoded_bytes);
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%g", files.max_compression_ratio);
    return fail(ReplyReason::Failure, Errc::ExtractionLimit,
                "le corps compressé (" + listed + ") dépasse les limites de décompression (" +
                    size + " octets, taux " + ratio + ") : bombe de décompression probable",
                "the compressed body (" + listed + ") exceeds the decompression limits (" + size +
                    " bytes, ratio " + ratio + "): likely a decompression bomb");
  }
  if (!decoded)
    return fail(ReplyReason::Failure, Errc::BodyUndecodable,
                "le corps compressé (" + listed + ") est tronqué ou corrompu",
                "the compressed body (" + listed + ") is truncated or corrupt");
  decoded_ = std::move(*decoded);
  record_["bytes_decoded"] = decoded_.size();
  return std::nullopt;
}

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

// The user as the audit trail may know them: a keyed pseudonym unless the configuration asks for
// names; nobody when there is no key to pseudonymise with.
json Inspection::user_field(const config::Settings& settings, const InspectRequest& request) {
  if (request.client_user.empty()) return nullptr;
  if (settings.audit.name_users) return request.client_user;
  if (request.pseudonymizer != nullptr)
    return request.pseudonymizer->user_pseudonym(request.client_user);
  return nullptr;
}

// What the DPO may see of one match: a masked excerpt, the rule's context word that supported it
// (a word of the rule file, not of the prompt) and a keyed HMAC of the normalised value, so that
// the same identifier can be seen to recur without being readable.
json Inspection::describe_match(const ScannedSegment& scanned, const detect::Finding& finding,
                                std::string* hmac) const {
  const std::string& text = scanned.segment.text;
  const std::size_t start = std::min(finding.start, text.size());
  const std::size_t end = std::clamp(finding.end, start, text.size());
  std::string value = text.substr(start, end - start);
  json match = {{"excerpt", audit::mask_value(value)}};
  match["context"] =
      finding.context_word.empty() ? json::array() : json::array({finding.context_word});
  if (request_.pseudonymizer != nullptr) {
    if (const detect::RuleSpec* spec = snapshot_.rules->find_rule(finding.rule_id))
      for (const auto& [from, to] : spec->normalize) {
        if (from.empty()) continue;
        for (std::size_t at = value.find(from); at != std::string::npos;
             at = value.find(from, at + to.size()))
          value.replace(at, from.size(), to);
      }
    *hmac = request_.pseudonymizer->value_hmac(audit::canonical_value(value));
    match["value_hmac"] = *hmac;
  }
  return match;
}

void Inspection::record_findings(const std::vector<ScannedSegment>& segments,
                                 const policy::Decision& decision) {
  struct Summary {
    std::string category;
    std::string version;
    int count = 0;
    double max_score = 0.0;
    bool validated = false;
    json matches = json::array();
    std::vector<std::string> seen;  // HMACs or excerpts already described
  };
  std::map<std::string, Summary> by_rule;
  std::size_t total = 0;
  for (const auto& scanned : segments)
    for (const auto& finding : scanned.findings) {
      Summary& summary = by_rule[finding.rule_id];
      summary.category = finding.category;
      summary.version = finding.rule_version;
      ++summary.count;
      ++total;
      summary.max_score = std::max(summary.max_score, finding.score);
      summary.validated = summary.validated || finding.validated;
      if (summary.matches.size() >= kMaxMatchesPerRule) continue;
      std::string hmac;
      json match = describe_match(scanned, finding, &hmac);
      const std::string key = hmac.empty() ? match["excerpt"].get<std::string>() : hmac;
      if (std::find(summary.seen.begin(), summary.seen.end(), key) != summary.seen.end()) continue;
      summary.seen.push_back(key);
      summary.matches.push_back(std::move(match));
    }
  json findings = json::array();
  for (auto& [rule, summary] : by_rule)
    findings.push_back({{"rule", rule},
                        {"rule_version", summary.version},
                        {"category", summary.category},
                        {"count", summary.count},
                        {"max_score", summary.max_score},
                        {"validated", summary.validated},
                        {"matches", std::move(summary.matches)}});
  record_["findings"] = std::move(findings);
  record_["finding_count"] = total;
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
    if (scanned.in_file) continue;  // files are never rewritten (a redaction there blocks)
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
    // Same codings as the client chose: the platform gets the request in the shape it was sent.
    if (!codings_.empty()) {
      auto encoded = encode_all(codings_, *body);
      if (!encoded)
        return fail(ReplyReason::Failure, Errc::BodyUndecodable,
                    "réécriture de la requête impossible", "the request could not be rewritten");
      body = std::move(*encoded);
    }
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

// Extracts the text of every file of the request (multipart file parts, binary bodies, inline
// base64 files). Files whose bytes are not available stay in extraction.uninspectable. Returns a
// blocking reply when a file is malformed or crosses a limit of settings.files.
std::optional<InspectOutcome> Inspection::extract_files(
    extract::Extraction& extraction, std::vector<ScannedSegment>& file_segments) {
  extract::ExtractionBudget budget(snapshot_.settings.files);
  std::vector<extract::Uninspectable> unreadable;
  json files = json::array();
  for (auto& item : extraction.uninspectable) {
    if (!item.has_bytes) {
      unreadable.push_back(std::move(item));
      continue;
    }
    const std::size_t index = files.size();
    json file = {{"index", index},
                 {"kind", item.kind},
                 {"declared_media_type", item.media_type},
                 {"bytes", item.bytes.size()}};
    if (item.kind == "file_part") file["part"] = item.index;
    auto extracted = extract::extract_file(item.bytes, budget, item.media_type);
    if (!extracted) {
      const bool limit = extracted.error() == Errc::ExtractionLimit;
      const Errc error = limit ? Errc::ExtractionLimit : Errc::FileMalformed;
      file["error"] = errc_name(error);
      files.push_back(std::move(file));
      record_["files"] = std::move(files);
      const std::string what = "fichier " + std::to_string(index + 1);
      const std::string what_en = "file " + std::to_string(index + 1);
      return fail(ReplyReason::Failure, error,
                  what + (limit ? ", limite atteinte : " : ", illisible : ") + budget.problem_fr(),
                  what_en + (limit ? ", limit reached: " : ", unreadable: ") + budget.problem_en());
    }
    file["format"] = extracted->format;
    file["media_type"] = extracted->media_type;
    file["texts"] = extracted->texts.size();
    files.push_back(std::move(file));
    auto in_file = [&](std::string text, std::string where) -> ScannedSegment& {
      ScannedSegment& scanned = file_segments.emplace_back();
      scanned.segment.text = std::move(text);
      scanned.in_file = true;
      scanned.file = index;
      scanned.file_where = std::move(where);
      return scanned;
    };
    for (auto& text : extracted->texts) in_file(std::move(text.text), std::move(text.where));
    for (const auto& opaque : extracted->opaque)
      in_file({}, opaque.where + " (" + opaque.format + ")").findings = {opaque_finding(opaque)};
    // File names are user data ("dossier_DUPONT_Jean.docx"): scanned like the rest, never logged.
    if (!item.file_name.empty()) in_file(std::move(item.file_name), "file name");
  }
  extraction.uninspectable = std::move(unreadable);
  if (!files.empty()) record_["files"] = std::move(files);
  return std::nullopt;
}

// Which file and where each file finding was (rule, category, place); never the value.
void Inspection::record_file_findings(const std::vector<ScannedSegment>& segments) {
  if (!record_.contains("files")) return;
  json& files = record_["files"];
  for (const auto& scanned : segments) {
    if (!scanned.in_file || scanned.file >= files.size()) continue;
    json& file = files[scanned.file];
    if (!file.contains("findings")) file["findings"] = json::array();
    for (const auto& finding : scanned.findings)
      file["findings"].push_back({{"rule", finding.rule_id},
                                  {"category", finding.category},
                                  {"where", scanned.file_where}});
  }
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
  if (auto refused = decode_body()) return std::move(*refused);
  const std::string& body = codings_.empty() ? request_.body : decoded_;

  const std::string* content_type = header(request_.headers, "content-type");
  auto payload = extract::parse_payload(content_type ? *content_type : "", body);
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
  if (upload_host_ && payload->kind == extract::PayloadKind::Text) {
    // A storage host receives files: a text body there is a file (RTF, HTML, CSV...), read as one.
    extraction.segments.clear();
    extraction.uninspectable.push_back(
        {"upload_body", payload->media_type, true, payload->text, {}, 0});
  }
  std::vector<ScannedSegment> file_segments;
  if (auto refused = extract_files(extraction, file_segments)) return std::move(*refused);
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
  std::vector<ScannedSegment> pending;
  pending.reserve(extraction.segments.size() + file_segments.size());
  for (auto& segment : extraction.segments) {
    ScannedSegment& scanned = pending.emplace_back();
    scanned.segment = std::move(segment);
    scanned.justification = strip_justification(scanned.segment.text, prefix);
  }
  for (auto& scanned : file_segments) pending.push_back(std::move(scanned));
  for (auto& scanned : pending) {
    bytes += scanned.segment.text.size();
    if (scanned.segment.text.empty()) {  // a file without text: its findings are already set
      all_findings.insert(all_findings.end(), scanned.findings.begin(), scanned.findings.end());
      segments.push_back(std::move(scanned));
      continue;
    }
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
  record_file_findings(segments);
  record_justification(segments);

  // A file cannot be rewritten: a value that would be redacted in it blocks the request.
  std::vector<std::string> file_redact_categories;
  for (const auto& scanned : segments)
    for (std::size_t i = 0; i < scanned.findings.size(); ++i)
      if (scanned.in_file && scanned.actions[i] == policy::Action::Redact &&
          std::find(file_redact_categories.begin(), file_redact_categories.end(),
                    scanned.findings[i].category) == file_redact_categories.end())
        file_redact_categories.push_back(scanned.findings[i].category);

  // Content that cannot be inspected blocks like a finding would, unless monitoring.
  policy::Action would_action = decision.would_action;
  if (!extraction.uninspectable.empty() || !file_redact_categories.empty())
    would_action = policy::Action::Block;
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

  if (!file_redact_categories.empty() && decision.would_action != policy::Action::Block) {
    ReplyContent content = content_for(ReplyReason::Blocked);
    for (const auto& category : file_redact_categories) {
      CategoryNotice notice;
      notice.id = category;
      if (const auto* message = snapshot_.policy->message_for(category)) {
        notice.label_fr = message->label_fr;
        notice.label_en = message->label_en;
        notice.reason_fr = message->reason_fr;
        notice.reason_en = message->reason_en;
      }
      notice.alternative_fr =
          "Ces valeurs sont dans un fichier joint, et les fichiers ne sont pas modifiés par le "
          "proxy : retirez-les du fichier avant de l'envoyer, ou utilisez le service d'IA interne "
          "de l'Inserm.";
      notice.alternative_en =
          "These values are in an attached file, and the proxy does not modify files: remove "
          "them from the file before sending it, or use the institute's internal AI service.";
      content.categories.push_back(std::move(notice));
    }
    record_["file_redaction_blocked"] = true;
    return reply(std::move(content), policy::Action::Block, policy::Action::Block);
  }

  switch (decision.would_action) {
    case policy::Action::Block: {
      ReplyContent content = content_for(ReplyReason::Blocked);
      content.categories = notices();
      return reply(std::move(content), policy::Action::Block, policy::Action::Block);
    }
    case policy::Action::Warn: {
      // Each finding that warns must sit in a segment the user justified. A file cannot carry a
      // justification: the message sent with it can (any justified segment of the request).
      const bool message_justified =
          std::any_of(segments.begin(), segments.end(), [](const ScannedSegment& scanned) {
            return scanned.justification && !scanned.justification->empty();
          });
      bool justified = true;
      for (const auto& scanned : segments)
        for (auto action : scanned.actions)
          if (action == policy::Action::Warn &&
              (scanned.in_file ? !message_justified
                               : (!scanned.justification || scanned.justification->empty())))
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
    outcome.decision_record = {{"time", audit::now_time()},
                               {"host", request.host},
                               {"action", "block"},
                               {"error", "internal"}};
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

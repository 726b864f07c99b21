#include "gatekeeper/http/inspector.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "gatekeeper/admin/metrics.hpp"
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/extract/payload.hpp"
#include "gatekeeper/http/content_coding.hpp"

namespace gatekeeper::http {
namespace {

using nlohmann::json;

// A valid NIR (key 97 - N mod 97), in the grouped form people type, and its digits alone.
constexpr const char* kNir = "1 85 05 78 006 084 91";
constexpr const char* kNirDigits = "185057800608491";
constexpr const char* kOtherNir = "2 92 03 75 123 456 36";

constexpr const char* kRules = R"(
category: health_identifier
rules:
  - id: test_nir
    category: health_identifier
    description: NIR de test
    severity: critical
    placeholder: NIR
    patterns:
      - name: nir_grouped
        regex: '\b([12] ?[0-9]{2} ?[0-9]{2} ?[0-9AB]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{2})\b'
        score: 0.9
    normalize:
      - [" ", ""]
    validator: nir
  - id: test_confidential
    category: confidential
    description: tampon de confidentialité
    severity: high
    patterns:
      - name: stamp
        regex: '\bstrictement confidentiel\b'
        score: 0.9
  - id: test_evaluation
    category: evaluation
    description: évaluation en cours
    severity: medium
    patterns:
      - name: phrase
        regex: '\bdossier d.expertise\b'
        score: 0.9
)";

std::string policy_yaml(const std::string& mode) {
  const std::string message =
      "    message:\n"
      "      fr: {label: LABEL_FR, reason: RAISON_FR, alternative: ALTERNATIVE_FR}\n"
      "      en: {label: LABEL_EN, reason: REASON_EN, alternative: ALTERNATIVE_EN}\n";
  return "version: 1\nmode: " + mode +
         "\ncontact: DPO Inserm\njustification_prefix: \"#gk-justify:\"\n"
         "default_action: {internal: log, sovereign: log, external: log}\n"
         "categories:\n"
         "  health_identifier:\n"
         "    actions: {internal: log, sovereign: redact, external: redact}\n" +
         message +
         "  confidential:\n"
         "    block_level: true\n"
         "    actions: {internal: log, sovereign: block, external: block}\n" +
         message +
         "  evaluation:\n"
         "    actions: {internal: log, sovereign: warn, external: warn}\n" +
         message;
}

constexpr const char* kPlatforms = R"(
version: 1
platforms:
  - id: openai_api
    name: OpenAI API
    tier: external
    adapter: openai
    hosts: [api.openai.com]
  - id: anthropic_api
    name: Anthropic API
    tier: external
    adapter: anthropic
    hosts: [api.anthropic.com]
  - id: gemini_web
    name: Gemini
    tier: external
    adapter: gemini_web
    hosts: [gemini.google.com]
  - id: chatgpt
    name: ChatGPT
    tier: external
    adapter: chatgpt
    hosts: [chatgpt.com]
  - id: mistral_api
    name: Mistral API
    tier: sovereign
    adapter: openai
    hosts: [api.mistral.ai]
)";

config::Snapshot make_snapshot(const std::string& mode = "enforce") {
  config::Snapshot snapshot;
  Diagnostics diagnostics;
  auto specs = detect::parse_rule_text(kRules, "test.yaml", diagnostics);
  auto rules = detect::RuleSet::compile(std::move(specs), {}, diagnostics);
  auto policy = policy::Policy::parse(policy_yaml(mode), "policy.yaml", diagnostics);
  auto platforms = config::PlatformRegistry::parse(kPlatforms, "platforms.yaml", diagnostics);
  for (const auto& d : diagnostics)  // warnings (no rule examples, unlisted categories) are fine
    if (d.severity == Diagnostic::Severity::Error) ADD_FAILURE() << d.to_string();
  if (rules) snapshot.rules = *rules;
  if (policy) snapshot.policy = *policy;
  if (platforms) snapshot.platforms = *platforms;
  snapshot.settings.max_body_bytes = 1 << 20;
  return snapshot;
}

const config::Snapshot& enforce_snapshot() {
  static const config::Snapshot snapshot = make_snapshot();
  return snapshot;
}

InspectRequest openai_request(const std::string& prompt,
                              const std::string& target = "/v1/chat/completions") {
  InspectRequest request;
  request.host = "api.openai.com";
  request.method = "POST";
  request.target = target;
  request.body = json{{"model", "gpt-4o"},
                      {"messages", json::array({{{"role", "system"}, {"content", "Be brief."}},
                                                {{"role", "user"}, {"content", prompt}}})}}
                     .dump();
  request.headers = {{"Host", "api.openai.com"},
                     {"Authorization", "Bearer sk-test-secret"},
                     {"Content-Type", "application/json"},
                     {"Content-Length", std::to_string(request.body.size())}};
  request.client_address = "127.0.0.1";
  request.client_user = "alice";
  request.connection_id = "c42";
  return request;
}

std::string header_of(const HeaderList& headers, const std::string& name) {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return {};
}

bool has_header(const HeaderList& headers, const std::string& name) {
  for (const auto& [key, value] : headers)
    if (key == name) return true;
  return false;
}

// Nothing user-authored in the record: neither the value, nor its digits, nor any six consecutive
// digits of either test NIR (a masked excerpt shows a third of a value at most).
void expect_no_raw_value(const InspectOutcome& outcome) {
  const std::string record = outcome.decision_record.dump();
  EXPECT_EQ(record.find(kNirDigits), std::string::npos) << record;
  EXPECT_EQ(record.find(kNir), std::string::npos) << record;
  EXPECT_EQ(record.find("sk-test-secret"), std::string::npos) << record;
  for (std::string digits : {std::string(kNirDigits), std::string("292037512345636")})
    for (std::size_t i = 0; i + 6 <= digits.size(); ++i)
      EXPECT_EQ(record.find(digits.substr(i, 6)), std::string::npos)
          << digits.substr(i, 6) << " in " << record;
}

TEST(InspectorTest, CleanRequestIsForwardedByteIdentical) {
  const InspectRequest request = openai_request("Quelle est la capitale de la France ?");
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
  EXPECT_FALSE(outcome.modified);
  EXPECT_EQ(outcome.body, request.body);
  EXPECT_EQ(outcome.headers, request.headers);
  EXPECT_EQ(outcome.action, policy::Action::Allow);
  const json& record = outcome.decision_record;
  EXPECT_EQ(record["platform"], "openai_api");
  EXPECT_EQ(record["action"], "allow");
  EXPECT_EQ(record["segments"], 2);
  EXPECT_EQ(record["outcome"], "forwarded");
  EXPECT_TRUE(std::regex_match(record["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST(InspectorTest, RedactsIdentifiersAndKeepsValidJson) {
  const InspectRequest request = openai_request(std::string("Patient NIR ") + kNir +
                                                ", revu avec " + kOtherNir + " puis " + kNir + ".");
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
  EXPECT_TRUE(outcome.modified);
  EXPECT_EQ(outcome.action, policy::Action::Redact);
  const json body = json::parse(outcome.body);
  EXPECT_EQ(body["model"], "gpt-4o");
  EXPECT_EQ(body["messages"][0]["content"], "Be brief.");
  EXPECT_EQ(body["messages"][1]["content"], "Patient NIR [NIR_1], revu avec [NIR_2] puis [NIR_1].");
  EXPECT_FALSE(has_header(outcome.headers, "Content-Length"));  // recomputed by the session
  EXPECT_EQ(header_of(outcome.headers, "Authorization"), "Bearer sk-test-secret");
  const json& record = outcome.decision_record;
  ASSERT_EQ(record["findings"].size(), 1u);
  EXPECT_EQ(record["findings"][0]["rule"], "test_nir");
  EXPECT_EQ(record["findings"][0]["count"], 3);
  EXPECT_EQ(record["findings"][0]["validated"], true);
  EXPECT_EQ(record["categories"], json::array({"health_identifier"}));
  EXPECT_EQ(record["modified"], true);
  expect_no_raw_value(outcome);
}

TEST(InspectorTest, BlockRepliesInTheApiShapeWithAReference) {
  const InspectRequest request =
      openai_request(std::string("STRICTEMENT CONFIDENTIEL : patient ") + kNir,
                     "/v1/chat/completions?key=QUERYSECRET");
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.status, 403);
  EXPECT_EQ(outcome.action, policy::Action::Block);
  EXPECT_TRUE(std::regex_match(outcome.reference_id, std::regex("GK-[0-9]{8}-[0-9A-F]{6}")));
  EXPECT_EQ(header_of(outcome.reply_headers, "X-Gatekeeper-Reference"), outcome.reference_id);
  EXPECT_EQ(header_of(outcome.reply_headers, "Cache-Control"), "no-store");
  const json body = json::parse(outcome.reply_body);
  EXPECT_EQ(body["error"]["code"], "blocked_by_policy");
  const std::string message = body["error"]["message"];
  for (const char* part : {"LABEL_FR", "LABEL_EN", "RAISON_FR", "ALTERNATIVE_EN"})
    EXPECT_NE(message.find(part), std::string::npos) << part;
  EXPECT_NE(message.find(outcome.reference_id), std::string::npos);
  EXPECT_EQ(message.find(kNirDigits), std::string::npos);
  EXPECT_EQ(message.find("084"), std::string::npos);
  const json& record = outcome.decision_record;
  EXPECT_EQ(record["reference"], outcome.reference_id);
  EXPECT_EQ(record["path"], "/v1/chat/completions");
  EXPECT_EQ(record.dump().find("QUERYSECRET"), std::string::npos);
  EXPECT_EQ(record["action"], "block");
  expect_no_raw_value(outcome);
}

TEST(InspectorTest, BlockMessageLinksToTheFalsePositiveForm) {
  const InspectRequest request =
      openai_request(std::string("STRICTEMENT CONFIDENTIEL : patient ") + kNir);
  config::Snapshot snapshot = make_snapshot();
  snapshot.settings.admin_host = "127.0.0.1";
  snapshot.settings.admin_port = 4129;
  InspectOutcome outcome = inspect(snapshot, request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  std::string message = json::parse(outcome.reply_body)["error"]["message"];
  EXPECT_NE(message.find("http://127.0.0.1:4129/signaler?ref=" + outcome.reference_id),
            std::string::npos);

  snapshot.settings.console.public_url = "https://gatekeeper.example.org/";
  outcome = inspect(snapshot, request);
  message = json::parse(outcome.reply_body)["error"]["message"];
  EXPECT_NE(message.find("https://gatekeeper.example.org/signaler?ref=" + outcome.reference_id),
            std::string::npos);

  snapshot.settings.console.enabled = false;
  outcome = inspect(snapshot, request);
  message = json::parse(outcome.reply_body)["error"]["message"];
  EXPECT_EQ(message.find("/signaler"), std::string::npos);
}

TEST(InspectorTest, AnthropicBlockUsesAnthropicErrorShape) {
  InspectRequest request;
  request.host = "api.anthropic.com";
  request.method = "POST";
  request.target = "/v1/messages?beta=true";
  request.body = R"({"model":"claude","max_tokens":10,"messages":[{"role":"user","content":[)"
                 R"({"type":"text","text":"Document strictement confidentiel"}]}]})";
  request.headers = {{"content-type", "application/json"}, {"accept", "text/event-stream"}};
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.status, 403);
  const json body = json::parse(outcome.reply_body);
  EXPECT_EQ(body["type"], "error");
  EXPECT_EQ(body["error"]["type"], "permission_error");
}

TEST(InspectorTest, WarnAsksForJustificationThenForwardsWithoutIt) {
  const InspectOutcome warned =
      inspect(enforce_snapshot(), openai_request("Voici le dossier d'expertise"));
  ASSERT_EQ(warned.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(warned.action, policy::Action::Warn);
  EXPECT_NE(
      json::parse(warned.reply_body)["error"]["message"].get<std::string>().find("#gk-justify:"),
      std::string::npos);

  const InspectOutcome justified =
      inspect(enforce_snapshot(),
              openai_request("#gk-justify: jeu de données fictif\nVoici le dossier d'expertise"));
  ASSERT_EQ(justified.kind, InspectOutcome::Kind::Forward);
  EXPECT_TRUE(justified.modified);
  const json body = json::parse(justified.body);
  EXPECT_EQ(body["messages"][1]["content"], "Voici le dossier d'expertise");
  const json& record = justified.decision_record;
  EXPECT_EQ(record["action"], "warn");
  EXPECT_EQ(record["overridden"], true);
  EXPECT_EQ(record["justification"]["reason"], "jeu de données fictif");
  EXPECT_EQ(record["justification"]["stored"], true);
}

TEST(InspectorTest, JustificationPrefixIsCaseInsensitiveAndMayFollowBlanks) {
  const InspectOutcome outcome =
      inspect(enforce_snapshot(),
              openai_request("\n  #GK-Justify: formation\nVoici le dossier d'expertise"));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
  EXPECT_EQ(json::parse(outcome.body)["messages"][1]["content"], "Voici le dossier d'expertise");
  EXPECT_EQ(outcome.decision_record["justification"]["reason"], "formation");
}

TEST(InspectorTest, JustificationWithSensitiveDataIsNotStored) {
  const InspectOutcome outcome =
      inspect(enforce_snapshot(), openai_request(std::string("#gk-justify: patient ") + kNir +
                                                 "\nVoici le dossier d'expertise"));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
  EXPECT_EQ(outcome.decision_record["justification"]["stored"], false);
  EXPECT_TRUE(outcome.decision_record["justification"]["reason"].is_null());
  expect_no_raw_value(outcome);
}

TEST(InspectorTest, JustificationCannotReleaseABlock) {
  const InspectOutcome outcome = inspect(
      enforce_snapshot(), openai_request("#gk-justify: urgent\nDocument strictement confidentiel"));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.action, policy::Action::Block);
}

TEST(InspectorTest, UndecodableCompressedBodyIsBlocked) {
  InspectRequest request = openai_request("hello");  // claims gzip, is plain JSON
  request.headers.emplace_back("Content-Encoding", "gzip");
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record["error"], "body_undecodable");
  EXPECT_NE(json::parse(outcome.reply_body)["error"]["message"].get<std::string>().find(
                "truncated or corrupt"),
            std::string::npos);
  InspectRequest unknown = openai_request("hello");
  unknown.headers.emplace_back("Content-Encoding", "compress");
  const InspectOutcome refused = inspect(enforce_snapshot(), unknown);
  ASSERT_EQ(refused.kind, InspectOutcome::Kind::Reply);
  EXPECT_NE(refused.reply_body.find("unknown content coding (Content-Encoding: compress)"),
            std::string::npos);
  InspectRequest identity = openai_request("hello");
  identity.headers.emplace_back("Content-Encoding", "identity");
  EXPECT_EQ(inspect(enforce_snapshot(), identity).kind, InspectOutcome::Kind::Forward);
}

TEST(InspectorTest, CompressedBodiesAreDecodedRedactedAndReencoded) {
  const std::vector<std::pair<std::string, std::vector<Coding>>> cases = {
      {"gzip", {Coding::Gzip}},
      {"x-gzip", {Coding::Gzip}},
      {"deflate", {Coding::Deflate}},
      {"br", {Coding::Brotli}},
      {"zstd", {Coding::Zstd}},
      {"gzip, br", {Coding::Gzip, Coding::Brotli}}};
  for (const auto& [header, codings] : cases) {
    SCOPED_TRACE(header);
    InspectRequest request = openai_request(std::string("Patient NIR ") + kNir + ".");
    request.body = encode_all(codings, request.body).value();
    request.headers.emplace_back("Content-Encoding", header);
    const InspectOutcome outcome = inspect(enforce_snapshot(), request);
    ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
    EXPECT_TRUE(outcome.modified);
    EXPECT_EQ(header_of(outcome.headers, "Content-Encoding"), header);
    auto decoded = decode_all(codings, outcome.body, {});
    ASSERT_TRUE(decoded);
    EXPECT_EQ(json::parse(*decoded)["messages"][1]["content"], "Patient NIR [NIR_1].");
    EXPECT_EQ(outcome.decision_record["findings"][0]["rule"], "test_nir");
    expect_no_raw_value(outcome);
  }
}

TEST(InspectorTest, CleanCompressedBodyIsForwardedByteIdentical) {
  InspectRequest request = openai_request("Quelle est la capitale de la France ?");
  request.body = encode(Coding::Zstd, request.body).value();
  request.headers.emplace_back("Content-Encoding", "zstd");
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
  EXPECT_FALSE(outcome.modified);
  EXPECT_EQ(outcome.body, request.body);
  EXPECT_EQ(outcome.decision_record["content_encoding"], json::array({"zstd"}));
}

TEST(InspectorTest, CompressedConfidentialTextIsBlocked) {
  InspectRequest request = openai_request("Rapport strictement confidentiel, ne pas diffuser.");
  request.body = encode(Coding::Brotli, request.body).value();
  request.headers.emplace_back("Content-Encoding", "br");
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.action, policy::Action::Block);
}

TEST(InspectorTest, DecompressionBombIsBlockedWithTheLimits) {
  config::Snapshot snapshot = make_snapshot();
  snapshot.settings.files.max_decoded_bytes = 4u << 20;
  InspectRequest request = openai_request("x");
  request.body = encode(Coding::Gzip, std::string(32u << 20, ' ')).value();
  request.headers.emplace_back("Content-Encoding", "gzip");
  const InspectOutcome outcome = inspect(snapshot, request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record["error"], "extraction_limit");
  EXPECT_NE(outcome.reply_body.find("decompression bomb"), std::string::npos);
  EXPECT_NE(outcome.reply_body.find(std::to_string(4u << 20)), std::string::npos);
}

TEST(InspectorTest, OversizedBodyIs413) {
  InspectRequest request = openai_request("hello");
  request.body_too_large = true;
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.status, 413);
  EXPECT_EQ(outcome.decision_record["error"], "input_too_large");
}

TEST(InspectorTest, MalformedJsonIsBlocked) {
  InspectRequest request = openai_request("hello");
  request.body.pop_back();
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record["error"], "payload_malformed");
}

// A truncated PDF inline: read, found unreadable, blocked with what was wrong (never passed).
TEST(InspectorTest, InlineBrokenPdfIsBlocked) {
  InspectRequest request = openai_request("x");
  request.body =
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Résume"},)"
      R"({"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQKJeLjz9MK"}}]}]})";
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.action, policy::Action::Block);
  EXPECT_EQ(outcome.decision_record["files"][0]["declared_media_type"], "application/pdf");
  EXPECT_EQ(outcome.decision_record["error"], errc_name(Errc::FileMalformed));
  EXPECT_NE(outcome.reply_body.find("PDF"), std::string::npos);
  EXPECT_EQ(outcome.decision_record.dump().find("a.pdf"), std::string::npos);
}

TEST(InspectorTest, TextDataUrlIsDecodedAndScanned) {
  InspectRequest request = openai_request("x");
  request.body =
      json{{"model", "m"},
           {"messages",
            json::array({{{"role", "user"},
                          {"content",
                           json::array({{{"type", "file"},
                                         {"file",
                                          {{"file_data",
                                            "data:text/plain;base64," +
                                                extract::base64_encode(
                                                    "Rapport strictement confidentiel")}}}}})}}})}}
          .dump();
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record["categories"], json::array({"confidential"}));
}

TEST(InspectorTest, GeminiWebRedactionThroughThreeLayers) {
  json inner = json::array(
      {json::array({std::string("Mon NIR : ") + kNir, 0, nullptr, nullptr, nullptr, nullptr, 0}),
       json::array({"fr"}), nullptr, 0});
  json outer = json::array({nullptr, inner.dump()});
  InspectRequest request;
  request.host = "gemini.google.com";
  request.method = "POST";
  request.target =
      "/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate?bl=x&_reqid=1&rt=c";
  request.body =
      "f.req=" + extract::form_encode(outer.dump()) + "&at=" + extract::form_encode("AJ:123");
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded;charset=utf-8"},
                     {"Content-Length", std::to_string(request.body.size())}};
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
  ASSERT_TRUE(outcome.modified);
  auto payload = extract::parse_payload("application/x-www-form-urlencoded", outcome.body);
  ASSERT_TRUE(payload.has_value());
  ASSERT_EQ(payload->form.size(), 2u);
  EXPECT_EQ(payload->form[1].value, "AJ:123");
  const json outer_after = json::parse(payload->form[0].value);
  const json inner_after = json::parse(outer_after[1].get<std::string>());
  EXPECT_EQ(inner_after[0][0], "Mon NIR : [NIR_1]");
  EXPECT_EQ(inner_after[1], inner[1]);
  EXPECT_EQ(outcome.decision_record["endpoint"], "gemini_web_stream");
}

TEST(InspectorTest, ChatGptWebBlockIsAnSseMessage) {
  InspectRequest request;
  request.host = "chatgpt.com";
  request.method = "POST";
  request.target = "/backend-api/f/conversation";
  request.body =
      R"({"action":"next","messages":[{"id":"u1","author":{"role":"user"},)"
      R"("content":{"content_type":"text","parts":["Note strictement confidentiel"]}}],"model":"auto"})";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(header_of(outcome.reply_headers, "Content-Type").rfind("text/event-stream", 0), 0u);
  const std::size_t start = outcome.reply_body.find("data: ") + 6;
  const json event =
      json::parse(outcome.reply_body.substr(start, outcome.reply_body.find('\n', start) - start));
  EXPECT_NE(event["message"]["content"]["parts"][0].get<std::string>().find("LABEL_EN"),
            std::string::npos);
}

TEST(InspectorTest, MonitorModeForwardsAndRecordsWouldAction) {
  static const config::Snapshot monitor = make_snapshot("monitor");
  const InspectRequest request = openai_request(std::string("Strictement confidentiel ") + kNir);
  const InspectOutcome outcome = inspect(monitor, request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward);
  EXPECT_EQ(outcome.body, request.body);
  EXPECT_EQ(outcome.decision_record["action"], "log");
  EXPECT_EQ(outcome.decision_record["would_action"], "block");
  EXPECT_EQ(outcome.decision_record["monitor"], true);
  expect_no_raw_value(outcome);
}

TEST(InspectorTest, TierComesFromThePlatform) {
  InspectRequest request = openai_request("Voici le dossier d'expertise");
  request.host = "api.mistral.ai";
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  EXPECT_EQ(outcome.decision_record["tier"], "sovereign");
  EXPECT_EQ(outcome.decision_record["platform"], "mistral_api");
}

TEST(InspectorTest, UnknownHostUsesTheGenericExtractor) {
  InspectRequest request;
  request.host = "llm.example.org";
  request.method = "POST";
  request.target = "/rpc";
  request.body = R"({"id":"x","query":{"text":"document strictement confidentiel"}})";
  request.headers = {{"Content-Type", "application/json"}};
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_TRUE(outcome.decision_record["platform"].is_null());
  EXPECT_EQ(outcome.decision_record["tier"], "external");
  EXPECT_EQ(outcome.decision_record["endpoint"], "generic");
}

TEST(InspectorTest, MissingRulesFailClosed) {
  config::Snapshot empty;
  const InspectOutcome outcome = inspect(empty, openai_request("hello"));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.action, policy::Action::Block);
}

TEST(InspectorTest, NeedsInspection) {
  EXPECT_FALSE(needs_inspection("GET", {}));
  EXPECT_FALSE(needs_inspection("POST", {{"Content-Length", "0"}}));
  EXPECT_TRUE(needs_inspection("POST", {{"content-length", "12"}}));
  EXPECT_TRUE(needs_inspection("PUT", {{"Transfer-Encoding", "chunked"}}));
  EXPECT_TRUE(needs_inspection("GET", {{"Content-Length", "5"}}));
  EXPECT_TRUE(needs_inspection("POST", {{"Content-Length", "abc"}}));
}

}  // namespace
}  // namespace gatekeeper::http

namespace gatekeeper::http {
namespace {

// The shipped rules, policy and platforms, end to end through the inspector.
TEST(InspectorAuditTest, FindingsCarryMaskedExcerptsKeyedHmacsAndRuleVersions) {
  const auto key = audit::Pseudonymizer::from_key(std::string(32, 'k'));
  InspectRequest request = openai_request(std::string("Patient NIR ") + kNir + ", revu avec " +
                                          kOtherNir + " puis 185057800608491.");
  request.pseudonymizer = key.get();
  const InspectOutcome outcome = inspect(enforce_snapshot(), request);
  const json& record = outcome.decision_record;
  expect_no_raw_value(outcome);
  EXPECT_EQ(record["user"], key->user_pseudonym("alice"));
  EXPECT_EQ(record["client"], "127.0.0.1");
  EXPECT_EQ(record["tier"], "external");
  EXPECT_EQ(record["host"], "api.openai.com");
  EXPECT_EQ(record["method"], "POST");
  EXPECT_EQ(record["path"], "/v1/chat/completions");
  EXPECT_EQ(record["finding_count"], 3);
  EXPECT_EQ(record["revision"], 0);
  EXPECT_EQ(record["rules"], enforce_snapshot().rules->fingerprint());
  ASSERT_EQ(record["findings"].size(), 1u);
  const json& finding = record["findings"][0];
  EXPECT_EQ(finding["rule"], "test_nir");
  EXPECT_EQ(finding["rule_version"], "1");
  EXPECT_EQ(finding["count"], 3);
  // Two distinct values: the grouped and the compact spelling of one NIR share an HMAC.
  ASSERT_EQ(finding["matches"].size(), 2u);
  EXPECT_EQ(finding["matches"][0]["excerpt"], "1 85 ** ** *** *** 91");
  EXPECT_EQ(finding["matches"][0]["value_hmac"], key->value_hmac(kNirDigits));
  EXPECT_EQ(finding["matches"][1]["excerpt"], "2 92 ** ** *** *** 36");
  EXPECT_NE(finding["matches"][1]["value_hmac"], finding["matches"][0]["value_hmac"]);
  EXPECT_TRUE(finding["matches"][0]["context"].is_array());
}

TEST(InspectorAuditTest, WithoutAKeyThereAreNoHmacsAndNoUser) {
  const InspectOutcome outcome = inspect(enforce_snapshot(), openai_request(kNir));
  const json& record = outcome.decision_record;
  expect_no_raw_value(outcome);
  EXPECT_TRUE(record["user"].is_null());
  const json& match = record["findings"].at(0)["matches"].at(0);
  EXPECT_EQ(match["excerpt"], "1 85 ** ** *** *** 91");
  EXPECT_FALSE(match.contains("value_hmac"));
}

TEST(InspectorAuditTest, NamesUsersOnlyWhenConfigured) {
  config::Snapshot snapshot = make_snapshot();
  snapshot.settings.audit.name_users = true;
  snapshot.revision = 7;
  const auto key = audit::Pseudonymizer::from_key(std::string(32, 'k'));
  InspectRequest request = openai_request("Bonjour");
  request.pseudonymizer = key.get();
  const json record = inspect(snapshot, request).decision_record;
  EXPECT_EQ(record["user"], "alice");
  EXPECT_EQ(record["revision"], 7);
  // The record maps onto an audit record with the same projections.
  const audit::Record audit_record = audit::make_request_record(record);
  EXPECT_EQ(audit_record.platform, "openai_api");
  EXPECT_EQ(audit_record.action, "allow");
  EXPECT_EQ(audit_record.user, "alice");
  EXPECT_EQ(audit_record.time, record["time"]);
  EXPECT_EQ(audit_record.reference, record["reference"]);
}

TEST(InspectorShippedConfigTest, NirToChatGptIsRedactedAndConfidentialToClaudeIsBlocked) {
  const std::filesystem::path root(GATEKEEPER_SOURCE_DIR);
  Diagnostics diagnostics;
  config::Snapshot snapshot;
  detect::RuleSetOptions options;
  options.run_examples = false;  // the rule-pack tests run them
  auto rules = detect::RuleSet::load(root / "rules", options, diagnostics);
  auto policy = policy::Policy::load(root / "config" / "policy.yaml", diagnostics);
  auto platforms = config::PlatformRegistry::load(root / "config" / "platforms.yaml", diagnostics);
  ASSERT_TRUE(rules.has_value() && policy.has_value() && platforms.has_value());
  snapshot.rules = *rules;
  snapshot.policy = *policy;
  snapshot.platforms = *platforms;

  InspectRequest chatgpt;
  chatgpt.host = "chatgpt.com";
  chatgpt.method = "POST";
  chatgpt.target = "/backend-api/f/conversation";
  chatgpt.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  chatgpt.body =
      json{{"action", "next"},
           {"messages", json::array({{{"author", {{"role", "user"}}},
                                      {"content",
                                       {{"content_type", "text"},
                                        {"parts", json::array({std::string("Mon numéro de sécurité "
                                                                           "sociale est ") +
                                                               kNir})}}}}})}}
          .dump();
  const InspectOutcome redacted = inspect(snapshot, chatgpt);
  ASSERT_EQ(redacted.kind, InspectOutcome::Kind::Forward) << redacted.decision_record.dump();
  EXPECT_EQ(redacted.action, policy::Action::Redact);
  EXPECT_EQ(redacted.body.find("084"), std::string::npos);
  const std::string forwarded =
      json::parse(redacted.body)["messages"][0]["content"]["parts"][0].get<std::string>();
  EXPECT_NE(forwarded.find("[NIR_1]"), std::string::npos) << forwarded;
  expect_no_raw_value(redacted);

  InspectRequest claude;
  claude.host = "claude.ai";
  claude.method = "POST";
  claude.target = "/api/organizations/o/chat_conversations/c/completion";
  claude.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  claude.body = json{{"prompt",
                      "Relis ce document.\nSTRICTEMENT CONFIDENTIEL - NE PAS DIFFUSER\n"
                      "Rapport interne du comité de direction."},
                     {"attachments", json::array()}}
                    .dump();
  const InspectOutcome blocked = inspect(snapshot, claude);
  ASSERT_EQ(blocked.kind, InspectOutcome::Kind::Reply) << blocked.decision_record.dump();
  EXPECT_EQ(blocked.status, 200);  // an SSE answer the Claude web app renders
  EXPECT_NE(blocked.reply_body.find("content_block_delta"), std::string::npos);
  EXPECT_EQ(blocked.decision_record["platform"], "claude_web");
}

}  // namespace
}  // namespace gatekeeper::http

namespace gatekeeper::http {
namespace {

TEST(InspectorMetricsTest, DecisionsAndScanTimesAreCountedWithoutValues) {
  admin::Metrics::instance().reset_for_test();
  const InspectOutcome outcome = inspect(enforce_snapshot(), openai_request(std::string("NIR ") + kNir));
  ASSERT_EQ(outcome.action, policy::Action::Redact);
  inspect(enforce_snapshot(), openai_request("Bonjour"));
  const std::string text = admin::Metrics::instance().render_prometheus();
  EXPECT_NE(text.find(R"(gatekeeper_decisions_total{action="redact",category="health_identifier"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(gatekeeper_decisions_total{action="allow",category="none"} 1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(gatekeeper_requests_total{platform="openai_api"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find("gatekeeper_scan_seconds_count 2"), std::string::npos) << text;
  EXPECT_EQ(text.find(kNirDigits), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::http

// Attached files through the inspector, with the shipped rules, policy and platforms.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "gatekeeper/config/platforms.hpp"
#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/extract/payload.hpp"
#include "gatekeeper/http/inspector.hpp"
#include "gatekeeper/policy/policy.hpp"
#include "support/config_fixture.hpp"
#include "support/zip_builder.hpp"

namespace gatekeeper::http {
namespace {

using nlohmann::json;

constexpr const char* kNirDigits = "2850578006084";
const std::filesystem::path kSource(GATEKEEPER_SOURCE_DIR);

std::string fixture(const std::string& name) {
  return test::read_text(std::filesystem::path(GATEKEEPER_TEST_DIR) / "fixtures" / "files" / name);
}

const config::Snapshot& shipped() {
  static const config::Snapshot snapshot = [] {
    config::Snapshot s;
    Diagnostics diagnostics;
    auto rules = detect::RuleSet::load(kSource / "rules", detect::RuleSetOptions{}, diagnostics);
    auto policy = policy::Policy::load(kSource / "config" / "policy.yaml", diagnostics);
    auto platforms =
        config::PlatformRegistry::load(kSource / "config" / "platforms.yaml", diagnostics);
    for (const auto& d : diagnostics)
      if (d.severity == Diagnostic::Severity::Error) ADD_FAILURE() << d.to_string();
    if (rules) s.rules = *rules;
    if (policy) s.policy = *policy;
    if (platforms) s.platforms = *platforms;
    s.settings.max_body_bytes = 64u << 20;
    return s;
  }();
  return snapshot;
}

InspectRequest upload(const std::string& host, const std::string& body,
                      const std::string& content_type) {
  InspectRequest request;
  request.host = host;
  request.method = "PUT";
  request.target = "/file-abc123?se=2026&sig=xyz";
  request.body = body;
  request.headers = {{"Host", host},
                     {"Content-Type", content_type},
                     {"x-ms-blob-type", "BlockBlob"},
                     {"Content-Length", std::to_string(body.size())}};
  request.client_address = "127.0.0.1";
  request.connection_id = "c1";
  return request;
}

InspectRequest multipart(const std::string& file_name, const std::string& content_type,
                         const std::string& file, const std::string& purpose = "user_data") {
  const std::string boundary = "----gk-test-boundary";
  std::string body = "--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose +
                     "\r\n--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"file\"; "
                     "filename=\"" +
                     file_name + "\"\r\nContent-Type: " + content_type + "\r\n\r\n" + file +
                     "\r\n--" + boundary + "--\r\n";
  InspectRequest request =
      upload("api.openai.com", body, "multipart/form-data; boundary=" + boundary);
  request.method = "POST";
  request.target = "/v1/files";
  return request;
}

InspectRequest chat_with_file(const std::string& prompt, const std::string& media,
                              const std::string& file) {
  const json body = {
      {"model", "gpt-4o"},
      {"messages",
       json::array(
           {{{"role", "user"},
             {"content", json::array({{{"type", "text"}, {"text", prompt}},
                                      {{"type", "file"},
                                       {"file",
                                        {{"filename", "piece.bin"},
                                         {"file_data", "data:" + media + ";base64," +
                                                           extract::base64_encode(file)}}}}})}}})}};
  InspectRequest request = upload("api.openai.com", body.dump(), "application/json");
  request.method = "POST";
  request.target = "/v1/chat/completions";
  return request;
}

void expect_no_user_data(const InspectOutcome& outcome, const std::string& file_name = "") {
  const std::string record = outcome.decision_record.dump();
  EXPECT_EQ(record.find(kNirDigits), std::string::npos) << record;
  EXPECT_EQ(record.find("085 05 78"), std::string::npos) << record;
  EXPECT_EQ(record.find("Fictive"), std::string::npos) << record;
  if (!file_name.empty()) EXPECT_EQ(record.find(file_name), std::string::npos) << record;
}

bool has_finding(const json& file, const std::string& category, const std::string& where = "") {
  if (!file.contains("findings")) return false;
  for (const auto& finding : file["findings"])
    if (finding["category"] == category &&
        (where.empty() || finding["where"].get<std::string>().find(where) != std::string::npos))
      return true;
  return false;
}

const std::string kDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

TEST(InspectorFilesTest, SensitiveDocxUploadedToStorageHostIsBlocked) {
  const InspectOutcome outcome =
      inspect(shipped(), upload("files.oaiusercontent.com", fixture("sensitive.docx"), kDocx));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.action, policy::Action::Block);
  const json& record = outcome.decision_record;
  EXPECT_EQ(record["upload_host"], true);
  ASSERT_EQ(record.at("files").size(), 1u);
  EXPECT_EQ(record.at("files").at(0)["format"], "docx");
  EXPECT_TRUE(has_finding(record.at("files").at(0), "confidential", "properties"));
  EXPECT_TRUE(has_finding(record.at("files").at(0), "health_identifier", "word/document.xml"));
  EXPECT_NE(outcome.reply_body.find("confidenti"), std::string::npos) << outcome.reply_body;
  expect_no_user_data(outcome);
}

TEST(InspectorFilesTest, BenignTwinPassesUnchanged) {
  const InspectRequest request = upload("files.oaiusercontent.com", fixture("benign.docx"), kDocx);
  const InspectOutcome outcome = inspect(shipped(), request);
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Forward) << outcome.reply_body;
  EXPECT_FALSE(outcome.modified);
  EXPECT_EQ(outcome.body, request.body);
  EXPECT_EQ(outcome.decision_record.at("files").at(0)["format"], "docx");
  EXPECT_GT(outcome.decision_record["segments"].get<int>(), 3);
}

TEST(InspectorFilesTest, EveryFormatSensitiveBlockedBenignPasses) {
  for (const char* format : {"docx", "odt", "xlsx", "ods", "pptx", "odp", "pdf", "rtf", "html"}) {
    const InspectOutcome blocked = inspect(
        shipped(), upload("content-push.googleapis.com",
                          fixture(std::string("sensitive.") + format), "application/octet-stream"));
    EXPECT_EQ(blocked.kind, InspectOutcome::Kind::Reply) << format;
    expect_no_user_data(blocked);
    const InspectOutcome passed = inspect(
        shipped(), upload("content-push.googleapis.com", fixture(std::string("benign.") + format),
                          "application/octet-stream"));
    EXPECT_EQ(passed.kind, InspectOutcome::Kind::Forward)
        << format << "\n"
        << passed.reply_body << passed.decision_record.dump();
  }
}

TEST(InspectorFilesTest, MultipartUploadToApiHost) {
  const InspectOutcome blocked =
      inspect(shipped(), multipart("cr.pdf", "application/pdf", fixture("sensitive.pdf")));
  ASSERT_EQ(blocked.kind, InspectOutcome::Kind::Reply);
  const json& file = blocked.decision_record.at("files").at(0);
  EXPECT_EQ(file["kind"], "file_part");
  EXPECT_EQ(file["part"], 1);
  EXPECT_EQ(file["format"], "pdf");
  EXPECT_TRUE(has_finding(file, "patient_data", "page 1") ||
              has_finding(file, "health_identifier", "page 1"));
  const InspectOutcome passed =
      inspect(shipped(), multipart("programme.pdf", "application/pdf", fixture("benign.pdf")));
  EXPECT_EQ(passed.kind, InspectOutcome::Kind::Forward) << passed.reply_body;
}

TEST(InspectorFilesTest, DeclaredTypeIsNotTrusted) {
  // A docx that claims to be a picture is read as the docx it is.
  const InspectOutcome outcome =
      inspect(shipped(), multipart("photo.png", "image/png", fixture("sensitive.docx")));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record.at("files").at(0)["format"], "docx");
}

TEST(InspectorFilesTest, FileNamesAreScannedButNeverLogged) {
  const std::string name = "dossier 2 85 05 78 006 084 41.pdf";
  const InspectOutcome outcome =
      inspect(shipped(), multipart(name, "application/pdf", fixture("benign.pdf")));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_TRUE(
      has_finding(outcome.decision_record.at("files").at(0), "health_identifier", "file name"));
  expect_no_user_data(outcome, "dossier");
}

TEST(InspectorFilesTest, RedactLevelValueInAFileBlocks) {
  // A NIR alone would be redacted in a prompt; a file cannot be rewritten, so it is blocked.
  std::string utf16("\xFF\xFE", 2);
  for (char c : std::string("Numero a verifier : 2 85 05 78 006 084 41\n")) {
    utf16 += c;
    utf16 += '\0';
  }
  const InspectOutcome outcome = inspect(shipped(), multipart("note.txt", "text/plain", utf16));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  ASSERT_TRUE(outcome.decision_record.contains("file_redaction_blocked"))
      << outcome.decision_record.dump();
  EXPECT_EQ(outcome.decision_record["file_redaction_blocked"], true);
  EXPECT_NE(outcome.reply_body.find("ne sont pas modifi"), std::string::npos);
  expect_no_user_data(outcome);
}

TEST(InspectorFilesTest, InlineBase64FilesInJsonAreExtracted) {
  const InspectOutcome blocked =
      inspect(shipped(), chat_with_file("Résume ce document.", kDocx, fixture("sensitive.docx")));
  ASSERT_EQ(blocked.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(blocked.decision_record.at("files").at(0)["kind"], "inline_file");
  EXPECT_EQ(blocked.decision_record.at("files").at(0)["format"], "docx");
  const InspectOutcome passed = inspect(
      shipped(), chat_with_file("Résume ce document.", "application/pdf", fixture("benign.pdf")));
  EXPECT_EQ(passed.kind, InspectOutcome::Kind::Forward) << passed.reply_body;
}

TEST(InspectorFilesTest, DicomIsBlockedAsPatientData) {
  for (const char* name : {"sensitive.dcm", "benign.dcm"}) {
    const InspectOutcome outcome = inspect(
        shipped(), upload("files.oaiusercontent.com", fixture(name), "application/octet-stream"));
    ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply) << name;
    EXPECT_TRUE(has_finding(outcome.decision_record.at("files").at(0), "patient_data")) << name;
    expect_no_user_data(outcome);
  }
}

TEST(InspectorFilesTest, ImagesAreLoggedUnknownBinariesWarn) {
  const InspectOutcome image =
      inspect(shipped(), chat_with_file("Décris l'image.", "image/png", fixture("image.png")));
  ASSERT_EQ(image.kind, InspectOutcome::Kind::Forward) << image.reply_body;
  EXPECT_EQ(image.action, policy::Action::Log);
  EXPECT_TRUE(has_finding(image.decision_record.at("files").at(0), "image_file"));

  const std::string legacy_doc =
      std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(1024, '\x01');
  const InspectOutcome warned =
      inspect(shipped(), chat_with_file("Relis ce document.", "application/msword", legacy_doc));
  ASSERT_EQ(warned.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(warned.action, policy::Action::Warn);
  EXPECT_TRUE(has_finding(warned.decision_record.at("files").at(0), "unknown_binary"));

  const InspectOutcome justified = inspect(
      shipped(), chat_with_file("#gk-justify: modèle vierge sans données\nRelis ce document.",
                                "application/msword", legacy_doc));
  ASSERT_EQ(justified.kind, InspectOutcome::Kind::Forward) << justified.reply_body;
  EXPECT_EQ(justified.action, policy::Action::Warn);
}

TEST(InspectorFilesTest, ZipBombIsBlockedNamingTheLimit) {
  const std::string bomb = test::ZipBuilder().add("zeros.txt", std::string(64u << 20, '0')).build();
  const InspectOutcome outcome =
      inspect(shipped(), upload("files.oaiusercontent.com", bomb, "application/zip"));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record["error"], errc_name(Errc::ExtractionLimit));
  EXPECT_NE(outcome.reply_body.find("max_compression_ratio"), std::string::npos);
}

TEST(InspectorFilesTest, MalformedFileIsBlockedWithAnExplanation) {
  std::string broken = fixture("sensitive.docx");
  broken.resize(broken.size() / 2);
  const InspectOutcome outcome =
      inspect(shipped(), upload("files.oaiusercontent.com", broken, kDocx));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record["error"], errc_name(Errc::FileMalformed));
  EXPECT_NE(outcome.reply_body.find("zip"), std::string::npos);
}

TEST(InspectorFilesTest, TextBodyToStorageHostIsReadAsAFile) {
  const InspectOutcome outcome = inspect(
      shipped(), upload("files.oaiusercontent.com", fixture("sensitive.rtf"), "application/rtf"));
  ASSERT_EQ(outcome.kind, InspectOutcome::Kind::Reply);
  EXPECT_EQ(outcome.decision_record.at("files").at(0)["format"], "rtf");
}

}  // namespace
}  // namespace gatekeeper::http

#include "gatekeeper/http/local_reply.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace gatekeeper::http {
namespace {

using extract::ReplyFamily;
using nlohmann::json;

ReplyContent blocked_content() {
  ReplyContent content;
  content.reason = ReplyReason::Blocked;
  content.reference = "GK-20261122-5F3A9C";
  content.platform_name = "ChatGPT";
  content.justification_prefix = "#gk-justify:";
  content.categories.push_back({"health_identifier", "identifiant de santé", "health identifier",
                                "raison politique", "policy reason", "utilisez l'IA interne",
                                "use the internal AI"});
  return content;
}

std::string header_of(const LocalReply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers)
    if (key == name) return value;
  return {};
}

void expect_common_headers(const LocalReply& reply) {
  EXPECT_EQ(header_of(reply, "Cache-Control"), "no-store");
  EXPECT_EQ(header_of(reply, "X-Gatekeeper-Reference"), "GK-20261122-5F3A9C");
}

TEST(LocalReplyTest, ReferenceIdFormatAndRandomness) {
  const std::regex format("GK-[0-9]{8}-[0-9A-F]{6}");
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string id = make_reference_id();
    EXPECT_TRUE(std::regex_match(id, format)) << id;
    seen.insert(id);
  }
  EXPECT_GT(seen.size(), 45u);
}

TEST(LocalReplyTest, MessageIsBilingualAndNamesCategoriesReasonAlternativeReference) {
  const std::string message = reply_message(blocked_content());
  for (const char* part :
       {"Envoi bloqué", "Request blocked", "identifiant de santé", "health identifier",
        "raison politique", "policy reason", "utilisez l'IA interne", "use the internal AI",
        "GK-20261122-5F3A9C", "ChatGPT"})
    EXPECT_NE(message.find(part), std::string::npos) << part;
}

TEST(LocalReplyTest, MessageLinksToTheFalsePositiveFormWhenThereIsOne) {
  ReplyContent content = blocked_content();
  EXPECT_EQ(reply_message(content).find("/signaler"), std::string::npos);
  content.report_url = "http://127.0.0.1:3129/signaler?ref=GK-20261122-5F3A9C";
  const std::string message = reply_message(content);
  EXPECT_NE(message.find("Signaler un faux positif : " + content.report_url), std::string::npos);
  EXPECT_NE(message.find("Report a false positive: " + content.report_url), std::string::npos);
  const LocalReply page = make_local_reply(ReplyFamily::Generic, "text/html", content);
  EXPECT_NE(page.body.find("<a href=\"http://127.0.0.1:3129/signaler?ref=GK-20261122-5F3A9C\">"),
            std::string::npos);
}

TEST(LocalReplyTest, WarnExplainsTheJustificationPrefix) {
  ReplyContent content = blocked_content();
  content.reason = ReplyReason::NeedsJustification;
  const std::string message = reply_message(content);
  EXPECT_NE(message.find("#gk-justify: <raison>"), std::string::npos);
  EXPECT_NE(message.find("#gk-justify: <reason>"), std::string::npos);
}

TEST(LocalReplyTest, OpenAiShape) {
  const LocalReply reply =
      make_local_reply(ReplyFamily::OpenAi, "application/json", blocked_content());
  EXPECT_EQ(reply.status, 403);
  expect_common_headers(reply);
  const json body = json::parse(reply.body);
  EXPECT_EQ(body["error"]["type"], "gatekeeper_blocked");
  EXPECT_EQ(body["error"]["code"], "blocked_by_policy");
  EXPECT_TRUE(body["error"]["param"].is_null());
  EXPECT_NE(body["error"]["message"].get<std::string>().find("GK-20261122-5F3A9C"),
            std::string::npos);
}

TEST(LocalReplyTest, ApiShapesIgnoreEventStreamAccept) {
  // SDKs check the status before reading a stream: an API always gets its JSON error.
  const LocalReply anthropic =
      make_local_reply(ReplyFamily::Anthropic, "text/event-stream", blocked_content());
  EXPECT_EQ(anthropic.status, 403);
  const json a = json::parse(anthropic.body);
  EXPECT_EQ(a["type"], "error");
  EXPECT_EQ(a["error"]["type"], "permission_error");
  const LocalReply gemini = make_local_reply(ReplyFamily::Gemini, "*/*", blocked_content());
  const json g = json::parse(gemini.body);
  EXPECT_EQ(g["error"]["code"], 403);
  EXPECT_EQ(g["error"]["status"], "PERMISSION_DENIED");
  expect_common_headers(gemini);
}

TEST(LocalReplyTest, TooLargeIs413) {
  ReplyContent content = blocked_content();
  content.reason = ReplyReason::TooLarge;
  content.detail_en = "limit: 16 bytes";
  const LocalReply reply = make_local_reply(ReplyFamily::Anthropic, "", content);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(json::parse(reply.body)["error"]["type"], "request_too_large");
}

std::vector<json> sse_data(const std::string& body) {
  std::vector<json> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    std::size_t end = body.find('\n', pos);
    std::string data = body.substr(pos + 6, end - pos - 6);
    if (data != "[DONE]") out.push_back(json::parse(data));
    pos = end;
  }
  return out;
}

TEST(LocalReplyTest, ChatGptWebGetsAnAssistantMessageEvent) {
  const LocalReply reply =
      make_local_reply(ReplyFamily::ChatGptWeb, "text/event-stream", blocked_content());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(header_of(reply, "Content-Type").rfind("text/event-stream", 0), 0u);
  expect_common_headers(reply);
  const auto events = sse_data(reply.body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["message"]["author"]["role"], "assistant");
  EXPECT_NE(events[0]["message"]["content"]["parts"][0].get<std::string>().find("Request blocked"),
            std::string::npos);
  EXPECT_NE(reply.body.find("data: [DONE]"), std::string::npos);
}

TEST(LocalReplyTest, ClaudeWebGetsAContentBlockDelta) {
  const LocalReply reply =
      make_local_reply(ReplyFamily::ClaudeWeb, "text/event-stream", blocked_content());
  EXPECT_EQ(reply.status, 200);
  bool delta = false;
  for (const json& event : sse_data(reply.body))
    if (event["type"] == "content_block_delta") {
      delta = true;
      EXPECT_NE(event["delta"]["text"].get<std::string>().find("GK-20261122-5F3A9C"),
                std::string::npos);
    }
  EXPECT_TRUE(delta);
  EXPECT_NE(reply.body.find("event: message_stop"), std::string::npos);
}

TEST(LocalReplyTest, OtherWebStreamsGetAGenericErrorEvent) {
  const LocalReply reply =
      make_local_reply(ReplyFamily::OtherWeb, "text/event-stream", blocked_content());
  const auto events = sse_data(reply.body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["error"]["reference"], "GK-20261122-5F3A9C");
  EXPECT_EQ(reply.body.find('<'), std::string::npos);
}

TEST(LocalReplyTest, NavigationsGetAnEscapedHtmlPage) {
  ReplyContent content = blocked_content();
  content.platform_name = "<script>x</script>";
  const LocalReply reply =
      make_local_reply(ReplyFamily::Generic, "text/html,application/xhtml+xml", content);
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(header_of(reply, "Content-Type").rfind("text/html", 0), 0u);
  EXPECT_NE(reply.body.find("Envoi bloqué"), std::string::npos);
  EXPECT_NE(reply.body.find("Request blocked"), std::string::npos);
  EXPECT_EQ(reply.body.find("<script>"), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::http

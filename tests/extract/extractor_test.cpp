#include "gatekeeper/extract/extractor.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace gatekeeper::extract {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(GATEKEEPER_TEST_DIR) + "/extract/fixtures/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Payload json_fixture(const std::string& name) {
  auto payload = parse_payload("application/json", read_fixture(name));
  EXPECT_TRUE(payload.has_value()) << name;
  return payload ? *payload : Payload{};
}

std::vector<std::string> texts(const Extraction& extraction) {
  std::vector<std::string> out;
  for (const auto& segment : extraction.segments) out.push_back(segment.text);
  return out;
}

std::set<std::string> flattened_keys(const Json& json) {
  std::set<std::string> keys;
  const Json flat = json.flatten();
  for (const auto& [key, value] : flat.items()) keys.insert(key);
  return keys;
}

// Replaces every segment by a marker, re-serialises, re-parses, re-extracts: the markers come back
// at the same locations and the document keeps its structure.
void expect_round_trip(const Payload& original, Endpoint endpoint,
                       const std::string& content_type) {
  const Extraction before = extract(endpoint, original);
  ASSERT_FALSE(before.segments.empty());
  Payload edited = original;
  for (std::size_t i = 0; i < before.segments.size(); ++i)
    ASSERT_TRUE(write_text(edited, before.segments[i].where, "[MARK_" + std::to_string(i) + "]")
                    .has_value())
        << before.segments[i].where.describe();
  auto body = serialize(edited);
  ASSERT_TRUE(body.has_value());
  auto reparsed = parse_payload(content_type, *body);
  ASSERT_TRUE(reparsed.has_value()) << *body;
  const Extraction after = extract(endpoint, *reparsed);
  ASSERT_EQ(after.segments.size(), before.segments.size());
  EXPECT_EQ(after.endpoint, before.endpoint);
  for (std::size_t i = 0; i < after.segments.size(); ++i) {
    EXPECT_EQ(after.segments[i].text, "[MARK_" + std::to_string(i) + "]");
    EXPECT_EQ(after.segments[i].where.describe(), before.segments[i].where.describe());
  }
  if (original.kind == PayloadKind::Json)
    EXPECT_EQ(flattened_keys(reparsed->json), flattened_keys(original.json));
}

TEST(ExtractorTest, SelectsEndpointFromAdapterAndPath) {
  EXPECT_EQ(select_endpoint("openai", "/v1/chat/completions"), Endpoint::OpenAiChat);
  EXPECT_EQ(select_endpoint("openai", "/openai/v1/chat/completions/"), Endpoint::OpenAiChat);
  EXPECT_EQ(select_endpoint("openai", "/v1/responses/input_tokens"), Endpoint::OpenAiResponses);
  EXPECT_EQ(select_endpoint("openai", "/v1/completions"), Endpoint::OpenAiCompletions);
  EXPECT_EQ(select_endpoint("openai", "/v1/embeddings"), Endpoint::OpenAiEmbeddings);
  EXPECT_EQ(select_endpoint("openai", "/api/generate"), Endpoint::OpenAiCompletions);
  EXPECT_EQ(select_endpoint("anthropic", "/v1/messages?beta=true"), Endpoint::AnthropicMessages);
  EXPECT_EQ(select_endpoint("anthropic", "/v1/messages/count_tokens"), Endpoint::AnthropicMessages);
  EXPECT_EQ(select_endpoint("anthropic", "/v1/messages/batches"), Endpoint::AnthropicBatches);
  EXPECT_EQ(select_endpoint("openai", "/anthropic/v1/messages"),
            Endpoint::AnthropicMessages);  // DeepSeek
  EXPECT_EQ(select_endpoint("gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
            Endpoint::GeminiGenerate);
  EXPECT_EQ(select_endpoint("chatgpt", "/backend-api/f/conversation"),
            Endpoint::ChatGptConversation);
  EXPECT_EQ(select_endpoint("chatgpt", "/backend-api/conversation"), Endpoint::ChatGptConversation);
  EXPECT_EQ(select_endpoint("chatgpt", "/backend-anon/f/conversation/prepare"),
            Endpoint::ChatGptConversation);
  EXPECT_EQ(select_endpoint("chatgpt", "/backend-api/codex/responses"), Endpoint::OpenAiResponses);
  EXPECT_EQ(select_endpoint("chatgpt", "/backend-api/sentinel/chat-requirements"),
            Endpoint::Generic);
  EXPECT_EQ(
      select_endpoint("claude_web", "/api/organizations/o/chat_conversations/c/retry_completion"),
      Endpoint::ClaudeCompletion);
  EXPECT_EQ(
      select_endpoint("gemini_web",
                      "/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate"),
      Endpoint::GeminiWebStream);
  EXPECT_EQ(select_endpoint("le_chat", "/api/trpc/message.newChat"), Endpoint::LeChatNewChat);
  EXPECT_EQ(select_endpoint("le_chat", "/api/chat"), Endpoint::LeChatChat);
  EXPECT_EQ(select_endpoint("openai", "/api/chat"), Endpoint::OpenAiChat);  // Ollama
  EXPECT_EQ(select_endpoint("deepseek_web", "/api/v0/chat/completion"),
            Endpoint::DeepSeekCompletion);
  EXPECT_EQ(select_endpoint("perplexity_web", "/rest/sse/perplexity_ask"), Endpoint::PerplexityAsk);
  EXPECT_EQ(select_endpoint("copilot", "/c/api/conversations"), Endpoint::Generic);
}

TEST(ExtractorTest, OpenAiChatTakesUserSystemDeveloperToolAndTextFiles) {
  const Payload payload = json_fixture("openai_chat.json");
  const Extraction x = extract(Endpoint::OpenAiChat, payload);
  EXPECT_EQ(x.endpoint, Endpoint::OpenAiChat);
  EXPECT_THAT(
      texts(x),
      ElementsAre("You are a helpful assistant for a research lab.", "Answer in French.",
                  "Résume le dossier de M. Dupont, né le 12/05/1985.", "Et compare avec ce tableau",
                  "patient;nir\nDupont;185057800608436\n", "lookup result: no record"));
  EXPECT_THAT(x.uninspectable, IsEmpty());
  EXPECT_EQ(x.segments[4].where.encoding, Location::Encoding::DataUrlBase64);
  EXPECT_EQ(x.segments[4].where.describe(), "json:/messages/4/content/2/file/file_data (data url)");
  expect_round_trip(payload, Endpoint::OpenAiChat, "application/json");
}

TEST(ExtractorTest, InlinePdfIsUninspectable) {
  const Extraction x = extract(Endpoint::OpenAiChat, json_fixture("openai_chat_pdf.json"));
  EXPECT_THAT(texts(x), ElementsAre("Summarise this contract"));
  ASSERT_EQ(x.uninspectable.size(), 1u);
  EXPECT_EQ(x.uninspectable[0].kind, "inline_file");
  EXPECT_EQ(x.uninspectable[0].media_type, "application/pdf");
  // The decoded bytes travel with it, for the file extractor.
  EXPECT_TRUE(x.uninspectable[0].has_bytes);
  EXPECT_EQ(x.uninspectable[0].bytes.substr(0, 5), "%PDF-");
}

TEST(ExtractorTest, InlineImagesAndAudioAreUninspectable) {
  auto payload = parse_payload("application/json", R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"}},
    {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]})");
  ASSERT_TRUE(payload.has_value());
  const Extraction x = extract(Endpoint::OpenAiChat, *payload);
  ASSERT_EQ(x.uninspectable.size(), 2u);
  EXPECT_EQ(x.uninspectable[0].media_type, "image/png");
  EXPECT_EQ(x.uninspectable[1].media_type, "audio/wav");
}

TEST(ExtractorTest, OpenAiResponsesTakesInstructionsInputTextFilesAndToolOutput) {
  const Payload payload = json_fixture("openai_responses.json");
  const Extraction x = extract(Endpoint::OpenAiResponses, payload);
  EXPECT_THAT(texts(x),
              ElementsAre("patient;nir\nDupont;185057800608436\n", "Summarize this document.",
                          "tool said hello", "Tu es un assistant de recherche."));
  expect_round_trip(payload, Endpoint::OpenAiResponses, "application/json");
  auto plain = parse_payload("application/json", R"({"model":"m","input":"Just a string"})");
  EXPECT_THAT(texts(extract(Endpoint::OpenAiResponses, *plain)), ElementsAre("Just a string"));
}

TEST(ExtractorTest, CompletionsAndEmbeddings) {
  auto legacy = parse_payload("application/json",
                              R"({"model":"m","prompt":["one","two",[1,2]],"suffix":"end"})");
  EXPECT_THAT(texts(extract(Endpoint::OpenAiCompletions, *legacy)),
              ElementsAre("one", "two", "end"));
  const Payload ollama = json_fixture("ollama_generate.json");
  EXPECT_THAT(texts(extract(Endpoint::OpenAiCompletions, ollama)),
              ElementsAre("Why is the sky blue?", "Be concise"));
  auto embeddings = parse_payload("application/json", R"({"model":"e","input":["a b","c d"]})");
  EXPECT_THAT(texts(extract(Endpoint::OpenAiEmbeddings, *embeddings)), ElementsAre("a b", "c d"));
}

TEST(ExtractorTest, AnthropicMessagesBlocksDocumentsAndToolResults) {
  const Payload payload = json_fixture("anthropic_messages.json");
  const Extraction x = extract(Endpoint::AnthropicMessages, payload);
  EXPECT_THAT(texts(x), ElementsAre("You are a careful assistant.", "Premier message",
                                    "résultat de l'outil", "Compte rendu opératoire du patient",
                                    "Compte rendu", "Bloc de contenu", "Analyse ces documents"));
  EXPECT_THAT(x.uninspectable, IsEmpty());
  expect_round_trip(payload, Endpoint::AnthropicMessages, "application/json");
}

TEST(ExtractorTest, AnthropicBase64PdfIsUninspectable) {
  const Extraction x = extract(Endpoint::AnthropicMessages, json_fixture("anthropic_pdf.json"));
  EXPECT_THAT(texts(x), ElementsAre("Summarise"));
  ASSERT_EQ(x.uninspectable.size(), 1u);
  EXPECT_EQ(x.uninspectable[0].media_type, "application/pdf");
}

TEST(ExtractorTest, AnthropicBatchesReadEveryRequest) {
  const Payload payload = json_fixture("anthropic_batches.json");
  const Extraction x = extract(Endpoint::AnthropicBatches, payload);
  EXPECT_THAT(texts(x), ElementsAre("Batch prompt one", "Batch system", "Batch prompt two"));
  expect_round_trip(payload, Endpoint::AnthropicBatches, "application/json");
}

TEST(ExtractorTest, GeminiCamelCaseWithTextInlineData) {
  const Payload payload = json_fixture("gemini_generate.json");
  const Extraction x = extract(Endpoint::GeminiGenerate, payload);
  EXPECT_THAT(texts(x), ElementsAre("Explique ce fichier", "patient;nir\nDupont;185057800608436\n",
                                    "Merci", "Réponds brièvement."));
  EXPECT_EQ(x.segments[1].where.encoding, Location::Encoding::Base64);
  EXPECT_THAT(x.uninspectable, IsEmpty());
  expect_round_trip(payload, Endpoint::GeminiGenerate, "application/json");
}

TEST(ExtractorTest, GeminiSnakeCaseWithImageIsUninspectable) {
  const Extraction x = extract(Endpoint::GeminiGenerate, json_fixture("gemini_snake.json"));
  EXPECT_THAT(texts(x), ElementsAre("Describe this picture", "System in snake case"));
  ASSERT_EQ(x.uninspectable.size(), 1u);
  EXPECT_EQ(x.uninspectable[0].media_type, "image/png");
}

TEST(ExtractorTest, ChatGptConversationAndPrepare) {
  const Payload conversation = json_fixture("chatgpt_conversation.json");
  const Extraction x = extract(Endpoint::ChatGptConversation, conversation);
  EXPECT_THAT(texts(x), ElementsAre("Peux-tu relire ce courrier au Dr Martin ?"));
  EXPECT_EQ(x.segments[0].where.describe(), "json:/messages/0/content/parts/1");
  expect_round_trip(conversation, Endpoint::ChatGptConversation, "application/json");
  const Extraction prepare =
      extract(Endpoint::ChatGptConversation, json_fixture("chatgpt_prepare.json"));
  EXPECT_THAT(texts(prepare), ElementsAre("Texte en cours de saisie"));
}

TEST(ExtractorTest, ClaudeWebPromptAndExtractedAttachments) {
  const Payload payload = json_fixture("claude_completion.json");
  const Extraction x = extract(Endpoint::ClaudeCompletion, payload);
  EXPECT_THAT(texts(x),
              ElementsAre("Corrige ce compte rendu", "Patient: Jeanne Martin, IPP 123456"));
  expect_round_trip(payload, Endpoint::ClaudeCompletion, "application/json");
}

TEST(ExtractorTest, LeChatDeepSeekPerplexityWeb) {
  EXPECT_THAT(texts(extract(Endpoint::LeChatNewChat, json_fixture("lechat_newchat.json"))),
              ElementsAre("Bonjour Le Chat"));
  EXPECT_THAT(texts(extract(Endpoint::LeChatChat, json_fixture("lechat_chat.json"))),
              ElementsAre("Message de suivi"));
  EXPECT_THAT(texts(extract(Endpoint::DeepSeekCompletion, json_fixture("deepseek_web.json"))),
              ElementsAre("Question pour DeepSeek"));
  const Payload perplexity = json_fixture("perplexity_web.json");
  EXPECT_THAT(texts(extract(Endpoint::PerplexityAsk, perplexity)),
              ElementsAre("Recherche sur le NIR", "Recherche sur le NIR"));
  expect_round_trip(perplexity, Endpoint::PerplexityAsk, "application/json");
}

std::string gemini_web_body(const std::string& prompt) {
  Json inner = Json::array({Json::array({prompt, 0, nullptr, nullptr, nullptr, nullptr, 0}),
                            Json::array({"fr"}), Json::array({"", "", ""}), nullptr, nullptr,
                            nullptr, Json::array({1}), 0});
  Json outer = Json::array({nullptr, dump_json(inner)});
  return "at=" + form_encode("AJvLN6M:1763800000000") + "&f.req=" + form_encode(dump_json(outer));
}

TEST(ExtractorTest, GeminiWebRedactionReencodesThreeLayers) {
  const std::string content_type = "application/x-www-form-urlencoded;charset=utf-8";
  auto payload =
      parse_payload(content_type, gemini_web_body("Mon NIR est 1 85 05 78 006 084 36, \"cité\""));
  ASSERT_TRUE(payload.has_value());
  const Extraction x = extract(Endpoint::GeminiWebStream, *payload);
  EXPECT_EQ(x.endpoint, Endpoint::GeminiWebStream);
  ASSERT_THAT(texts(x), ElementsAre("Mon NIR est 1 85 05 78 006 084 36, \"cité\""));
  EXPECT_EQ(x.segments[0].where.describe(), "form[1]:/1 -> /0/0");

  Payload edited = *payload;
  ASSERT_TRUE(write_text(edited, x.segments[0].where, "Mon NIR est [NIR_1], \"cité\"").has_value());
  auto body = serialize(edited);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, gemini_web_body("Mon NIR est [NIR_1], \"cité\""));  // every layer re-encoded
  EXPECT_EQ(body->find("084"), std::string::npos);
  expect_round_trip(*payload, Endpoint::GeminiWebStream, content_type);
}

TEST(ExtractorTest, UnexpectedShapeFallsBackToGeneric) {
  auto payload = parse_payload("application/json",
                               R"({"model":"gpt","conversation":{"turns":["hidden text"]}})");
  const Extraction x = extract(Endpoint::OpenAiChat, *payload);
  EXPECT_EQ(x.endpoint, Endpoint::Generic);
  EXPECT_THAT(texts(x), ElementsAre("hidden text"));
}

TEST(ExtractorTest, GenericJsonSkipsIdentifiersAndDecodesNestedJson) {
  const Payload payload = json_fixture("generic_unknown.json");
  const Extraction x = extract(Endpoint::Generic, payload);
  EXPECT_THAT(texts(x), ElementsAre("https://example.org/i.png", "Prompt sent over an unknown API",
                                    "second string", "encoded JSON text"));
  EXPECT_EQ(x.segments[3].where.describe(), "json:/meta/payload -> /inner");
  expect_round_trip(payload, Endpoint::Generic, "application/json");
}

TEST(ExtractorTest, GenericBase64BlobIsDecodedRefusedOrKeptAsToken) {
  const std::string text(300, 'a');
  std::string token(300, '\0');  // opaque bytes, e.g. an anti-bot proof: no file signature
  for (std::size_t i = 0; i < token.size(); ++i) token[i] = static_cast<char>(i * 7 + 128);
  const std::string pdf = "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n" + std::string(300, '\x01');
  const std::string token_b64 = base64_encode(token);
  auto payload = parse_payload("application/json", R"({"a":")" + base64_encode(text) +
                                                       R"(","b":")" + token_b64 + R"(","c":")" +
                                                       base64_encode(pdf) + R"("})");
  ASSERT_TRUE(payload.has_value());
  const Extraction x = extract_generic(*payload);
  EXPECT_THAT(texts(x), ElementsAre(text, token_b64));
  EXPECT_EQ(x.segments[0].where.encoding, Location::Encoding::Base64);
  EXPECT_EQ(x.segments[1].where.encoding, Location::Encoding::None);
  ASSERT_EQ(x.uninspectable.size(), 1u);
  EXPECT_EQ(x.uninspectable[0].kind, "inline_file");
  EXPECT_EQ(x.uninspectable[0].media_type, "application/pdf");
}

TEST(ExtractorTest, GenericReadsLongIntegersAndRedactsThemAsStrings) {
  auto payload =
      parse_payload("application/json", R"({"rows":[{"nir":185057800608491,"age":42}],"n":7})");
  ASSERT_TRUE(payload.has_value());
  const Extraction x = extract_generic(*payload);
  ASSERT_THAT(texts(x), ElementsAre("185057800608491"));
  Payload edited = *payload;
  ASSERT_TRUE(write_text(edited, x.segments[0].where, "[NIR_1]").has_value());
  EXPECT_EQ(*serialize(edited), R"({"rows":[{"nir":"[NIR_1]","age":42}],"n":7})");
}

TEST(ExtractorTest, GenericFormAndTextBodies) {
  auto form = parse_payload("application/x-www-form-urlencoded",
                            "q=hello+world&data=%7B%22t%22%3A%22x%22%7D");
  EXPECT_THAT(texts(extract_generic(*form)), ElementsAre("hello world", "x"));
  auto text = parse_payload("text/plain", "raw prompt text");
  const Extraction t = extract_generic(*text);
  EXPECT_THAT(texts(t), ElementsAre("raw prompt text"));
  EXPECT_EQ(t.segments[0].where.container, Location::Container::Body);
  auto binary = parse_payload("application/octet-stream", std::string("\0\1\2\xff", 4));
  const Extraction b = extract_generic(*binary);
  EXPECT_THAT(b.segments, IsEmpty());
  ASSERT_EQ(b.uninspectable.size(), 1u);
  EXPECT_EQ(b.uninspectable[0].kind, "binary_body");
}

TEST(ExtractorTest, GenericMultipartScansTextPartsAndRefusesFiles) {
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{\"inputs\":\"HuggingChat "
      "prompt\",\"id\":\"p1\"}\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"notes\"; filename=\"n.txt\"\r\nContent-Type: "
      "text/plain\r\n\r\n"
      "text file content\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\nContent-Type: "
      "application/pdf\r\n\r\n"
      "%PDF-1.4\r\n--b--\r\n";
  auto payload = parse_payload("multipart/form-data; boundary=b", body);
  ASSERT_TRUE(payload.has_value());
  const Extraction x = extract_generic(*payload);
  EXPECT_THAT(texts(x), ElementsAre("HuggingChat prompt", "text file content"));
  ASSERT_EQ(x.uninspectable.size(), 1u);
  EXPECT_EQ(x.uninspectable[0].kind, "file_part");
  EXPECT_EQ(x.uninspectable[0].media_type, "application/pdf");
  EXPECT_EQ(x.uninspectable[0].bytes, "%PDF-1.4");
  EXPECT_EQ(x.uninspectable[0].file_name, "a.pdf");
  EXPECT_EQ(x.uninspectable[0].index, 2u);
  // Redact the JSON part and the text file, keep the PDF part byte for byte.
  Payload edited = *payload;
  ASSERT_TRUE(write_text(edited, x.segments[0].where, "[R]").has_value());
  ASSERT_TRUE(write_text(edited, x.segments[1].where, "[S]").has_value());
  auto out = serialize(edited);
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find("{\"inputs\":\"[R]\",\"id\":\"p1\"}"), std::string::npos);
  EXPECT_NE(out->find("\r\n\r\n[S]\r\n--b"), std::string::npos);
  EXPECT_NE(out->find("%PDF-1.4\r\n--b--\r\n"), std::string::npos);
}

}  // namespace
}  // namespace gatekeeper::extract

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/extract/payload.hpp"

namespace gatekeeper::extract {

// One piece of user-authored text and where it lives in the request.
struct Segment {
  std::string text;  // decoded (a text/plain data URL is scanned as its content)
  Location where;
};

// A file that travels with the request and cannot be scanned as plain text: inline base64 files
// that are not text, binary bodies, file parts of a multipart body. The inspector extracts their
// text (extract/file_extractor.hpp) and fails closed on those whose bytes are not available.
struct Uninspectable {
  std::string kind;        // "inline_file", "file_part", "binary_body"
  std::string media_type;  // declared, e.g. "application/pdf"; empty when unknown. Never a name.
  bool has_bytes = false;  // false: the content could not be decoded (the request is blocked)
  std::string bytes;       // the file's bytes, decoded
  std::string file_name;   // multipart filename: user data, scanned but never logged
  std::size_t index = 0;   // multipart part index (file_part); 0 otherwise
};

// The request formats the extractor knows, selected by the platform adapter and the path.
enum class Endpoint {
  Generic,
  OpenAiChat,           // .../chat/completions, .../agents/completions, Ollama /api/chat
  OpenAiResponses,      // .../responses, .../responses/input_tokens
  OpenAiCompletions,    // .../completions (legacy), .../fim/completions, Ollama /api/generate
  OpenAiEmbeddings,     // .../embeddings
  AnthropicMessages,    // .../messages, .../messages/count_tokens
  AnthropicBatches,     // .../messages/batches
  GeminiGenerate,       // ...:generateContent, :streamGenerateContent, :countTokens
  ChatGptConversation,  // /backend-api/(f/)conversation(/prepare), /backend-anon/...
  ClaudeCompletion,     // claude.ai .../completion, .../retry_completion
  GeminiWebStream,      // gemini.google.com .../StreamGenerate (f.req)
  LeChatNewChat,        // chat.mistral.ai /api/trpc/message.newChat
  LeChatChat,           // chat.mistral.ai /api/chat
  DeepSeekCompletion,   // chat.deepseek.com /api/v0/chat/completion, /regenerate
  PerplexityAsk,        // www.perplexity.ai /rest/sse/perplexity_ask
};

// The error/reply family of an endpoint (which shape of error its client understands).
enum class ReplyFamily { OpenAi, Anthropic, Gemini, ChatGptWeb, ClaudeWeb, OtherWeb, Generic };

std::string_view to_string(Endpoint endpoint) noexcept;
ReplyFamily reply_family(Endpoint endpoint) noexcept;

// Adapter names (config/platforms.yaml `adapter`): "openai" (and any other API name: "mistral",
// "deepseek", "ollama"... all OpenAI-compatible), "anthropic", "gemini", "chatgpt" (or
// "chatgpt_web"), "claude_web", "gemini_web", "le_chat" (or "lechat_web"), "deepseek_web",
// "perplexity_web"; "generic", "copilot", "m365_copilot", "huggingchat" and unknown "*_web" names
// use the generic extractor. The adapter's own paths are tried first, then
// the official API paths (many services serve several API shapes), then Generic.
// `path` has no query string.
Endpoint select_endpoint(std::string_view adapter, std::string_view path);

struct Extraction {
  Endpoint endpoint = Endpoint::Generic;  // Generic when the body did not have the expected shape
  std::vector<Segment> segments;
  std::vector<Uninspectable> uninspectable;
};

// Pulls the user-authored text out of a payload. Never fails: a body that does not have the
// endpoint's expected shape is handed to the generic extractor, so an unknown format never lets
// text through uninspected.
Extraction extract(Endpoint endpoint, const Payload& payload);

// Every JSON string value except those of known non-content keys ("model", "id", ...), JSON
// documents encoded inside strings, every form field, every multipart text part, the whole body
// for text. Keys are not scanned.
Extraction extract_generic(const Payload& payload);

}  // namespace gatekeeper::extract

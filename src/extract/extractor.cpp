#include "gatekeeper/extract/extractor.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace gatekeeper::extract {
namespace {

constexpr int kMaxEncodedJsonLevels = 4;     // JSON inside a string inside a string...
constexpr std::size_t kMinBase64Blob = 256;  // shorter strings are scanned as text
constexpr std::size_t kMinNumberDigits = 6;  // integers this long may be identifiers

Location in_container(Location::Container container, std::size_t index) {
  Location where;
  where.container = container;
  where.index = index;
  return where;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}
bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Keys whose string values are identifiers or settings, never prose. Everything else is scanned.
bool is_non_content_key(std::string_view key) {
  static constexpr std::array<std::string_view, 44> kKeys = {"model",
                                                             "id",
                                                             "uuid",
                                                             "object",
                                                             "type",
                                                             "role",
                                                             "parent_message_id",
                                                             "parent_message_uuid",
                                                             "conversation_id",
                                                             "conversationId",
                                                             "chat_session_id",
                                                             "client_stream_id",
                                                             "chatId",
                                                             "chat_id",
                                                             "messageId",
                                                             "message_id",
                                                             "frontend_uuid",
                                                             "frontend_context_uuid",
                                                             "timezone",
                                                             "locale",
                                                             "language",
                                                             "content_type",
                                                             "mime_type",
                                                             "mimeType",
                                                             "media_type",
                                                             "rendering_mode",
                                                             "action",
                                                             "mode",
                                                             "version",
                                                             "file_id",
                                                             "fileId",
                                                             "file_uuid",
                                                             "asset_pointer",
                                                             "previous_response_id",
                                                             "tool_call_id",
                                                             "call_id",
                                                             "encoding_format",
                                                             "detail",
                                                             "format",
                                                             "service_tier",
                                                             "reasoning_effort",
                                                             "effort",
                                                             "status",
                                                             "websocket_request_id"};
  return std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

// Opaque tokens (proof of work, anti-bot) can be long base64: scanned as text, never decoded.
bool is_token_key(std::string_view key) {
  return ends_with(key, "_token") || ends_with(key, "Token") || key == "token";
}

bool is_base64_blob(std::string_view text) {
  return text.size() >= kMinBase64Blob && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=' ||
                  c == '-' || c == '_';
         });
}

// Decoded file bytes we can scan as text: UTF-8 without NUL, and not a PDF that happens to be
// ASCII.
bool is_scannable_text(std::string_view bytes) {
  return bytes.find('\0') == std::string_view::npos && is_valid_utf8(bytes) &&
         !starts_with(bytes, "%PDF");
}

// Media type of common file formats from their first bytes; empty when not recognised.
std::string_view sniff_file_type(std::string_view bytes) {
  struct Magic {
    std::string_view prefix;
    std::string_view media;
  };
  static constexpr std::array<Magic, 14> kMagics = {{
      {"%PDF", "application/pdf"},
      {"\x89PNG", "image/png"},
      {"\xFF\xD8\xFF", "image/jpeg"},
      {"GIF8", "image/gif"},
      {"PK\x03\x04", "application/zip"},                  // docx, xlsx, pptx, odt...
      {"\xD0\xCF\x11\xE0", "application/x-ole-storage"},  // doc, xls, ppt
      {"\x1F\x8B", "application/gzip"},
      {"RIFF", "application/riff"},  // wav, webp, avi
      {"%!PS", "application/postscript"},
      {"{\\rtf", "application/rtf"},
      {"ID3", "audio/mpeg"},
      {"OggS", "audio/ogg"},
      {"fLaC", "audio/flac"},
      {"7z\xBC\xAF", "application/x-7z-compressed"},
  }};
  for (const Magic& magic : kMagics)
    if (starts_with(bytes, magic.prefix)) return magic.media;
  if (bytes.size() > 12 && bytes.substr(4, 4) == "ftyp") return "video/mp4";
  return {};
}

bool looks_like_json_container(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return false;
  std::size_t last = text.find_last_not_of(" \t\r\n");
  return (text[first] == '[' && text[last] == ']') || (text[first] == '{' && text[last] == '}');
}

const Json* member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}
const Json* member(const Json& object, const char* key, const char* alternate) {
  const Json* found = member(object, key);
  return found ? found : member(object, alternate);
}
std::string string_member(const Json& object, const char* key) {
  const Json* found = member(object, key);
  return found && found->is_string() ? found->get<std::string>() : std::string();
}

// Appends segments for one JSON document. `base_` is the location of the document itself: the top
// level of the payload, or a string that holds an encoded JSON document.
class Sink {
 public:
  Sink(Extraction& out, Location base) : out_(out), base_(std::move(base)) {}

  Extraction& out() { return out_; }

  Location at(const JsonPointer& pointer) const {
    Location where = base_;
    where.chain.push_back(pointer);
    return where;
  }
  Sink nested(const JsonPointer& pointer) const { return Sink(out_, at(pointer)); }

  void text(const Json* node, const JsonPointer& pointer) {
    if (!node || !node->is_string() || node->get_ref<const std::string&>().empty()) return;
    out_.segments.push_back({node->get<std::string>(), at(pointer)});
  }

 private:
  Extraction& out_;
  Location base_;
};

Uninspectable inline_file(std::string media_type, Result<std::string> decoded) {
  Uninspectable file{"inline_file", std::move(media_type), decoded.has_value(), {}, {}, 0};
  if (decoded) file.bytes = std::move(*decoded);
  return file;
}

Uninspectable file_part(const MultipartPart& part, std::size_t index) {
  return {"file_part", part.content_type, true, part.body, part.filename, index};
}

void add_decoded(Extraction& out, const std::string& decoded, Location where) {
  if (!decoded.empty()) out.segments.push_back({decoded, std::move(where)});
}

// A "data:<mime>[;base64],<data>" string at `where`: decoded and scanned when its content is text,
// otherwise reported as an inline file that cannot be inspected.
void data_url(Extraction& out, const std::string& url, Location where) {
  std::size_t comma = url.find(',');
  if (comma == std::string::npos) {
    out.segments.push_back({url, std::move(where)});
    return;
  }
  std::string_view header = std::string_view(url).substr(5, comma - 5);
  std::string media = lower(header.substr(0, header.find(';')));
  if (!ends_with(lower(header), ";base64")) {
    out.segments.push_back({url, std::move(where)});  // percent-encoded text: scanned as it is
    return;
  }
  auto decoded = base64_decode(std::string_view(url).substr(comma + 1));
  if (decoded && is_scannable_text(*decoded)) {
    where.encoding = Location::Encoding::DataUrlBase64;
    where.data_url_prefix = url.substr(0, comma + 1);
    add_decoded(out, *decoded, std::move(where));
    return;
  }
  out.uninspectable.push_back(
      inline_file(media.empty() ? "text/plain" : media, std::move(decoded)));
}

// Raw base64 file content (Anthropic source.data, Gemini inline_data.data).
void base64_file(Extraction& out, const std::string& data, std::string media_type, Location where) {
  auto decoded = base64_decode(data);
  if (decoded && is_scannable_text(*decoded)) {
    where.encoding = Location::Encoding::Base64;
    add_decoded(out, *decoded, std::move(where));
    return;
  }
  out.uninspectable.push_back(inline_file(lower(media_type), std::move(decoded)));
}

// A file field that may be a data URL, raw base64 or a link (links carry no content here).
void file_field(Sink& sink, const Json* node, const JsonPointer& pointer,
                const std::string& media_hint) {
  if (!node || !node->is_string() || node->get_ref<const std::string&>().empty()) return;
  const std::string& value = node->get_ref<const std::string&>();
  if (starts_with(value, "data:")) return data_url(sink.out(), value, sink.at(pointer));
  if (starts_with(value, "http://") || starts_with(value, "https://")) return;
  base64_file(sink.out(), value, media_hint, sink.at(pointer));
}

void generic_node(const Json& node, const JsonPointer& pointer, Sink& sink, int level,
                  std::string_view key);

// One string the generic extractor found at `where`.
void generic_string(Extraction& out, const std::string& value, const Location& where, int level,
                    std::string_view key) {
  if (value.empty()) return;
  if (starts_with(value, "data:")) return data_url(out, value, where);
  if (level < kMaxEncodedJsonLevels && looks_like_json_container(value)) {
    if (auto doc = parse_json(value); doc && (doc->is_object() || doc->is_array())) {
      Sink inner(out, where);
      generic_node(*doc, JsonPointer(), inner, level + 1, {});
      return;
    }
  }
  if (!is_token_key(key) && is_base64_blob(value)) {
    // A long base64 string is a text file (decoded and scanned), a known file type (cannot be
    // inspected yet), or an opaque token (anti-bot proofs, encrypted state): scanned as it is.
    if (auto decoded = base64_decode(value)) {
      if (is_scannable_text(*decoded)) {
        Location decoded_at = where;
        decoded_at.encoding = Location::Encoding::Base64;
        return add_decoded(out, *decoded, std::move(decoded_at));
      }
      if (auto media = sniff_file_type(*decoded); !media.empty()) {
        out.uninspectable.push_back(inline_file(std::string(media), std::move(decoded)));
        return;
      }
    }
  }
  out.segments.push_back({value, where});
}

void generic_node(const Json& node, const JsonPointer& pointer, Sink& sink, int level,
                  std::string_view key) {
  switch (node.type()) {
    case Json::value_t::object:
      for (const auto& [name, child] : node.items()) {
        if (child.is_string() && is_non_content_key(name)) continue;
        generic_node(child, pointer / name, sink, level, name);
      }
      break;
    case Json::value_t::array:
      for (std::size_t i = 0; i < node.size(); ++i)
        generic_node(node[i], pointer / i, sink, level, key);
      break;
    case Json::value_t::string:
      generic_string(sink.out(), node.get_ref<const std::string&>(), sink.at(pointer), level, key);
      break;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      // Identifiers sent as numbers ({"nir": 185057800608491}); short numbers are settings.
      std::string digits = node.dump();
      if (digits.size() >= kMinNumberDigits)
        sink.out().segments.push_back({std::move(digits), sink.at(pointer)});
      break;
    }
    default:
      break;
  }
}

void generic_node(const Json& node, const JsonPointer& pointer, Sink& sink) {
  generic_node(node, pointer, sink, 0, {});
}

bool is_text_like(std::string_view media) {
  return starts_with(media, "text/") || media == "application/json" || media == "application/csv" ||
         media == "application/xml" || media == "application/x-ndjson";
}

// ---------------------------------------------------------------- OpenAI and compatible APIs

void openai_content(const Json& content, const JsonPointer& p, Sink& sink) {
  if (content.is_string()) return sink.text(&content, p);
  if (content.is_null()) return;
  if (!content.is_array()) return generic_node(content, p, sink);
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const JsonPointer pp = p / i;
    if (part.is_string()) {
      sink.text(&part, pp);
      continue;
    }
    const std::string type = string_member(part, "type");
    if (type == "text" || type == "input_text") {
      sink.text(member(part, "text"), pp / "text");
    } else if (type == "image_url" || type == "input_image") {
      const Json* image = member(part, "image_url");
      if (image && image->is_object())
        file_field(sink, member(*image, "url"), pp / "image_url" / "url", "image/*");
      else
        file_field(sink, image, pp / "image_url", "image/*");
    } else if (type == "input_audio") {
      const Json* audio = member(part, "input_audio");
      sink.out().uninspectable.push_back(
          inline_file("audio/" + (audio ? string_member(*audio, "format") : ""),
                      base64_decode(audio ? string_member(*audio, "data") : "")));
    } else if (type == "file") {
      const Json* file = member(part, "file");
      if (file) file_field(sink, member(*file, "file_data"), pp / "file" / "file_data", "");
    } else if (type == "input_file") {
      file_field(sink, member(part, "file_data"), pp / "file_data", "");
      file_field(sink, member(part, "file_url"), pp / "file_url", "");
    } else if (type == "file_url") {  // Perplexity: URL or raw base64
      const Json* file = member(part, "file_url");
      if (file && file->is_object())
        file_field(sink, member(*file, "url"), pp / "file_url" / "url", "");
    } else if (type == "document_url") {  // Mistral
      file_field(sink, member(part, "document_url"), pp / "document_url", "");
    } else {
      generic_node(part, pp, sink);
    }
  }
}

void ollama_images(const Json& holder, Sink& sink) {
  const Json* images = member(holder, "images");
  if (images && images->is_array())
    for (const Json& image : *images)
      sink.out().uninspectable.push_back(inline_file(
          "image/*", image.is_string() ? base64_decode(image.get_ref<const std::string&>())
                                       : Result<std::string>(Errc::PayloadMalformed)));
}

bool openai_chat(const Json& doc, Sink& sink) {
  const Json* messages = member(doc, "messages");
  if (!messages || !messages->is_array()) return false;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const Json& message = (*messages)[i];
    const JsonPointer p = JsonPointer("/messages") / i;
    if (!message.is_object()) {
      generic_node(message, p, sink);
      continue;
    }
    const std::string role = string_member(message, "role");
    if (role == "assistant") continue;  // model output replayed as history
    if (const Json* content = member(message, "content"))
      openai_content(*content, p / "content", sink);
    else
      generic_node(message, p, sink);  // e.g. AI SDK `parts`
    ollama_images(message, sink);
  }
  return true;
}

void responses_input(const Json& input, const JsonPointer& p, Sink& sink) {
  if (input.is_string()) return sink.text(&input, p);
  if (!input.is_array()) return generic_node(input, p, sink);
  for (std::size_t i = 0; i < input.size(); ++i) {
    const Json& item = input[i];
    const JsonPointer ip = p / i;
    const std::string type = string_member(item, "type");
    const std::string role = string_member(item, "role");
    if (item.is_object() && member(item, "content") && (type.empty() || type == "message")) {
      if (role == "assistant") continue;
      openai_content(*member(item, "content"), ip / "content", sink);
    } else if (type == "function_call_output" || type == "custom_tool_call_output") {
      const Json* output = member(item, "output");
      if (output) openai_content(*output, ip / "output", sink);
    } else if (type == "reasoning" || type == "function_call" || type == "custom_tool_call" ||
               role == "assistant") {
      continue;  // produced by the model
    } else {
      generic_node(item, ip, sink);
    }
  }
}

bool openai_responses(const Json& doc, Sink& sink) {
  const Json* input = member(doc, "input");
  const Json* instructions = member(doc, "instructions");
  if (!input && !instructions) return false;
  if (input) responses_input(*input, JsonPointer("/input"), sink);
  sink.text(instructions, JsonPointer("/instructions"));
  if (const Json* prompt = member(doc, "prompt"); prompt && prompt->is_object())
    generic_node(*prompt, JsonPointer("/prompt"), sink);  // stored prompt variables
  return true;
}

void string_or_strings(const Json* node, const JsonPointer& p, Sink& sink) {
  if (!node) return;
  if (node->is_string()) return sink.text(node, p);
  if (node->is_array())
    for (std::size_t i = 0; i < node->size(); ++i)
      if ((*node)[i].is_string()) sink.text(&(*node)[i], p / i);  // token arrays carry no text
}

bool openai_completions(const Json& doc, Sink& sink) {
  const Json* prompt = member(doc, "prompt");
  if (!prompt) return false;
  string_or_strings(prompt, JsonPointer("/prompt"), sink);
  sink.text(member(doc, "suffix"), JsonPointer("/suffix"));
  sink.text(member(doc, "system"), JsonPointer("/system"));  // Ollama /api/generate
  ollama_images(doc, sink);
  return true;
}

bool openai_embeddings(const Json& doc, Sink& sink) {
  const Json* input = member(doc, "input");
  const Json* prompt = member(doc, "prompt");
  if (!input && !prompt) return false;
  string_or_strings(input, JsonPointer("/input"), sink);
  string_or_strings(prompt, JsonPointer("/prompt"), sink);
  return true;
}

// ---------------------------------------------------------------- Anthropic

void anthropic_content(const Json& content, const JsonPointer& p, Sink& sink);

void anthropic_source(const Json& source, const JsonPointer& p, Sink& sink) {
  const std::string type = string_member(source, "type");
  if (type == "base64") {
    const Json* data = member(source, "data");
    if (data && data->is_string())
      base64_file(sink.out(), data->get<std::string>(), string_member(source, "media_type"),
                  sink.at(p / "data"));
  } else if (type == "text") {
    sink.text(member(source, "data"), p / "data");
  } else if (type == "content") {
    if (const Json* inner = member(source, "content"))
      anthropic_content(*inner, p / "content", sink);
  } else if (type != "url" && type != "file") {
    generic_node(source, p, sink);
  }
}

void anthropic_content(const Json& content, const JsonPointer& p, Sink& sink) {
  if (content.is_string()) return sink.text(&content, p);
  if (!content.is_array()) return generic_node(content, p, sink);
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    const JsonPointer bp = p / i;
    const std::string type = string_member(block, "type");
    if (type == "text") {
      sink.text(member(block, "text"), bp / "text");
    } else if (type == "image" || type == "document") {
      if (const Json* source = member(block, "source"); source && source->is_object())
        anthropic_source(*source, bp / "source", sink);
      sink.text(member(block, "title"), bp / "title");
      sink.text(member(block, "context"), bp / "context");
    } else if (type == "tool_result") {
      if (const Json* inner = member(block, "content"))
        anthropic_content(*inner, bp / "content", sink);
    } else if (type == "thinking" || type == "redacted_thinking" || type == "tool_use") {
      continue;  // produced by the model
    } else {
      generic_node(block, bp, sink);
    }
  }
}

bool anthropic_messages_at(const Json& body, const JsonPointer& base, Sink& sink) {
  const Json* messages = member(body, "messages");
  if (!messages || !messages->is_array()) return false;
  if (const Json* system = member(body, "system"))
    anthropic_content(*system, base / "system", sink);
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const Json& message = (*messages)[i];
    const JsonPointer mp = base / "messages" / i;
    if (string_member(message, "role") == "assistant") continue;
    if (const Json* content = member(message, "content"))
      anthropic_content(*content, mp / "content", sink);
    else
      generic_node(message, mp, sink);
  }
  return true;
}

bool anthropic_batches(const Json& doc, Sink& sink) {
  const Json* requests = member(doc, "requests");
  if (!requests || !requests->is_array()) return false;
  for (std::size_t i = 0; i < requests->size(); ++i) {
    const JsonPointer rp = JsonPointer("/requests") / i;
    const Json* params = member((*requests)[i], "params");
    if (!params || !anthropic_messages_at(*params, rp / "params", sink))
      generic_node((*requests)[i], rp, sink);
  }
  return true;
}

// ---------------------------------------------------------------- Gemini API

void gemini_parts(const Json& holder, const JsonPointer& p, Sink& sink) {
  const Json* parts = member(holder, "parts");
  if (!parts || !parts->is_array()) return generic_node(holder, p, sink);
  for (std::size_t i = 0; i < parts->size(); ++i) {
    const Json& part = (*parts)[i];
    const JsonPointer pp = p / "parts" / i;
    if (member(part, "thought") && !member(part, "text")) continue;
    if (const Json* text = member(part, "text")) {
      sink.text(text, pp / "text");
    } else if (const Json* inline_data = member(part, "inline_data", "inlineData")) {
      const char* key = member(part, "inline_data") ? "inline_data" : "inlineData";
      const Json* data = member(*inline_data, "data");
      const Json* mime = member(*inline_data, "mime_type", "mimeType");
      if (data && data->is_string())
        base64_file(sink.out(), data->get<std::string>(),
                    mime && mime->is_string() ? mime->get<std::string>() : "",
                    sink.at(pp / key / "data"));
    } else if (member(part, "file_data", "fileData") ||
               member(part, "functionCall", "function_call")) {
      continue;  // a link to an uploaded file; a model-issued call
    } else {
      generic_node(part, pp, sink);
    }
  }
}

bool gemini_generate(const Json& doc, Sink& sink) {
  const Json* request = &doc;
  JsonPointer base;
  if (const Json* wrapped = member(doc, "generateContentRequest", "generate_content_request")) {
    request = wrapped;  // countTokens
    base = JsonPointer(member(doc, "generateContentRequest") ? "/generateContentRequest"
                                                             : "/generate_content_request");
  }
  const Json* contents = member(*request, "contents");
  if (!contents || !contents->is_array()) return false;
  for (std::size_t i = 0; i < contents->size(); ++i) {
    const Json& content = (*contents)[i];
    if (string_member(content, "role") == "model") continue;
    gemini_parts(content, base / "contents" / i, sink);
  }
  for (const char* key : {"systemInstruction", "system_instruction"}) {
    const Json* system = member(*request, key);
    if (!system) continue;
    if (system->is_string())
      sink.text(system, base / key);
    else
      gemini_parts(*system, base / key, sink);
  }
  return true;
}

// ---------------------------------------------------------------- Web applications

void chatgpt_message(const Json& message, const JsonPointer& p, Sink& sink) {
  const Json* author = member(message, "author");
  if (!author || string_member(*author, "role") != "user") return;
  const Json* content = member(message, "content");
  if (!content) return;
  if (content->is_string()) return sink.text(content, p / "content");
  if (const Json* parts = member(*content, "parts"); parts && parts->is_array()) {
    for (std::size_t i = 0; i < parts->size(); ++i)
      if ((*parts)[i].is_string()) sink.text(&(*parts)[i], p / "content" / "parts" / i);
  }
  sink.text(member(*content, "text"), p / "content" / "text");
}

bool chatgpt_conversation(const Json& doc, Sink& sink) {
  if (!doc.is_object()) return false;
  const Json* messages = member(doc, "messages");
  const Json* partial = member(doc, "partial_query");
  if (!messages && !partial && !member(doc, "action") && !member(doc, "client_prepare_state"))
    return false;
  if (messages && messages->is_array())
    for (std::size_t i = 0; i < messages->size(); ++i)
      chatgpt_message((*messages)[i], JsonPointer("/messages") / i, sink);
  if (partial && partial->is_object())
    chatgpt_message(*partial, JsonPointer("/partial_query"), sink);
  return true;
}

bool claude_completion(const Json& doc, Sink& sink) {
  const Json* prompt = member(doc, "prompt");
  const Json* attachments = member(doc, "attachments");
  if (!prompt && !attachments) return false;
  sink.text(prompt, JsonPointer("/prompt"));
  if (attachments && attachments->is_array())
    for (std::size_t i = 0; i < attachments->size(); ++i)
      sink.text(member((*attachments)[i], "extracted_content"),
                JsonPointer("/attachments") / i / "extracted_content");
  return true;
}

void text_items(const Json* items, const JsonPointer& p, Sink& sink) {
  if (!items) return;
  if (items->is_string()) return sink.text(items, p);
  if (!items->is_array()) return generic_node(*items, p, sink);
  for (std::size_t i = 0; i < items->size(); ++i) {
    const Json& item = (*items)[i];
    if (item.is_string())
      sink.text(&item, p / i);
    else if (string_member(item, "type") == "text")
      sink.text(member(item, "text"), p / i / "text");
    else
      generic_node(item, p / i, sink);
  }
}

bool lechat_new_chat(const Json& doc, Sink& sink) {
  if (!doc.is_object()) return false;
  bool found = false;
  auto one = [&](const Json& call, const JsonPointer& p) {
    const Json* json = member(call, "json");
    if (!json || !json->is_object()) return;
    found = true;
    text_items(member(*json, "content"), p / "json" / "content", sink);
  };
  if (member(doc, "json"))
    one(doc, JsonPointer());
  else
    for (const auto& [key, call] : doc.items()) one(call, JsonPointer() / key);
  return found;
}

bool lechat_chat(const Json& doc, Sink& sink) {
  const Json* input = member(doc, "messageInput");
  const Json* content = member(doc, "content");
  if (!input && !content && !member(doc, "mode")) return false;
  text_items(input, JsonPointer("/messageInput"), sink);
  text_items(content, JsonPointer("/content"), sink);
  return true;
}

bool deepseek_completion(const Json& doc, Sink& sink) {
  const Json* prompt = member(doc, "prompt");
  if (!prompt) return false;
  sink.text(prompt, JsonPointer("/prompt"));
  return true;
}

bool perplexity_ask(const Json& doc, Sink& sink) {
  const Json* query = member(doc, "query_str");
  const Json* params = member(doc, "params");
  const Json* nested = params ? member(*params, "query_str") : nullptr;
  if (!query && !nested) return false;
  sink.text(query, JsonPointer("/query_str"));
  sink.text(nested, JsonPointer("/params/query_str"));
  return true;
}

// f.req = JSON [null, "<inner JSON>"]; inner[0][0] is the prompt.
bool gemini_web(const Payload& payload, Extraction& out) {
  if (payload.kind != PayloadKind::Form) return false;
  for (std::size_t i = 0; i < payload.form.size(); ++i) {
    if (payload.form[i].name != "f.req") continue;
    auto outer = parse_json(payload.form[i].value);
    if (!outer || !outer->is_array() || outer->size() < 2 || !(*outer)[1].is_string()) return false;
    auto inner = parse_json((*outer)[1].get_ref<const std::string&>());
    if (!inner || !inner->is_array() || inner->empty() || !(*inner)[0].is_array() ||
        (*inner)[0].empty() || !(*inner)[0][0].is_string())
      return false;
    Location where;
    where.container = Location::Container::FormField;
    where.index = i;
    where.chain = {JsonPointer("/1"), JsonPointer("/0/0")};
    const std::string& prompt = (*inner)[0][0].get_ref<const std::string&>();
    if (!prompt.empty()) out.segments.push_back({prompt, std::move(where)});
    return true;
  }
  return false;
}

enum class Family { Api, ChatGpt, Claude, GeminiWeb, LeChat, DeepSeek, Perplexity, Generic };

Family family_of(std::string_view adapter) {
  const std::string name = lower(adapter);
  if (name == "chatgpt_web" || name == "chatgpt") return Family::ChatGpt;
  if (name == "claude_web" || name == "claude") return Family::Claude;
  if (name == "gemini_web" || name == "bard") return Family::GeminiWeb;
  if (name == "lechat_web" || name == "lechat" || name == "le_chat" || name == "mistral_web")
    return Family::LeChat;
  if (name == "deepseek_web") return Family::DeepSeek;
  if (name == "perplexity_web") return Family::Perplexity;
  if (name == "generic" || name.empty() || ends_with(name, "_web") || name == "copilot" ||
      name == "m365_copilot" || name == "huggingchat")
    return Family::Generic;
  return Family::Api;
}

Endpoint web_endpoint(Family family, std::string_view path) {
  switch (family) {
    case Family::ChatGpt:
      if ((contains(path, "/backend-api/") || contains(path, "/backend-anon/")) &&
          (ends_with(path, "/conversation") || ends_with(path, "/conversation/prepare")))
        return Endpoint::ChatGptConversation;
      break;
    case Family::Claude:
      if (ends_with(path, "/completion") || ends_with(path, "/retry_completion"))
        return Endpoint::ClaudeCompletion;
      break;
    case Family::GeminiWeb:
      if (ends_with(path, "/StreamGenerate")) return Endpoint::GeminiWebStream;
      break;
    case Family::LeChat:
      if (contains(path, "/api/trpc/") && contains(path, "message.newChat"))
        return Endpoint::LeChatNewChat;
      if (path == "/api/chat") return Endpoint::LeChatChat;
      break;
    case Family::DeepSeek:
      if (ends_with(path, "/chat/completion") || ends_with(path, "/chat/regenerate"))
        return Endpoint::DeepSeekCompletion;
      break;
    case Family::Perplexity:
      if (ends_with(path, "/perplexity_ask")) return Endpoint::PerplexityAsk;
      break;
    default:
      break;
  }
  return Endpoint::Generic;
}

Endpoint api_endpoint(std::string_view path) {
  if (ends_with(path, "/messages/batches")) return Endpoint::AnthropicBatches;
  if (ends_with(path, "/messages") || ends_with(path, "/messages/count_tokens"))
    return Endpoint::AnthropicMessages;
  if (ends_with(path, "/chat/completions") || ends_with(path, "/agents/completions") ||
      path == "/api/chat")
    return Endpoint::OpenAiChat;
  if (ends_with(path, "/responses") || ends_with(path, "/responses/input_tokens"))
    return Endpoint::OpenAiResponses;
  if (ends_with(path, "/completions") || path == "/api/generate")
    return Endpoint::OpenAiCompletions;
  if (ends_with(path, "/embeddings") || path == "/api/embed") return Endpoint::OpenAiEmbeddings;
  if (contains(path, ":generateContent") || contains(path, ":streamGenerateContent") ||
      contains(path, ":countTokens"))
    return Endpoint::GeminiGenerate;
  return Endpoint::Generic;
}

bool extract_json(Endpoint endpoint, const Json& doc, Sink& sink) {
  if (!doc.is_object()) return false;
  switch (endpoint) {
    case Endpoint::OpenAiChat:
      return openai_chat(doc, sink);
    case Endpoint::OpenAiResponses:
      return openai_responses(doc, sink);
    case Endpoint::OpenAiCompletions:
      return openai_completions(doc, sink);
    case Endpoint::OpenAiEmbeddings:
      return openai_embeddings(doc, sink);
    case Endpoint::AnthropicMessages:
      return anthropic_messages_at(doc, JsonPointer(), sink);
    case Endpoint::AnthropicBatches:
      return anthropic_batches(doc, sink);
    case Endpoint::GeminiGenerate:
      return gemini_generate(doc, sink);
    case Endpoint::ChatGptConversation:
      return chatgpt_conversation(doc, sink);
    case Endpoint::ClaudeCompletion:
      return claude_completion(doc, sink);
    case Endpoint::LeChatNewChat:
      return lechat_new_chat(doc, sink);
    case Endpoint::LeChatChat:
      return lechat_chat(doc, sink);
    case Endpoint::DeepSeekCompletion:
      return deepseek_completion(doc, sink);
    case Endpoint::PerplexityAsk:
      return perplexity_ask(doc, sink);
    case Endpoint::GeminiWebStream:
    case Endpoint::Generic:
      return false;
  }
  return false;
}

}  // namespace

std::string_view to_string(Endpoint endpoint) noexcept {
  switch (endpoint) {
    case Endpoint::Generic:
      return "generic";
    case Endpoint::OpenAiChat:
      return "openai_chat";
    case Endpoint::OpenAiResponses:
      return "openai_responses";
    case Endpoint::OpenAiCompletions:
      return "openai_completions";
    case Endpoint::OpenAiEmbeddings:
      return "openai_embeddings";
    case Endpoint::AnthropicMessages:
      return "anthropic_messages";
    case Endpoint::AnthropicBatches:
      return "anthropic_batches";
    case Endpoint::GeminiGenerate:
      return "gemini_generate";
    case Endpoint::ChatGptConversation:
      return "chatgpt_conversation";
    case Endpoint::ClaudeCompletion:
      return "claude_completion";
    case Endpoint::GeminiWebStream:
      return "gemini_web_stream";
    case Endpoint::LeChatNewChat:
      return "lechat_new_chat";
    case Endpoint::LeChatChat:
      return "lechat_chat";
    case Endpoint::DeepSeekCompletion:
      return "deepseek_completion";
    case Endpoint::PerplexityAsk:
      return "perplexity_ask";
  }
  return "generic";
}

ReplyFamily reply_family(Endpoint endpoint) noexcept {
  switch (endpoint) {
    case Endpoint::OpenAiChat:
    case Endpoint::OpenAiResponses:
    case Endpoint::OpenAiCompletions:
    case Endpoint::OpenAiEmbeddings:
      return ReplyFamily::OpenAi;
    case Endpoint::AnthropicMessages:
    case Endpoint::AnthropicBatches:
      return ReplyFamily::Anthropic;
    case Endpoint::GeminiGenerate:
      return ReplyFamily::Gemini;
    case Endpoint::ChatGptConversation:
      return ReplyFamily::ChatGptWeb;
    case Endpoint::ClaudeCompletion:
      return ReplyFamily::ClaudeWeb;
    case Endpoint::GeminiWebStream:
    case Endpoint::LeChatNewChat:
    case Endpoint::LeChatChat:
    case Endpoint::DeepSeekCompletion:
    case Endpoint::PerplexityAsk:
      return ReplyFamily::OtherWeb;
    case Endpoint::Generic:
      return ReplyFamily::Generic;
  }
  return ReplyFamily::Generic;
}

Endpoint select_endpoint(std::string_view adapter, std::string_view path) {
  path = path.substr(0, path.find('?'));
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const Family family = family_of(adapter);
  if (family != Family::Api && family != Family::Generic) {
    if (Endpoint web = web_endpoint(family, path); web != Endpoint::Generic) return web;
  }
  return api_endpoint(path);
}

Extraction extract_generic(const Payload& payload) {
  Extraction out;
  out.endpoint = Endpoint::Generic;
  switch (payload.kind) {
    case PayloadKind::Empty:
      break;
    case PayloadKind::Json: {
      Sink root(out, in_container(Location::Container::Json, 0));
      generic_node(payload.json, JsonPointer(), root, 0, {});
      break;
    }
    case PayloadKind::Form:
      for (std::size_t i = 0; i < payload.form.size(); ++i) {
        Location where = in_container(Location::Container::FormField, i);
        generic_string(out, payload.form[i].value, where, 0, payload.form[i].name);
      }
      break;
    case PayloadKind::Multipart:
      for (std::size_t i = 0; i < payload.parts.size(); ++i) {
        const MultipartPart& part = payload.parts[i];
        Location where = in_container(Location::Container::MultipartPart, i);
        const bool is_file =
            part.has_filename || (!part.content_type.empty() && !is_text_like(part.content_type));
        if (is_file) {
          // Text files are scanned like any text; other files wait for the upload inspection.
          if (is_text_like(part.content_type) && is_scannable_text(part.body) &&
              !starts_with(part.filename, "base64;"))
            add_decoded(out, part.body, where);
          else
            out.uninspectable.push_back(file_part(part, i));
        } else if (is_scannable_text(part.body)) {
          generic_string(out, part.body, where, 0, part.name);
        } else {
          out.uninspectable.push_back(file_part(part, i));
        }
      }
      break;
    case PayloadKind::Text:
      if (!payload.text.empty()) out.segments.push_back({payload.text, Location{}});
      break;
    case PayloadKind::Binary:
      out.uninspectable.push_back({"binary_body", payload.media_type, true, payload.text, {}, 0});
      break;
  }
  return out;
}

Extraction extract(Endpoint endpoint, const Payload& payload) {
  Extraction out;
  out.endpoint = endpoint;
  bool recognised = false;
  if (endpoint == Endpoint::GeminiWebStream) {
    recognised = gemini_web(payload, out);
  } else if (payload.kind == PayloadKind::Json && endpoint != Endpoint::Generic) {
    Sink root(out, in_container(Location::Container::Json, 0));
    recognised = extract_json(endpoint, payload.json, root);
  }
  if (recognised) return out;
  Extraction generic = extract_generic(payload);
  // Keep the endpoint so that replies still take the shape the client understands.
  generic.endpoint = payload.kind == PayloadKind::Empty ? endpoint : Endpoint::Generic;
  return generic;
}

}  // namespace gatekeeper::extract

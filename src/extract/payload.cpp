#include "gatekeeper/extract/payload.hpp"

#include "gatekeeper/core/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_set>

namespace gatekeeper::extract {
namespace {

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Parameters of a header value such as `form-data; name="a"; filename="b.txt"` or
// `multipart/form-data; boundary=xyz`. Names are lower-cased, quoted strings unescaped.
struct HeaderValue {
  std::string value;
  std::vector<std::pair<std::string, std::string>> params;
  const std::string* param(std::string_view name) const {
    for (const auto& [key, value] : params)
      if (key == name) return &value;
    return nullptr;
  }
};

HeaderValue parse_header_value(std::string_view text) {
  HeaderValue out;
  std::size_t pos = text.find(';');
  out.value = to_lower(trim(text.substr(0, pos)));
  while (pos != std::string_view::npos && pos < text.size()) {
    ++pos;
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    std::size_t eq = text.find('=', pos);
    std::size_t semi = text.find(';', pos);
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) {
      pos = semi;
      continue;
    }
    std::string name = to_lower(trim(text.substr(pos, eq - pos)));
    std::string value;
    pos = eq + 1;
    if (pos < text.size() && text[pos] == '"') {
      ++pos;
      while (pos < text.size() && text[pos] != '"') {
        if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
        value.push_back(text[pos++]);
      }
      pos = text.find(';', pos);
    } else {
      semi = text.find(';', pos);
      value = std::string(trim(
          text.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos)));
      pos = semi;
    }
    out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

bool is_json_media(std::string_view media) {
  if (media.find("ndjson") != std::string_view::npos ||
      media.find("jsonl") != std::string_view::npos ||
      media.find("json-seq") != std::string_view::npos)
    return false;
  return media.find("json") != std::string_view::npos;
}

bool is_binary_media(std::string_view media) {
  static constexpr std::array<std::string_view, 9> kPrefixes = {
      "image/",          "audio/",          "video/",           "font/",
      "application/pdf", "application/zip", "application/vnd.", "application/x-protobuf",
      "application/grpc"};
  return std::any_of(kPrefixes.begin(), kPrefixes.end(),
                     [&](std::string_view p) { return media.substr(0, p.size()) == p; });
}

bool looks_textual(std::string_view body) {
  return body.find('\0') == std::string_view::npos && is_valid_utf8(body);
}

Result<void> parse_form(std::string_view body, Payload& out) {
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    std::string_view piece =
        body.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!piece.empty()) {
      std::size_t eq = piece.find('=');
      auto name = form_decode(piece.substr(0, eq));
      auto value =
          form_decode(eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1));
      if (!name || !value) return make_error_code(Errc::PayloadMalformed);
      out.form.push_back({std::move(*name), std::move(*value)});
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return {};
}

Result<void> parse_multipart(std::string_view body, std::string_view boundary, Payload& out) {
  if (boundary.empty() || boundary.size() > 200) return make_error_code(Errc::PayloadMalformed);
  const std::string delimiter = "--" + std::string(boundary);
  const std::string next_delimiter = "\r\n" + delimiter;
  std::size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    std::size_t found = body.find(next_delimiter);
    if (found == std::string_view::npos) return make_error_code(Errc::PayloadMalformed);
    out.preamble = std::string(body.substr(0, found + 2));
    pos = found + next_delimiter.size();
  }
  out.boundary = std::string(boundary);
  for (;;) {
    if (body.substr(pos, 2) == "--") {
      out.epilogue = std::string(body.substr(pos + 2));
      return {};
    }
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") return make_error_code(Errc::PayloadMalformed);
    pos += 2;
    MultipartPart part;
    std::size_t body_start;
    if (body.substr(pos, 2) == "\r\n") {
      body_start = pos + 2;
    } else {
      std::size_t end = body.find("\r\n\r\n", pos);
      if (end == std::string_view::npos) return make_error_code(Errc::PayloadMalformed);
      part.raw_headers = std::string(body.substr(pos, end - pos));
      body_start = end + 4;
    }
    std::size_t body_end = body.find(next_delimiter, body_start);
    if (body_end == std::string_view::npos) return make_error_code(Errc::PayloadMalformed);
    part.body = std::string(body.substr(body_start, body_end - body_start));
    std::string_view headers = part.raw_headers;
    while (!headers.empty()) {
      std::size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-disposition")) {
        HeaderValue disposition = parse_header_value(value);
        if (const auto* n = disposition.param("name")) part.name = *n;
        if (const auto* f = disposition.param("filename")) {
          part.filename = *f;
          part.has_filename = true;
        }
        if (disposition.param("filename*")) part.has_filename = true;
      } else if (iequals(name, "content-type")) {
        part.content_type = parse_header_value(value).value;
      }
    }
    out.parts.push_back(std::move(part));
    pos = body_end + next_delimiter.size();
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const Json* find_node(const Json& doc, const JsonPointer& pointer) {
  try {
    if (!doc.contains(pointer)) return nullptr;
    return &doc.at(pointer);
  } catch (const std::exception&) {
    return nullptr;
  }
}

const Json* find_string_node(const Json& doc, const JsonPointer& pointer) {
  const Json* node = find_node(doc, pointer);
  return node && node->is_string() ? node : nullptr;
}

// The generic extractor also reads long integers; they are replaced by a string when redacted.
bool is_integer(const Json* node) {
  return node && (node->is_number_integer() || node->is_number_unsigned());
}

Result<std::string> decode_leaf(const std::string& raw, const Location& where) {
  switch (where.encoding) {
    case Location::Encoding::None:
      return raw;
    case Location::Encoding::Base64:
      return base64_decode(raw);
    case Location::Encoding::DataUrlBase64:
      if (raw.compare(0, where.data_url_prefix.size(), where.data_url_prefix) != 0)
        return make_error_code(Errc::PayloadMalformed);
      return base64_decode(std::string_view(raw).substr(where.data_url_prefix.size()));
  }
  return make_error_code(Errc::PayloadMalformed);
}

std::string encode_leaf(std::string_view text, const Location& where) {
  switch (where.encoding) {
    case Location::Encoding::None:
      return std::string(text);
    case Location::Encoding::Base64:
      return base64_encode(text);
    case Location::Encoding::DataUrlBase64:
      return where.data_url_prefix + base64_encode(text);
  }
  return std::string(text);
}

Result<std::string> read_chain(const Json& doc, const Location& where, std::size_t level) {
  const bool leaf = level + 1 == where.chain.size();
  if (leaf && where.encoding == Location::Encoding::None) {
    if (const Json* number = find_node(doc, where.chain[level]); is_integer(number))
      return number->dump();
  }
  const Json* node = find_string_node(doc, where.chain[level]);
  if (!node) return make_error_code(Errc::PayloadMalformed);
  const auto& text = node->get_ref<const std::string&>();
  if (level + 1 == where.chain.size()) return decode_leaf(text, where);
  auto inner = parse_json(text);
  if (!inner) return inner.error();
  return read_chain(*inner, where, level + 1);
}

Result<void> write_chain(Json& doc, const Location& where, std::size_t level,
                         std::string_view text) {
  const bool leaf = level + 1 == where.chain.size();
  const bool number = leaf && where.encoding == Location::Encoding::None &&
                      is_integer(find_node(doc, where.chain[level]));
  if (!number && !find_string_node(doc, where.chain[level]))
    return make_error_code(Errc::PayloadMalformed);
  Json& node = doc.at(where.chain[level]);
  if (leaf) {
    node = encode_leaf(text, where);
    return {};
  }
  auto inner = parse_json(node.get_ref<const std::string&>());
  if (!inner) return inner.error();
  if (auto written = write_chain(*inner, where, level + 1, text); !written) return written;
  node = dump_json(*inner);
  return {};
}

// The string that holds the segment (or the JSON document that does) for non-Json containers.
std::string* container_string(Payload& payload, const Location& where) {
  switch (where.container) {
    case Location::Container::FormField:
      return where.index < payload.form.size() ? &payload.form[where.index].value : nullptr;
    case Location::Container::MultipartPart:
      return where.index < payload.parts.size() ? &payload.parts[where.index].body : nullptr;
    case Location::Container::Body:
      return &payload.text;
    case Location::Container::Json:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

std::string Location::describe() const {
  std::string out;
  switch (container) {
    case Container::Json:
      out = "json";
      break;
    case Container::FormField:
      out = "form[" + std::to_string(index) + "]";
      break;
    case Container::MultipartPart:
      out = "part[" + std::to_string(index) + "]";
      break;
    case Container::Body:
      out = "body";
      break;
  }
  for (std::size_t i = 0; i < chain.size(); ++i)
    out += (i == 0 ? ":" : " -> ") + chain[i].to_string();
  if (encoding == Encoding::Base64) out += " (base64)";
  if (encoding == Encoding::DataUrlBase64) out += " (data url)";
  return out;
}

Result<Json> parse_json(std::string_view text) {
  std::vector<std::unordered_set<std::string>> open_objects;
  bool rejected = false;
  Json::parser_callback_t callback = [&](int depth, nlohmann::json::parse_event_t event,
                                         Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
        if (depth >= kMaxJsonDepth) rejected = true;
        open_objects.emplace_back();
        break;
      case Event::array_start:
        if (depth >= kMaxJsonDepth) rejected = true;
        break;
      case Event::key:
        // A repeated key is read as the first value by some parsers and the last by others: the
        // upstream could see a value we did not inspect.
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second)
          rejected = true;
        break;
      case Event::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  try {
    Json doc = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
    if (doc.is_discarded() || rejected) return make_error_code(Errc::PayloadMalformed);
    return doc;
  } catch (const std::exception&) {
    return make_error_code(Errc::PayloadMalformed);
  }
}

std::string dump_json(const Json& json) {
  return json.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string form_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

Result<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);  // a stray '%' is kept as is, as browsers do
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=') {
      padding = true;
      continue;
    } else if (c == '\r' || c == '\n')
      continue;
    else
      return make_error_code(Errc::PayloadMalformed);
    if (padding) return make_error_code(Errc::PayloadMalformed);
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return make_error_code(Errc::PayloadMalformed);  // a lone trailing character
  return out;
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    unsigned min;
    unsigned code;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      min = 0x80;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      min = 0x800;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      min = 0x10000;
      code = c & 0x07;
    } else
      return false;
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= n) return false;
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

Result<Payload> parse_payload(std::string_view content_type, std::string_view body) {
  Payload out;
  HeaderValue type = parse_header_value(content_type);
  out.media_type = type.value;
  if (body.empty()) {
    out.kind = PayloadKind::Empty;
    return out;
  }
  const std::string& media = out.media_type;
  if (is_json_media(media)) {
    auto doc = parse_json(body);
    if (!doc) return doc.error();
    out.kind = PayloadKind::Json;
    out.json = std::move(*doc);
    return out;
  }
  if (media == "application/x-www-form-urlencoded") {
    out.kind = PayloadKind::Form;
    if (auto parsed = parse_form(body, out); !parsed) return parsed.error();
    return out;
  }
  if (media.rfind("multipart/", 0) == 0) {
    out.kind = PayloadKind::Multipart;
    const std::string* boundary = type.param("boundary");
    if (!boundary) return make_error_code(Errc::PayloadMalformed);
    if (auto parsed = parse_multipart(body, *boundary, out); !parsed) return parsed.error();
    return out;
  }
  if (media.empty() || media == "text/plain") {
    // Untyped body, or JSON sent as text/plain (fetch without preflight, sendBeacon): JSON if it
    // is JSON, otherwise judged on its bytes.
    std::string_view trimmed = body;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
      trimmed.remove_prefix(1);
    if (!trimmed.empty() && (trimmed.front() == '{' || trimmed.front() == '[')) {
      if (auto doc = parse_json(body)) {
        out.kind = PayloadKind::Json;
        out.json = std::move(*doc);
        return out;
      }
    }
  }
  out.text = std::string(body);
  out.kind =
      (!is_binary_media(media) && looks_textual(body)) ? PayloadKind::Text : PayloadKind::Binary;
  return out;
}

Result<std::string> serialize(const Payload& payload) {
  switch (payload.kind) {
    case PayloadKind::Empty:
      return std::string();
    case PayloadKind::Json:
      return dump_json(payload.json);
    case PayloadKind::Text:
    case PayloadKind::Binary:
      return payload.text;
    case PayloadKind::Form: {
      std::string out;
      for (std::size_t i = 0; i < payload.form.size(); ++i) {
        if (i) out.push_back('&');
        out += form_encode(payload.form[i].name);
        out.push_back('=');
        out += form_encode(payload.form[i].value);
      }
      return out;
    }
    case PayloadKind::Multipart: {
      const std::string delimiter = "--" + payload.boundary;
      std::string out = payload.preamble + delimiter;
      for (const MultipartPart& part : payload.parts) {
        if (part.body.find("\r\n" + delimiter) != std::string::npos)
          return make_error_code(Errc::PayloadMalformed);  // a replacement must not end the part
        out += part.raw_headers.empty() ? "\r\n\r\n" : "\r\n" + part.raw_headers + "\r\n\r\n";
        out += part.body;
        out += "\r\n" + delimiter;
      }
      out += "--" + payload.epilogue;
      return out;
    }
  }
  return make_error_code(Errc::PayloadMalformed);
}

Result<std::string> read_text(const Payload& payload, const Location& where) {
  if (where.container == Location::Container::Json) {
    if (payload.kind != PayloadKind::Json || where.chain.empty())
      return make_error_code(Errc::PayloadMalformed);
    return read_chain(payload.json, where, 0);
  }
  const std::string* holder = container_string(const_cast<Payload&>(payload), where);
  if (!holder) return make_error_code(Errc::PayloadMalformed);
  if (where.chain.empty()) return decode_leaf(*holder, where);
  auto doc = parse_json(*holder);
  if (!doc) return doc.error();
  return read_chain(*doc, where, 0);
}

Result<void> write_text(Payload& payload, const Location& where, std::string_view text) {
  if (where.container == Location::Container::Json) {
    if (payload.kind != PayloadKind::Json || where.chain.empty())
      return make_error_code(Errc::PayloadMalformed);
    return write_chain(payload.json, where, 0, text);
  }
  std::string* holder = container_string(payload, where);
  if (!holder) return make_error_code(Errc::PayloadMalformed);
  if (where.chain.empty()) {
    *holder = encode_leaf(text, where);
    return {};
  }
  auto doc = parse_json(*holder);
  if (!doc) return doc.error();
  if (auto written = write_chain(*doc, where, 0, text); !written) return written;
  *holder = dump_json(*doc);
  return {};
}

}  // namespace gatekeeper::extract

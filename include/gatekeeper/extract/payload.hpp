#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/core/error.hpp"

namespace gatekeeper::extract {

// JSON documents keep their key order so that a redacted body differs from the original only in
// the replaced strings.
using Json = nlohmann::ordered_json;
using JsonPointer = nlohmann::json::json_pointer;

enum class PayloadKind {
  Empty,      // no body
  Json,       // application/json, */*+json, or an untyped body that parses as JSON
  Form,       // application/x-www-form-urlencoded
  Multipart,  // multipart/form-data
  Text,       // text/*, or any other body that is valid UTF-8 text
  Binary,     // bytes that are not text (files, protobuf...): cannot be inspected as text
};

struct FormField {
  std::string name;   // decoded
  std::string value;  // decoded
};

struct MultipartPart {
  std::string raw_headers;  // header block as received, without the blank line
  std::string name;         // Content-Disposition name
  std::string filename;     // Content-Disposition filename; empty for plain fields
  bool has_filename = false;
  std::string content_type;  // lower-case media type, empty when absent
  std::string body;
};

// A parsed request body. Only the member matching `kind` is meaningful.
struct Payload {
  PayloadKind kind = PayloadKind::Empty;
  std::string media_type;  // lower-case, without parameters
  Json json;
  std::vector<FormField> form;
  std::string boundary;
  std::string preamble;  // bytes before the first delimiter
  std::string epilogue;  // bytes after the close delimiter (including its line break)
  std::vector<MultipartPart> parts;
  std::string text;  // Text and Binary
};

// Where a text segment lives, precisely enough to write a replacement back.
//  - Json:          chain[0] points into Payload::json.
//  - FormField:     the field `index`; with an empty chain the value itself, otherwise the value is
//                   a JSON document and chain[0] points into it.
//  - MultipartPart: the part `index`, same convention as FormField.
//  - Body:          the whole text body.
// Each further pointer of `chain` points into the JSON document encoded in the string reached by
// the previous one (Gemini web f.req: form field -> outer array -> inner JSON string). `encoding`
// applies to the final string: the segment text is its decoded form.
struct Location {
  enum class Container { Json, FormField, MultipartPart, Body };
  enum class Encoding { None, Base64, DataUrlBase64 };

  Container container = Container::Body;
  std::size_t index = 0;
  std::vector<JsonPointer> chain;
  Encoding encoding = Encoding::None;
  std::string data_url_prefix;  // "data:text/plain;base64," when encoding == DataUrlBase64

  // Structural description for tests and debugging, e.g. "form[1]/1 -> /0/0". Contains JSON keys
  // and indexes, never values; still, keep it out of the audit trail (keys can be user data).
  std::string describe() const;
};

// Parses a body according to its Content-Type. Errors:
//   Errc::PayloadMalformed  a body that claims JSON, form or multipart and is not (also: duplicate
//                           JSON keys, which upstream parsers resolve differently, and nesting
//                           deeper than kMaxJsonDepth)
Result<Payload> parse_payload(std::string_view content_type, std::string_view body);

// Serialises a payload back to bytes of the same format and structure.
Result<std::string> serialize(const Payload& payload);

// Reads / replaces the (decoded) text at `where`. Writing re-encodes every layer of the chain.
Result<std::string> read_text(const Payload& payload, const Location& where);
Result<void> write_text(Payload& payload, const Location& where, std::string_view text);

inline constexpr int kMaxJsonDepth = 256;

// Helpers shared by the extractors and exposed for tests.
Result<Json> parse_json(std::string_view text);  // strict: rejects duplicate keys and deep nesting
std::string dump_json(const Json& json);
std::string form_encode(std::string_view text);
Result<std::string> form_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);  // standard or URL-safe, padding optional
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace gatekeeper::extract

#include "gatekeeper/extract/payload.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatekeeper::extract {
namespace {

TEST(PayloadTest, CompactJsonReserialisesByteIdenticalWithKeyOrder) {
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"é ok"}],"a":1.5,"b":null})";
  auto payload = parse_payload("application/json; charset=utf-8", body);
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(payload->kind, PayloadKind::Json);
  auto out = serialize(*payload);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, body);
}

TEST(PayloadTest, MalformedJsonIsRejected) {
  auto payload = parse_payload("application/json", R"({"messages":[{"role":"user","content":"x"})");
  ASSERT_FALSE(payload.has_value());
  EXPECT_EQ(payload.error(), Errc::PayloadMalformed);
}

TEST(PayloadTest, DuplicateKeysAreRejected) {
  // Parsers disagree on which value wins: the upstream could read the one we did not inspect.
  auto payload = parse_payload("application/json", R"({"prompt":"secret","prompt":"innocent"})");
  ASSERT_FALSE(payload.has_value());
  EXPECT_EQ(payload.error(), Errc::PayloadMalformed);
  EXPECT_TRUE(parse_payload("application/json", R"([{"a":1},{"a":2}])").has_value());
}

TEST(PayloadTest, ExcessiveNestingIsRejected) {
  std::string deep(kMaxJsonDepth + 10, '[');
  deep += std::string(kMaxJsonDepth + 10, ']');
  EXPECT_FALSE(parse_payload("application/json", deep).has_value());
}

TEST(PayloadTest, VendorJsonMediaTypesParseAsJson) {
  auto payload = parse_payload("application/json+protobuf", R"([[null,"text"]])");
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(payload->kind, PayloadKind::Json);
}

TEST(PayloadTest, UntypedBodyIsSniffed) {
  auto json = parse_payload("", R"({"q":"x"})");
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(json->kind, PayloadKind::Json);
  auto beacon = parse_payload("text/plain;charset=UTF-8", R"({"prompt":"x"})");
  ASSERT_TRUE(beacon.has_value());
  EXPECT_EQ(beacon->kind, PayloadKind::Json);
  auto text = parse_payload("", "plain words");
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->kind, PayloadKind::Text);
  auto binary = parse_payload("application/octet-stream", std::string("\x89PNG\r\n\x1a\n\0\0", 10));
  ASSERT_TRUE(binary.has_value());
  EXPECT_EQ(binary->kind, PayloadKind::Binary);
  auto pdf = parse_payload("application/pdf", "%PDF-1.4 looks like text");
  ASSERT_TRUE(pdf.has_value());
  EXPECT_EQ(pdf->kind, PayloadKind::Binary);
}

TEST(PayloadTest, FormFieldsDecodeAndReencode) {
  auto payload = parse_payload("application/x-www-form-urlencoded;charset=utf-8",
                               "at=AJ%3A1&f.req=%5Bnull%2C%22a+b%C3%A9%22%5D");
  ASSERT_TRUE(payload.has_value());
  ASSERT_EQ(payload->form.size(), 2u);
  EXPECT_EQ(payload->form[0].name, "at");
  EXPECT_EQ(payload->form[0].value, "AJ:1");
  EXPECT_EQ(payload->form[1].value, "[null,\"a bé\"]");
  auto out = serialize(*payload);
  ASSERT_TRUE(out.has_value());
  auto again = parse_payload("application/x-www-form-urlencoded", *out);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->form[1].value, payload->form[1].value);
}

TEST(PayloadTest, MultipartRoundTripIsByteIdentical) {
  const std::string body =
      "preamble\r\n--XyZ\r\nContent-Disposition: form-data; "
      "name=\"data\"\r\n\r\n{\"inputs\":\"hi\"}\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
      "Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--XyZ--\r\n";
  auto payload = parse_payload("multipart/form-data; boundary=\"XyZ\"", body);
  ASSERT_TRUE(payload.has_value()) << payload.error().message();
  ASSERT_EQ(payload->parts.size(), 2u);
  EXPECT_EQ(payload->parts[0].name, "data");
  EXPECT_FALSE(payload->parts[0].has_filename);
  EXPECT_EQ(payload->parts[0].body, "{\"inputs\":\"hi\"}");
  EXPECT_EQ(payload->parts[1].filename, "a.pdf");
  EXPECT_EQ(payload->parts[1].content_type, "application/pdf");
  auto out = serialize(*payload);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, body);
}

TEST(PayloadTest, MultipartWithoutCloseDelimiterIsMalformed) {
  auto payload = parse_payload("multipart/form-data; boundary=b",
                               "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue");
  EXPECT_FALSE(payload.has_value());
  EXPECT_FALSE(parse_payload("multipart/form-data", "--b\r\n").has_value());  // no boundary
}

TEST(PayloadTest, Base64RoundTripAndErrors) {
  for (std::string text : {"", "a", "ab", "abc", "abcd", "héllo\n\x01"}) {
    auto decoded = base64_decode(base64_encode(text));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_FALSE(base64_decode("ab$c").has_value());
  EXPECT_EQ(*base64_decode("aGk"), "hi");  // padding optional
}

TEST(PayloadTest, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("ascii é € 𝄞"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

TEST(PayloadTest, WriteTextThroughEncodedLayers) {
  // A form field holding JSON whose second element is itself JSON.
  Payload payload;
  payload.kind = PayloadKind::Form;
  payload.form = {{"f.req", R"([null,"[[\"hello\",0],[\"fr\"]]"])"}};
  Location where;
  where.container = Location::Container::FormField;
  where.chain = {JsonPointer("/1"), JsonPointer("/0/0")};
  auto before = read_text(payload, where);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(*before, "hello");
  ASSERT_TRUE(write_text(payload, where, "quote \" and [X_1]").has_value());
  auto after = read_text(payload, where);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, "quote \" and [X_1]");
  EXPECT_EQ(where.describe(), "form[0]:/1 -> /0/0");
  Location missing = where;
  missing.chain.back() = JsonPointer("/5/0");
  EXPECT_FALSE(read_text(payload, missing).has_value());
}

}  // namespace
}  // namespace gatekeeper::extract

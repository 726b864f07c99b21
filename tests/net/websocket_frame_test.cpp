#include "gatekeeper/net/websocket_frame.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatekeeper::net::ws {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

using Kind = MessageAssembler::Event::Kind;

// RFC 6455 §5.7 examples, from the server side (unmasked).
TEST(WebSocketFrameTest, Rfc6455ExamplesFromTheServer) {
  MessageAssembler server(/*from_client=*/false, /*deflate=*/false, 1 << 20);
  server.feed(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));  // "Hello"
  auto single = server.next();
  ASSERT_TRUE(single && *single);
  EXPECT_EQ((*single)->kind, Kind::Message);
  EXPECT_EQ((*single)->opcode, Opcode::Text);
  EXPECT_EQ((*single)->payload, "Hello");
  // Fragmented "Hel" + "lo", with a ping between the fragments.
  server.feed(bytes({0x01, 0x03, 0x48, 0x65, 0x6c}));
  server.feed(bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  server.feed(bytes({0x80, 0x02, 0x6c, 0x6f}));
  auto ping = server.next();
  ASSERT_TRUE(ping && *ping);
  EXPECT_EQ((*ping)->kind, Kind::Control);
  EXPECT_EQ((*ping)->opcode, Opcode::Ping);
  EXPECT_EQ((*ping)->raw, bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  auto fragmented = server.next();
  ASSERT_TRUE(fragmented && *fragmented);
  EXPECT_EQ((*fragmented)->payload, "Hello");
  auto none = server.next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(WebSocketFrameTest, MaskedClientFrameAndByteByByteFeeding) {
  const std::string masked =
      bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  MessageAssembler client(/*from_client=*/true, false, 1 << 20);
  for (std::size_t i = 0; i + 1 < masked.size(); ++i) {
    client.feed(masked.substr(i, 1));
    auto partial = client.next();
    ASSERT_TRUE(partial);
    EXPECT_FALSE(*partial);
  }
  client.feed(masked.substr(masked.size() - 1));
  auto message = client.next();
  ASSERT_TRUE(message && *message);
  EXPECT_EQ((*message)->payload, "Hello");
  // Our own writer produces the same bytes for the same key.
  EXPECT_EQ(make_frame(Opcode::Text, "Hello", true, false,
                       std::array<std::uint8_t, 4>{0x37, 0xfa, 0x21, 0x3d}),
            masked);
  EXPECT_EQ(make_frame(Opcode::Text, "Hello"), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

TEST(WebSocketFrameTest, ExtendedLengths) {
  const std::string medium(256, 'a');
  const std::string frame = make_frame(Opcode::Binary, medium);
  EXPECT_EQ(frame.substr(0, 4), bytes({0x82, 0x7e, 0x01, 0x00}));
  const std::string large(65536, 'b');
  const std::string big = make_frame(Opcode::Binary, large);
  EXPECT_EQ(big.substr(0, 10), bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}));
  MessageAssembler server(false, false, 1 << 20);
  server.feed(frame + big);
  EXPECT_EQ(server.next().value()->payload, medium);
  EXPECT_EQ(server.next().value()->payload, large);
}

TEST(WebSocketFrameTest, ProtocolViolationsAreRefused) {
  auto refused = [](const std::string& data, bool from_client, bool deflate = false) {
    MessageAssembler assembler(from_client, deflate, 1 << 20);
    assembler.feed(data);
    auto event = assembler.next();
    return !event && event.error() == Errc::WebSocketProtocol;
  };
  EXPECT_TRUE(refused(bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}), /*from_client=*/true));
  EXPECT_TRUE(refused(bytes({0x81, 0x80, 1, 2, 3, 4}), /*from_client=*/false));
  EXPECT_TRUE(refused(bytes({0xc1, 0x01, 'x'}), false));                 // RSV1 without deflate
  EXPECT_TRUE(refused(bytes({0xa1, 0x01, 'x'}), false, true));           // RSV2
  EXPECT_TRUE(refused(bytes({0x83, 0x01, 'x'}), false));                 // opcode 3
  EXPECT_TRUE(refused(bytes({0x09, 0x00}), false));                      // fragmented ping
  EXPECT_TRUE(refused(bytes({0x80, 0x01, 'x'}), false));                 // continuation first
  EXPECT_TRUE(refused(bytes({0x01, 0x01, 'x', 0x81, 0x01, 'y'}), false));  // text inside text
  EXPECT_TRUE(refused(bytes({0x81, 0x7e, 0x00, 0x10}), false));         // non-minimal length
  std::string long_ping = bytes({0x89, 0x7e, 0x00, 0x7e}) + std::string(126, 'p');
  EXPECT_TRUE(refused(long_ping, false));
}

TEST(WebSocketFrameTest, MessageLimitIsCheckedFromTheHeaders) {
  MessageAssembler assembler(false, false, 1000);
  assembler.feed(bytes({0x01, 0x7e, 0x02, 0x00}));  // a 512-byte first fragment: fine so far
  assembler.feed(std::string(512, 'a'));
  assembler.feed(bytes({0x80, 0x7e, 0x02, 0x00}));  // another 512 would pass 1000
  auto event = assembler.next();
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error(), Errc::InputTooLarge);
}

TEST(WebSocketFrameTest, ClosePayloads) {
  const std::string payload = close_payload(kClosePolicyViolation, "bloqué");
  EXPECT_EQ(payload.substr(0, 2), bytes({0x03, 0xf0}));
  EXPECT_EQ(close_code(payload).value(), 1008);
  EXPECT_EQ(close_code("").value(), 1005);
  EXPECT_FALSE(close_code("x"));
  // The reason is cut to fit a control frame, never inside a UTF-8 sequence.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "é";
  const std::string cut = close_payload(1000, accents);
  EXPECT_LE(cut.size(), 125u);
  EXPECT_EQ((cut.size() - 2) % 2, 0u);
}

// RFC 7692 §7.2.3 examples.
TEST(WebSocketDeflateTest, Rfc7692Examples) {
  MessageInflater inflater(15, false);
  EXPECT_EQ(inflater.inflate(bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), 1 << 20).value(),
            "Hello");
  // Same "Hello" again with context takeover: a back-reference into the previous message.
  EXPECT_EQ(inflater.inflate(bytes({0xf2, 0x00, 0x11, 0x00, 0x00}), 1 << 20).value(), "Hello");
  // A stored (uncompressed) block, and a message with BFINAL set.
  MessageInflater other(15, false);
  EXPECT_EQ(other
                .inflate(bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}),
                         1 << 20)
                .value(),
            "Hello");
  EXPECT_EQ(other.inflate(bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}), 1 << 20).value(),
            "Hello");
  // Fragmented compressed message: RSV1 on the first frame only.
  MessageAssembler server(false, /*deflate=*/true, 1 << 20);
  server.feed(bytes({0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00}));
  auto message = server.next();
  ASSERT_TRUE(message && *message);
  EXPECT_TRUE((*message)->compressed);
  MessageInflater third(15, false);
  EXPECT_EQ(third.inflate((*message)->payload, 1 << 20).value(), "Hello");
}

TEST(WebSocketDeflateTest, DeflaterMatchesTheRfcAndRoundTrips) {
  MessageDeflater deflater(15, false);
  EXPECT_EQ(deflater.deflate("Hello").value(), bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  const std::string second = deflater.deflate("Hello").value();
  MessageInflater inflater(15, false);
  EXPECT_EQ(inflater.inflate(bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), 100).value(),
            "Hello");
  EXPECT_EQ(inflater.inflate(second, 100).value(), "Hello");
  EXPECT_LT(second.size(), 7u);  // context takeover made it shorter
  // Without context takeover each message stands alone.
  MessageDeflater fresh(15, true);
  const std::string a = fresh.deflate("Hello").value();
  const std::string b = fresh.deflate("Hello").value();
  EXPECT_EQ(a, b);
  MessageInflater alone(15, true);
  EXPECT_EQ(alone.inflate(b, 100).value(), "Hello");
}

TEST(WebSocketDeflateTest, InflateLimitAndCorruption) {
  MessageDeflater deflater(15, false);
  const std::string big = deflater.deflate(std::string(1 << 20, 'z')).value();
  MessageInflater inflater(15, false);
  auto limited = inflater.inflate(big, 4096);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error(), Errc::ExtractionLimit);
  MessageInflater corrupt(15, false);
  auto bad = corrupt.inflate(bytes({0xff, 0xff, 0xff, 0xff, 0xff}), 100);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), Errc::WebSocketProtocol);
}

TEST(WebSocketDeflateTest, ExtensionNegotiation) {
  auto none = parse_extensions_response("");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->enabled);
  auto params = parse_extensions_response(
      "permessage-deflate; client_max_window_bits=10; server_no_context_takeover; "
      "client_no_context_takeover; server_max_window_bits=\"12\"");
  ASSERT_TRUE(params);
  EXPECT_TRUE(params->enabled);
  EXPECT_EQ(params->client_max_window_bits, 10);
  EXPECT_EQ(params->server_max_window_bits, 12);
  EXPECT_TRUE(params->server_no_context_takeover);
  EXPECT_TRUE(params->client_no_context_takeover);
  EXPECT_FALSE(parse_extensions_response("x-webkit-deflate-frame"));
  EXPECT_FALSE(parse_extensions_response("permessage-deflate, permessage-deflate"));
  EXPECT_FALSE(parse_extensions_response("permessage-deflate; client_max_window_bits=7"));
  EXPECT_FALSE(parse_extensions_response("permessage-deflate; mystery"));
  EXPECT_EQ(filter_extension_offers(
                "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits, foo"),
            "permessage-deflate; client_max_window_bits");
  EXPECT_EQ(filter_extension_offers("foo; bar=1"), "");
}

TEST(WebSocketFrameTest, TrackerFindsFrameBoundaries) {
  FrameTracker tracker(/*from_client=*/false, false);
  EXPECT_TRUE(tracker.may_inject());
  const std::string first = bytes({0x01, 0x03, 'H', 'e', 'l'});
  const std::string last = bytes({0x80, 0x02, 'l', 'o'});
  ASSERT_TRUE(tracker.feed(first.substr(0, 3)));
  EXPECT_FALSE(tracker.may_inject());  // inside a frame
  ASSERT_TRUE(tracker.feed(first.substr(3)));
  EXPECT_FALSE(tracker.may_inject());  // between fragments of a message
  ASSERT_TRUE(tracker.feed(bytes({0x89, 0x00})));
  EXPECT_FALSE(tracker.may_inject());
  ASSERT_TRUE(tracker.feed(last));
  EXPECT_TRUE(tracker.may_inject());
  EXPECT_FALSE(tracker.close_seen());
  ASSERT_TRUE(tracker.feed(make_frame(Opcode::Close, close_payload(1000, "bye"))));
  EXPECT_TRUE(tracker.close_seen());
  EXPECT_FALSE(tracker.feed(bytes({0x81, 0x80, 0, 0, 0, 0})));  // masked from a server
}

}  // namespace
}  // namespace gatekeeper::net::ws

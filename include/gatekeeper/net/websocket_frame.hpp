#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gatekeeper/core/error.hpp"

// RFC 6455 framing and RFC 7692 permessage-deflate, without I/O: the relay feeds bytes in and
// writes what comes out, and the tests do the same with byte strings.
namespace gatekeeper::net::ws {

enum class Opcode : std::uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

constexpr bool is_control(Opcode opcode) { return (static_cast<std::uint8_t>(opcode) & 0x8) != 0; }

// Close codes used by the proxy (RFC 6455 §7.4.1).
constexpr std::uint16_t kCloseNormal = 1000;
constexpr std::uint16_t kCloseProtocolError = 1002;
constexpr std::uint16_t kClosePolicyViolation = 1008;
constexpr std::uint16_t kCloseMessageTooBig = 1009;

struct FrameHeader {
  bool fin = true;
  bool rsv1 = false;  // permessage-deflate: the message is compressed (first frame only)
  Opcode opcode = Opcode::Text;
  bool masked = false;
  std::array<std::uint8_t, 4> mask{};
  std::uint64_t payload_length = 0;
  std::size_t header_size = 0;  // bytes of the header on the wire
};

// Parses the frame header at the front of `data`. nullopt: more bytes are needed.
// WebSocketProtocol: reserved bits without an extension, unknown opcode, a control frame that is
// fragmented or longer than 125 bytes, a non-minimal length, or masking against the role
// (`from_client`: clients must mask, servers must not).
Result<std::optional<FrameHeader>> parse_frame_header(std::string_view data, bool from_client,
                                                      bool deflate_negotiated);

// XORs `data` with the mask, `offset` bytes into the payload.
void apply_mask(char* data, std::size_t size, const std::array<std::uint8_t, 4>& mask,
                std::size_t offset = 0);

// One whole frame on the wire. With a mask (frames towards a server), the payload is masked.
std::string make_frame(Opcode opcode, std::string_view payload, bool fin = true, bool rsv1 = false,
                       std::optional<std::array<std::uint8_t, 4>> mask = std::nullopt);

// A random masking key (OpenSSL's generator).
std::array<std::uint8_t, 4> random_mask();

// Close frame payload: the code then a UTF-8 reason cut to fit the 125-byte control limit.
std::string close_payload(std::uint16_t code, std::string_view reason);
// Close payload -> code (1005 "no status" when empty). WebSocketProtocol when malformed.
Result<std::uint16_t> close_code(std::string_view payload);

// Reassembles messages from one direction's frames: control frames may arrive between the
// fragments of a data message. Bytes are fed as they arrive.
class MessageAssembler {
 public:
  struct Event {
    enum class Kind { Control, Message };
    Kind kind = Kind::Message;
    Opcode opcode = Opcode::Text;  // Text or Binary for messages
    bool compressed = false;       // RSV1 on the first frame
    std::string payload;           // unmasked
    std::string raw;               // control frames: the frame exactly as received
  };

  MessageAssembler(bool from_client, bool deflate_negotiated, std::size_t max_message_bytes)
      : from_client_(from_client), deflate_(deflate_negotiated), max_message_(max_message_bytes) {}

  void feed(std::string_view bytes) { pending_.append(bytes); }

  // The next complete control frame or message; nullopt when more bytes are needed.
  // WebSocketProtocol on a framing error; InputTooLarge when a message passes the limit.
  Result<std::optional<Event>> next();

  std::size_t buffered() const { return pending_.size() + message_.size(); }

 private:
  bool from_client_;
  bool deflate_;
  std::size_t max_message_;
  std::string pending_;
  std::string message_;
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::Text;
  bool message_compressed_ = false;
};

// Tracks frame boundaries of a byte stream relayed unchanged (server to client): where frames
// end, whether a fragmented data message is open, and whether a Close frame went by.
class FrameTracker {
 public:
  FrameTracker(bool from_client, bool deflate_negotiated)
      : from_client_(from_client), deflate_(deflate_negotiated) {}

  // WebSocketProtocol on a framing error.
  Result<void> feed(std::string_view bytes);

  // True when the stream so far ends exactly on a frame boundary outside a fragmented message:
  // a frame of our own may be sent on it now.
  bool may_inject() const { return header_.empty() && remaining_ == 0 && !in_message_; }
  bool close_seen() const { return close_seen_; }

 private:
  bool from_client_;
  bool deflate_;
  std::string header_;          // partial header bytes
  std::uint64_t remaining_ = 0; // payload bytes of the current frame still to come
  bool in_message_ = false;
  bool close_seen_ = false;
};

// permessage-deflate parameters (RFC 7692 §7.1) as agreed in the server's 101 response.
struct DeflateParams {
  bool enabled = false;
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

// Reads a Sec-WebSocket-Extensions response value. An empty value: no extension. Anything other
// than one valid permessage-deflate is WebSocketProtocol (the proxy could not read the frames).
Result<DeflateParams> parse_extensions_response(std::string_view value);

// Keeps only the permessage-deflate offers of a client's Sec-WebSocket-Extensions value, so that
// the server cannot accept an extension the proxy cannot read. Empty when none is left.
std::string filter_extension_offers(std::string_view value);

// Raw DEFLATE for one direction of permessage-deflate; the window and context-takeover
// parameters are those of the direction's sender.
class MessageInflater {
 public:
  MessageInflater(int window_bits, bool no_context_takeover);
  ~MessageInflater();
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;
  // One compressed message payload (without the 00 00 FF FF tail) -> its text.
  // ExtractionLimit past `max_bytes`; WebSocketProtocol on corrupt data.
  Result<std::string> inflate(std::string_view payload, std::size_t max_bytes);

 private:
  struct State;
  State* state_;
  bool no_context_takeover_;
};

class MessageDeflater {
 public:
  MessageDeflater(int window_bits, bool no_context_takeover);
  ~MessageDeflater();
  MessageDeflater(const MessageDeflater&) = delete;
  MessageDeflater& operator=(const MessageDeflater&) = delete;
  // Text -> compressed payload, the 00 00 FF FF tail removed (RFC 7692 §7.2.1).
  Result<std::string> deflate(std::string_view text);

 private:
  struct State;
  State* state_;
  bool no_context_takeover_;
};

}  // namespace gatekeeper::net::ws

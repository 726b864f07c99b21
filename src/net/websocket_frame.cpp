#include "gatekeeper/net/websocket_frame.hpp"

#include "gatekeeper/core/text.hpp"

#include <openssl/rand.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <vector>

namespace gatekeeper::net::ws {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr char kDeflateTail[] = {'\x00', '\x00', '\xff', '\xff'};

bool valid_opcode(std::uint8_t value) {
  return value <= 0x2 || (value >= 0x8 && value <= 0xA);
}

// Splits on `separator` outside double quotes.
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == separator && !quoted) {
      parts.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(trim(text.substr(start)));
  return parts;
}

}  // namespace

Result<std::optional<FrameHeader>> parse_frame_header(std::string_view data, bool from_client,
                                                      bool deflate_negotiated) {
  if (data.size() < 2) return std::optional<FrameHeader>();
  const auto b0 = static_cast<std::uint8_t>(data[0]);
  const auto b1 = static_cast<std::uint8_t>(data[1]);
  FrameHeader header;
  header.fin = (b0 & 0x80) != 0;
  header.rsv1 = (b0 & 0x40) != 0;
  if ((b0 & 0x30) != 0) return Errc::WebSocketProtocol;  // RSV2/RSV3: no extension uses them
  if (header.rsv1 && !deflate_negotiated) return Errc::WebSocketProtocol;
  if (!valid_opcode(b0 & 0x0F)) return Errc::WebSocketProtocol;
  header.opcode = static_cast<Opcode>(b0 & 0x0F);
  header.masked = (b1 & 0x80) != 0;
  if (header.masked != from_client) return Errc::WebSocketProtocol;
  std::uint64_t length = b1 & 0x7F;
  std::size_t size = 2;
  if (length == 126) {
    if (data.size() < 4) return std::optional<FrameHeader>();
    length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(data[2])) << 8) |
             static_cast<std::uint8_t>(data[3]);
    if (length < 126) return Errc::WebSocketProtocol;
    size = 4;
  } else if (length == 127) {
    if (data.size() < 10) return std::optional<FrameHeader>();
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | static_cast<std::uint8_t>(data[2 + i]);
    if (length <= 0xFFFF || (length >> 63) != 0) return Errc::WebSocketProtocol;
    size = 10;
  }
  if (is_control(header.opcode) && (!header.fin || length > 125 || header.rsv1))
    return Errc::WebSocketProtocol;
  if (header.masked) {
    if (data.size() < size + 4) return std::optional<FrameHeader>();
    for (int i = 0; i < 4; ++i) header.mask[i] = static_cast<std::uint8_t>(data[size + i]);
    size += 4;
  }
  header.payload_length = length;
  header.header_size = size;
  return std::optional<FrameHeader>(header);
}

void apply_mask(char* data, std::size_t size, const std::array<std::uint8_t, 4>& mask,
                std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) data[i] ^= static_cast<char>(mask[(offset + i) & 3]);
}

std::string make_frame(Opcode opcode, std::string_view payload, bool fin, bool rsv1,
                       std::optional<std::array<std::uint8_t, 4>> mask) {
  std::string frame;
  frame.reserve(payload.size() + 14);
  frame.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                                    static_cast<std::uint8_t>(opcode)));
  const std::uint8_t mask_bit = mask ? 0x80 : 0;
  const std::uint64_t length = payload.size();
  if (length < 126) {
    frame.push_back(static_cast<char>(mask_bit | length));
  } else if (length <= 0xFFFF) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(length >> 8));
    frame.push_back(static_cast<char>(length & 0xFF));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) frame.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  }
  if (mask) frame.append(reinterpret_cast<const char*>(mask->data()), 4);
  const std::size_t start = frame.size();
  frame.append(payload);
  if (mask) apply_mask(frame.data() + start, payload.size(), *mask);
  return frame;
}

std::array<std::uint8_t, 4> random_mask() {
  std::array<std::uint8_t, 4> mask{};
  if (RAND_bytes(mask.data(), 4) != 1) {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::memcpy(mask.data(), &now, 4);
  }
  return mask;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  std::size_t end = std::min<std::size_t>(reason.size(), 123);
  // Never cut inside a UTF-8 sequence.
  while (end < reason.size() && end > 0 && (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80)
    --end;
  payload.append(reason.substr(0, end));
  return payload;
}

Result<std::uint16_t> close_code(std::string_view payload) {
  if (payload.empty()) return static_cast<std::uint16_t>(1005);
  if (payload.size() == 1) return Errc::WebSocketProtocol;
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                    static_cast<std::uint8_t>(payload[1]));
}

Result<std::optional<MessageAssembler::Event>> MessageAssembler::next() {
  while (true) {
    auto parsed = parse_frame_header(pending_, from_client_, deflate_);
    if (!parsed) return parsed.error();
    if (!*parsed) return std::optional<Event>();
    const FrameHeader& header = **parsed;
    if (!is_control(header.opcode)) {
      const bool continuation = header.opcode == Opcode::Continuation;
      if (continuation != in_message_) return Errc::WebSocketProtocol;  // RFC 6455 §5.4
      if (continuation && header.rsv1) return Errc::WebSocketProtocol;
      // Refuse as soon as the header announces too much: nothing more is buffered.
      if (message_.size() + header.payload_length > max_message_) return Errc::InputTooLarge;
    }
    if (pending_.size() - header.header_size < header.payload_length)
      return std::optional<Event>();
    const std::size_t total = header.header_size + static_cast<std::size_t>(header.payload_length);
    std::string payload = pending_.substr(header.header_size, header.payload_length);
    if (header.masked) apply_mask(payload.data(), payload.size(), header.mask);
    if (is_control(header.opcode)) {
      Event event;
      event.kind = Event::Kind::Control;
      event.opcode = header.opcode;
      event.payload = std::move(payload);
      event.raw = pending_.substr(0, total);
      pending_.erase(0, total);
      return std::optional<Event>(std::move(event));
    }
    pending_.erase(0, total);
    if (!in_message_) {
      in_message_ = true;
      message_opcode_ = header.opcode;
      message_compressed_ = header.rsv1;
      message_.clear();
    }
    message_ += payload;
    if (!header.fin) continue;
    in_message_ = false;
    Event event;
    event.kind = Event::Kind::Message;
    event.opcode = message_opcode_;
    event.compressed = message_compressed_;
    event.payload = std::move(message_);
    message_.clear();
    return std::optional<Event>(std::move(event));
  }
}

Result<void> FrameTracker::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (remaining_ > 0) {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
      remaining_ -= take;
      bytes.remove_prefix(take);
      continue;
    }
    // Accumulate a header; at most 14 bytes.
    const std::size_t before = header_.size();
    header_.append(bytes.substr(0, std::min<std::size_t>(bytes.size(), 14 - before)));
    auto parsed = parse_frame_header(header_, from_client_, deflate_);
    if (!parsed) return parsed.error();
    if (!*parsed) {
      bytes.remove_prefix(header_.size() - before);
      continue;
    }
    const FrameHeader& header = **parsed;
    bytes.remove_prefix(header.header_size - before);
    header_.clear();
    remaining_ = header.payload_length;
    if (header.opcode == Opcode::Close) close_seen_ = true;
    if (!is_control(header.opcode)) {
      if ((header.opcode == Opcode::Continuation) != in_message_) return Errc::WebSocketProtocol;
      in_message_ = !header.fin;
    }
  }
  return {};
}

Result<DeflateParams> parse_extensions_response(std::string_view value) {
  DeflateParams params;
  value = trim(value);
  if (value.empty()) return params;
  const auto extensions = split(value, ',');
  if (extensions.size() != 1) return Errc::WebSocketProtocol;
  const auto parts = split(extensions[0], ';');
  if (!iequals(parts[0], "permessage-deflate")) return Errc::WebSocketProtocol;
  params.enabled = true;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string_view name = parts[i];
    std::string_view argument;
    if (const auto eq = name.find('='); eq != std::string_view::npos) {
      argument = trim(name.substr(eq + 1));
      name = trim(name.substr(0, eq));
      if (argument.size() >= 2 && argument.front() == '"' && argument.back() == '"')
        argument = argument.substr(1, argument.size() - 2);
    }
    auto bits = [&](int& out) -> bool {
      if (argument.empty()) return false;
      int v = 0;
      for (char c : argument) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
        if (v > 15) return false;
      }
      if (v < 8) return false;
      out = v;
      return true;
    };
    if (iequals(name, "server_no_context_takeover") && argument.empty()) {
      params.server_no_context_takeover = true;
    } else if (iequals(name, "client_no_context_takeover") && argument.empty()) {
      params.client_no_context_takeover = true;
    } else if (iequals(name, "server_max_window_bits")) {
      if (!bits(params.server_max_window_bits)) return Errc::WebSocketProtocol;
    } else if (iequals(name, "client_max_window_bits")) {
      if (!bits(params.client_max_window_bits)) return Errc::WebSocketProtocol;
    } else {
      return Errc::WebSocketProtocol;
    }
  }
  return params;
}

std::string filter_extension_offers(std::string_view value) {
  std::string kept;
  for (std::string_view offer : split(value, ',')) {
    const auto name = trim(offer.substr(0, offer.find(';')));
    if (!iequals(name, "permessage-deflate")) continue;
    if (!kept.empty()) kept += ", ";
    kept += offer;
  }
  return kept;
}

struct MessageInflater::State {
  z_stream stream{};
};

MessageInflater::MessageInflater(int window_bits, bool no_context_takeover)
    : state_(new State), no_context_takeover_(no_context_takeover) {
  // Our window is never smaller than the sender's: 15 reads every stream.
  (void)window_bits;
  inflateInit2(&state_->stream, -15);
}

MessageInflater::~MessageInflater() {
  inflateEnd(&state_->stream);
  delete state_;
}

Result<std::string> MessageInflater::inflate(std::string_view payload, std::size_t max_bytes) {
  z_stream& stream = state_->stream;
  std::string input(payload);
  input.append(kDeflateTail, 4);
  std::string out;
  std::string buffer(kChunk, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  while (true) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int rc = ::inflate(&stream, Z_SYNC_FLUSH);
    const std::size_t produced = buffer.size() - stream.avail_out;
    if (out.size() + produced > max_bytes) {
      inflateReset(&stream);
      return Errc::ExtractionLimit;
    }
    out.append(buffer.data(), produced);
    if (rc == Z_STREAM_END) {
      // A final block ends the sender's context: the next message starts afresh.
      inflateReset(&stream);
      break;
    }
    if (rc == Z_BUF_ERROR || (rc == Z_OK && stream.avail_in == 0 && stream.avail_out > 0)) break;
    if (rc != Z_OK) {
      inflateReset(&stream);
      return Errc::WebSocketProtocol;
    }
  }
  if (no_context_takeover_) inflateReset(&stream);
  return out;
}

struct MessageDeflater::State {
  z_stream stream{};
};

MessageDeflater::MessageDeflater(int window_bits, bool no_context_takeover)
    : state_(new State), no_context_takeover_(no_context_takeover) {
  // zlib cannot produce a 256-byte window; 9 is the smallest it writes.
  deflateInit2(&state_->stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -std::max(window_bits, 9), 8,
               Z_DEFAULT_STRATEGY);
}

MessageDeflater::~MessageDeflater() {
  deflateEnd(&state_->stream);
  delete state_;
}

Result<std::string> MessageDeflater::deflate(std::string_view text) {
  z_stream& stream = state_->stream;
  std::string out;
  std::string buffer(kChunk, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  do {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int rc = ::deflate(&stream, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return Errc::WebSocketProtocol;
    out.append(buffer.data(), buffer.size() - stream.avail_out);
  } while (stream.avail_out == 0);
  if (out.size() >= 4 && std::memcmp(out.data() + out.size() - 4, kDeflateTail, 4) == 0)
    out.resize(out.size() - 4);
  if (no_context_takeover_) deflateReset(&stream);
  return out;
}

}  // namespace gatekeeper::net::ws

#include "gatekeeper/net/websocket_relay.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <type_traits>

#include "gatekeeper/admin/metrics.hpp"
#include "gatekeeper/http/inspector.hpp"

namespace gatekeeper::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using error_code = beast::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr auto kCloseGrace = std::chrono::seconds(2);

std::string explanation_text(const http::InspectOutcome& outcome) {
  // The inspector's reply is the API error JSON (we ask for application/json): reuse its text.
  const auto parsed = nlohmann::json::parse(outcome.reply_body, nullptr, false);
  if (parsed.is_object()) {
    const auto error = parsed.find("error");
    if (error != parsed.end() && error->is_object()) {
      const auto message = error->find("message");
      if (message != error->end() && message->is_string()) return message->get<std::string>();
    }
  }
  return outcome.reply_body;
}

}  // namespace

MessageVerdict inspect_message(const config::Snapshot& snapshot, const WebSocketChannel& channel,
                               ws::Opcode opcode, std::string_view payload) {
  MessageVerdict verdict;
  try {
    http::InspectRequest request;
    request.host = channel.host;
    request.method = "WEBSOCKET";
    request.target = channel.target;
    // JSON messages (OpenAI realtime and responses events, Copilot's chat) go through the JSON
    // extractors; socket.io or SignalR framing around JSON is scanned as text.
    std::string content_type = "application/octet-stream";
    if (opcode == ws::Opcode::Text)
      content_type = nlohmann::json::accept(payload) ? "application/json"
                                                     : "text/plain; charset=utf-8";
    request.headers = {{"Accept", "application/json"}, {"Content-Type", content_type}};
    request.body = std::string(payload);
    request.client_address = channel.client_address;
    request.client_user = channel.client_user;
    request.connection_id = channel.connection_id;
    http::InspectOutcome outcome = http::inspect(snapshot, request);
    verdict.reference = outcome.reference_id;
    verdict.decision_record = std::move(outcome.decision_record);
    verdict.decision_record["channel"] = "websocket";
    verdict.decision_record["message_type"] = opcode == ws::Opcode::Text ? "text" : "binary";
    if (outcome.kind == http::InspectOutcome::Kind::Forward) {
      verdict.kind = MessageVerdict::Kind::Forward;
      verdict.modified = outcome.modified;
      verdict.payload = outcome.modified ? std::move(outcome.body) : std::string(payload);
      return verdict;
    }
    verdict.kind = MessageVerdict::Kind::Block;
    // Shaped like the OpenAI realtime / responses socket error event, which their clients show.
    verdict.explanation =
        nlohmann::json{{"type", "error"},
                       {"error",
                        {{"type", "gatekeeper_blocked"},
                         {"code", "blocked_by_policy"},
                         {"message", explanation_text(outcome)},
                         {"reference", verdict.reference}}}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return verdict;
  } catch (...) {
    verdict = {};
    verdict.kind = MessageVerdict::Kind::Block;
    verdict.explanation =
        R"({"type":"error","error":{"type":"gatekeeper_blocked","code":"internal_error",)"
        R"("message":"[Gatekeeper] Message bloqué par précaution : erreur interne.\n)"
        R"([Gatekeeper] Message blocked as a precaution: internal error."}})";
    verdict.decision_record = {{"host", channel.host},
                               {"channel", "websocket"},
                               {"action", "block"},
                               {"error", "internal"}};
    return verdict;
  }
}

namespace {

template <class Stream>
beast::tcp_stream& lowest_of(Stream& stream) {
  return beast::get_lowest_layer(stream);
}

// Both directions on the connection's strand. Client to server: frames are parsed, messages
// reassembled, decompressed, inspected and sent on (re-compressed by our own compressor so the
// server's decompression context always matches what it received). Server to client: bytes pass
// unchanged, with frame boundaries tracked so that a block message never lands inside a frame.
template <class ClientStream, class UpstreamStream>
class WebSocketRelay
    : public std::enable_shared_from_this<WebSocketRelay<ClientStream, UpstreamStream>> {
 public:
  WebSocketRelay(std::shared_ptr<ServerState> state, ClientStream client, UpstreamStream upstream,
                 beast::flat_buffer client_pending, beast::flat_buffer upstream_pending,
                 WebSocketChannel channel, std::shared_ptr<void> token)
      : state_(std::move(state)),
        client_(std::move(client)),
        upstream_(std::move(upstream)),
        client_pending_(std::move(client_pending)),
        upstream_pending_(std::move(upstream_pending)),
        channel_(std::move(channel)),
        token_(std::move(token)),
        snapshot_(state_->context.store->current()),
        assembler_(true, channel_.deflate.enabled, snapshot_->settings.websocket.max_message_bytes),
        tracker_(false, channel_.deflate.enabled),
        timer_(lowest_of(client_).get_executor()) {
    if (channel_.deflate.enabled) {
      inflater_.emplace(channel_.deflate.client_max_window_bits,
                        channel_.deflate.client_no_context_takeover);
      deflater_.emplace(channel_.deflate.client_max_window_bits,
                        channel_.deflate.client_no_context_takeover);
    }
    idle_ = snapshot_->settings.timeouts.tunnel_idle;
  }

  void start() {
    lowest_of(client_).expires_never();
    lowest_of(upstream_).expires_never();
    admin::Metrics::instance().count_connection("websocket");
    touch();
    arm_watchdog(idle_);
    // Server bytes that came with the 101 go first, then client bytes sent early.
    if (upstream_pending_.size() > 0) {
      std::string bytes = beast::buffers_to_string(upstream_pending_.data());
      upstream_pending_.consume(upstream_pending_.size());
      on_upstream_bytes(std::move(bytes));
    } else {
      read_upstream();
    }
    if (client_pending_.size() > 0) {
      std::string bytes = beast::buffers_to_string(client_pending_.data());
      client_pending_.consume(client_pending_.size());
      on_client_bytes(bytes);
    } else {
      read_client();
    }
  }

 private:
  using Self = WebSocketRelay;
  std::shared_ptr<Self> self() { return this->shared_from_this(); }

  // ---- Client to server: inspected ----------------------------------------------------------

  void read_client() {
    client_reading_ = true;
    client_.async_read_some(asio::buffer(client_chunk_),
                            beast::bind_front_handler(&Self::on_client_read, self()));
  }

  void on_client_read(error_code ec, std::size_t n) {
    client_reading_ = false;
    if (ec) {
      // The client left: let what is queued for the server go, then close.
      client_done_ = true;
      return finish();
    }
    touch();
    if (closing_) return read_client();  // after our close: drain until the client goes away
    on_client_bytes(std::string_view(client_chunk_.data(), n));
  }

  void on_client_bytes(std::string_view bytes) {
    assembler_.feed(bytes);
    while (!closing_) {
      auto event = assembler_.next();
      if (!event) {
        if (event.error() == Errc::InputTooLarge) {
          admin::Metrics::instance().count_error("websocket_message_too_big");
          return close_both(ws::kCloseMessageTooBig,
                            "Gatekeeper: message too big to inspect / message trop volumineux");
        }
        admin::Metrics::instance().count_error("websocket_protocol");
        return close_both(ws::kCloseProtocolError, "Gatekeeper: protocol error");
      }
      if (!*event) break;
      handle_client_event(std::move(**event));
    }
    if (closing_) return read_client();
    // Back-pressure: read more once what we produced has gone out.
    if (upstream_queue_.empty() && !upstream_writing_) return read_client();
    client_read_waiting_ = true;
  }

  void handle_client_event(ws::MessageAssembler::Event event) {
    using Kind = ws::MessageAssembler::Event::Kind;
    if (event.kind == Kind::Control) {
      // Ping, pong and close pass unchanged (already masked by the client).
      if (event.opcode == ws::Opcode::Close) client_close_sent_ = true;
      return send_upstream(std::move(event.raw));
    }
    std::string text = std::move(event.payload);
    const std::size_t limit = snapshot_->settings.websocket.max_message_bytes;
    if (event.compressed) {
      auto inflated = inflater_->inflate(text, limit);
      if (!inflated) {
        if (inflated.error() == Errc::ExtractionLimit) {
          admin::Metrics::instance().count_error("websocket_message_too_big");
          return close_both(ws::kCloseMessageTooBig,
                            "Gatekeeper: message too big to inspect / message trop volumineux");
        }
        admin::Metrics::instance().count_error("websocket_protocol");
        return close_both(ws::kCloseProtocolError, "Gatekeeper: undecodable compressed message");
      }
      text = std::move(*inflated);
    }
    snapshot_ = state_->context.store->current();
    MessageVerdict verdict = inspect_message(*snapshot_, channel_, event.opcode, text);
    if (state_->context.record_decision && !verdict.decision_record.is_null()) {
      auto recorded = state_->context.record_decision(verdict.decision_record);
      if (!recorded && verdict.kind == MessageVerdict::Kind::Forward &&
          snapshot_->settings.audit.fail_closed) {
        // Nothing reaches an AI platform without its audit record (audit.fail_closed).
        spdlog::error("{} websocket message to {} refused: the audit trail cannot record it ({})",
                      channel_.connection_id, channel_.host, recorded.error().message());
        admin::Metrics::instance().count_websocket_message("blocked");
        return close_both(ws::kClosePolicyViolation,
                          "Gatekeeper: audit unavailable / journal d'audit indisponible");
      }
    }
    if (verdict.kind == MessageVerdict::Kind::Block) {
      admin::Metrics::instance().count_websocket_message("blocked");
      return block(verdict);
    }
    admin::Metrics::instance().count_websocket_message(verdict.modified ? "redacted"
                                                                        : "forwarded");
    std::string payload = std::move(verdict.payload);
    bool rsv1 = false;
    if (event.compressed) {
      auto deflated = deflater_->deflate(payload);
      if (!deflated) return close_both(ws::kCloseProtocolError, "Gatekeeper: compression failed");
      payload = std::move(*deflated);
      rsv1 = true;
    }
    send_upstream(ws::make_frame(event.opcode, payload, true, rsv1, ws::random_mask()));
  }

  // ---- Server to client: relayed -----------------------------------------------------------

  void read_upstream() {
    upstream_.async_read_some(asio::buffer(upstream_chunk_),
                              beast::bind_front_handler(&Self::on_upstream_read, self()));
  }

  void on_upstream_read(error_code ec, std::size_t n) {
    if (ec) {
      upstream_done_ = true;
      return finish();
    }
    touch();
    if (closing_) return read_upstream();  // after a block nothing more reaches the client
    on_upstream_bytes(std::string(upstream_chunk_.data(), n));
  }

  void on_upstream_bytes(std::string bytes) {
    if (auto fed = tracker_.feed(bytes); !fed) {
      admin::Metrics::instance().count_error("websocket_protocol");
      return close_both(ws::kCloseProtocolError, "Gatekeeper: protocol error from the server");
    }
    client_queue_.push_back(std::move(bytes));
    upstream_read_waiting_ = true;  // resumed when the client has it
    write_client();
  }

  // ---- Writes ----------------------------------------------------------------------------

  void send_upstream(std::string frame) {
    upstream_queue_.push_back(std::move(frame));
    write_upstream();
  }

  void write_upstream() {
    if (upstream_writing_ || upstream_queue_.empty() || upstream_done_) return;
    upstream_writing_ = true;
    asio::async_write(upstream_, asio::buffer(upstream_queue_.front()),
                      beast::bind_front_handler(&Self::on_upstream_written, self()));
  }

  void on_upstream_written(error_code ec, std::size_t) {
    upstream_writing_ = false;
    if (ec) {
      upstream_done_ = true;
      upstream_queue_.clear();
      return finish();
    }
    touch();
    upstream_queue_.pop_front();
    if (!upstream_queue_.empty()) return write_upstream();
    if (closing_ || client_done_) return finish();
    if (client_read_waiting_) {
      client_read_waiting_ = false;
      read_client();
    }
  }

  void write_client() {
    if (client_writing_ || client_queue_.empty() || client_done_) return;
    client_writing_ = true;
    asio::async_write(client_, asio::buffer(client_queue_.front()),
                      beast::bind_front_handler(&Self::on_client_written, self()));
  }

  void on_client_written(error_code ec, std::size_t) {
    client_writing_ = false;
    if (ec) {
      client_done_ = true;
      client_queue_.clear();
      return finish();
    }
    touch();
    client_queue_.pop_front();
    if (!client_queue_.empty()) return write_client();
    if (closing_ || upstream_done_) return finish();
    if (upstream_read_waiting_) {
      upstream_read_waiting_ = false;
      read_upstream();
    }
  }

  // ---- Block and close -------------------------------------------------------------------

  // The client gets the explanation as a text message, then Close 1008; the server gets Close
  // 1008 too. What the client sent after the blocked message is dropped.
  void block(const MessageVerdict& verdict) {
    spdlog::info("{} websocket message to {} blocked (reference {})", channel_.connection_id,
                 channel_.host, verdict.reference);
    const std::string reason = "Gatekeeper: blocked / bloqué " + verdict.reference;
    close_both(ws::kClosePolicyViolation, reason, verdict.explanation);
  }

  void close_both(std::uint16_t code, std::string_view reason, std::string_view message = {}) {
    if (closing_) return;
    closing_ = true;
    client_read_waiting_ = false;
    upstream_read_waiting_ = false;
    if (!client_close_sent_)
      send_upstream(ws::make_frame(ws::Opcode::Close, ws::close_payload(code, reason), true, false,
                                   ws::random_mask()));
    // A frame of ours can only go between the server's frames and messages.
    if (tracker_.may_inject() && !tracker_.close_seen()) {
      if (!message.empty()) client_queue_.push_back(ws::make_frame(ws::Opcode::Text, message));
      client_queue_.push_back(ws::make_frame(ws::Opcode::Close, ws::close_payload(code, reason)));
    }
    write_client();
    write_upstream();
    // Keep reading both sides (and discarding) until they close or the grace period ends.
    grace_armed_ = true;
    arm_watchdog(kCloseGrace);
    finish();
  }

  // Once one side is gone, what is queued for the other goes out, then everything closes. After
  // our own close, the watchdog bounds the wait for the peers.
  void finish() {
    if (closed_) return;
    if (client_done_ && upstream_done_) return close_all();
    if (client_done_) {
      client_queue_.clear();
      if (upstream_queue_.empty() && !upstream_writing_) return close_all();
    } else if (upstream_done_) {
      upstream_queue_.clear();
      if (!client_queue_.empty() || client_writing_) return;
      // After a close handshake the client closes its side itself (so it sees a clean end);
      // the watchdog bounds the wait.
      if (!(closing_ || tracker_.close_seen())) return close_all();
      if (!grace_armed_) {
        grace_armed_ = true;
        closing_ = true;
        arm_watchdog(kCloseGrace);
      }
    }
  }

  void touch() { last_activity_ = std::chrono::steady_clock::now(); }

  void arm_watchdog(std::chrono::steady_clock::duration delay) {
    timer_.expires_after(delay);
    timer_.async_wait(beast::bind_front_handler(&Self::on_watchdog, self()));
  }

  void on_watchdog(error_code ec) {
    if (ec || closed_) return;
    if (closing_) return close_all();  // grace period over
    const auto idle_for = std::chrono::steady_clock::now() - last_activity_;
    if (idle_for >= idle_) {
      admin::Metrics::instance().count_error("websocket_idle_timeout");
      return close_all();
    }
    arm_watchdog(idle_ - idle_for);
  }

  void close_all() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    error_code ignored;
    lowest_of(upstream_).socket().close(ignored);
    if constexpr (std::is_same_v<ClientStream, TlsStream>) {
      // TLS close_notify when no read is pending, so the client sees a clean end of stream.
      if (!client_reading_ && !client_writing_) {
        lowest_of(client_).expires_after(kCloseGrace);
        client_.async_shutdown([self = self()](error_code) {
          error_code ignored_too;
          lowest_of(self->client_).socket().close(ignored_too);
        });
        return;
      }
    }
    lowest_of(client_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    lowest_of(client_).socket().close(ignored);
  }

  std::shared_ptr<ServerState> state_;
  ClientStream client_;
  UpstreamStream upstream_;
  beast::flat_buffer client_pending_;
  beast::flat_buffer upstream_pending_;
  WebSocketChannel channel_;
  std::shared_ptr<void> token_;
  config::SnapshotConstSharedPtr snapshot_;
  ws::MessageAssembler assembler_;
  ws::FrameTracker tracker_;
  std::optional<ws::MessageInflater> inflater_;
  std::optional<ws::MessageDeflater> deflater_;
  asio::steady_timer timer_;
  std::chrono::milliseconds idle_{600'000};
  std::chrono::steady_clock::time_point last_activity_;

  std::array<char, kReadChunk> client_chunk_{};
  std::array<char, kReadChunk> upstream_chunk_{};
  std::deque<std::string> upstream_queue_;
  std::deque<std::string> client_queue_;
  bool upstream_writing_ = false;
  bool client_writing_ = false;
  bool client_read_waiting_ = false;
  bool upstream_read_waiting_ = false;
  bool client_close_sent_ = false;
  bool client_done_ = false;
  bool upstream_done_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool client_reading_ = false;
  bool grace_armed_ = false;
};

}  // namespace

void start_websocket_relay(std::shared_ptr<ServerState> state, TlsStream client,
                           TlsStream upstream, beast::flat_buffer client_pending,
                           beast::flat_buffer upstream_pending, WebSocketChannel channel,
                           std::shared_ptr<void> token) {
  std::make_shared<WebSocketRelay<TlsStream, TlsStream>>(
      std::move(state), std::move(client), std::move(upstream), std::move(client_pending),
      std::move(upstream_pending), std::move(channel), std::move(token))
      ->start();
}

void start_websocket_relay(std::shared_ptr<ServerState> state, beast::tcp_stream client,
                           beast::tcp_stream upstream, beast::flat_buffer client_pending,
                           beast::flat_buffer upstream_pending, WebSocketChannel channel,
                           std::shared_ptr<void> token) {
  std::make_shared<WebSocketRelay<beast::tcp_stream, beast::tcp_stream>>(
      std::move(state), std::move(client), std::move(upstream), std::move(client_pending),
      std::move(upstream_pending), std::move(channel), std::move(token))
      ->start();
}

}  // namespace gatekeeper::net

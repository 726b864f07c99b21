#include "gatekeeper/net/session.hpp"

#include <openssl/rand.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <type_traits>

#include "gatekeeper/admin/metrics.hpp"
#include "gatekeeper/http/inspector.hpp"
#include "gatekeeper/http/local_reply.hpp"
#include "gatekeeper/net/pac.hpp"
#include "gatekeeper/net/routing.hpp"
#include "gatekeeper/net/websocket_relay.hpp"
#include "gatekeeper/tls/certificate_authority.hpp"

namespace gatekeeper::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Reply = bhttp::response<bhttp::string_body>;

constexpr std::size_t kRelayChunk = 16 * 1024;
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

admin::Metrics& metrics() { return admin::Metrics::instance(); }

// The one error funnel. Ignored, because they are ordinary ends of a connection:
//  - operation_aborted: we cancelled the operation ourselves (close, stop).
//  - http::error::end_of_stream, asio::error::eof: the peer closed between messages.
//  - ssl::error::stream_truncated: the peer closed TLS without close_notify; had this cut a
//    message short, Beast would have reported partial_message instead.
//  - connection_reset, broken_pipe: the peer went away.
// Timeouts are counted; anything else is counted and logged at debug (no request content in it).
void fail(error_code ec, std::string_view what, std::string_view connection_id) {
  if (ec == asio::error::operation_aborted || ec == bhttp::error::end_of_stream ||
      ec == asio::error::eof || ec == ssl::error::stream_truncated ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return;
  }
  if (ec == beast::error::timeout) {
    metrics().count_error("timeout");
    spdlog::debug("{} {}: timed out", connection_id, what);
    return;
  }
  metrics().count_error("io_error");
  spdlog::debug("{} {}: {}", connection_id, what, ec.message());
}

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
         ec != bhttp::error::need_buffer;
}

// Connection: upgrade and Upgrade: websocket (RFC 6455 §4.1), tokens compared case-insensitively.
bool has_token(const bhttp::fields& fields, bhttp::field name, std::string_view token) {
  const auto [first, last] = fields.equal_range(name);
  for (auto it = first; it != last; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (beast::iequals(item, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool is_websocket_upgrade(const bhttp::fields& fields) {
  return has_token(fields, bhttp::field::connection, "upgrade") &&
         has_token(fields, bhttp::field::upgrade, "websocket");
}

bool is_proxy_header(std::string_view name) {
  return name.size() >= 6 && beast::iequals(name.substr(0, 6), "proxy-");
}

bool expects_continue(const bhttp::fields& fields) {
  const auto it = fields.find(bhttp::field::expect);
  return it != fields.end() && beast::iequals(it->value(), "100-continue");
}

std::string make_reference() {
  std::array<unsigned char, 6> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<unsigned char>(now >> (8 * i));
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "GK-";
  for (const auto b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", text, static_cast<int>(millis));
  return out;
}

std::string seconds_text(std::chrono::milliseconds ms) {
  return std::to_string((ms.count() + 999) / 1000) + " s";
}

Reply local_reply(bhttp::status status, std::string body, bool close) {
  Reply res{status, 11};
  res.set(bhttp::field::server, "gatekeeper");
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.keep_alive(!close);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

struct ConnectionInfo {
  std::string id;
  std::string client_address;
  bool permitted = false;
  std::string user;                     // authenticated proxy user
  std::string verified_authorization;   // header value already verified on this connection
  HostPort connect_destination;         // intercepted sessions: the CONNECT host and port
  std::shared_ptr<void> session_token;  // keeps the connection counted while any part is alive
};

// Blind byte relay for CONNECT to non-AI hosts: no decryption, half-close passed through, one
// idle watchdog for both directions (a download keeps the silent upload direction alive).
class Tunnel : public std::enable_shared_from_this<Tunnel> {
 public:
  Tunnel(std::shared_ptr<ServerState> state, beast::tcp_stream client, beast::tcp_stream upstream,
         beast::flat_buffer pending, ConnectionInfo info, std::chrono::milliseconds idle)
      : state_(std::move(state)),
        client_(std::move(client)),
        upstream_(std::move(upstream)),
        pending_(std::move(pending)),
        info_(std::move(info)),
        idle_(idle),
        timer_(client_.get_executor()) {}

  void start() {
    client_.expires_never();
    upstream_.expires_never();
    last_activity_ = std::chrono::steady_clock::now();
    arm_watchdog(idle_);
    // Bytes the client sent right behind the CONNECT head belong to the tunnel.
    if (pending_.size() > 0) {
      asio::async_write(upstream_, pending_.data(),
                        beast::bind_front_handler(&Tunnel::on_pending_written, shared_from_this()));
      return;
    }
    do_read(0);
    do_read(1);
  }

 private:
  struct Direction {
    std::array<char, kRelayChunk> buffer;
    bool done = false;
  };

  beast::tcp_stream& from(int d) { return d == 0 ? client_ : upstream_; }
  beast::tcp_stream& to(int d) { return d == 0 ? upstream_ : client_; }

  void on_pending_written(error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "tunnel write", info_.id);
      return close_all();
    }
    pending_.consume(pending_.size());
    do_read(0);
    do_read(1);
  }

  void do_read(int d) {
    from(d).async_read_some(asio::buffer(directions_[d].buffer),
                            beast::bind_front_handler(&Tunnel::on_read, shared_from_this(), d));
  }

  void on_read(int d, error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec == asio::error::eof) {
      // Half-close: pass the end of this direction on and keep relaying the other one.
      error_code ignored;
      to(d).socket().shutdown(tcp::socket::shutdown_send, ignored);
      directions_[d].done = true;
      if (directions_[1 - d].done) close_all();
      return;
    }
    if (ec) {
      fail(ec, "tunnel read", info_.id);
      return close_all();
    }
    last_activity_ = std::chrono::steady_clock::now();
    asio::async_write(to(d), asio::buffer(directions_[d].buffer.data(), n),
                      beast::bind_front_handler(&Tunnel::on_write, shared_from_this(), d));
  }

  void on_write(int d, error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) {
      fail(ec, "tunnel write", info_.id);
      return close_all();
    }
    last_activity_ = std::chrono::steady_clock::now();
    do_read(d);
  }

  void arm_watchdog(std::chrono::steady_clock::duration delay) {
    timer_.expires_after(delay);
    timer_.async_wait(beast::bind_front_handler(&Tunnel::on_watchdog, shared_from_this()));
  }

  void on_watchdog(error_code ec) {
    if (ec || closed_) return;
    const auto idle_for = std::chrono::steady_clock::now() - last_activity_;
    if (idle_for >= idle_) {
      metrics().count_error("tunnel_idle_timeout");
      return close_all();
    }
    arm_watchdog(idle_ - idle_for);
  }

  void close_all() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    error_code ignored;
    client_.socket().close(ignored);
    upstream_.socket().close(ignored);
  }

  std::shared_ptr<ServerState> state_;
  beast::tcp_stream client_;
  beast::tcp_stream upstream_;
  beast::flat_buffer pending_;
  ConnectionInfo info_;
  std::chrono::milliseconds idle_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point last_activity_;
  std::array<Direction, 2> directions_;
  bool closed_ = false;
};

// One client connection speaking HTTP/1.1. Plain sessions (tcp_stream) take absolute-form
// requests and CONNECT; intercepted sessions (TLS on both sides) serve origin-form requests for
// the CONNECT host. Every step arms a timer, and handlers open with the error check.
template <class ClientStream, class UpstreamStream>
class HttpSession : public StopListener,
                    public std::enable_shared_from_this<HttpSession<ClientStream, UpstreamStream>> {
  static constexpr bool kIntercept = kIsTls<ClientStream>;

 public:
  HttpSession(std::shared_ptr<ServerState> state, ClientStream client, beast::flat_buffer buffer,
              ConnectionInfo info)
      : state_(std::move(state)),
        client_(std::move(client)),
        buffer_(std::move(buffer)),
        info_(std::move(info)),
        resolver_(client_.get_executor()),
        resolve_timer_(client_.get_executor()) {}

  // Plain sessions: get onto the connection's strand, then read the first request.
  void run() {
    state_->add_listener(this->shared_from_this());
    asio::dispatch(client_.get_executor(),
                   beast::bind_front_handler(&HttpSession::do_read_head, self()));
  }

  // Intercepted sessions: TLS-accept the client, handing over bytes already read.
  void run_tls() {
    state_->add_listener(this->shared_from_this());
    if constexpr (kIntercept) {
      // A client that sends no SNI gets a certificate for the CONNECT host.
      tls::set_fallback_host(client_.native_handle(), info_.connect_destination.host);
      lowest().expires_after(snapshot()->settings.timeouts.tls_handshake);
      client_.async_handshake(ssl::stream_base::server, buffer_.data(),
                              beast::bind_front_handler(&HttpSession::on_tls_handshake, self()));
    }
  }

  void on_server_stop() override {
    asio::post(client_.get_executor(), [self = self()] {
      // Idle between requests: close now. Busy: the exchange ends, then the connection closes.
      if (self->idle_ && !self->handed_off_) beast::get_lowest_layer(self->client_).cancel();
    });
  }

 private:
  std::shared_ptr<HttpSession> self() { return this->shared_from_this(); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(client_); }
  const config::SnapshotConstSharedPtr& snapshot() {
    if (!snapshot_) snapshot_ = state_->context.store->current();
    return snapshot_;
  }
  const config::Timeouts& timeouts() { return snapshot()->settings.timeouts; }

  void on_tls_handshake(error_code ec, std::size_t used) {
    if (ec) {
      // Usually a client that does not trust the local CA yet.
      metrics().count_error("client_tls_handshake");
      spdlog::info("{} TLS handshake with the client for {} failed: {}", info_.id,
                   info_.connect_destination.host, ec.message());
      return;
    }
    buffer_.consume(used);
    do_read_head();
  }

  // ---- Request head ---------------------------------------------------------------------

  void do_read_head() {
    snapshot_ = state_->context.store->current();
    if (state_->stopping.load() && requests_ > 0) return do_close();
    head_parser_.emplace();
    head_parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(snapshot_->settings.max_header_bytes, UINT32_MAX)));
    // The head parser never reads a body; the body limit is set when a body is read.
    head_parser_->body_limit(boost::none);
    lowest().expires_after(requests_ == 0 ? timeouts().request_header : timeouts().keep_alive_idle);
    idle_ = true;
    bhttp::async_read_header(client_, buffer_, *head_parser_,
                             beast::bind_front_handler(&HttpSession::on_read_head, self()));
  }

  void on_read_head(error_code ec, std::size_t) {
    idle_ = false;
    if (ec == bhttp::error::header_limit) {
      metrics().count_error("header_too_large");
      return send_reply(
          local_reply(bhttp::status::request_header_fields_too_large,
                      "gatekeeper: the request headers are larger than the limit of " +
                          std::to_string(snapshot_->settings.max_header_bytes) + " bytes.\n",
                      true));
    }
    if (is_http_parse_error(ec)) {
      metrics().count_error("malformed_request");
      return send_reply(local_reply(bhttp::status::bad_request,
                                    "gatekeeper: malformed HTTP request (" + ec.message() + ").\n",
                                    true));
    }
    if (ec) {
      if (ec == beast::error::timeout) metrics().count_error("client_timeout");
      fail(ec, "read request head", info_.id);
      return do_close();
    }
    ++requests_;
    auto& request = head_parser_->get();
    method_ = request.method();
    client_keep_alive_ = request.keep_alive();
    if (!info_.permitted) {
      metrics().count_error("client_not_allowed");
      return send_reply(local_reply(bhttp::status::forbidden,
                                    "gatekeeper: this client address may not use the proxy.\n",
                                    true));
    }
    if constexpr (!kIntercept) {
      if (!authenticate(request)) {
        metrics().count_error("proxy_auth_required");
        auto reply = local_reply(bhttp::status::proxy_authentication_required,
                                 "gatekeeper: proxy authentication required.\n", true);
        reply.set(bhttp::field::proxy_authenticate, "Basic realm=\"gatekeeper\"");
        return send_reply(std::move(reply));
      }
    }
    const std::string_view target = request.target();
    if (method_ == bhttp::verb::connect) {
      if constexpr (kIntercept) {
        return send_reply(local_reply(bhttp::status::bad_request,
                                      "gatekeeper: CONNECT inside a tunnel is not supported.\n",
                                      true));
      } else {
        return handle_connect();
      }
    }
    if constexpr (kIntercept) {
      if (target.empty() || target.front() != '/') {
        return send_reply(local_reply(bhttp::status::bad_request,
                                      "gatekeeper: expected an origin-form request target.\n",
                                      true));
      }
      destination_ = info_.connect_destination;
      origin_target_ = std::string(target);
    } else {
      if (!target.empty() && target.front() == '/') return serve_local();
      auto absolute = parse_http_absolute_target(target);
      if (!absolute) {
        metrics().count_error("malformed_request");
        return send_reply(local_reply(
            bhttp::status::bad_request,
            "gatekeeper: this is a forward proxy: send http:// URLs in absolute form, or CONNECT "
            "host:port for HTTPS.\n",
            true));
      }
      if (!counted_http_) {
        counted_http_ = true;
        metrics().count_connection("http");
      }
      destination_ = std::move(absolute->destination);
      origin_target_ = std::move(absolute->origin_target);
    }
    start_exchange();
  }

  // Proxy-Authorization: Basic, verified once per connection and header value (password
  // hashes are deliberately slow).
  bool authenticate(const bhttp::request<bhttp::empty_body>& request) {
    const auto& credentials = snapshot_->credentials;
    if (!credentials) return true;
    const auto it = request.find(bhttp::field::proxy_authorization);
    if (it == request.end()) return false;
    if (!info_.verified_authorization.empty() && it->value() == info_.verified_authorization) {
      return true;
    }
    const auto basic = parse_basic_authorization(it->value());
    if (!basic || !credentials->verify(basic->user, basic->password)) return false;
    info_.user = basic->user;
    info_.verified_authorization = std::string(it->value());
    return true;
  }

  // GET /proxy.pac and /healthz addressed to the proxy itself.
  void serve_local() {
    auto& request = head_parser_->get();
    std::string_view path = request.target();
    path = path.substr(0, path.find('?'));
    // A body we do not read makes the stream state uncertain: close after the reply.
    const bool close = !client_keep_alive_ || !head_parser_->is_done();
    if (method_ != bhttp::verb::get && method_ != bhttp::verb::head) {
      return send_reply(local_reply(bhttp::status::method_not_allowed,
                                    "gatekeeper: only GET is served here.\n", close));
    }
    if (path == "/healthz") return send_reply(local_reply(bhttp::status::ok, "ok\n", close));
    if (path == "/proxy.pac") {
      metrics().count_connection("pac");
      error_code ec;
      const auto local = lowest().socket().local_endpoint(ec);
      HostPort proxy{local.address().to_string(), local.port()};
      if (const auto host = request.find(bhttp::field::host); host != request.end()) {
        if (auto parsed = split_host_port(host->value(), local.port())) proxy = std::move(*parsed);
      }
      const config::PlatformRegistry empty;
      const auto& platforms = snapshot_->platforms ? *snapshot_->platforms : empty;
      auto reply =
          local_reply(bhttp::status::ok, make_pac(platforms, proxy.host, proxy.port), close);
      reply.set(bhttp::field::content_type, "application/x-ns-proxy-autoconfig");
      return send_reply(std::move(reply));
    }
    return send_reply(local_reply(bhttp::status::not_found,
                                  "gatekeeper: unknown path; this proxy serves /proxy.pac and "
                                  "/healthz.\n",
                                  close));
  }

  Reply denied_reply(const config::DeniedPlatform& denied, const std::string& host) {
    std::string body;
    body += "Accès refusé par gatekeeper : " + denied.name + " (" + host + ").\n";
    body += denied.reason_fr + "\n\n";
    body += "Access denied by gatekeeper: " + denied.name + " (" + host + ").\n";
    body += denied.reason_en + "\n";
    return local_reply(bhttp::status::forbidden, std::move(body), true);
  }

  void record_denied(const config::DeniedPlatform& denied, const std::string& host) {
    metrics().count_connection("denied");
    if (!state_->context.record_decision) return;
    (void)state_->context.record_decision(
        nlohmann::json{{"ts", utc_now()},
                       {"event", "platform_denied"},
                       {"host", host},
                       {"platform", denied.name},
                       {"connection_id", info_.id},
                       {"client", {{"ip", info_.client_address}, {"user", info_.user}}}});
  }

  // ---- CONNECT ------------------------------------------------------------------------

  void handle_connect() {
    auto destination = split_host_port(head_parser_->get().target(), 443);
    if (!destination) {
      metrics().count_error("malformed_request");
      return send_reply(local_reply(bhttp::status::bad_request,
                                    "gatekeeper: CONNECT needs a host:port target.\n", true));
    }
    destination_ = std::move(*destination);
    const auto decision = decide_connect(snapshot_->platforms.get(), destination_.host);
    switch (decision.action) {
      case ConnectAction::Deny:
        record_denied(*decision.denied, destination_.host);
        return send_reply(denied_reply(*decision.denied, destination_.host));
      case ConnectAction::Intercept:
        if (!state_->client_tls || !state_->upstream_tls) {
          metrics().count_error("intercept_unavailable");
          return send_reply(
              local_reply(bhttp::status::service_unavailable,
                          "gatekeeper: TLS inspection is not configured; AI platforms "
                          "cannot be reached through this proxy.\n",
                          true));
        }
        metrics().count_connection("intercept");
        after_connect_ = AfterConnect::None;
        return write_established();
      case ConnectAction::Tunnel:
        metrics().count_connection("tunnel");
        after_connect_ = AfterConnect::Tunnel;
        return ensure_upstream();
    }
  }

  void write_established() {
    lowest().expires_after(timeouts().request_body);
    asio::async_write(client_, asio::buffer(kEstablished.data(), kEstablished.size()),
                      beast::bind_front_handler(&HttpSession::on_established, self()));
  }

  void on_established(error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "write 200 established", info_.id);
      return do_close();
    }
    if constexpr (!kIntercept) {
      handed_off_ = true;
      if (after_connect_ == AfterConnect::Tunnel) {
        std::make_shared<Tunnel>(state_, std::move(client_), std::move(*upstream_),
                                 std::move(buffer_), std::move(info_), timeouts().tunnel_idle)
            ->start();
        return;
      }
      info_.connect_destination = destination_;
      TlsStream tls_client(std::move(client_), *state_->client_tls);
      auto session = std::make_shared<HttpSession<TlsStream, TlsStream>>(
          state_, std::move(tls_client), std::move(buffer_), std::move(info_));
      session->run_tls();
    }
  }

  // ---- Exchange -----------------------------------------------------------------------

  void start_exchange() {
    const auto decision = decide_connect(snapshot_->platforms.get(), destination_.host);
    if (decision.action == ConnectAction::Deny) {
      record_denied(*decision.denied, destination_.host);
      return send_reply(denied_reply(*decision.denied, destination_.host));
    }
    // An intercepted connection stays inspected even if a reload removed its host.
    inspect_ = kIntercept || decision.action == ConnectAction::Intercept;
    platform_id_ = decision.platform ? decision.platform->id : std::string();
    metrics().count_request(platform_id_.empty() ? std::string_view("other") : platform_id_);
    websocket_upgrade_ = inspect_ && is_websocket_upgrade(head_parser_->get());
    if (websocket_upgrade_ && !snapshot_->settings.websocket.inspect) {
      metrics().count_error("upgrade_unsupported");
      return send_reply(
          local_reply(bhttp::status::bad_gateway,
                      "gatekeeper: WebSocket connections to AI platforms are disabled "
                      "(websocket.inspect: false).\n",
                      true));
    }
    if (inspect_) return begin_buffered();
    if constexpr (!kIntercept) begin_streamed();
  }

  // Requests to AI hosts: read the whole body (bounded), inspect, then forward or reply.
  void begin_buffered() {
    body_parser_.emplace(std::move(*head_parser_));
    body_parser_->body_limit(snapshot_->settings.max_body_bytes);
    body_too_large_ = false;
    const auto length = body_parser_->content_length();
    if (length && *length > snapshot_->settings.max_body_bytes) {
      // The head alone means a reject: no 100 Continue, no reading.
      body_too_large_ = true;
      return run_inspection();
    }
    if (expects_continue(body_parser_->get()) && !body_parser_->is_done()) {
      lowest().expires_after(timeouts().request_body);
      return asio::async_write(client_, asio::buffer(kContinue.data(), kContinue.size()),
                               beast::bind_front_handler(&HttpSession::on_continue_sent, self()));
    }
    do_read_body();
  }

  void on_continue_sent(error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "write 100 continue", info_.id);
      return do_close();
    }
    do_read_body();
  }

  void do_read_body() {
    if (body_parser_->is_done()) return run_inspection();
    // Idle timer: re-armed for every read, so a steady upload never times out.
    lowest().expires_after(timeouts().request_body);
    bhttp::async_read_some(client_, buffer_, *body_parser_,
                           beast::bind_front_handler(&HttpSession::on_read_body, self()));
  }

  void on_read_body(error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) {
      body_too_large_ = true;
      return run_inspection();
    }
    if (is_http_parse_error(ec)) {
      metrics().count_error("malformed_request");
      return send_reply(local_reply(bhttp::status::bad_request,
                                    "gatekeeper: malformed request body (" + ec.message() + ").\n",
                                    true));
    }
    if (ec) {
      if (ec == beast::error::timeout) metrics().count_error("client_timeout");
      fail(ec, "read request body", info_.id);
      return do_close();
    }
    do_read_body();
  }

  void run_inspection() {
    auto& request = body_parser_->get();
    http::InspectRequest inspected;
    inspected.host = destination_.host;
    inspected.method = std::string(request.method_string());
    inspected.target = origin_target_;
    inspected.headers.reserve(16);
    had_body_ = request.has_content_length() || request.chunked();
    for (const auto& field : request) {
      if (is_proxy_header(field.name_string())) continue;  // credentials stay here
      inspected.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (!body_too_large_) inspected.body = std::move(request.body());
    inspected.body_too_large = body_too_large_;
    inspected.client_address = info_.client_address;
    inspected.client_user = info_.user;
    inspected.connection_id = info_.id;
    inspected.pseudonymizer = state_->context.pseudonymizer.get();

    // GET/HEAD/OPTIONS without content carry no prompt: forwarded without a scan.
    http::InspectOutcome outcome;
    if (body_too_large_ || http::needs_inspection(inspected.method, inspected.headers)) {
      outcome = http::inspect(*snapshot_, inspected);
    }
    if (state_->context.record_decision && !outcome.decision_record.is_null()) {
      if (auto recorded = state_->context.record_decision(outcome.decision_record);
          !recorded && outcome.kind == http::InspectOutcome::Kind::Forward &&
          snapshot_->settings.audit.fail_closed) {
        // Nothing reaches an AI platform without its audit record (audit.fail_closed).
        spdlog::error("{} request to {} refused: the audit trail cannot record it ({})", info_.id,
                      destination_.host, recorded.error().message());
        return send_reply(audit_unavailable_reply(inspected, outcome.reference_id));
      }
    }
    const bool body_unread = body_too_large_ || !body_parser_->is_done();
    if (outcome.kind == http::InspectOutcome::Kind::Reply || body_too_large_) {
      Reply reply;
      if (outcome.kind == http::InspectOutcome::Kind::Reply) {
        reply.result(static_cast<unsigned>(outcome.status));
        reply.version(11);
        for (const auto& [name, value] : outcome.reply_headers) reply.insert(name, value);
        reply.body() = std::move(outcome.reply_body);
      } else {
        // Never forward a body that could not be inspected, whatever the inspector said.
        reply = local_reply(bhttp::status::payload_too_large, "", true);
        reply.body() = too_large_text();
      }
      reply.prepare_payload();
      reply.keep_alive(client_keep_alive_ && !body_unread);
      return send_reply(std::move(reply));
    }

    // Forward: the redacted body, or the original one moved back (no copy).
    outgoing_ = {};
    outgoing_.method_string(inspected.method);
    outgoing_.target(origin_target_);
    outgoing_.version(11);
    const auto& headers = outcome.headers.empty() ? inspected.headers : outcome.headers;
    for (const auto& [name, value] : headers) {
      if (is_proxy_header(name) || beast::iequals(name, "content-length") ||
          beast::iequals(name, "transfer-encoding") || beast::iequals(name, "expect")) {
        continue;
      }
      outgoing_.insert(name, value);
    }
    if (websocket_upgrade_) {
      // Only permessage-deflate may be negotiated: the relay must be able to read every frame.
      const auto offers = outgoing_.find(bhttp::field::sec_websocket_extensions);
      if (offers != outgoing_.end()) {
        const std::string kept = ws::filter_extension_offers(offers->value());
        outgoing_.erase(bhttp::field::sec_websocket_extensions);
        if (!kept.empty()) outgoing_.set(bhttp::field::sec_websocket_extensions, kept);
      }
    }
    outgoing_.body() = outcome.modified ? std::move(outcome.body) : std::move(inspected.body);
    if (outgoing_.find(bhttp::field::host) == outgoing_.end()) {
      outgoing_.set(bhttp::field::host, host_header());
    }
    if (had_body_ || !outgoing_.body().empty()) outgoing_.content_length(outgoing_.body().size());
    streamed_ = false;
    replayable_ = true;
    after_connect_ = AfterConnect::SendBuffered;
    ensure_upstream();
  }

  // 503 in the shape the client expects (API error JSON, event stream or page), FR then EN.
  Reply audit_unavailable_reply(const http::InspectRequest& inspected,
                                const std::string& reference) const {
    std::string adapter = "generic";
    http::ReplyContent content;
    content.reason = http::ReplyReason::Failure;
    content.reference = reference;
    if (snapshot_->platforms) {
      if (const auto match = snapshot_->platforms->match(destination_.host); match.platform) {
        adapter = match.platform->adapter;
        content.platform_name = match.platform->name;
      }
    }
    content.detail_fr = "le journal d'audit ne peut pas enregistrer la requête pour le moment";
    content.detail_en = "the audit trail cannot record the request at the moment";
    std::string_view path = inspected.target;
    path = path.substr(0, path.find('?'));
    std::string accept;
    for (const auto& [name, value] : inspected.headers)
      if (beast::iequals(name, "accept")) accept = value;
    auto local = http::make_local_reply(
        extract::reply_family(extract::select_endpoint(adapter, path)), accept, content);
    Reply reply;
    reply.result(bhttp::status::service_unavailable);
    reply.version(11);
    for (const auto& [name, value] : local.headers) reply.insert(name, value);
    reply.body() = std::move(local.body);
    reply.prepare_payload();
    reply.keep_alive(client_keep_alive_);
    return reply;
  }

  std::string too_large_text() const {
    const auto limit = std::to_string(snapshot_->settings.max_body_bytes);
    return "gatekeeper : requête refusée, le contenu dépasse la taille maximale inspectable (" +
           limit + " octets) ; rien n'a été envoyé.\n" +
           "gatekeeper: request refused, the body exceeds the inspection limit (" + limit +
           " bytes); nothing was sent.\n";
  }

  std::string host_header() const {
    const std::uint16_t default_port = kIntercept ? 443 : 80;
    if (destination_.port == default_port) return destination_.host;
    if (destination_.host.find(':') != std::string::npos) {
      return "[" + destination_.host + "]:" + std::to_string(destination_.port);
    }
    return destination_.host + ":" + std::to_string(destination_.port);
  }

  // Other hosts over plain HTTP: forwarded as they arrive, body streamed, nothing buffered.
  void begin_streamed() {
    stream_parser_.emplace(std::move(*head_parser_));
    stream_parser_->body_limit(boost::none);
    auto& request = stream_parser_->get();
    request.target(origin_target_);
    for (auto it = request.begin(); it != request.end();) {
      it = is_proxy_header(it->name_string()) ? request.erase(it) : std::next(it);
    }
    // We answer Expect ourselves once the upstream is connected.
    send_continue_ = expects_continue(request) && !stream_parser_->is_done();
    if (send_continue_) request.erase(bhttp::field::expect);
    streamed_ = true;
    replayable_ = stream_parser_->is_done();  // nothing consumed from the client yet
    after_connect_ = AfterConnect::SendStreamed;
    ensure_upstream();
  }

  // ---- Upstream connection ------------------------------------------------------------

  void ensure_upstream() {
    if (upstream_ && after_connect_ != AfterConnect::Tunnel &&
        upstream_key_.host == destination_.host && upstream_key_.port == destination_.port &&
        beast::get_lowest_layer(*upstream_).socket().is_open()) {
      upstream_reused_ = true;
      return after_connect();
    }
    do_connect_upstream();
  }

  void do_connect_upstream() {
    upstream_.reset();
    upstream_buffer_.clear();
    upstream_reused_ = false;
    dial_ = remap_connect_to(snapshot_->settings.connect_to, destination_);
    // Name resolution has no timer of its own: cancel it when the connect budget runs out.
    resolve_timed_out_ = false;
    resolve_timer_.expires_after(timeouts().upstream_connect);
    resolve_timer_.async_wait([self = self()](error_code ec) {
      if (ec) return;
      self->resolve_timed_out_ = true;
      self->resolver_.cancel();
    });
    resolver_.async_resolve(dial_.host, std::to_string(dial_.port),
                            beast::bind_front_handler(&HttpSession::on_resolve, self()));
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    resolve_timer_.cancel();
    if (resolve_timed_out_) {
      metrics().count_error("upstream_timeout");
      return upstream_failed(bhttp::status::gateway_timeout,
                             "gatekeeper: the name " + destination_.host +
                                 " did not resolve within " +
                                 seconds_text(timeouts().upstream_connect) + ".\n");
    }
    if (ec) {
      metrics().count_error("upstream_unreachable");
      return upstream_failed(
          bhttp::status::bad_gateway,
          "gatekeeper: cannot resolve " + destination_.host + " (" + ec.message() + ").\n");
    }
    if constexpr (kIsTls<UpstreamStream>) {
      upstream_.emplace(client_.get_executor(), *state_->upstream_tls);
    } else {
      upstream_.emplace(client_.get_executor());
    }
    auto& lowest_upstream = beast::get_lowest_layer(*upstream_);
    lowest_upstream.expires_after(timeouts().upstream_connect);
    lowest_upstream.async_connect(results,
                                  beast::bind_front_handler(&HttpSession::on_connect, self()));
  }

  void on_connect(error_code ec, const tcp::endpoint&) {
    if (ec == beast::error::timeout) {
      metrics().count_error("upstream_timeout");
      return upstream_failed(bhttp::status::gateway_timeout,
                             "gatekeeper: " + destination_.host +
                                 " did not accept the connection within " +
                                 seconds_text(timeouts().upstream_connect) + ".\n");
    }
    if (ec) {
      metrics().count_error("upstream_unreachable");
      return upstream_failed(
          bhttp::status::bad_gateway,
          "gatekeeper: cannot connect to " + destination_.host + " (" + ec.message() + ").\n");
    }
    error_code ignored;
    beast::get_lowest_layer(*upstream_).socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (kIsTls<UpstreamStream>) {
      // Verification is against the real host name, never the connect-to address.
      if (auto configured =
              tls::configure_upstream_ssl(upstream_->native_handle(), destination_.host);
          !configured) {
        metrics().count_error("upstream_tls_setup");
        return upstream_failed(
            bhttp::status::bad_gateway,
            "gatekeeper: cannot set up TLS towards " + destination_.host + ".\n");
      }
      beast::get_lowest_layer(*upstream_).expires_after(timeouts().tls_handshake);
      upstream_->async_handshake(
          ssl::stream_base::client,
          beast::bind_front_handler(&HttpSession::on_upstream_handshake, self()));
    } else {
      on_upstream_ready();
    }
  }

  void on_upstream_handshake(error_code ec) {
    if constexpr (kIsTls<UpstreamStream>) {
      if (ec) {
        const long verify = SSL_get_verify_result(upstream_->native_handle());
        const std::string reference = make_reference();
        std::string reason =
            verify != X509_V_OK ? X509_verify_cert_error_string(verify) : ec.message();
        metrics().count_error("upstream_tls_error");
        if (state_->context.record_decision) {
          (void)state_->context.record_decision(
              nlohmann::json{{"ts", utc_now()},
                             {"event", "upstream_tls_error"},
                             {"host", destination_.host},
                             {"reference", reference},
                             {"reason", reason},
                             {"connection_id", info_.id},
                             {"client", {{"ip", info_.client_address}, {"user", info_.user}}}});
        }
        spdlog::warn("{} TLS to {} failed: {} (reference {})", info_.id, destination_.host, reason,
                     reference);
        return upstream_failed(bhttp::status::bad_gateway,
                               "gatekeeper : la connexion sécurisée vers " + destination_.host +
                                   " n'a pas pu être vérifiée (" + reason +
                                   ") ; rien n'a été envoyé. Référence : " + reference + "\n" +
                                   "gatekeeper: the secure connection to " + destination_.host +
                                   " could not be verified (" + reason +
                                   "); nothing was sent. Reference: " + reference + "\n");
      }
      on_upstream_ready();
    }
  }

  void on_upstream_ready() {
    upstream_key_ = destination_;
    after_connect();
  }

  void upstream_failed(bhttp::status status, std::string text) {
    upstream_.reset();
    send_reply(local_reply(status, std::move(text), true));
  }

  void after_connect() {
    switch (after_connect_) {
      case AfterConnect::Tunnel:
        return write_established();
      case AfterConnect::SendBuffered:
        return send_buffered();
      case AfterConnect::SendStreamed:
        if (send_continue_) {
          send_continue_ = false;
          lowest().expires_after(timeouts().request_body);
          return asio::async_write(
              client_, asio::buffer(kContinue.data(), kContinue.size()),
              beast::bind_front_handler(&HttpSession::on_streamed_continue, self()));
        }
        return send_streamed_head();
      case AfterConnect::None:
        return;
    }
  }

  // A kept-alive upstream may have closed while idle: retry once on a fresh connection when
  // nothing of the request has been consumed from the client yet.
  bool retry_on_fresh_connection(const error_code& ec) {
    if (!upstream_reused_ || !replayable_ || retried_) return false;
    if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
        ec != asio::error::connection_reset && ec != asio::error::broken_pipe &&
        ec != ssl::error::stream_truncated) {
      return false;
    }
    retried_ = true;
    do_connect_upstream();
    return true;
  }

  void send_buffered() {
    beast::get_lowest_layer(*upstream_).expires_after(timeouts().upstream_idle);
    bhttp::async_write(*upstream_, outgoing_,
                       beast::bind_front_handler(&HttpSession::on_buffered_written, self()));
  }

  void on_buffered_written(error_code ec, std::size_t) {
    if (ec) {
      if (retry_on_fresh_connection(ec)) return;
      metrics().count_error("upstream_write");
      return upstream_failed(bhttp::status::bad_gateway,
                             "gatekeeper: the connection to " + destination_.host +
                                 " failed while sending the request.\n");
    }
    do_read_response_head();
  }

  void on_streamed_continue(error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "write 100 continue", info_.id);
      return do_close();
    }
    send_streamed_head();
  }

  void send_streamed_head() {
    request_serializer_.emplace(stream_parser_->get());
    beast::get_lowest_layer(*upstream_).expires_after(timeouts().upstream_idle);
    bhttp::async_write_header(*upstream_, *request_serializer_,
                              beast::bind_front_handler(&HttpSession::on_streamed_head, self()));
  }

  void on_streamed_head(error_code ec, std::size_t) {
    if (ec) {
      if (retry_on_fresh_connection(ec)) return;
      metrics().count_error("upstream_write");
      return upstream_failed(bhttp::status::bad_gateway,
                             "gatekeeper: the connection to " + destination_.host +
                                 " failed while sending the request.\n");
    }
    relay_request_step();
  }

  // Request body relay (Beast relay shape): read some from the client, write it upstream.
  void relay_request_step() {
    auto& parser = *stream_parser_;
    if (!parser.is_done()) {
      parser.get().body().data = request_chunk_.data();
      parser.get().body().size = request_chunk_.size();
      lowest().expires_after(timeouts().request_body);
      return bhttp::async_read_some(
          client_, buffer_, parser,
          beast::bind_front_handler(&HttpSession::on_request_chunk, self()));
    }
    parser.get().body().data = nullptr;
    parser.get().body().size = 0;
    parser.get().body().more = false;
    write_request_chunk();
  }

  void on_request_chunk(error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      fail(ec, "read request body", info_.id);
      upstream_.reset();
      return do_close();
    }
    auto& body = stream_parser_->get().body();
    body.size = request_chunk_.size() - body.size;
    body.data = request_chunk_.data();
    body.more = !stream_parser_->is_done();
    if (body.size == 0) {
      if (body.more) return relay_request_step();
      // Only the last chunk arrived: no buffer at all, or the serializer would frame an empty
      // chunk ("0\r\n\r\n") before the last one and the peer would read a stray message.
      body.data = nullptr;
    }
    write_request_chunk();
  }

  void write_request_chunk() {
    beast::get_lowest_layer(*upstream_).expires_after(timeouts().upstream_idle);
    bhttp::async_write(*upstream_, *request_serializer_,
                       beast::bind_front_handler(&HttpSession::on_request_chunk_written, self()));
  }

  void on_request_chunk_written(error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      metrics().count_error("upstream_write");
      return upstream_failed(bhttp::status::bad_gateway,
                             "gatekeeper: the connection to " + destination_.host +
                                 " failed while sending the request.\n");
    }
    if (!request_serializer_->is_done()) return relay_request_step();
    do_read_response_head();
  }

  // ---- Response relay -----------------------------------------------------------------

  void do_read_response_head() {
    response_parser_.emplace();
    response_parser_->body_limit(boost::none);
    response_parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(snapshot_->settings.max_header_bytes, UINT32_MAX)));
    if (method_ == bhttp::verb::head) response_parser_->skip(true);
    beast::get_lowest_layer(*upstream_).expires_after(timeouts().upstream_idle);
    bhttp::async_read_header(*upstream_, upstream_buffer_, *response_parser_,
                             beast::bind_front_handler(&HttpSession::on_response_head, self()));
  }

  void on_response_head(error_code ec, std::size_t) {
    if (ec) {
      if (retry_on_fresh_connection(ec)) return;
      if (ec == beast::error::timeout) {
        metrics().count_error("upstream_timeout");
        return upstream_failed(bhttp::status::gateway_timeout,
                               "gatekeeper: " + destination_.host + " did not answer within " +
                                   seconds_text(timeouts().upstream_idle) + ".\n");
      }
      metrics().count_error("upstream_response");
      return upstream_failed(bhttp::status::bad_gateway,
                             "gatekeeper: " + destination_.host +
                                 " closed the connection or sent an invalid response (" +
                                 ec.message() + ").\n");
    }
    auto& response = response_parser_->get();
    const unsigned status = response.result_int();
    if (status == 101 && websocket_upgrade_ && is_websocket_upgrade(response)) {
      return begin_websocket();
    }
    if (status == 101) {
      metrics().count_error("upgrade_unsupported");
      return upstream_failed(bhttp::status::bad_gateway,
                             "gatekeeper: protocol upgrades (WebSocket) are not supported.\n");
    }
    // Interim responses are dropped: Expect was answered by the proxy itself.
    if (status >= 100 && status < 200) return do_read_response_head();

    upstream_keep_alive_ = !response.need_eof();
    close_after_response_ = !client_keep_alive_ || state_->stopping.load() || response.need_eof();
    response.keep_alive(!close_after_response_);
    response_serializer_.emplace(response);
    // Body bytes already here (or no body): head and body leave in one write. Otherwise the head
    // goes first, so the client sees the response start while the upstream is still thinking.
    if (upstream_buffer_.size() > 0 || response_parser_->is_done()) return relay_response_step();
    lowest().expires_after(timeouts().upstream_idle);
    bhttp::async_write_header(
        client_, *response_serializer_,
        beast::bind_front_handler(&HttpSession::on_response_head_written, self()));
  }

  void on_response_head_written(error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "write response head", info_.id);
      upstream_.reset();
      return do_close();
    }
    relay_response_step();
  }

  // Response body relay: whatever arrived goes out at once (SSE streams stay incremental); the
  // upstream timer is an idle timer re-armed for each chunk.
  void relay_response_step() {
    auto& parser = *response_parser_;
    if (!parser.is_done()) {
      parser.get().body().data = response_chunk_.data();
      parser.get().body().size = response_chunk_.size();
      beast::get_lowest_layer(*upstream_).expires_after(timeouts().upstream_idle);
      return bhttp::async_read_some(
          *upstream_, upstream_buffer_, parser,
          beast::bind_front_handler(&HttpSession::on_response_chunk, self()));
    }
    parser.get().body().data = nullptr;
    parser.get().body().size = 0;
    parser.get().body().more = false;
    write_response_chunk();
  }

  void on_response_chunk(error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      // Mid-response: too late for an error reply; cut the client connection so it sees the
      // response is incomplete.
      metrics().count_error("upstream_response");
      fail(ec, "read response body", info_.id);
      upstream_.reset();
      return do_close();
    }
    auto& body = response_parser_->get().body();
    body.size = response_chunk_.size() - body.size;
    body.data = response_chunk_.data();
    body.more = !response_parser_->is_done();
    if (body.size == 0) {
      // Only framing arrived (e.g. a chunk header): an empty write would end a chunked message.
      if (body.more) return relay_response_step();
      // Only the last chunk arrived (typical of SSE: "0\r\n\r\n" after the last event): an
      // empty buffer would be framed as a chunk of its own, i.e. a second last chunk, which the
      // client would read as the start of its next response.
      body.data = nullptr;
    }
    write_response_chunk();
  }

  void write_response_chunk() {
    lowest().expires_after(timeouts().upstream_idle);
    bhttp::async_write(client_, *response_serializer_,
                       beast::bind_front_handler(&HttpSession::on_response_chunk_written, self()));
  }

  void on_response_chunk_written(error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      fail(ec, "write response body", info_.id);
      upstream_.reset();
      return do_close();
    }
    if (!response_serializer_->is_done()) return relay_response_step();
    finish_exchange();
  }

  void finish_exchange() {
    if (!upstream_keep_alive_) upstream_.reset();
    response_serializer_.reset();
    response_parser_.reset();
    request_serializer_.reset();
    stream_parser_.reset();
    body_parser_.reset();
    outgoing_ = {};
    retried_ = false;
    if (close_after_response_) return do_close();
    do_read_head();
  }

  // ---- WebSocket hand-off ---------------------------------------------------------------

  // The platform accepted the upgrade: pass its 101 on, then the relay owns both streams.
  void begin_websocket() {
    auto& response = response_parser_->get();
    auto params =
        ws::parse_extensions_response(response[bhttp::field::sec_websocket_extensions]);
    if (!params) {
      metrics().count_error("websocket_extension");
      return upstream_failed(bhttp::status::bad_gateway,
                             "gatekeeper: " + destination_.host +
                                 " chose a WebSocket extension the proxy cannot inspect; the "
                                 "connection was refused.\n");
    }
    websocket_params_ = *params;
    upgrade_response_.emplace(std::move(response.base()));
    lowest().expires_after(timeouts().upstream_idle);
    bhttp::async_write(client_, *upgrade_response_,
                       beast::bind_front_handler(&HttpSession::on_upgrade_written, self()));
  }

  void on_upgrade_written(error_code ec, std::size_t) {
    upgrade_response_.reset();
    if (ec) {
      fail(ec, "write 101", info_.id);
      return do_close();
    }
    handed_off_ = true;
    WebSocketChannel channel;
    channel.host = destination_.host;
    channel.target = origin_target_;
    channel.connection_id = info_.id;
    channel.client_address = info_.client_address;
    channel.client_user = info_.user;
    channel.deflate = websocket_params_;
    start_websocket_relay(state_, std::move(client_), std::move(*upstream_), std::move(buffer_),
                          std::move(upstream_buffer_), std::move(channel), info_.session_token);
    upstream_.reset();
  }

  // ---- Local replies and closing --------------------------------------------------------

  void send_reply(Reply reply) {
    reply_ = std::move(reply);
    if (state_->stopping.load()) reply_->keep_alive(false);
    close_after_reply_ = !reply_->keep_alive();
    lowest().expires_after(timeouts().request_body);
    bhttp::async_write(client_, *reply_,
                       beast::bind_front_handler(&HttpSession::on_reply_written, self()));
  }

  void on_reply_written(error_code ec, std::size_t) {
    reply_.reset();
    if (ec) {
      fail(ec, "write reply", info_.id);
      return do_close();
    }
    if (close_after_reply_) return do_close();
    finish_exchange_after_reply();
  }

  void finish_exchange_after_reply() {
    body_parser_.reset();
    stream_parser_.reset();
    do_read_head();
  }

  // Graceful close: TLS close_notify when applicable, then half-close and drain what the client
  // is still sending for a moment, so an unread request body does not turn into a reset that
  // destroys our reply before the client reads it.
  void do_close() {
    upstream_.reset();
    if constexpr (kIntercept) {
      lowest().expires_after(kLingerTime);
      client_.async_shutdown(beast::bind_front_handler(&HttpSession::on_tls_shutdown, self()));
    } else {
      linger();
    }
  }

  void on_tls_shutdown(error_code) { linger(); }

  void linger() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest().expires_after(kLingerTime);
    lowest().async_read_some(asio::buffer(response_chunk_),
                             beast::bind_front_handler(&HttpSession::on_linger, self()));
  }

  void on_linger(error_code ec, std::size_t n) {
    lingered_ += n;
    if (ec || lingered_ > kLingerBytes) {
      error_code ignored;
      lowest().socket().close(ignored);
      return;
    }
    lowest().async_read_some(asio::buffer(response_chunk_),
                             beast::bind_front_handler(&HttpSession::on_linger, self()));
  }

  enum class AfterConnect { None, Tunnel, SendBuffered, SendStreamed };

  std::shared_ptr<ServerState> state_;
  ClientStream client_;
  beast::flat_buffer buffer_;
  ConnectionInfo info_;
  tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;
  bool resolve_timed_out_ = false;
  config::SnapshotConstSharedPtr snapshot_;

  // Current request.
  std::optional<bhttp::request_parser<bhttp::empty_body>> head_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> body_parser_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser_;
  std::optional<bhttp::request_serializer<bhttp::buffer_body>> request_serializer_;
  bhttp::request<bhttp::string_body> outgoing_;
  bhttp::verb method_ = bhttp::verb::unknown;
  HostPort destination_;
  std::string origin_target_;
  std::string platform_id_;
  bool inspect_ = false;
  bool websocket_upgrade_ = false;  // an Upgrade: websocket request to an AI host
  ws::DeflateParams websocket_params_;
  std::optional<bhttp::response<bhttp::empty_body>> upgrade_response_;
  bool body_too_large_ = false;
  bool had_body_ = false;
  bool streamed_ = false;
  bool replayable_ = false;
  bool send_continue_ = false;
  bool client_keep_alive_ = true;
  AfterConnect after_connect_ = AfterConnect::None;

  // Upstream, kept alive across requests to the same destination.
  std::optional<UpstreamStream> upstream_;
  HostPort upstream_key_;
  HostPort dial_;
  beast::flat_buffer upstream_buffer_;
  bool upstream_reused_ = false;
  bool upstream_keep_alive_ = false;
  bool retried_ = false;

  // Response relay.
  std::optional<bhttp::response_parser<bhttp::buffer_body>> response_parser_;
  std::optional<bhttp::response_serializer<bhttp::buffer_body>> response_serializer_;
  bool close_after_response_ = false;

  std::optional<Reply> reply_;
  bool close_after_reply_ = false;

  std::array<char, kRelayChunk> request_chunk_{};
  std::array<char, kRelayChunk> response_chunk_{};
  std::size_t lingered_ = 0;
  std::uint64_t requests_ = 0;
  bool idle_ = false;
  bool handed_off_ = false;
  bool counted_http_ = false;
};

using PlainSession = HttpSession<beast::tcp_stream, beast::tcp_stream>;

}  // namespace

void start_session(const std::shared_ptr<ServerState>& state, tcp::socket socket) {
  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  socket.set_option(tcp::no_delay(true), ec);
  ConnectionInfo info;
  info.id = "c-" + std::to_string(++state->next_connection);
  info.client_address = remote.address().to_string();
  const auto snapshot = state->context.store->current();
  info.permitted = client_allowed(remote.address(), snapshot->settings.allowed_clients);
  ++state->sessions;
  info.session_token = std::shared_ptr<void>(nullptr, [state](void*) { --state->sessions; });
  std::make_shared<PlainSession>(state, beast::tcp_stream(std::move(socket)), beast::flat_buffer{},
                                 std::move(info))
      ->run();
}

}  // namespace gatekeeper::net

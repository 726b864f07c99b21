#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/net/session.hpp"
#include "gatekeeper/net/websocket_frame.hpp"

// The WebSocket relay that takes over an intercepted connection after a 101 Switching Protocols
// from an AI host: client messages are reassembled, inspected like request bodies and forwarded,
// redacted or blocked; server frames are relayed unchanged.
namespace gatekeeper::net {

// One upgraded connection, as the HTTP session hands it over.
struct WebSocketChannel {
  std::string host;            // lower-case, no port
  std::string target;          // origin-form target of the upgrade request
  std::string connection_id;
  std::string client_address;
  std::string client_user;
  ws::DeflateParams deflate;   // as agreed in the 101 response
};

// What to do with one client-to-AI message.
struct MessageVerdict {
  enum class Kind { Forward, Block };
  Kind kind = Kind::Forward;
  std::string payload;            // Forward: the message to send (redacted or unchanged)
  bool modified = false;
  std::string explanation;        // Block: a JSON text message for the client (FR then EN)
  std::string reference;          // reference id shown to the user
  nlohmann::json decision_record; // for ProxyContext::record_decision; never raw values
};

// Inspects one complete message with the extractor, scanner and policy of `snapshot`: a text
// message that is JSON goes through the platform's or the generic extractor, other text is
// scanned whole, and a binary message is handled as an uploaded file would be. Never throws.
MessageVerdict inspect_message(const config::Snapshot& snapshot, const WebSocketChannel& channel,
                               ws::Opcode opcode, std::string_view payload);

// Takes over both streams. `client_pending` and `upstream_pending` hold bytes already read past
// the upgrade request and the 101 response. `token` keeps the connection counted while it lives.
void start_websocket_relay(std::shared_ptr<ServerState> state,
                           boost::beast::ssl_stream<boost::beast::tcp_stream> client,
                           boost::beast::ssl_stream<boost::beast::tcp_stream> upstream,
                           boost::beast::flat_buffer client_pending,
                           boost::beast::flat_buffer upstream_pending, WebSocketChannel channel,
                           std::shared_ptr<void> token);
void start_websocket_relay(std::shared_ptr<ServerState> state, boost::beast::tcp_stream client,
                           boost::beast::tcp_stream upstream,
                           boost::beast::flat_buffer client_pending,
                           boost::beast::flat_buffer upstream_pending, WebSocketChannel channel,
                           std::shared_ptr<void> token);

}  // namespace gatekeeper::net

#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "gatekeeper/net/proxy_server.hpp"

// Internal to the net layer: state shared by the listener and its sessions.
namespace gatekeeper::net {

// Sessions register to hear about a graceful stop (idle keep-alive connections close at once,
// busy ones after their current exchange).
class StopListener {
 public:
  virtual ~StopListener() = default;
  virtual void on_server_stop() = 0;
};

struct ServerState {
  explicit ServerState(ProxyContext ctx);

  ProxyContext context;
  // Asio views of the shared SSL_CTXs (built once: no per-connection context creation).
  std::unique_ptr<boost::asio::ssl::context> client_tls;    // SNI server context
  std::unique_ptr<boost::asio::ssl::context> upstream_tls;  // verifying client context
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> sessions{0};
  std::atomic<std::uint64_t> next_connection{0};

  void add_listener(const std::shared_ptr<StopListener>& listener);
  void notify_stop();

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<StopListener>> listeners_;
};

// Takes ownership of an accepted socket (already on its own strand) and runs the proxy session.
void start_session(const std::shared_ptr<ServerState>& state, boost::asio::ip::tcp::socket socket);

}  // namespace gatekeeper::net

#pragma once

#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/core/error.hpp"
#include "gatekeeper/tls/certificate_authority.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

namespace gatekeeper::audit {
class Pseudonymizer;
}

namespace gatekeeper::net {

// Long-lived state shared by every proxy session. Sessions take `store.current()` once per request
// (in-flight requests finish on the snapshot they started with).
struct ProxyContext {
  config::SnapshotStore* store = nullptr;
  std::shared_ptr<tls::LeafContextCache> leaf_cache;
  std::shared_ptr<SSL_CTX> sni_server_context;  // bootstrap server ctx whose SNI callback picks a leaf
  std::shared_ptr<SSL_CTX> upstream_context;    // verifies platforms' certificates
  // Records one decision in the audit trail (thread-safe; never waits on the database). Records
  // never hold raw values. Errc::AuditUnavailable when it could not be made durable: with
  // settings.audit.fail_closed the session then refuses the request instead of forwarding it.
  std::function<Result<void>(const nlohmann::json&)> record_decision;
  // Keyed pseudonyms of users and matched values for the audit records.
  std::shared_ptr<const audit::Pseudonymizer> pseudonymizer;
};

// The explicit forward proxy listener: accepts clients on settings.listen_host:listen_port, one
// session per connection on its own strand.
class ProxyServer {
 public:
  ProxyServer(boost::asio::io_context& ioc, ProxyContext context);
  ~ProxyServer();
  // Binds and starts accepting. Port 0 picks a free port (tests).
  Result<void> start(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting; open sessions finish their current exchange (graceful shutdown).
  void stop();
  std::size_t active_sessions() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace gatekeeper::net

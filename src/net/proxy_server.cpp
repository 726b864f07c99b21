#include "gatekeeper/net/proxy_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "gatekeeper/admin/metrics.hpp"
#include "gatekeeper/net/session.hpp"

namespace gatekeeper::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::unique_ptr<asio::ssl::context> wrap_context(const std::shared_ptr<SSL_CTX>& ctx) {
  if (!ctx) return nullptr;
  // asio::ssl::context frees its handle on destruction: give it its own reference.
  SSL_CTX_up_ref(ctx.get());
  return std::make_unique<asio::ssl::context>(ctx.get());
}

}  // namespace

ServerState::ServerState(ProxyContext ctx) : context(std::move(ctx)) {
  client_tls = wrap_context(context.sni_server_context);
  upstream_tls = wrap_context(context.upstream_context);
}

void ServerState::add_listener(const std::shared_ptr<StopListener>& listener) {
  std::lock_guard lock(mutex_);
  if (listeners_.size() > 64 && listeners_.size() % 64 == 0) {
    std::erase_if(listeners_, [](const auto& weak) { return weak.expired(); });
  }
  listeners_.push_back(listener);
}

void ServerState::notify_stop() {
  std::vector<std::weak_ptr<StopListener>> listeners;
  {
    std::lock_guard lock(mutex_);
    listeners.swap(listeners_);
  }
  for (const auto& weak : listeners) {
    if (auto listener = weak.lock()) listener->on_server_stop();
  }
}

struct ProxyServer::Impl : std::enable_shared_from_this<ProxyServer::Impl> {
  Impl(asio::io_context& io, ProxyContext context)
      : ioc(io),
        acceptor(asio::make_strand(io)),
        state(std::make_shared<ServerState>(std::move(context))) {}

  void do_accept() {
    // Each connection gets its own strand.
    acceptor.async_accept(asio::make_strand(ioc),
                          boost::beast::bind_front_handler(&Impl::on_accept, shared_from_this()));
  }

  void on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      // Running out of descriptors must not stop the listener for good.
      spdlog::warn("proxy accept failed: {}", ec.message());
      admin::Metrics::instance().count_error("accept_failed");
    } else {
      start_session(state, std::move(socket));
    }
    if (!state->stopping.load()) do_accept();
  }

  asio::io_context& ioc;
  tcp::acceptor acceptor;
  std::shared_ptr<ServerState> state;
};

ProxyServer::ProxyServer(asio::io_context& ioc, ProxyContext context)
    : impl_(std::make_shared<Impl>(ioc, std::move(context))) {}

ProxyServer::~ProxyServer() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

Result<void> ProxyServer::start(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("proxy cannot listen on {}:{}: {}", endpoint.address().to_string(),
                  endpoint.port(), ec.message());
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return ec;
  }
  impl_->do_accept();
  return {};
}

tcp::endpoint ProxyServer::local_endpoint() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec);
}

void ProxyServer::stop() {
  impl_->state->stopping.store(true);
  // The acceptor is not thread-safe: close it from the I/O context.
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->state->notify_stop();
}

std::size_t ProxyServer::active_sessions() const { return impl_->state->sessions.load(); }

}  // namespace gatekeeper::net

#include "gatekeeper/admin/admin_server.hpp"

#include "gatekeeper/admin/metrics.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <optional>

namespace gatekeeper::admin {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// One admin connection: a single request and response, then close (scrapers reconnect cheaply,
// and nothing lingers at shutdown).
class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(tcp::socket socket, std::shared_ptr<const AdminServer::Options> options)
      : stream_(std::move(socket)), options_(std::move(options)) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&AdminSession::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(4 * 1024);
    stream_.expires_after(options_->io_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&AdminSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout) {
        spdlog::debug("admin: request not read: {}", ec.message());
      }
      return close();
    }
    respond(parser_->get());
  }

  void respond(const http::request<http::string_body>& request) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request.version());
    response->set(http::field::server, "gatekeeper");
    response->keep_alive(false);

    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const bool known = path == "/healthz" || path == "/metrics";
    const bool readable = request.method() == http::verb::get || request.method() == http::verb::head;
    if (!known) {
      response->result(http::status::not_found);
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->body() = "not found\n";
    } else if (!readable) {
      response->result(http::status::method_not_allowed);
      response->set(http::field::allow, "GET, HEAD");
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->body() = "method not allowed\n";
    } else if (path == "/healthz") {
      response->result(http::status::ok);
      response->set(http::field::content_type, "application/json");
      const std::uint64_t revision = options_->revision ? options_->revision() : 0;
      response->body() = nlohmann::json{{"status", "ok"}, {"revision", revision}}.dump() + "\n";
    } else {
      response->result(http::status::ok);
      response->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response->body() = Metrics::instance().render_prometheus();
    }
    response->set(http::field::cache_control, "no-store");
    response->prepare_payload();
    if (request.method() == http::verb::head) response->body().clear();

    stream_.expires_after(options_->io_timeout);
    // HEAD keeps the Content-Length of the GET answer but sends no body.
    if (request.method() == http::verb::head) {
      auto serializer = std::make_shared<http::response_serializer<http::string_body>>(*response);
      http::async_write_header(
          stream_, *serializer,
          [self = shared_from_this(), response, serializer](beast::error_code, std::size_t) {
            self->close();
          });
      return;
    }
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code, std::size_t) {
                        self->close();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<const AdminServer::Options> options_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<AdminServer::Impl> {
  Impl(net::io_context& ioc, Options opts)
      : ioc(ioc),
        options(std::make_shared<const Options>(std::move(opts))),
        acceptor(net::make_strand(ioc)) {}

  void do_accept() {
    acceptor.async_accept(net::make_strand(ioc),
                          [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                            self->on_accept(ec, std::move(socket));
                          });
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (stopped.load()) return;
    if (ec) {
      if (ec == net::error::operation_aborted) return;
      spdlog::warn("admin: accept failed: {}", ec.message());
    } else {
      std::make_shared<AdminSession>(std::move(socket), options)->run();
    }
    do_accept();
  }

  net::io_context& ioc;
  std::shared_ptr<const Options> options;  // shared with sessions, which may outlive the server
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  std::atomic<bool> stopped{false};
};

AdminServer::AdminServer(net::io_context& ioc, Options options)
    : impl_(std::make_shared<Impl>(ioc, std::move(options))) {}

AdminServer::~AdminServer() { stop(); }

Result<void> AdminServer::start(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("admin: cannot listen on {}:{}: {}", endpoint.address().to_string(),
                  endpoint.port(), ec.message());
    beast::error_code ignored;
    acceptor.close(ignored);
    return Errc::IoError;
  }
  impl_->bound = acceptor.local_endpoint(ec);
  impl_->do_accept();
  return {};
}

tcp::endpoint AdminServer::local_endpoint() const { return impl_->bound; }

void AdminServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

}  // namespace gatekeeper::admin

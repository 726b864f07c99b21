#include "gatekeeper/admin/admin_server.hpp"

#include "gatekeeper/admin/console.hpp"
#include "gatekeeper/admin/metrics.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
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

// The console and the single thread its requests run on (queries and crypt(3) may take tens of
// milliseconds: they must not hold up the proxy's I/O threads).
struct ConsoleRuntime {
  explicit ConsoleRuntime(Console::Options options) : console(std::move(options)) {}
  Console console;
  net::thread_pool pool{1};
};

// One admin connection: a single request and response, then close (scrapers reconnect cheaply,
// and nothing lingers at shutdown).
class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(tcp::socket socket, std::shared_ptr<const AdminServer::Options> options,
               std::shared_ptr<ConsoleRuntime> console)
      : stream_(std::move(socket)), options_(std::move(options)), console_(std::move(console)) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&AdminSession::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(Console::kMaxBodyBytes);
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
    const std::string_view target = parser_->get().target();
    if (console_ && Console::owns(target.substr(0, target.find('?')))) return to_console();
    respond(parser_->get());
  }

  void to_console() {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    std::string client = ec ? std::string("unknown") : remote.address().to_string();
    auto request = std::make_shared<http::request<http::string_body>>(parser_->release());
    net::post(console_->pool, [self = shared_from_this(), request, client = std::move(client)] {
      auto response = std::make_shared<http::response<http::string_body>>(
          self->console_->console.handle(*request, client));
      const bool head = request->method() == http::verb::head;
      net::post(self->stream_.get_executor(),
                [self, response, head] { self->write(response, head); });
    });
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
    write(response, request.method() == http::verb::head);
  }

  void write(std::shared_ptr<http::response<http::string_body>> response, bool head) {
    if (head) response->body().clear();
    stream_.expires_after(options_->io_timeout);
    // HEAD keeps the Content-Length of the GET answer but sends no body.
    if (head) {
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
  std::shared_ptr<ConsoleRuntime> console_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<AdminServer::Impl> {
  Impl(net::io_context& ioc, Options opts)
      : ioc(ioc),
        options(std::make_shared<const Options>(std::move(opts))),
        acceptor(net::make_strand(ioc)) {
    Console::Options console_options;
    console_options.store = options->store;
    console_options.submit_record = options->submit_record;
    console_options.settings = options->console;
    console_options.contains_sensitive = options->contains_sensitive;
    console = std::make_shared<ConsoleRuntime>(std::move(console_options));
  }

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
      std::make_shared<AdminSession>(std::move(socket), options, console)->run();
    }
    do_accept();
  }

  net::io_context& ioc;
  std::shared_ptr<const Options> options;  // shared with sessions, which may outlive the server
  std::shared_ptr<ConsoleRuntime> console;
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  std::atomic<bool> stopped{false};
};

AdminServer::AdminServer(net::io_context& ioc, Options options)
    : impl_(std::make_shared<Impl>(ioc, std::move(options))) {}

AdminServer::~AdminServer() {
  stop();
  // Let console requests under way finish, so none runs past the store's owner.
  impl_->console->pool.join();
}

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

// A local TLS server that answers like an AI API, for the side-by-side proxy benchmark.
//   POST with "stream":true in the body -> text/event-stream, N events `gap` ms apart (chunked)
//   any other request                    -> a small chat-completions JSON reply
// The reply says how many body bytes arrived and whether a sensitive sample value was among them
// ("leaked"), so the load client can check what each proxy let through.
//
// Usage: ai_upstream --cert FILE --key FILE [--listen 127.0.0.1:0] [--threads 1]
//                    [--sse-events 20] [--sse-gap-ms 10]
// Prints "listening on PORT" once ready; runs until SIGINT/SIGTERM.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "workload.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

struct Options {
  std::string cert;
  std::string key;
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 0;
  unsigned threads = 1;
  int sse_events = 20;
  int sse_gap_ms = 10;
};

constexpr std::string_view kChatReply =
    R"({"id":"chatcmpl-bench","object":"chat.completion","model":"gpt-4o",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Voici un résumé en )"
    R"(trois points."},"finish_reason":"stop"}],)";

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

awaitable<void> stream_events(beast::ssl_stream<beast::tcp_stream>& stream, const Options& options,
                              bool leaked) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n";
  head += leaked ? "X-Bench-Leaked: 1\r\n\r\n" : "X-Bench-Leaked: 0\r\n\r\n";
  co_await asio::async_write(stream, asio::buffer(head), use_awaitable);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < options.sse_events; ++i) {
    if (i > 0) {
      timer.expires_after(std::chrono::milliseconds(options.sse_gap_ms));
      co_await timer.async_wait(use_awaitable);
    }
    const std::string event =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token " + std::to_string(i) +
        "\"}}]}\n\n";
    const std::string framed = chunk(event);
    co_await asio::async_write(stream, asio::buffer(framed), use_awaitable);
  }
  const std::string last = chunk("data: [DONE]\n\n") + "0\r\n\r\n";
  co_await asio::async_write(stream, asio::buffer(last), use_awaitable);
}

awaitable<void> serve(tcp::socket socket, ssl::context& tls, const Options& options) {
  socket.set_option(tcp::no_delay(true));
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
  try {
    co_await stream.async_handshake(ssl::stream_base::server, use_awaitable);
    beast::flat_buffer buffer;
    while (true) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64u << 20);
      co_await bhttp::async_read(stream, buffer, parser, use_awaitable);
      auto& request = parser.get();
      const std::string_view body = request.body();
      const bool leaked = gatekeeper::bench::contains_sensitive(body);
      const bool keep_alive = request.keep_alive();
      if (body.find(R"("stream":true)") != std::string_view::npos) {
        co_await stream_events(stream, options, leaked);
      } else {
        bhttp::response<bhttp::string_body> response{bhttp::status::ok, 11};
        response.set(bhttp::field::content_type, "application/json");
        response.set("X-Bench-Leaked", leaked ? "1" : "0");
        response.keep_alive(keep_alive);
        response.body() = std::string(kChatReply) + R"("usage":{"prompt_bytes":)" +
                          std::to_string(body.size()) + R"(},"leaked":)" +
                          (leaked ? "true" : "false") + "}";
        response.prepare_payload();
        co_await bhttp::async_write(stream, response, use_awaitable);
      }
      if (!keep_alive) break;
    }
  } catch (const boost::system::system_error&) {
    // The peer closed or reset the connection: nothing to report.
  }
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, ssl::context& tls, const Options& options) {
  while (true) {
    tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), tls, options),
                   asio::detached);
  }
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--cert") options.cert = value;
    else if (flag == "--key") options.key = value;
    else if (flag == "--listen") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) return false;
      options.listen_host = value.substr(0, colon);
      options.listen_port = static_cast<unsigned short>(std::stoi(value.substr(colon + 1)));
    } else if (flag == "--threads") options.threads = static_cast<unsigned>(std::stoi(value));
    else if (flag == "--sse-events") options.sse_events = std::stoi(value);
    else if (flag == "--sse-gap-ms") options.sse_gap_ms = std::stoi(value);
    else return false;
  }
  return (argc % 2) == 1 && !options.cert.empty() && !options.key.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::cerr << "usage: ai_upstream --cert FILE --key FILE [--listen HOST:PORT] [--threads N]"
                 " [--sse-events N] [--sse-gap-ms MS]\n";
    return 2;
  }
  asio::io_context ioc(static_cast<int>(options.threads));
  ssl::context tls(ssl::context::tls_server);
  try {
    tls.use_certificate_chain_file(options.cert);
    tls.use_private_key_file(options.key, ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    std::cerr << "ai_upstream: cannot load the certificate or key: " << e.what() << "\n";
    return 1;
  }
  // Keep-alive benchmark clients reconnect rarely; resumption would hide handshake cost anyway.
  SSL_CTX_set_session_cache_mode(tls.native_handle(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(tls.native_handle(), 0);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address(options.listen_host),
                                            options.listen_port));
  acceptor.listen(4096);
  asio::co_spawn(ioc, accept_loop(acceptor, tls, options), asio::detached);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { ioc.stop(); });
  std::cout << "listening on " << acceptor.local_endpoint().port() << std::endl;
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < options.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& thread : threads) thread.join();
  return 0;
}

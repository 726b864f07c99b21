#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace gatekeeper::test {

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One blocking HTTP/1.1 request; nullopt when the server cannot be reached or does not answer.
inline std::optional<HttpAnswer> http_request(const std::string& host, unsigned short port,
                                              const std::string& target,
                                              boost::beast::http::verb verb =
                                                  boost::beast::http::verb::get) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(5));
  stream.socket().connect({boost::asio::ip::make_address(host), port}, ec);
  if (ec) return std::nullopt;
  http::request<http::empty_body> request{verb, target, 11};
  request.set(http::field::host, host);
  http::write(stream, request, ec);
  if (ec) return std::nullopt;
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response, ec);
  if (ec) return std::nullopt;
  return HttpAnswer{static_cast<int>(response.result_int()),
                    std::string(response[http::field::content_type]), response.body()};
}

}  // namespace gatekeeper::test

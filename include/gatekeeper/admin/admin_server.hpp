#pragma once

#include "gatekeeper/core/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace gatekeeper::admin {

// The operator's HTTP listener (loopback by default): GET /healthz and GET /metrics, nothing else.
// Each connection runs on its own strand; every read and write has a deadline.
class AdminServer {
 public:
  struct Options {
    std::function<std::uint64_t()> revision;  // active configuration revision, for /healthz
    std::chrono::milliseconds io_timeout{10'000};
  };

  AdminServer(boost::asio::io_context& ioc, Options options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts accepting. Port 0 picks a free port.
  Result<void> start(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting; requests being answered complete.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace gatekeeper::admin

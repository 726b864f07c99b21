#pragma once

#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/core/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace gatekeeper::admin {

// The operator's HTTP listener (loopback by default): GET /healthz, GET /metrics, the DPO's review
// console (/console/..., admin/console.hpp) and the researchers' false-positive form (/signaler).
// Each connection runs on its own strand; every read and write has a deadline. Console requests
// (database queries, password hashing) run on a thread of their own, never on the I/O threads.
class AdminServer {
 public:
  struct Options {
    std::function<std::uint64_t()> revision;  // active configuration revision, for /healthz
    std::chrono::milliseconds io_timeout{10'000};
    // The console: the audit trail it reads, how it appends Triage/Report/Admin records (the
    // audit Writer's submit in production), its settings, and the rules' verdict on free text
    // typed into its forms. Without a store the console pages answer 503.
    audit::StorePtr store;
    std::function<Result<void>(audit::Record)> submit_record;
    config::ConsoleSettings console;
    std::function<bool(std::string_view)> contains_sensitive;
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

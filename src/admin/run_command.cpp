#include "gatekeeper/admin/run_command.hpp"

#include "gatekeeper/admin/admin_server.hpp"
#include "gatekeeper/admin/metrics.hpp"
#include "gatekeeper/admin/reloader.hpp"
#include "gatekeeper/admin/audit_trail.hpp"
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/config/settings.hpp"
#include "gatekeeper/detect/scanner.hpp"
#include "gatekeeper/net/proxy_server.hpp"
#include "gatekeeper/tls/certificate_authority.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <ostream>
#include <thread>

namespace gatekeeper::admin {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void print_run_usage(std::ostream& out) {
  out << "Usage: gatekeeper run [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT]\n"
         "                      [--data-dir DIR] [--upstream-ca FILE]\n"
         "                      [--connect-to HOST:PORT:ADDRESS:PORT]...\n"
         "\n"
         "Runs the proxy (default 127.0.0.1:3128) and its health/metrics listener (default\n"
         "127.0.0.1:3129) with the shipped config/gatekeeper.yaml unless --config is given.\n"
         "Flags win over the configuration file, also across reloads. Port 0 binds a free port;\n"
         "the ready line shows the ports actually bound.\n"
         "Signals: SIGHUP reloads the configuration; SIGINT/SIGTERM stop gracefully.\n";
}

// Parses the flags into overrides; false (with a message on `err`) on bad usage.
bool parse_run_args(const Args& args, config::Overrides& overrides, bool& help, std::ostream& err) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (flag == "-h" || flag == "--help") {
      help = true;
      return true;
    }
    const bool takes_value = flag == "--config" || flag == "--listen" || flag == "--admin-listen" ||
                             flag == "--data-dir" || flag == "--upstream-ca" ||
                             flag == "--connect-to";
    if (!takes_value) {
      err << "gatekeeper run: unknown option '" << flag << "'\n";
      return false;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        err << "gatekeeper run: " << flag << " needs a value\n";
        return false;
      }
      value = args[++i];
    }
    if (flag == "--config") overrides.config_file = *value;
    else if (flag == "--listen") overrides.listen = *value;
    else if (flag == "--admin-listen") overrides.admin_listen = *value;
    else if (flag == "--data-dir") overrides.data_dir = *value;
    else if (flag == "--upstream-ca") overrides.upstream_ca = *value;
    else overrides.connect_to.push_back(*value);
  }
  return true;
}

Result<tcp::endpoint> resolve_endpoint(asio::io_context& ioc, const std::string& host,
                                       std::uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, port);
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) return Errc::ConfigInvalid;
  return results.begin()->endpoint();
}

std::string format_endpoint(const tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + address + "]" : address) + ":" +
         std::to_string(endpoint.port());
}

bool setup_logging(const config::Settings& settings, std::ostream& err) {
  try {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        (settings.data_dir / "gatekeeper.log").string(), 10u << 20, 5);
    auto logger =
        std::make_shared<spdlog::logger>("gatekeeper", spdlog::sinks_init_list{console, file});
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    err << "gatekeeper run: cannot open the log file in " << settings.data_dir.string() << ": "
        << e.what() << "\n";
    return false;
  }
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  spdlog::flush_on(spdlog::level::warn);
  spdlog::flush_every(std::chrono::seconds(1));
  return true;
}

std::string_view signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

}  // namespace

int run_run_command(const Args& args, std::ostream& out, std::ostream& err) {
  config::Overrides overrides;
  bool help = false;
  if (!parse_run_args(args, overrides, help, err)) {
    print_run_usage(err);
    return kExitInvalidRules;
  }
  if (help) {
    print_run_usage(out);
    return kExitOk;
  }

  // Signals are caught from here on (asio queues them until they are waited for): a SIGHUP or
  // SIGTERM sent while the rules compile must not kill the process with the default action.
  asio::io_context ioc;
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.add(SIGHUP);

  // 1. Configuration: every problem at once, then exit 2.
  Diagnostics diagnostics;
  auto loaded = config::load_snapshot(overrides, 1, diagnostics);
  for (const auto& diagnostic : diagnostics) err << diagnostic.to_string() << "\n";
  if (!loaded) {
    err << "gatekeeper run: the configuration is invalid (" << diagnostics.size()
        << " problem(s)); nothing was started\n";
    return kExitInvalidRules;
  }
  const config::SnapshotConstSharedPtr snapshot = *loaded;
  const config::Settings& settings = snapshot->settings;

  // 2. Data directory and logs.
  std::error_code fs_error;
  fs::create_directories(settings.data_dir, fs_error);
  if (fs_error) {
    err << "gatekeeper run: cannot create the data directory " << settings.data_dir.string() << ": "
        << fs_error.message() << "\n";
    return kExitFailure;
  }
  if (!setup_logging(settings, err)) return kExitFailure;
  spdlog::info("gatekeeper {} starting; data directory {}", GATEKEEPER_VERSION,
               settings.data_dir.string());

  // 3. TLS: local CA (created on first run), per-host leaf contexts, upstream verification.
  const fs::path ca_pem = settings.data_dir / tls::kCaCertFileName;
  Diagnostics ca_diagnostics;
  auto ca = tls::CertificateAuthority::load_or_create(settings.data_dir, &ca_diagnostics);
  for (const auto& diagnostic : ca_diagnostics) spdlog::error("{}", diagnostic.to_string());
  if (!ca) {
    spdlog::critical("cannot load or create the local CA in {}: {}", settings.data_dir.string(),
                     ca.error().message());
    return kExitFailure;
  }
  if ((*ca)->created()) {
    spdlog::warn("created a new local CA: {} (SHA-256 {}). Every client must trust it before "
                 "intercepted platforms work: see docs/operations-ca.md",
                 ca_pem.string(), (*ca)->fingerprint_sha256());
  } else {
    spdlog::info("local CA certificate: {} (SHA-256 {}); clients must trust it, see "
                 "docs/operations-ca.md",
                 ca_pem.string(), (*ca)->fingerprint_sha256());
  }
  auto leaf_cache = std::make_shared<tls::LeafContextCache>(
      std::shared_ptr<const tls::CertificateAuthority>(*ca), settings.leaf_cache_size);
  auto sni_context = tls::make_sni_server_context(*leaf_cache);
  if (!sni_context) {
    spdlog::critical("cannot build the TLS server context: {}", sni_context.error().message());
    return kExitFailure;
  }
  auto upstream_context = tls::make_upstream_context(settings.upstream_ca);
  if (!upstream_context) {
    spdlog::critical("cannot build the upstream TLS context: {}", upstream_context.error().message());
    return kExitFailure;
  }

  // 4. Audit trail: the store per settings behind the writer (spool, queue, replay).
  auto pseudonymizer = audit::Pseudonymizer::load_or_create(settings.data_dir);
  if (!pseudonymizer) {
    spdlog::critical("cannot load or create the audit key {}: {}",
                     (settings.data_dir / audit::Pseudonymizer::kKeyFileName).string(),
                     pseudonymizer.error().message());
    return kExitFailure;
  }
  auto opened_trail = AuditTrail::open(settings, *pseudonymizer);
  if (!opened_trail) {
    spdlog::critical("cannot start the audit trail: {}", opened_trail.error().message());
    return kExitFailure;
  }
  std::shared_ptr<AuditTrail> trail = std::move(*opened_trail);
  Metrics::instance().set_audit_source([weak = std::weak_ptr<AuditTrail>(trail)] {
    const auto trail = weak.lock();
    if (!trail) return Metrics::AuditFigures{};
    const auto figures = trail->writer().figures();
    return Metrics::AuditFigures{figures.pending,        figures.queue_depth,
                                 figures.committed,      figures.spool_failures,
                                 figures.store_errors,   figures.syslog_failures,
                                 figures.store_available};
  });
  auto record_decision = [trail](const nlohmann::json& record) -> Result<void> {
    auto recorded = trail->record_decision(record);
    if (!recorded) Metrics::instance().count_error(errc_name(Errc::AuditUnavailable));
    return recorded;
  };
  trail->record_admin("start", {{"version", GATEKEEPER_VERSION}, {"revision", snapshot->revision}});
  if ((*ca)->created())
    trail->record_admin("ca_created", {{"fingerprint_sha256", (*ca)->fingerprint_sha256()}});
  // Retention: a purge shortly after start, then daily; each purge is itself audited.
  trail->start_retention(std::chrono::minutes(1));

  // 5. Listeners.
  config::SnapshotStore store(snapshot);

  gatekeeper::net::ProxyContext context;
  context.store = &store;
  context.leaf_cache = leaf_cache;
  context.sni_server_context = std::shared_ptr<SSL_CTX>(sni_context->release(), SSL_CTX_free);
  context.upstream_context = std::shared_ptr<SSL_CTX>(upstream_context->release(), SSL_CTX_free);
  context.record_decision = record_decision;
  context.pseudonymizer = *pseudonymizer;
  gatekeeper::net::ProxyServer proxy(ioc, context);

  auto proxy_endpoint = resolve_endpoint(ioc, settings.listen_host, settings.listen_port);
  auto admin_endpoint = resolve_endpoint(ioc, settings.admin_host, settings.admin_port);
  if (!proxy_endpoint || !admin_endpoint) {
    spdlog::critical("cannot resolve the {} address",
                     !proxy_endpoint ? "listen" : "admin_listen");
    return kExitFailure;
  }
  if (auto started = proxy.start(*proxy_endpoint); !started) {
    spdlog::critical("cannot listen on {}: {}", format_endpoint(*proxy_endpoint),
                     started.error().message());
    return kExitFailure;
  }
  if (!admin_endpoint->address().is_loopback()) {
    spdlog::warn("the admin listener {} is reachable from other machines and has no "
                 "authentication; keep it on 127.0.0.1 unless a firewall protects it",
                 format_endpoint(*admin_endpoint));
  }
  AdminServer::Options admin_options;
  admin_options.revision = [&store] { return store.current()->revision; };
  admin_options.console = settings.console;
  // The console reads the audit trail through the writer's store and appends its own records
  // (logins, triage, reports) through the writer, in this instance's one chain.
  admin_options.store = audit::StorePtr(trail, &trail->writer().store());
  admin_options.submit_record = [trail](audit::Record record) {
    return trail->writer().submit(std::move(record));
  };
  // Comments typed into the console's forms are checked with the active rules.
  admin_options.contains_sensitive = [&store](std::string_view text) {
    const auto snapshot = store.current();
    if (!snapshot->rules) return false;
    auto findings = detect::scan(*snapshot->rules, text);
    return !findings || !findings->empty();
  };
  AdminServer admin(ioc, admin_options);
  if (auto started = admin.start(*admin_endpoint); !started) {
    spdlog::critical("cannot listen on {} (admin): {}", format_endpoint(*admin_endpoint),
                     started.error().message());
    proxy.stop();
    return kExitFailure;
  }

  Reloader::Options reload_options;
  reload_options.overrides = overrides;
  reload_options.store = &store;
  reload_options.record_decision = [record_decision](const nlohmann::json& record) {
    (void)record_decision(record);
  };
  Reloader reloader(ioc, reload_options);
  reloader.start();
  announce_snapshot(*snapshot, reload_options.record_decision, "start");

  // 6. Signals: SIGHUP reloads; the first SIGINT/SIGTERM drains, a second one stops at once.
  asio::steady_timer drain_timer(ioc);
  bool stopping = false;
  std::chrono::steady_clock::time_point drain_deadline;
  std::function<void()> check_drained = [&] {
    if (proxy.active_sessions() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
      if (proxy.active_sessions() != 0) {
        spdlog::warn("shutdown grace period over: closing {} open connection(s)",
                     proxy.active_sessions());
      }
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(100));
    drain_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) check_drained();
    });
  };
  std::function<void(boost::system::error_code, int)> on_signal =
      [&](boost::system::error_code ec, int signal) {
        if (ec) return;
        if (signal == SIGHUP) {
          spdlog::info("SIGHUP: reloading the configuration");
          reloader.request_reload("SIGHUP");
        } else if (!stopping) {
          stopping = true;
          const auto grace = store.current()->settings.timeouts.shutdown_grace;
          spdlog::info("{}: no longer accepting; open connections may finish for {} ms",
                       signal_name(signal), grace.count());
          proxy.stop();
          admin.stop();
          drain_deadline = std::chrono::steady_clock::now() + grace;
          check_drained();
        } else {
          spdlog::warn("{} again: stopping now", signal_name(signal));
          ioc.stop();
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  out << "gatekeeper listening on " << format_endpoint(proxy.local_endpoint()) << " (admin "
      << format_endpoint(admin.local_endpoint()) << ")" << std::endl;
  spdlog::info("listening on {} (admin {}), {} thread(s)", format_endpoint(proxy.local_endpoint()),
               format_endpoint(admin.local_endpoint()), settings.threads);

  // 7. Serve.
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < settings.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& thread : threads) thread.join();

  reloader.stop();
  trail->stop_retention();
  trail->record_admin("shutdown");
  if (auto flushed = trail->writer().flush(); !flushed) {
    spdlog::warn("audit: {} record(s) stay in the spool until the store is reachable again",
                 trail->writer().pending());
  }
  Metrics::instance().set_audit_source(nullptr);
  spdlog::info("gatekeeper stopped");
  spdlog::default_logger()->flush();
  return kExitOk;
}

}  // namespace gatekeeper::admin

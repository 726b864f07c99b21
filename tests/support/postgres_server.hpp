#pragma once
// A private PostgreSQL server for tests and benchmarks: initdb + pg_ctl (Debian package
// `postgresql`) on a temporary directory, listening on 127.0.0.1 and a free port. When the
// process runs as root, the server runs as the `postgres` system user (PostgreSQL refuses root).
// Header-only and free of GoogleTest so the benchmarks can use it too.

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace gatekeeper::test {

struct PostgresServerOptions {
  bool durable = false;  // fsync on (benchmarks); off for tests, which never lose power
};

class PostgresServer {
 public:
  using Options = PostgresServerOptions;

  // The directory holding initdb and pg_ctl, or empty when PostgreSQL is not installed.
  static std::filesystem::path find_binaries() {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path root = "/usr/lib/postgresql";
    if (!fs::is_directory(root, ec)) return {};
    fs::path best;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      const fs::path bin = entry.path() / "bin";
      if (fs::exists(bin / "initdb", ec) && fs::exists(bin / "pg_ctl", ec) &&
          (best.empty() || bin > best))
        best = bin;
    }
    return best;
  }

  // Starts a server; null with `why_not` set when it cannot.
  static std::unique_ptr<PostgresServer> start(std::string& why_not, Options options = {}) {
    const auto binaries = find_binaries();
    if (binaries.empty()) {
      why_not = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                "(Debian package `postgresql`; `make test` installs it)";
      return nullptr;
    }
    std::unique_ptr<PostgresServer> server(new PostgresServer(binaries, options));
    if (!server->init(why_not)) return nullptr;
    return server;
  }

  // One server shared by the whole test binary: started on first use, stopped at exit.
  static PostgresServer* shared(std::string& why_not) {
    static std::string failure;
    static std::unique_ptr<PostgresServer> server = start(failure);
    why_not = failure;
    return server.get();
  }

  ~PostgresServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  std::string dsn(const std::string& database) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " user=postgres dbname=" + database + " connect_timeout=5";
  }

  // A fresh, empty database; returns its DSN (empty on failure).
  std::string create_database() {
    static std::atomic<int> counter{0};
    const std::string name =
        "gk_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
    PGconn* conn = PQconnectdb(dsn("postgres").c_str());
    bool ok = PQstatus(conn) == CONNECTION_OK;
    if (ok) {
      // Identifiers cannot be query parameters; the name is generated above, never user input.
      PGresult* result = PQexec(conn, ("CREATE DATABASE " + name).c_str());
      ok = PQresultStatus(result) == PGRES_COMMAND_OK;
      PQclear(result);
    }
    PQfinish(conn);
    return ok ? dsn(name) : std::string();
  }

  // Stops the server (the store sees it go away) and starts it again on the same port.
  bool stop() {
    if (!running_) return true;
    running_ = !run_as_owner({(binaries_ / "pg_ctl").string(), "-D", data_dir(), "-m", "fast",
                              "-w", "stop"});
    return !running_;
  }
  bool restart() {
    if (running_) return true;
    running_ = run_as_owner({(binaries_ / "pg_ctl").string(), "-D", data_dir(), "-l",
                             (root_ / "server.log").string(), "-w", "-t", "60", "-o",
                             server_options(), "start"});
    return running_;
  }

 private:
  PostgresServer(std::filesystem::path binaries, Options options)
      : binaries_(std::move(binaries)), options_(options) {}

  std::string data_dir() const { return (root_ / "data").string(); }

  std::string server_options() const {
    std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                          " -c unix_socket_directories=" + root_.string() +
                          " -c max_connections=50";
    if (!options_.durable) options += " -c fsync=off -c synchronous_commit=off";
    return options;
  }

  bool init(std::string& why_not) {
    std::string pattern = (std::filesystem::temp_directory_path() / "gatekeeper-pg-XXXXXX");
    if (!::mkdtemp(pattern.data())) {
      why_not = "cannot create a temporary directory for PostgreSQL";
      return false;
    }
    root_ = pattern;
    if (::geteuid() == 0) {
      const passwd* owner = ::getpwnam("postgres");
      if (!owner) {
        why_not = "running as root and there is no `postgres` system user to run the server";
        return false;
      }
      as_postgres_ = true;
      if (::chown(root_.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
        why_not = "cannot hand the temporary directory to the postgres user";
        return false;
      }
    }
    ::chmod(root_.c_str(), 0700);
    if (!run_as_owner({(binaries_ / "initdb").string(), "-D", data_dir(), "-U", "postgres", "-A",
                       "trust", "-E", "UTF8", "--no-sync", "--locale=C"})) {
      why_not = "initdb failed (see " + (root_ / "command.log").string() + ")";
      return false;
    }
    port_ = free_port();
    if (port_ == 0 || !restart()) {
      why_not = "pg_ctl start failed (see " + (root_ / "server.log").string() + ")";
      return false;
    }
    return true;
  }

  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
      port = ntohs(address.sin_port);
    ::close(fd);
    return port;
  }

  // Runs a PostgreSQL tool (as `postgres` when we are root), output to command.log.
  bool run_as_owner(std::vector<std::string> argv) const {
    if (as_postgres_) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    const std::string log = (root_ / "command.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return false;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return false;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  std::filesystem::path binaries_;
  Options options_;
  std::filesystem::path root_;
  std::uint16_t port_ = 0;
  bool as_postgres_ = false;
  bool running_ = false;
};

}  // namespace gatekeeper::test

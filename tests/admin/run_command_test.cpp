// Runs the real `gatekeeper run` binary: readiness, metrics, SIGHUP reloads, graceful SIGTERM.
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"
#include "support/config_fixture.hpp"
#include "support/http_get.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <thread>

extern char** environ;

namespace gatekeeper::admin {
namespace {

namespace fs = std::filesystem;

// A child process whose stdout is read line by line; stderr goes to a file for diagnosis.
class Child {
 public:
  Child(const std::vector<std::string>& args, const fs::path& stderr_file) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  bool started() const { return pid_ > 0; }
  void signal(int number) const { kill(pid_, number); }

  // The next stdout line, or nullopt at EOF or after `timeout`.
  std::optional<std::string> read_line(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (const auto newline = pending_.find('\n'); newline != std::string::npos) {
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd fd{stdout_fd_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buffer[512];
      const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
      if (n <= 0) return std::nullopt;
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
  }

  // Exit status, or -1 when the process is still running after `timeout`.
  int wait_exit(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool exited_ = false;
  std::string pending_;
};

template <class Condition>
bool eventually(Condition condition) {
  for (int i = 0; i < 2400; ++i) {  // up to a minute: rule sets compile slowly in Debug builds
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return condition();
}

std::string metrics(unsigned short port) {
  auto answer = test::http_request("127.0.0.1", port, "/metrics");
  return answer && answer->status == 200 ? answer->body : std::string();
}

std::optional<std::uint64_t> revision(unsigned short port) {
  auto answer = test::http_request("127.0.0.1", port, "/healthz");
  if (!answer || answer->status != 200) return std::nullopt;
  return nlohmann::json::parse(answer->body).at("revision").get<std::uint64_t>();
}

TEST(RunCommand, ServesReloadsAndStopsGracefully) {
  // File watching is off so that only SIGHUP triggers the reloads this test counts.
  test::ConfigFixture fixture("watch_files: false\ntimeouts:\n  shutdown_grace: 2s\n");
  const fs::path stderr_file = fixture.root() / "stderr.txt";
  Child child({GATEKEEPER_BINARY, "run", "--config", fixture.config_file().string()}, stderr_file);
  ASSERT_TRUE(child.started());

  const auto ready = child.read_line(std::chrono::seconds(60));
  ASSERT_TRUE(ready) << test::read_text(stderr_file);
  std::smatch match;
  const std::regex ready_line(
      R"(gatekeeper listening on 127\.0\.0\.1:(\d+) \(admin 127\.0\.0\.1:(\d+)\))");
  ASSERT_TRUE(std::regex_match(*ready, match, ready_line)) << *ready;
  const auto proxy_port = static_cast<unsigned short>(std::stoi(match[1]));
  const auto admin_port = static_cast<unsigned short>(std::stoi(match[2]));
  EXPECT_NE(proxy_port, 0);
  ASSERT_NE(admin_port, 0);

  ASSERT_TRUE(eventually([&] { return revision(admin_port).has_value(); }));
  EXPECT_EQ(revision(admin_port), 1u);
  const std::string first_metrics = metrics(admin_port);
  EXPECT_NE(first_metrics.find("# TYPE gatekeeper_scan_seconds histogram"), std::string::npos);
  EXPECT_NE(first_metrics.find("gatekeeper_config_revision 1\n"), std::string::npos);
  EXPECT_TRUE(fs::exists(fixture.data_dir() / "ca.pem"));

  // A broken rule file is refused: the old snapshot stays, the failure is counted.
  const fs::path rule_file = fixture.first_rule_file();
  const std::string original = test::read_text(rule_file);
  test::write_text(rule_file, original + "\n  - [unclosed\n");
  child.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return metrics(admin_port).find("gatekeeper_reloads_total{result=\"failure\"} 1\n") !=
           std::string::npos;
  })) << metrics(admin_port);
  EXPECT_EQ(revision(admin_port), 1u);

  // Repaired, it is accepted as the next revision.
  test::write_text(rule_file, original);
  child.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return revision(admin_port) == 2u; }));
  EXPECT_NE(metrics(admin_port).find("gatekeeper_reloads_total{result=\"success\"} 1\n"),
            std::string::npos);

  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(std::chrono::seconds(30)), 0) << test::read_text(stderr_file);

  const std::string log = test::read_text(fixture.data_dir() / "gatekeeper.log");
  EXPECT_NE(log.find("config revision 2 active (rules fingerprint "), std::string::npos);
  // The audit trail holds the start, both revisions, the refused reload and the shutdown.
  auto store = audit::open_sqlite_store((fixture.data_dir() / "audit.db").string());
  ASSERT_TRUE(store);
  audit::Filter admin;
  admin.kind = audit::RecordKind::Admin;
  admin.limit = 0;
  admin.newest_first = false;
  auto records = (*store)->list(admin);
  ASSERT_TRUE(records);
  std::vector<std::string> events;
  for (const auto& record : *records) {
    events.push_back(record.body.value("event", ""));
    if (events.back() == "config_change" && record.body.value("revision", 0) == 2) {
      EXPECT_FALSE(record.body.value("rules_fingerprint", "").empty());
    }
  }
  EXPECT_EQ(events.front(), "start");
  EXPECT_NE(std::find(events.begin(), events.end(), "config_reload_refused"), events.end());
  EXPECT_EQ(std::count(events.begin(), events.end(), "config_change"), 2);
  EXPECT_EQ(events.back(), "shutdown");
  auto verified = audit::verify_chain(**store);
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->ok) << verified->first_broken_reason;
}

TEST(RunCommand, InvalidConfigurationExitsWithEveryDiagnostic) {
  test::ConfigFixture fixture("threads: none\nlog_levle: info\n");
  const fs::path stderr_file = fixture.root() / "stderr.txt";
  Child child({GATEKEEPER_BINARY, "run", "--config", fixture.config_file().string()}, stderr_file);
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.wait_exit(std::chrono::seconds(30)), 2);
  const std::string err = test::read_text(stderr_file);
  EXPECT_NE(err.find("gatekeeper.yaml:7:10: error: threads"), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'log_level'?"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(fixture.data_dir() / "ca.pem"));
}

TEST(RunCommand, BadUsageExitsWithTwo) {
  test::ConfigFixture fixture;
  Child child({GATEKEEPER_BINARY, "run", "--listen"}, fixture.root() / "stderr.txt");
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.wait_exit(std::chrono::seconds(30)), 2);
}

}  // namespace
}  // namespace gatekeeper::admin

#include "gatekeeper/audit/writer.hpp"

#include "audit/store_factory.hpp"
#include "gatekeeper/audit/syslog.hpp"
#include "support/config_fixture.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>

#include <fstream>
#include <set>
#include <sstream>

namespace gatekeeper::audit {
namespace {

namespace fs = std::filesystem;
using test::sample_record;

constexpr const char* kInstance = "gk-test";

// Every record of `instance` in sequence order, checked as `gatekeeper audit verify` would: the
// sequence has no gap and no duplicate, each hash matches its content and links to the previous.
std::vector<Record> checked_chain(Store& store, const std::string& instance = kInstance) {
  std::vector<Record> records;
  Filter filter;
  filter.instance = instance;
  filter.limit = 0;
  EXPECT_TRUE(store.for_each(filter, [&](const Record& record) {
    records.push_back(record);
    return true;
  }));
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return a.sequence < b.sequence; });
  std::string previous(64, '0');
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].sequence, i + 1) << "gap or duplicate in the chain";
    EXPECT_EQ(records[i].previous_hash, previous) << "broken link at sequence " << i + 1;
    EXPECT_EQ(records[i].hash, records[i].compute_hash()) << "hash mismatch at " << i + 1;
    previous = records[i].hash;
  }
  return records;
}

template <class Factory>
class WriterBehaviour : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto why_not = factory_.unavailable(); !why_not.empty()) GTEST_SKIP() << why_not;
    auto opened = factory_.open();
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = *opened;
  }

  Writer::Options options() const {
    Writer::Options options;
    options.spool_file = factory_.data_dir() / "audit-spool.jsonl";
    options.instance = kInstance;
    options.batch_size = 16;
    return options;
  }

  Factory factory_;
  StorePtr store_;
};

using Factories = ::testing::Types<test::SqliteStoreFactory, test::PostgresStoreFactory>;
TYPED_TEST_SUITE(WriterBehaviour, Factories);

TYPED_TEST(WriterBehaviour, SubmittedRecordsReachTheStoreInOrderOnOneChain) {
  {
    auto writer = Writer::start(this->store_, this->options());
    ASSERT_TRUE(writer) << writer.error().message();
    for (int n = 0; n < 100; ++n) ASSERT_TRUE((*writer)->submit(sample_record(n)));
    ASSERT_TRUE((*writer)->flush());
    EXPECT_EQ((*writer)->pending(), 0u);
    EXPECT_EQ((*writer)->figures().committed, 100u);
  }
  const auto records = checked_chain(*this->store_);
  ASSERT_EQ(records.size(), 100u);
  EXPECT_EQ(records[41].body["n"], 41);
  for (std::size_t i = 1; i < records.size(); ++i) EXPECT_LT(records[i - 1].id, records[i].id);
}

TYPED_TEST(WriterBehaviour, ARestartContinuesTheChain) {
  for (int round = 0; round < 3; ++round) {
    auto writer = Writer::start(this->store_, this->options());
    ASSERT_TRUE(writer) << writer.error().message();
    for (int n = 0; n < 7; ++n) ASSERT_TRUE((*writer)->submit(sample_record(n)));
  }  // destruction drains
  EXPECT_EQ(checked_chain(*this->store_).size(), 21u);
}

TYPED_TEST(WriterBehaviour, RecordsCommittedButNotTrimmedAreNotWrittenTwice) {
  // A crash after the store committed but before the spool was trimmed: the next start finds
  // the committed records still in the spool.
  const auto spool = this->options().spool_file;
  std::string untrimmed;
  {
    auto writer = Writer::start(this->store_, this->options());
    ASSERT_TRUE(writer);
    for (int n = 0; n < 20; ++n) ASSERT_TRUE((*writer)->submit(sample_record(n)));
    ASSERT_TRUE((*writer)->flush());
    untrimmed = test::read_text(spool);
  }
  test::write_text(spool, untrimmed);
  {
    auto writer = Writer::start(this->store_, this->options());
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->submit(sample_record(99)));
    ASSERT_TRUE((*writer)->flush());
  }
  const auto records = checked_chain(*this->store_);
  ASSERT_EQ(records.size(), 21u);
  EXPECT_EQ(records.back().body["n"], 99);
}

TYPED_TEST(WriterBehaviour, AFullQueueStillAcknowledgesAndEverythingArrivesInOrder) {
  auto options = this->options();
  options.queue_capacity = 3;
  options.batch_size = 2;
  {
    auto writer = Writer::start(this->store_, options);
    ASSERT_TRUE(writer);
    for (int n = 0; n < 300; ++n) ASSERT_TRUE((*writer)->submit(sample_record(n)));
    ASSERT_TRUE((*writer)->flush());
  }
  const auto records = checked_chain(*this->store_);
  ASSERT_EQ(records.size(), 300u);
  for (int n = 0; n < 300; ++n) EXPECT_EQ(records[n].body["n"], n);
}

TYPED_TEST(WriterBehaviour, AnUnwritableSpoolRefusesTheRecordWithoutBreakingTheChain) {
  auto writer = Writer::start(this->store_, this->options());
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->submit(sample_record(1)));
  // The process may not grow files past their current size: the next spool write fails (EFBIG),
  // as it would on a full disk.
  const auto spool_size = fs::file_size(this->options().spool_file);
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  rlimit limited = saved;
  limited.rlim_cur = spool_size + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  auto refused = (*writer)->submit(sample_record(2));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), Errc::AuditUnavailable);
  EXPECT_EQ((*writer)->figures().spool_failures, 1u);

  ASSERT_TRUE((*writer)->submit(sample_record(3)));
  ASSERT_TRUE((*writer)->flush());
  const auto records = checked_chain(*this->store_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].body["n"], 3);
}

TYPED_TEST(WriterBehaviour, EveryRecordGoesToSyslogAsRfc5424) {
  const int receiver = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(receiver, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(receiver, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::getsockname(receiver, reinterpret_cast<sockaddr*>(&address), &length), 0);

  auto options = this->options();
  options.syslog_target = "udp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  std::vector<std::string> references;
  {
    auto writer = Writer::start(this->store_, options);
    ASSERT_TRUE(writer) << writer.error().message();
    for (int n = 1; n <= 3; ++n) {
      auto record = sample_record(n);
      references.push_back(record.reference);
      ASSERT_TRUE((*writer)->submit(record));
    }
    ASSERT_TRUE((*writer)->flush());
  }
  const auto stored = checked_chain(*this->store_);
  for (std::size_t i = 0; i < references.size(); ++i) {
    pollfd ready{receiver, POLLIN, 0};
    ASSERT_EQ(::poll(&ready, 1, 5000), 1) << "no syslog datagram for record " << i + 1;
    char buffer[65536];
    const ssize_t got = ::recv(receiver, buffer, sizeof buffer, 0);
    ASSERT_GT(got, 0);
    const std::string message(buffer, static_cast<std::size_t>(got));
    // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
    std::istringstream fields(message);
    std::string pri_version, timestamp, hostname, app, procid, msgid, structured;
    fields >> pri_version >> timestamp >> hostname >> app >> procid >> msgid >> structured;
    const int severity = i + 1 == 3 ? 5 : 6;  // n = 3 is a block: notice
    EXPECT_EQ(pri_version, "<" + std::to_string(13 * 8 + severity) + ">1");
    EXPECT_EQ(timestamp, stored[i].time);
    EXPECT_EQ(app, "gatekeeper");
    EXPECT_EQ(procid, std::to_string(::getpid()));
    EXPECT_EQ(msgid, "request");
    EXPECT_EQ(structured, "-");
    std::string rest;
    std::getline(fields, rest);
    const auto json = nlohmann::json::parse(rest, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << message;
    EXPECT_EQ(json["reference"], references[i]);
    EXPECT_EQ(json["hash"], stored[i].hash);
    EXPECT_EQ(json["sequence"], i + 1);
    EXPECT_EQ(json["id"], stored[i].id);
  }
  ::close(receiver);
}

TEST(SyslogSink, RejectsTargetsThatDoNotParse) {
  EXPECT_EQ(SyslogSink::open("tcp://127.0.0.1:514").error(), Errc::ConfigInvalid);
  EXPECT_EQ(SyslogSink::open("udp://127.0.0.1").error(), Errc::ConfigInvalid);
  EXPECT_EQ(SyslogSink::open("udp://127.0.0.1:99999").error(), Errc::ConfigInvalid);
  EXPECT_EQ(SyslogSink::open("unix:").error(), Errc::ConfigInvalid);
  EXPECT_TRUE(SyslogSink::open("udp://[::1]:514") || true);  // IPv6 may be disabled here
}

TEST(SyslogSink, FormatsHeaderFieldsWithoutSpaces) {
  Record record;
  record.time = "2026-11-22T18:52:01.123Z";
  record.kind = RecordKind::Admin;
  record.body = {{"event", "start"}, {"note", "é"}};
  const auto message = format_syslog_message(record, "host name", 42);
  EXPECT_TRUE(message.starts_with("<110>1 2026-11-22T18:52:01.123Z hostname gatekeeper 42 admin - {"))
      << message;
  for (const unsigned char c : message) EXPECT_LT(c, 128) << "MSG must be ASCII";
}

// ---- kill -9 ----------------------------------------------------------------------------------

// The child half of the crash test, run in a separate process by the parent below: submits
// records forever and reports each acknowledged sequence on a pipe until it is SIGKILLed.
TEST(WriterCrashChild, SubmitUntilKilled) {
  const char* locator = std::getenv("GATEKEEPER_AUDIT_CRASH_STORE");
  const char* spool = std::getenv("GATEKEEPER_AUDIT_CRASH_SPOOL");
  if (!locator || !spool) GTEST_SKIP() << "only run as the child of WriterBehaviour crash tests";
  auto store = test::open_store_by_locator(locator);
  ASSERT_TRUE(store);
  Writer::Options options;
  options.spool_file = spool;
  options.instance = kInstance;
  options.batch_size = 32;
  const char* sync = std::getenv("GATEKEEPER_AUDIT_CRASH_SYNC");
  options.sync_before_acknowledging = sync != nullptr && std::string_view(sync) == "1";
  auto writer = Writer::start(*store, options);
  ASSERT_TRUE(writer);
  for (int n = 0;; ++n) {
    if (!(*writer)->submit(sample_record(n))) continue;
    const std::string ack = std::to_string(n) + "\n";
    if (::write(3, ack.data(), ack.size()) < 0) ::_exit(1);
  }
}

TYPED_TEST(WriterBehaviour, AcknowledgedRecordsSurviveKillMinus9) {
  const auto spool = this->options().spool_file;
  std::set<int> acknowledged;
  for (int round = 0; round < 3; ++round) {
    int ack_pipe[2];
    ASSERT_EQ(::pipe(ack_pipe), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, ack_pipe[1], 3);
    posix_spawn_file_actions_addclose(&actions, ack_pipe[0]);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    std::string filter = "--gtest_filter=WriterCrashChild.SubmitUntilKilled";
    std::string self = fs::read_symlink("/proc/self/exe").string();
    char* argv[] = {self.data(), filter.data(), nullptr};
    // Both durability modes must survive kill -9: "process" (write(2) only, the default) in
    // rounds 0 and 2, "disk" (fdatasync before the acknowledgement) in round 1.
    std::vector<std::string> environment = {
        "GATEKEEPER_AUDIT_CRASH_STORE=" + this->factory_.locator(),
        "GATEKEEPER_AUDIT_CRASH_SPOOL=" + spool.string(),
        std::string("GATEKEEPER_AUDIT_CRASH_SYNC=") + (round == 1 ? "1" : "0")};
    std::vector<char*> envp;
    for (auto& variable : environment) envp.push_back(variable.data());
    envp.push_back(nullptr);
    pid_t child = 0;
    ASSERT_EQ(::posix_spawn(&child, self.c_str(), &actions, nullptr, argv, envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(ack_pipe[1]);

    // Kill it mid-stream, after a different number of acknowledgements each round.
    const std::size_t kill_after = 150 + 200 * round;
    std::string received;
    std::size_t acks_this_round = 0;
    bool killed = false;
    char buffer[4096];
    while (true) {
      const ssize_t got = ::read(ack_pipe[0], buffer, sizeof buffer);
      if (got <= 0) break;  // EOF: the child is dead and every ack it wrote has been read
      received.append(buffer, static_cast<std::size_t>(got));
      std::size_t newline;
      while ((newline = received.find('\n')) != std::string::npos) {
        acknowledged.insert(round * 1'000'000 + std::stoi(received.substr(0, newline)));
        received.erase(0, newline + 1);
        ++acks_this_round;
      }
      if (!killed && acks_this_round >= kill_after) {
        ::kill(child, SIGKILL);
        killed = true;
      }
    }
    ::close(ack_pipe[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended on its own: " << status;
    ASSERT_GE(acks_this_round, kill_after);
  }

  // A new start replays whatever the store lacks; then every acknowledged record is there once.
  {
    auto writer = Writer::start(this->store_, this->options());
    ASSERT_TRUE(writer) << writer.error().message();
    ASSERT_TRUE((*writer)->flush());
  }
  const auto records = checked_chain(*this->store_);
  std::map<int, int> stored;  // (round, n) -> occurrences
  int round = 0;
  int previous_n = -1;
  for (const auto& record : records) {
    const int n = record.body["n"].template get<int>();
    if (n <= previous_n) ++round;  // each child starts again from n = 0
    previous_n = n;
    ++stored[round * 1'000'000 + n];
  }
  for (const int key : acknowledged) {
    ASSERT_EQ(stored[key], 1) << "acknowledged record " << key % 1'000'000 << " of round "
                              << key / 1'000'000 << " is " << (stored[key] ? "duplicated" : "lost");
  }
  EXPECT_GE(records.size(), acknowledged.size());
}

// ---- the store goes away and comes back (PostgreSQL only: a server we can stop) ---------------

TEST(WriterWithPostgres, SpoolsWhileTheServerIsDownAndReplaysInOrderWhenItReturns) {
  std::string why_not;
  auto server = test::PostgresServer::start(why_not);
  if (!server) GTEST_SKIP() << why_not;
  const auto dsn = server->create_database();
  ASSERT_FALSE(dsn.empty());
  auto store = open_postgres_store(dsn);
  ASSERT_TRUE(store);
  test_support::TempDir dir;
  Writer::Options options;
  options.spool_file = dir.path() / "audit-spool.jsonl";
  options.instance = kInstance;
  options.batch_size = 8;
  auto writer = Writer::start(*store, options);
  ASSERT_TRUE(writer);
  for (int n = 0; n < 10; ++n) ASSERT_TRUE((*writer)->submit(sample_record(n)));
  ASSERT_TRUE((*writer)->flush());

  ASSERT_TRUE(server->stop());
  for (int n = 10; n < 60; ++n)
    ASSERT_TRUE((*writer)->submit(sample_record(n))) << "acknowledged from the spool alone";
  // The background thread notices the store is gone.
  for (int i = 0; i < 100 && (*writer)->figures().store_errors == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GT((*writer)->figures().store_errors, 0u);
  EXPECT_FALSE((*writer)->figures().store_available);
  EXPECT_EQ((*writer)->pending(), 50u);

  ASSERT_TRUE(server->restart());
  ASSERT_TRUE((*writer)->flush());
  EXPECT_TRUE((*writer)->figures().store_available);
  const auto records = checked_chain(**store);
  ASSERT_EQ(records.size(), 60u);
  for (int n = 0; n < 60; ++n) EXPECT_EQ(records[n].body["n"], n);
}

TEST(WriterWithPostgres, StartsWithTheServerDownWhenTheSpoolKnowsTheChain) {
  std::string why_not;
  auto server = test::PostgresServer::start(why_not);
  if (!server) GTEST_SKIP() << why_not;
  const auto dsn = server->create_database();
  auto store = open_postgres_store(dsn);
  ASSERT_TRUE(store);
  test_support::TempDir dir;
  Writer::Options options;
  options.spool_file = dir.path() / "audit-spool.jsonl";
  options.instance = kInstance;
  {
    auto writer = Writer::start(*store, options);
    ASSERT_TRUE(writer);
    for (int n = 0; n < 5; ++n) ASSERT_TRUE((*writer)->submit(sample_record(n)));
  }
  ASSERT_TRUE(server->stop());
  {
    auto writer = Writer::start(*store, options);
    ASSERT_TRUE(writer) << "the spool's tip says where the chain stands";
    for (int n = 5; n < 8; ++n) ASSERT_TRUE((*writer)->submit(sample_record(n)));
  }  // stops with 3 records left in the spool
  ASSERT_TRUE(server->restart());
  {
    auto writer = Writer::start(*store, options);
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->flush());
  }
  const auto records = checked_chain(**store);
  ASSERT_EQ(records.size(), 8u);

  // Without a spool, an unreachable store cannot tell where the chain stands: refuse.
  ASSERT_TRUE(server->stop());
  options.spool_file = dir.path() / "elsewhere" / "audit-spool.jsonl";
  auto refused = Writer::start(*store, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), Errc::AuditUnavailable);
}

TEST(WriterWithPostgres, TheStoreOpensWhileTheServerIsDownAndCreatesItsSchemaLater) {
  std::string why_not;
  auto server = test::PostgresServer::start(why_not);
  if (!server) GTEST_SKIP() << why_not;
  const auto dsn = server->create_database();
  ASSERT_TRUE(server->stop());
  auto store = open_postgres_store(dsn);
  ASSERT_TRUE(store) << "an unreachable server is not a configuration error";
  EXPECT_EQ((*store)->list(Filter{}).error(), Errc::DatabaseError);
  ASSERT_TRUE(server->restart());
  auto listed = (*store)->list(Filter{});
  ASSERT_TRUE(listed) << "the schema is created on the first successful connection";
  EXPECT_TRUE(listed->empty());

  auto malformed = open_postgres_store("this is = not a dsn '");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error(), Errc::ConfigInvalid);
}

}  // namespace
}  // namespace gatekeeper::audit

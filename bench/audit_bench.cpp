// Audit records/s sustained through the Writer (spool with group fdatasync, queue, batches) into
// SQLite and into a real PostgreSQL server (fsync on), from several submitting threads as the
// proxy's I/O threads would.
#include "gatekeeper/audit/writer.hpp"

#include "support/postgres_server.hpp"

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <random>

namespace {

using namespace gatekeeper;
namespace fs = std::filesystem;

audit::Record request_record(std::uint64_t n) {
  audit::Record record;
  record.time = audit::now_time();
  record.reference = "GK-20261122-" + std::to_string(100000 + n % 900000);
  record.body = {{"reference", record.reference},
                 {"platform", "chatgpt"},
                 {"host", "chatgpt.com"},
                 {"method", "POST"},
                 {"path", "/backend-api/conversation"},
                 {"action", n % 5 == 0 ? "block" : "log"},
                 {"categories", n % 5 == 0 ? nlohmann::json{"health_identifier"}
                                           : nlohmann::json::array()},
                 {"findings", nlohmann::json::array()},
                 {"user", "u:3f2a9c0d11e4b7a2"},
                 {"bytes_inspected", 4096}};
  record.project_body();
  return record;
}

fs::path fresh_dir() {
  std::random_device random;
  fs::path dir = fs::temp_directory_path() / ("gatekeeper-audit-bench-" + std::to_string(random()));
  fs::create_directories(dir);
  return dir;
}

void run_writer(benchmark::State& state, const audit::StorePtr& store, const fs::path& dir) {
  audit::Writer::Options options;
  options.spool_file = dir / "audit-spool.jsonl";
  // Argument: audit.durability, 0 = "process" (write(2) before acknowledging, the default),
  // 1 = "disk" (fdatasync before acknowledging, shared by concurrent submitters).
  options.sync_before_acknowledging = state.range(0) == 1;
  options.instance = "bench-" + std::to_string(state.thread_index());
  static std::unique_ptr<audit::Writer> writer;
  if (state.thread_index() == 0) {
    options.instance = "bench";
    auto started = audit::Writer::start(store, options);
    if (!started) {
      state.SkipWithError("writer did not start");
      return;
    }
    writer = std::move(*started);
  }
  std::uint64_t n = 0;
  for (auto _ : state) {
    if (!writer || !writer->submit(request_record(n++))) state.SkipWithError("submit failed");
  }
  if (state.thread_index() == 0) {
    // Sustained: the figure includes draining everything into the store.
    if (writer && !writer->flush()) state.SkipWithError("flush failed");
    writer.reset();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}

void BM_WriterSqlite(benchmark::State& state) {
  static fs::path dir;
  static audit::StorePtr store;
  if (state.thread_index() == 0) {
    dir = fresh_dir();
    auto opened = audit::open_sqlite_store((dir / "audit.db").string());
    if (!opened) {
      state.SkipWithError("sqlite store did not open");
      return;
    }
    store = *opened;
  }
  run_writer(state, store, dir);
  if (state.thread_index() == 0) {
    store.reset();
    fs::remove_all(dir);
  }
}
BENCHMARK(BM_WriterSqlite)->ArgName("disk")->Arg(0)->Arg(1)->Threads(1)->Threads(4)->UseRealTime()->MinTime(3.0);

void BM_WriterPostgres(benchmark::State& state) {
  static std::unique_ptr<test::PostgresServer> server;
  static std::string why_not;
  static fs::path dir;
  static audit::StorePtr store;
  if (state.thread_index() == 0) {
    if (!server && why_not.empty()) server = test::PostgresServer::start(why_not, {.durable = true});
    if (!server) {
      state.SkipWithError(why_not.c_str());
      return;
    }
    dir = fresh_dir();
    auto opened = audit::open_postgres_store(server->create_database());
    if (!opened) {
      state.SkipWithError("postgres store did not open");
      return;
    }
    store = *opened;
  }
  run_writer(state, store, dir);
  if (state.thread_index() == 0) {
    store.reset();
    fs::remove_all(dir);
  }
}
BENCHMARK(BM_WriterPostgres)->ArgName("disk")->Arg(0)->Arg(1)->Threads(1)->Threads(4)->UseRealTime()->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

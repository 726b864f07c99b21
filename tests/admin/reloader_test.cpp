#include "gatekeeper/admin/reloader.hpp"

#include "gatekeeper/admin/metrics.hpp"
#include "support/config_fixture.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace gatekeeper::admin {
namespace {

namespace asio = boost::asio;

class ReloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Metrics::instance().reset_for_test();
    overrides_.config_file = fixture_.config_file();
    Diagnostics diagnostics;
    auto initial = config::load_snapshot(overrides_, 1, diagnostics);
    ASSERT_TRUE(initial) << (diagnostics.empty() ? "" : diagnostics.front().to_string());
    store_ = std::make_unique<config::SnapshotStore>(*initial);
    Reloader::Options options;
    options.overrides = overrides_;
    options.store = store_.get();
    options.poll_interval = std::chrono::milliseconds(50);
    options.record_decision = [this](const nlohmann::json& record) {
      std::lock_guard lock(records_mutex_);
      records_.push_back(record);
    };
    reloader_ = std::make_unique<Reloader>(ioc_, options);
  }
  void TearDown() override {
    if (reloader_) reloader_->stop();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
    Metrics::instance().reset_for_test();
  }

  void break_rules() {
    original_ = test::read_text(fixture_.first_rule_file());
    test::write_text(fixture_.first_rule_file(), original_ + "\n  - [unclosed\n");
  }
  void repair_rules() { test::write_text(fixture_.first_rule_file(), original_); }

  std::string metrics() const { return Metrics::instance().render_prometheus(); }

  // Waits (bounded) for a condition the reloader's own thread makes true.
  template <class Condition>
  bool eventually(Condition condition) {
    for (int i = 0; i < 2400; ++i) {  // up to a minute: rule sets compile slowly in Debug builds
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return condition();
  }

  test::ConfigFixture fixture_;
  config::Overrides overrides_;
  std::unique_ptr<config::SnapshotStore> store_;
  asio::io_context ioc_;
  std::unique_ptr<Reloader> reloader_;
  std::thread thread_;
  std::mutex records_mutex_;
  std::vector<nlohmann::json> records_;
  std::string original_;
};

TEST_F(ReloaderTest, FailedReloadKeepsTheOldSnapshotAndIsCounted) {
  const auto before = store_->current();
  break_rules();
  EXPECT_FALSE(reloader_->reload_now("test"));
  EXPECT_EQ(store_->current(), before);
  EXPECT_NE(metrics().find("gatekeeper_reloads_total{result=\"failure\"} 1\n"), std::string::npos);
  // The refusal itself is audited, with the revision that stays active.
  std::lock_guard lock(records_mutex_);
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].at("event"), "config_reload_refused");
  EXPECT_EQ(records_[0].at("active_revision"), 1);
  EXPECT_EQ(records_[0].at("problems"), 1);
}

TEST_F(ReloaderTest, SuccessfulReloadPublishesTheNextRevision) {
  const auto before = store_->current();
  break_rules();
  EXPECT_FALSE(reloader_->reload_now("test"));
  repair_rules();
  EXPECT_TRUE(reloader_->reload_now("test"));
  const auto after = store_->current();
  EXPECT_EQ(after->revision, 2u);
  EXPECT_EQ(after->rules->fingerprint(), before->rules->fingerprint());
  EXPECT_EQ(before->revision, 1u);  // in-flight holders still see their snapshot
  EXPECT_NE(metrics().find("gatekeeper_config_revision 2\n"), std::string::npos);
  std::lock_guard lock(records_mutex_);
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[0].at("event"), "config_reload_refused");
  EXPECT_EQ(records_[1].at("event"), "config_change");
  EXPECT_EQ(records_[1].at("revision"), 2);
  EXPECT_EQ(records_[1].at("rules_fingerprint"), after->rules->fingerprint());
}

TEST_F(ReloaderTest, FileChangesAreDetected) {
  reloader_->start();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(ioc_);
    ioc_.run();
  });
  break_rules();
  EXPECT_TRUE(eventually([&] {
    return metrics().find("gatekeeper_reloads_total{result=\"failure\"} 1\n") != std::string::npos;
  }));
  EXPECT_EQ(store_->current()->revision, 1u);
  repair_rules();
  EXPECT_TRUE(eventually([&] { return store_->current()->revision == 2; }));
  // A failed file is not retried until it changes again.
  EXPECT_NE(metrics().find("gatekeeper_reloads_total{result=\"failure\"} 1\n"), std::string::npos);
}

TEST_F(ReloaderTest, RequestReloadRunsOnTheWorkerThread) {
  reloader_->request_reload("SIGHUP");
  EXPECT_TRUE(eventually([&] { return store_->current()->revision == 2; }));
}

}  // namespace
}  // namespace gatekeeper::admin

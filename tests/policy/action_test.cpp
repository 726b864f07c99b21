#include "gatekeeper/policy/action.hpp"

#include <gtest/gtest.h>

namespace gatekeeper::policy {
namespace {

TEST(ActionTest, EveryActionRoundTripsThroughItsName) {
  for (Action action : {Action::Allow, Action::Log, Action::Redact, Action::Warn, Action::Block}) {
    Action parsed = Action::Allow;
    ASSERT_TRUE(parse_action(to_string(action), &parsed)) << to_string(action);
    EXPECT_EQ(parsed, action);
  }
}

TEST(ActionTest, UnknownOrMiscasedNamesAreRejected) {
  Action parsed = Action::Log;
  EXPECT_FALSE(parse_action("Block", &parsed));
  EXPECT_FALSE(parse_action("deny", &parsed));
  EXPECT_FALSE(parse_action("", &parsed));
  EXPECT_EQ(parsed, Action::Log);
}

TEST(ActionTest, PrecedenceFollowsEnumOrder) {
  EXPECT_GT(Action::Block, Action::Warn);
  EXPECT_GT(Action::Warn, Action::Redact);
  EXPECT_GT(Action::Redact, Action::Log);
  EXPECT_GT(Action::Log, Action::Allow);
}

TEST(ActionTest, EveryTierRoundTripsThroughItsName) {
  for (Tier tier : {Tier::Internal, Tier::Sovereign, Tier::External}) {
    Tier parsed = Tier::External;
    ASSERT_TRUE(parse_tier(to_string(tier), &parsed));
    EXPECT_EQ(parsed, tier);
  }
  EXPECT_FALSE(parse_tier("public", nullptr));
}

}  // namespace
}  // namespace gatekeeper::policy

#include "gatekeeper/core/diagnostic.hpp"
#include "gatekeeper/core/error.hpp"

#include <gtest/gtest.h>

namespace gatekeeper {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) return make_error_code(Errc::ConfigInvalid);
  return value;
}

TEST(ErrorTest, ResultCarriesProjectErrorCode) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 3);

  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), Errc::ConfigInvalid);
  EXPECT_EQ(bad.error().category().name(), std::string("gatekeeper"));
  EXPECT_EQ(bad.error().message(), "invalid configuration value");
}

TEST(ErrorTest, EveryCodeHasAStableNameAndMessage) {
  for (int v = 0; v <= static_cast<int>(Errc::NotFound); ++v) {
    auto e = static_cast<Errc>(v);
    EXPECT_STRNE(errc_name(e), "unknown") << v;
    EXPECT_NE(make_error_code(e).message(), "unknown gatekeeper error") << v;
  }
}

TEST(DiagnosticTest, RendersFileLineColumnAndRule) {
  Diagnostic d{Diagnostic::Severity::Error, "rules/nir.yaml", 12, 5, "fr_nir", "score must be between 0 and 1"};
  EXPECT_EQ(d.to_string(), "rules/nir.yaml:12:5: error: [fr_nir] score must be between 0 and 1");
  EXPECT_TRUE(has_errors({d}));
  d.severity = Diagnostic::Severity::Warning;
  EXPECT_FALSE(has_errors({d}));
}

}  // namespace
}  // namespace gatekeeper

#include "gatekeeper/policy/policy.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatekeeper::policy {
namespace {

// A finding over the first occurrence of `value` at or after `from` in `text`.
detect::Finding over(std::string_view text, std::string_view value, const std::string& placeholder,
                     std::size_t from = 0) {
  detect::Finding f;
  f.rule_id = "test_rule";
  f.category = "health_identifier";
  f.placeholder = placeholder;
  f.start = text.find(value, from);
  f.end = f.start + value.size();
  return f;
}

TEST(RedactorTest, ReplacesRedactFindingsAndKeepsTheRest) {
  const std::string text = "Patient NIR 1 84 12 75 123 456 78, clé sk-ABCDEF123 fin.";
  const detect::Findings findings = {over(text, "1 84 12 75 123 456 78", "NIR"),
                                     over(text, "sk-ABCDEF123", "SECRET")};
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, findings, {Action::Redact, Action::Redact}),
            "Patient NIR [NIR_1], clé [SECRET_1] fin.");
}

TEST(RedactorTest, OnlyFindingsWhoseActionIsRedactAreReplaced) {
  const std::string text = "a AAA b BBB c CCC";
  const detect::Findings findings = {over(text, "AAA", "X"), over(text, "BBB", "X"),
                                     over(text, "CCC", "X")};
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, findings, {Action::Log, Action::Redact, Action::Block}),
            "a AAA b [X_1] c CCC");
}

TEST(RedactorTest, SameValueGetsSameNumberAndNumbersArePerLabel) {
  const std::string text = "v1 then v2 then v1 and k1";
  const detect::Findings findings = {over(text, "v1", "NIR"), over(text, "v2", "NIR"),
                                     over(text, "v1", "NIR", 10), over(text, "k1", "SECRET")};
  Redactor redactor;
  const std::vector<Action> redact(4, Action::Redact);
  EXPECT_EQ(redactor.redact(text, findings, redact),
            "[NIR_1] then [NIR_2] then [NIR_1] and [SECRET_1]");
}

TEST(RedactorTest, NumberingContinuesAcrossCallsOfOneRedactor) {
  Redactor redactor;
  const std::string first = "id A1";
  const std::string second = "id B2 and A1";
  EXPECT_EQ(redactor.redact(first, {over(first, "A1", "IPP")}, {Action::Redact}), "id [IPP_1]");
  EXPECT_EQ(redactor.redact(second, {over(second, "B2", "IPP"), over(second, "A1", "IPP")},
                            {Action::Redact, Action::Redact}),
            "id [IPP_2] and [IPP_1]");
  Redactor fresh;
  EXPECT_EQ(fresh.redact(second, {over(second, "B2", "IPP")}, {Action::Redact}),
            "id [IPP_1] and A1");
}

TEST(RedactorTest, UnsortedFindingsAreAppliedAtTheirOffsets) {
  const std::string text = "x=111; y=222; z=333";
  const detect::Findings findings = {over(text, "333", "N"), over(text, "111", "N"),
                                     over(text, "222", "N")};
  Redactor redactor;
  // Numbers follow text order, not finding order.
  EXPECT_EQ(redactor.redact(text, findings, std::vector<Action>(3, Action::Redact)),
            "x=[N_1]; y=[N_2]; z=[N_3]");
}

TEST(RedactorTest, OffsetsAreBytesAndMultibyteTextIsKeptIntact) {
  const std::string text = "Ré\xC3\xA9sumé: NIR 2840875123456 — fin\xE2\x80\xAF!";
  const detect::Findings findings = {over(text, "2840875123456", "NIR")};
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, findings, {Action::Redact}),
            "Ré\xC3\xA9sumé: NIR [NIR_1] — fin\xE2\x80\xAF!");
}

TEST(RedactorTest, InvalidUtf8AroundAFindingIsPreservedByteForByte) {
  using namespace std::string_literals;
  const std::string text = "\xFF\xFE key=SECRET99 \x80"s;
  const detect::Findings findings = {over(text, "SECRET99", "SECRET")};
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, findings, {Action::Redact}), "\xFF\xFE key=[SECRET_1] \x80"s);
}

TEST(RedactorTest, FindingsAtBothEndsOfTheText) {
  const std::string text = "AAA middle BBB";
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, {over(text, "AAA", "A"), over(text, "BBB", "B")},
                            {Action::Redact, Action::Redact}),
            "[A_1] middle [B_1]");
}

TEST(RedactorTest, LabelFallsBackToCategoryAndIsSanitised) {
  const std::string text = "value 42 and 43";
  detect::Finding by_category = over(text, "42", "");
  by_category.category = "personal_data";
  detect::Finding odd_label = over(text, "43", "my-label]");
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, {by_category, odd_label}, {Action::Redact, Action::Redact}),
            "value [PERSONAL_DATA_1] and [MY_LABEL_1]");
}

TEST(RedactorTest, OverlappingFindingsAreRedactedAsTheirUnion) {
  const std::string text = "token ABCDEFGH end";
  detect::Finding a = over(text, "ABCDEF", "SECRET");
  detect::Finding b = over(text, "DEFGH", "SECRET");
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, {a, b}, {Action::Redact, Action::Redact}),
            "token [SECRET_1] end");
}

TEST(RedactorTest, OutOfRangeFindingsNeverReadPastTheText) {
  const std::string text = "short ABC";
  detect::Finding past_end = over(text, "ABC", "X");
  past_end.end = 100;
  detect::Finding beyond;
  beyond.placeholder = "Y";
  beyond.start = 50;
  beyond.end = 60;
  Redactor redactor;
  EXPECT_EQ(redactor.redact(text, {past_end, beyond}, {Action::Redact, Action::Redact}),
            "short [X_1]");
}

TEST(RedactorTest, NoFindingsReturnsTheTextUnchanged) {
  Redactor redactor;
  EXPECT_EQ(redactor.redact("nothing here", {}, {}), "nothing here");
}

}  // namespace
}  // namespace gatekeeper::policy

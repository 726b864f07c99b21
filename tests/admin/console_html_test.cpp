#include "gatekeeper/admin/console_html.hpp"

#include <gtest/gtest.h>

namespace gatekeeper::admin::console {
namespace {

TEST(ConsoleHtml, EscapesEveryCharacterThatCouldOpenMarkup) {
  EXPECT_EQ(html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(html_escape("déjà vu"), "déjà vu");
}

TEST(ConsoleHtml, FormsAndQueriesAreDecoded) {
  auto form = parse_form("a=1&b=x%20y+z&c=%3Cb%3E&a=2&bad=%zz&empty=&flag");
  EXPECT_EQ(form.at("a"), "1");  // the first occurrence wins
  EXPECT_EQ(form.at("b"), "x y z");
  EXPECT_EQ(form.at("c"), "<b>");
  EXPECT_EQ(form.at("bad"), "%zz");
  EXPECT_EQ(form.at("empty"), "");
  EXPECT_EQ(form.at("flag"), "");
  EXPECT_EQ(parse_form("a=1&b=2&c=3", 2).size(), 2u);
  EXPECT_EQ(query_of("/console/records?platform=chatgpt#top"), "platform=chatgpt");
  EXPECT_EQ(query_of("/console/records"), "");
  EXPECT_EQ(url_decode(url_encode("é &=?/+")), "é &=?/+");
  EXPECT_EQ(url_encode("a b&c"), "a%20b%26c");
}

TEST(ConsoleHtml, CookiesAreSplitAndTrimmed) {
  auto cookies = parse_cookies("gk_session=abc; gk_form=def ;other");
  EXPECT_EQ(cookies.at("gk_session"), "abc");
  EXPECT_EQ(cookies.at("gk_form"), "def");
  EXPECT_EQ(cookies.count("other"), 0u);
}

TEST(ConsoleCsv, FieldsFollowRfc4180) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_row({"a", "b,c", ""}), "a,\"b,c\",\r\n");
}

TEST(ConsoleCsv, FormulasAreDefused) {
  for (const std::string start : {"=", "+", "-", "@", "\t", "\r"}) {
    const std::string field = csv_field(start + "HYPERLINK(\"http://x\")");
    const std::size_t at = field.front() == '"' ? 1 : 0;
    EXPECT_EQ(field[at], '\'') << "field starting with " << static_cast<int>(start[0]);
  }
  EXPECT_EQ(csv_field("=1+1"), "'=1+1");
  EXPECT_EQ(csv_field("1-1"), "1-1");
}

TEST(ConsoleCharts, SvgChartsEscapeLabelsAndScaleBars) {
  const std::string svg = svg_bar_chart({{"<b>cat</b>", 10}, {"other", 5}}, "Par <catégorie>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("&lt;b&gt;cat&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find("width=\"260\""), std::string::npos);  // the largest bar spans the scale
  EXPECT_NE(svg.find("width=\"130\""), std::string::npos);  // half as many, half as long
  EXPECT_NE(svg_bar_chart({}, "Vide").find("Aucune donnée"), std::string::npos);

  ChartSeries blocked{"bloqué", {{"2026-11-20", 3}, {"2026-11-22", 1}}};
  ChartSeries warned{"averti", {{"2026-11-22", 1}}};
  const std::string days =
      svg_stacked_days({"2026-11-20", "2026-11-21", "2026-11-22"}, {blocked, warned}, "Par jour");
  EXPECT_NE(days.find("2026-11-20 bloqué : 3"), std::string::npos);
  EXPECT_NE(days.find("2026-11-22 averti : 1"), std::string::npos);
  EXPECT_EQ(days.find("2026-11-21 bloqué"), std::string::npos);
}

TEST(ConsoleSecrets, RandomIdsAreLongAndDistinct) {
  const std::string a = random_hex(32), b = random_hex(32);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(constant_time_equal(a, a));
  EXPECT_FALSE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, a.substr(1)));
}

}  // namespace
}  // namespace gatekeeper::admin::console

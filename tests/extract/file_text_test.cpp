#include "gatekeeper/extract/file_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gatekeeper::extract {
namespace {

TEST(FileTextTest, DecodesUtf16WithByteOrderMarks) {
  const std::string little(
      "\xFF\xFE"
      "N\0I\0R\0 \0\xE9\0",
      12);
  EXPECT_EQ(decode_charset(little), "NIR \xC3\xA9");
  const std::string big(
      "\xFE\xFF"
      "\0N\0I\0R\0 \0\xE9",
      12);
  EXPECT_EQ(decode_charset(big), "NIR \xC3\xA9");
  // A surrogate pair (U+1F600) survives.
  const std::string pair("\xFF\xFE\x3D\xD8\x00\xDE", 6);
  EXPECT_EQ(decode_charset(pair), "\xF0\x9F\x98\x80");
}

TEST(FileTextTest, KeepsUtf8AndFallsBackToWindows1252) {
  EXPECT_EQ(decode_charset("\xEF\xBB\xBF"
                           "d\xC3\xA9j\xC3\xA0"),
            "d\xC3\xA9j\xC3\xA0");
  EXPECT_EQ(decode_charset("s\xE9minaire \x80 \x93"), "s\xC3\xA9minaire \xE2\x82\xAC \xE2\x80\x9C");
}

TEST(FileTextTest, DecodesEntities) {
  EXPECT_EQ(decode_entities("a &amp; b &lt;c&gt; &#233;t&#xE9; &eacute;&nbsp;x &unknown; &"),
            "a & b <c> \xC3\xA9t\xC3\xA9 \xC3\xA9 x &unknown; &");
}

TEST(FileTextTest, XmlTableRowsStayOneLine) {
  const MarkupLayout layout{{"p", "tr"}, {"tc"}, {"tab"}, {}, {"instrText"}};
  const std::string xml =
      "<w:body><w:p><w:r><w:t>Intro</w:t></w:r></w:p><w:tbl>"
      "<w:tr><w:tc><w:p><w:t>patient_id</w:t></w:p></w:tc><w:tc><w:p><w:t>diagnostic</w:t></w:p>"
      "</w:tc></w:tr><w:tr><w:tc><w:p><w:t>P-1</w:t></w:p></w:tc><w:tc><w:p><w:t>diab&#232;te"
      "</w:t></w:p></w:tc></w:tr></w:tbl><w:p><w:instrText>PAGE</w:instrText><w:t>a</w:t><w:tab/>"
      "<w:t>b</w:t></w:p></w:body>";
  EXPECT_EQ(xml_text(xml, layout),
            "Intro\npatient_id \tdiagnostic \t\nP-1 \tdiab\xC3\xA8te \t\na\tb\n");
}

TEST(FileTextTest, XmlKeepsCdataAndDropsCommentsAndDeclarations) {
  const MarkupLayout layout{{}, {}, {}, {}, {}, false, true};
  EXPECT_EQ(xml_text("<?xml version=\"1.0\"?><!-- x --><a><b>1</b><c><![CDATA[<2>]]></c>"
                     "<d attr=\"a>b\">3</d></a>",
                     layout),
            "1\n<2>\n3\n");
}

TEST(FileTextTest, HtmlDropsScriptsAndBreaksBlocks) {
  EXPECT_EQ(html_text("<HTML><head><title>T</title><script>if (a<b) x='</p>';</script>"
                      "<style>p{}</style></head><body><p>Un</p>deux<br>trois<table><tr><td>a</td>"
                      "<td>b</td></tr></table></body></html>"),
            "T\nUn\ndeux\ntrois\na\tb\t\n");
}

TEST(FileTextTest, RtfStripsControlWordsAndDecodesEscapes) {
  const std::string rtf =
      "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Times;}}{\\colortbl;\\red0;}"
      "{\\info{\\title Rapport}{\\keywords Confidentiel}}"
      "{\\*\\generator Writer}\\pard Patient : J. Fictive, \\'e9t\\'e9 \\u8364\\'80 ok\\par "
      "{\\pict\\pngblip 89504e47}Fin\\tab x\\line y}";
  EXPECT_EQ(
      rtf_text(rtf),
      "Rapport\nConfidentiel\nPatient : J. Fictive, \xC3\xA9t\xC3\xA9 \xE2\x82\xAC ok\nFin\tx\ny");
}

TEST(FileTextTest, HostileMarkupNeverCrashes) {
  const MarkupLayout layout{{"p"}, {"tc"}, {}, {}, {"skip"}};
  for (const std::string input :
       std::vector<std::string>{"<", "<a", "<a b=\"", "</", "<!--", "<![CDATA[", "<skip>", "&#",
                                "&#x110000;", "&#99999999999;", "<p/><p/></tc></tc>", "<?", "<!"}) {
    (void)xml_text(input, layout);
    (void)html_text(input);
  }
  for (const std::string& input :
       std::vector<std::string>{"{", "}}}}", "\\", "{\\u", "\\'", "\\'z", "{\\uc9\\u-1 abc",
                                std::string(2000, '{'), "\\u99999999999999 x"})
    (void)rtf_text(input);
  SUCCEED();
}

}  // namespace
}  // namespace gatekeeper::extract

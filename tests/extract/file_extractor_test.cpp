#include "gatekeeper/extract/file_extractor.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gatekeeper/detect/rule_set.hpp"
#include "gatekeeper/detect/scanner.hpp"
#include "support/config_fixture.hpp"

namespace gatekeeper::extract {
namespace {

constexpr const char* kNir = "2 85 05 78 006 084 41";  // invented, valid key

std::string fixture(const std::string& name) {
  return test::read_text(std::filesystem::path(GATEKEEPER_TEST_DIR) / "fixtures" / "files" / name);
}

std::string all_text(const FileExtraction& extraction) {
  std::string out;
  for (const auto& text : extraction.texts) out += text.text + "\n";
  return out;
}

bool has_place(const FileExtraction& extraction, const std::string& where) {
  for (const auto& text : extraction.texts)
    if (text.where.find(where) != std::string::npos) return true;
  return false;
}

Result<FileExtraction> extract_fixture(const std::string& name) {
  ExtractionBudget budget(config::FileLimits{});
  return extract_file(fixture(name), budget);
}

TEST(FileExtractorTest, SniffsByMagicNeverByDeclaredType) {
  EXPECT_EQ(sniff_format(fixture("sensitive.pdf"), "text/plain"), "pdf");
  EXPECT_EQ(sniff_format(fixture("image.png"), "application/pdf"), "png");
  EXPECT_EQ(sniff_format(fixture("sensitive.dcm"), "image/png"), "dicom");
  EXPECT_EQ(sniff_format(fixture("sensitive.docx"), "text/plain"), "zip");
  EXPECT_EQ(sniff_format(fixture("sensitive.rtf")), "rtf");
  EXPECT_EQ(sniff_format(fixture("sensitive.html")), "html");
  EXPECT_EQ(sniff_format("{\"a\": [1, 2]}"), "json");
  EXPECT_EQ(sniff_format("<?xml version=\"1.0\"?><a/>"), "xml");
  EXPECT_EQ(sniff_format("a;b\n1;2\n", "text/csv"), "csv");
  EXPECT_EQ(sniff_format("a;b\n1;2\n", "image/png"), "txt");
  EXPECT_EQ(sniff_format(std::string("\x01\x02\x00\x04", 4)), "binary");
  EXPECT_EQ(sniff_format(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), "webp");
  EXPECT_EQ(sniff_format(std::string("\0\0\0\x18"
                                     "ftypheic\0\0\0\0",
                                     16)),
            "heic");
  // The Office container is told apart after opening it.
  auto docx = extract_fixture("sensitive.docx");
  ASSERT_TRUE(docx);
  EXPECT_EQ(docx->format, "docx");
}

struct FormatCase {
  std::string file;
  std::string format;
  std::vector<std::string> expected;  // pieces of text that must be extracted
  std::vector<std::string> places;    // structural places that must be reported
};

class FileFixtureTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FileFixtureTest, ExtractsEveryPartOfTheDocument) {
  const FormatCase& c = GetParam();
  auto extraction = extract_fixture(c.file);
  ASSERT_TRUE(extraction) << c.file;
  EXPECT_EQ(extraction->format, c.format);
  const std::string text = all_text(*extraction);
  for (const auto& piece : c.expected)
    EXPECT_NE(text.find(piece), std::string::npos) << c.file << " lacks " << piece << "\n" << text;
  for (const auto& place : c.places) EXPECT_TRUE(has_place(*extraction, place)) << place;
}

const std::string kRow = "P-0001\t12/03/1961\tF\tinsuffisance cardiaque";

INSTANTIATE_TEST_SUITE_P(
    Formats, FileFixtureTest,
    ::testing::Values(
        FormatCase{
            "sensitive.docx",
            "docx",
            {kNir, "EN-TETE-MARQUEUR", "PIED-MARQUEUR", "COMMENTAIRE-MARQUEUR", "\nConfidentiel\n",
             "patient_id \tdate_naissance \tsexe \tdiagnostic"},
            {"word/document.xml", "word/header", "word/footer", "word/comments.xml", "properties"}},
        FormatCase{"sensitive.odt",
                   "odt",
                   {kNir, "EN-TETE-MARQUEUR", "PIED-MARQUEUR", "COMMENTAIRE-MARQUEUR",
                    "\nConfidentiel\n", "patient_id \tdate_naissance \tsexe \tdiagnostic"},
                   {"content.xml", "styles.xml", "properties (meta.xml)"}},
        FormatCase{"sensitive.xlsx",
                   "xlsx",
                   {kRow, "patient_id\tdate_naissance", "COMMENTAIRE-MARQUEUR", "\nConfidentiel\n"},
                   {"xl/worksheets/sheet1.xml", "properties"}},
        FormatCase{"sensitive.ods",
                   "ods",
                   {"P-0001 \t12/03/1961 \tF \tinsuffisance cardiaque", "COMMENTAIRE-MARQUEUR",
                    "\nConfidentiel\n"},
                   {"content.xml", "properties (meta.xml)"}},
        FormatCase{"sensitive.pptx",
                   "pptx",
                   {kNir, "NOTE-MARQUEUR", "\nConfidentiel\n"},
                   {"ppt/slides/slide1.xml", "ppt/notesSlides/", "properties"}},
        FormatCase{
            "sensitive.odp", "odp", {kNir, "NOTE-MARQUEUR", "\nConfidentiel\n"}, {"content.xml"}},
        FormatCase{"sensitive.pdf",
                   "pdf",
                   {kNir, "EN-TETE-MARQUEUR", "PIED-MARQUEUR", "patient_id\tdate_naissance"},
                   {"page 1"}},
        FormatCase{"sensitive.rtf", "rtf", {kNir, "EN-TETE-MARQUEUR", "Confidentiel"}, {"text"}},
        FormatCase{"sensitive.html", "html", {kNir, "Compte rendu"}, {"text"}},
        FormatCase{"sensitive.csv", "txt", {"\"P-0001\";\"12/03/1961\""}, {"text"}},
        FormatCase{"sensitive-utf16.txt", "txt", {kNir, "Compte rendu"}, {"text"}},
        FormatCase{"sensitive-latin1.txt", "txt", {kNir, "suivie pour"}, {"text"}},
        FormatCase{"benign-latin1.txt", "txt", {"Programme du s\xC3\xA9minaire"}, {"text"}},
        FormatCase{"benign.docx",
                   "docx",
                   {"EN-TETE-MARQUEUR", "COMMENTAIRE-MARQUEUR", "\nPublic\n"},
                   {"properties"}},
        FormatCase{"benign.xlsx", "xlsx", {"Salle 1\t20\tprojecteur"}, {}}),
    [](const auto& info) {
      std::string name = info.param.file;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

TEST(FileExtractorTest, DicomIsAMedicalImageWithItsPatientAttributes) {
  auto explicit_vr = extract_fixture("sensitive.dcm");
  ASSERT_TRUE(explicit_vr);
  EXPECT_EQ(explicit_vr->format, "dicom");
  ASSERT_EQ(explicit_vr->opaque.size(), 1u);
  EXPECT_EQ(explicit_vr->opaque[0].kind, OpaqueKind::MedicalImage);
  const std::string text = all_text(*explicit_vr);
  EXPECT_NE(text.find("(0010,0010) PatientName: FICTIVE^JEANNE"), std::string::npos) << text;
  EXPECT_NE(text.find("(0010,0030) PatientBirthDate: 19610312"), std::string::npos);
  EXPECT_NE(text.find("(0008,0020) StudyDate: 20250314"), std::string::npos);
  // The implicit-VR phantom: still a medical image, attributes still read.
  auto implicit_vr = extract_fixture("benign.dcm");
  ASSERT_TRUE(implicit_vr);
  ASSERT_EQ(implicit_vr->opaque.size(), 1u);
  EXPECT_EQ(implicit_vr->opaque[0].kind, OpaqueKind::MedicalImage);
  EXPECT_NE(all_text(*implicit_vr).find("PatientName: PHANTOM^WATER"), std::string::npos);
}

TEST(FileExtractorTest, ImagesAndUnknownBinariesHaveNoText) {
  auto image = extract_fixture("image.png");
  ASSERT_TRUE(image);
  EXPECT_TRUE(image->texts.empty());
  ASSERT_EQ(image->opaque.size(), 1u);
  EXPECT_EQ(image->opaque[0].kind, OpaqueKind::Image);
  ExtractionBudget budget(config::FileLimits{});
  auto legacy = extract_file(
      std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(504, '\0'), budget);
  ASSERT_TRUE(legacy);
  ASSERT_EQ(legacy->opaque.size(), 1u);
  EXPECT_EQ(legacy->opaque[0].kind, OpaqueKind::Binary);
  EXPECT_EQ(legacy->opaque[0].format, "ole");
}

TEST(FileExtractorTest, PdfPageLimitAndExtractionTimeLimit) {
  config::FileLimits limits;
  limits.max_pdf_pages = 0;
  ExtractionBudget pages(limits);
  auto pdf = extract_file(fixture("sensitive.pdf"), pages);
  ASSERT_FALSE(pdf);
  EXPECT_EQ(pdf.error(), Errc::ExtractionLimit);
  EXPECT_NE(pages.problem_en().find("max_pdf_pages"), std::string::npos);

  limits = config::FileLimits{};
  limits.max_extraction_time = std::chrono::milliseconds(0);
  ExtractionBudget time(limits);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto late = extract_file(fixture("sensitive.docx"), time);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), Errc::ExtractionLimit);
  EXPECT_NE(time.problem_en().find("max_extraction_time"), std::string::npos);
}

// Truncated and corrupted copies of every fixture: an answer or a clean error, never a crash.
TEST(FileExtractorTest, TruncatedAndCorruptedFilesNeverCrash) {
  std::mt19937 random(20261122);
  for (const char* name : {"sensitive.docx", "sensitive.xlsx", "sensitive.pptx", "sensitive.odt",
                           "sensitive.pdf", "sensitive.dcm", "sensitive.rtf", "image.png"}) {
    const std::string bytes = fixture(name);
    ASSERT_FALSE(bytes.empty()) << name;
    std::vector<std::string> variants;
    for (std::size_t cut : {bytes.size() / 3, bytes.size() / 2, bytes.size() - 1, std::size_t{150}})
      variants.push_back(bytes.substr(0, cut));
    for (int i = 0; i < 12; ++i) {
      std::string corrupt = bytes;
      for (int flips = 0; flips < 8; ++flips)
        corrupt[random() % corrupt.size()] = static_cast<char>(random() & 0xFF);
      variants.push_back(std::move(corrupt));
    }
    for (const auto& variant : variants) {
      ExtractionBudget budget(config::FileLimits{});
      auto extracted = extract_file(variant, budget);
      if (!extracted) {
        EXPECT_TRUE(extracted.error() == Errc::FileMalformed ||
                    extracted.error() == Errc::ExtractionLimit)
            << name;
        EXPECT_FALSE(budget.problem_en().empty()) << name;
      }
    }
  }
}

// The shipped rule pack finds the sensitive sample of every format, and nothing in the benign
// twins.
class FileFixtureScanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Diagnostics diagnostics;
    auto loaded = detect::RuleSet::load(std::filesystem::path(GATEKEEPER_SOURCE_DIR) / "rules",
                                        detect::RuleSetOptions{}, diagnostics);
    ASSERT_TRUE(loaded);
    rules_ = *loaded;
  }
  static std::set<std::string> categories(const std::string& name) {
    auto extraction = extract_fixture(name);
    EXPECT_TRUE(extraction) << name;
    std::set<std::string> found;
    if (!extraction) return found;
    for (const auto& text : extraction->texts) {
      auto findings = detect::scan(*rules_, text.text);
      EXPECT_TRUE(findings);
      if (findings)
        for (const auto& finding : *findings) found.insert(finding.category);
    }
    return found;
  }
  static inline detect::RuleSetConstSharedPtr rules_;
};

TEST_F(FileFixtureScanTest, SensitiveSamplesAreFoundBenignTwinsAreClean) {
  for (const char* format :
       {"docx", "odt", "xlsx", "ods", "pptx", "odp", "pdf", "rtf", "html", "csv"}) {
    const auto sensitive = categories(std::string("sensitive.") + format);
    EXPECT_FALSE(sensitive.empty()) << format;
    const bool blocked = sensitive.count("patient_data") || sensitive.count("confidential") ||
                         sensitive.count("nominative_health");
    EXPECT_TRUE(blocked || sensitive.count("health_identifier")) << format;
    const auto benign = categories(std::string("benign.") + format);
    EXPECT_TRUE(benign.empty()) << format << ": " << *benign.begin();
  }
  const auto properties = categories("sensitive.docx");
  EXPECT_TRUE(properties.count("confidential"));  // the "Confidentiel" property
  EXPECT_TRUE(properties.count("health_identifier"));
}

}  // namespace
}  // namespace gatekeeper::extract

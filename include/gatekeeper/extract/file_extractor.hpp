#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gatekeeper/core/error.hpp"
#include "gatekeeper/extract/file_limits.hpp"

namespace gatekeeper::extract {

// Text found in a file, and where: a structural place ("word/document.xml", "page 3",
// "xl/worksheets/sheet1.xml", "properties", "entry 2/page 1"), never a name the user chose.
struct FileText {
  std::string text;
  std::string where;
};

// Content that has no text to scan. The policy decides what happens to it (config/policy.yaml
// categories image_file, unknown_binary; DICOM counts as patient_data).
enum class OpaqueKind { Image, MedicalImage, Binary };

struct OpaqueContent {
  OpaqueKind kind = OpaqueKind::Binary;
  std::string format;  // "png", "dicom", "binary", "doc" (legacy Office)...
  std::string where;
};

struct FileExtraction {
  std::string format;      // sniffed: "txt", "csv", "json", "html", "xml", "rtf", "docx", "xlsx",
                           // "pptx", "odt", "ods", "odp", "pdf", "dicom", "png", "zip", "binary"...
  std::string media_type;  // sniffed media type, e.g. "application/pdf"
  std::vector<FileText> texts;
  std::vector<OpaqueContent> opaque;
};

// The format of a file from its bytes (magic numbers, then the structure of text). The declared
// media type and the file name are never trusted: `declared_media_type` only names a text format
// ("text/csv" -> "csv") once the bytes are known to be text.
std::string sniff_format(std::string_view bytes, std::string_view declared_media_type = {});
std::string media_type_of(std::string_view format);

// Extracts every piece of text of a file, recursing into archives and embedded objects.
// `depth` is the number of archives already opened around this file.
// Errors: Errc::ExtractionLimit (a limit of the budget; budget.problem_*() names it),
//         Errc::FileMalformed (corrupt or encrypted file; budget.problem_*() says what).
Result<FileExtraction> extract_file(std::string_view bytes, ExtractionBudget& budget,
                                    std::string_view declared_media_type = {}, unsigned depth = 0);

// Format-specific readers (exposed for tests); each appends to `out`.
Result<void> extract_office(std::string_view bytes, ExtractionBudget& budget, unsigned depth,
                            FileExtraction& out);  // docx xlsx pptx odt ods odp, plain zip
Result<void> extract_pdf(std::string_view bytes, ExtractionBudget& budget, FileExtraction& out);
Result<void> extract_dicom(std::string_view bytes, ExtractionBudget& budget, FileExtraction& out);

}  // namespace gatekeeper::extract

// PDF text through poppler-cpp.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <climits>
#include <memory>
#include <mutex>

#include "gatekeeper/extract/file_extractor.hpp"

namespace gatekeeper::extract {
namespace {

// Poppler reports syntax errors of broken files on stderr; they may quote file content.
void quiet(const std::string&, void*) {}

std::string utf8(const poppler::ustring& text) {
  const poppler::byte_array bytes = text.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

// Physical layout keeps the columns of a table on one line; runs of spaces between columns
// become a tab so that a table row reads like one (cells separated) for the scanner.
std::string columns_to_tabs(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' && i + 1 < text.size() && text[i + 1] == ' ') {
      while (i + 1 < text.size() && text[i + 1] == ' ') ++i;
      out += '\t';
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

Result<void> extract_pdf(std::string_view bytes, ExtractionBudget& budget, FileExtraction& out) {
  static std::once_flag silenced;
  std::call_once(silenced, [] { poppler::set_debug_error_function(quiet, nullptr); });
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    return budget.exceeded("PDF larger than 2 GiB", "PDF de plus de 2 Gio");
  std::unique_ptr<poppler::document> document(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!document) return budget.malformed("PDF: unreadable file", "PDF : fichier illisible");
  if (document->is_locked())
    return budget.malformed("encrypted (password-protected) PDF", "PDF chiffré (mot de passe)");
  const int pages = document->pages();
  if (pages < 0) return budget.malformed("PDF: no page tree", "PDF : pas d'arbre de pages");
  if (auto ok = budget.check_pages(static_cast<std::uint64_t>(pages)); !ok) return ok;

  std::string properties;
  for (const std::string& key : document->info_keys()) {
    if (key == "Producer" || key == "Creator" || key == "CreationDate" || key == "ModDate")
      continue;
    properties += utf8(document->info_key(key));
    properties += '\n';
  }
  if (!properties.empty()) out.texts.push_back({std::move(properties), "properties"});

  for (int index = 0; index < pages; ++index) {
    if (auto ok = budget.check_time(); !ok) return ok;
    std::unique_ptr<poppler::page> page(document->create_page(index));
    if (!page) continue;
    std::string text =
        columns_to_tabs(utf8(page->text(poppler::rectf(), poppler::page::physical_layout)));
    if (auto ok = budget.add_decoded(text.size()); !ok) return ok;
    if (!text.empty()) out.texts.push_back({std::move(text), "page " + std::to_string(index + 1)});
  }
  return {};
}

}  // namespace gatekeeper::extract

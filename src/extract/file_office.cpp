// Office documents (OOXML docx/xlsx/pptx, OpenDocument odt/ods/odp) and plain zip archives.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "gatekeeper/extract/file_extractor.hpp"
#include "gatekeeper/extract/file_text.hpp"
#include "gatekeeper/extract/file_zip.hpp"

namespace gatekeeper::extract {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

const MarkupLayout kWordLayout{{"p", "tr", "br", "cr"}, {"tc"}, {"tab"}, {}, {"instrText"}};
const MarkupLayout kDrawingLayout{{"p", "tr", "br"}, {"tc"}, {"tab"}, {}, {}};
const MarkupLayout kOdfLayout{{"p", "h", "table-row", "line-break", "list-item", "frame"},
                              {"table-cell", "covered-table-cell"},
                              {"tab"},
                              {"s"},
                              {}};
// Properties (core.xml, custom.xml, meta.xml): one value per line, so that a label such as
// "Confidentiel" stands on its own line as it would on a cover page.
const MarkupLayout kPropertiesLayout{{}, {}, {}, {}, {}, false, true};

// Minimal XML walk for spreadsheets, where cell values need their attributes.
struct Tag {
  std::string_view name;  // local name
  std::string_view attributes;
  bool closing = false;
  bool self_closing = false;
};

std::string_view local(std::string_view name) {
  const std::size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string attribute(std::string_view attributes, std::string_view name) {
  std::size_t at = 0;
  while ((at = attributes.find(name, at)) != std::string_view::npos) {
    const bool boundary = at == 0 || std::isspace(static_cast<unsigned char>(attributes[at - 1])) ||
                          attributes[at - 1] == ':';
    std::size_t eq = at + name.size();
    if (boundary && eq < attributes.size() && attributes[eq] == '=' && eq + 1 < attributes.size()) {
      const char quote = attributes[eq + 1];
      const std::size_t end = attributes.find(quote, eq + 2);
      if (end != std::string_view::npos)
        return decode_entities(attributes.substr(eq + 2, end - eq - 2));
    }
    at += name.size();
  }
  return {};
}

// Calls on_tag for every element tag and on_text for character data (entities undecoded).
template <typename OnTag, typename OnText>
void walk_xml(std::string_view xml, OnTag on_tag, OnText on_text) {
  std::size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] != '<') {
      std::size_t next = xml.find('<', i);
      if (next == std::string_view::npos) next = xml.size();
      on_text(xml.substr(i, next - i));
      i = next;
      continue;
    }
    if (xml.substr(i, 4) == "<!--") {
      const std::size_t end = xml.find("-->", i);
      i = end == std::string_view::npos ? xml.size() : end + 3;
      continue;
    }
    const std::size_t end = xml.find('>', i);
    if (end == std::string_view::npos) return;
    if (i + 1 < xml.size() && (xml[i + 1] == '?' || xml[i + 1] == '!')) {
      i = end + 1;
      continue;
    }
    Tag tag;
    tag.closing = xml[i + 1] == '/';
    tag.self_closing = xml[end - 1] == '/';
    std::size_t name_start = i + (tag.closing ? 2 : 1);
    std::size_t name_end = name_start;
    while (name_end < end && !std::isspace(static_cast<unsigned char>(xml[name_end])) &&
           xml[name_end] != '/')
      ++name_end;
    tag.name = local(xml.substr(name_start, name_end - name_start));
    tag.attributes = xml.substr(name_end, end - name_end);
    on_tag(tag);
    i = end + 1;
  }
}

std::vector<std::string> shared_strings(std::string_view xml) {
  std::vector<std::string> strings;
  std::string current;
  bool in_item = false, in_text = false, in_phonetic = false;
  walk_xml(
      xml,
      [&](const Tag& tag) {
        if (tag.name == "si") {
          if (!tag.closing && !tag.self_closing) {
            in_item = true;
            current.clear();
          } else {
            strings.push_back(std::move(current));
            current.clear();
            in_item = false;
          }
        } else if (tag.name == "rPh") {
          in_phonetic = !tag.closing && !tag.self_closing;
        } else if (tag.name == "t") {
          in_text = !tag.closing && !tag.self_closing;
        }
      },
      [&](std::string_view text) {
        if (in_item && in_text && !in_phonetic) current += decode_entities(text);
      });
  return strings;
}

// One line per row, cells separated by tabs; shared strings resolved; headers and footers kept.
std::string sheet_text(std::string_view xml, const std::vector<std::string>& strings) {
  std::string out;
  std::string cell_type;
  std::string value;
  bool in_value = false, in_header = false, in_cell = false;
  walk_xml(
      xml,
      [&](const Tag& tag) {
        const std::string_view n = tag.name;
        if (n == "row" && (tag.closing || tag.self_closing)) {
          out += '\n';
        } else if (n == "c") {
          if (!tag.closing) {
            cell_type = attribute(tag.attributes, "t");
            value.clear();
            in_cell = !tag.self_closing;
          }
          if (tag.closing || tag.self_closing) {
            if (cell_type == "s") {
              const long index = std::strtol(value.c_str(), nullptr, 10);
              if (index >= 0 && static_cast<std::size_t>(index) < strings.size() && !value.empty())
                out += strings[static_cast<std::size_t>(index)];
            } else {
              out += value;
            }
            out += '\t';
            in_cell = false;
          }
        } else if (n == "v" || n == "t") {
          in_value = in_cell && !tag.closing && !tag.self_closing;
        } else if (n == "oddHeader" || n == "oddFooter" || n == "evenHeader" || n == "evenFooter" ||
                   n == "firstHeader" || n == "firstFooter") {
          in_header = !tag.closing && !tag.self_closing;
          if (tag.closing) out += '\n';
        }
      },
      [&](std::string_view text) {
        if (in_value)
          value += decode_entities(text);
        else if (in_header)
          out += decode_entities(text);
      });
  return out;
}

// Sheet names and defined names (user-chosen: scanned, never logged).
std::string workbook_text(std::string_view xml) {
  std::string out;
  walk_xml(
      xml,
      [&](const Tag& tag) {
        if (tag.name == "sheet" && !tag.closing) out += attribute(tag.attributes, "name") + '\n';
      },
      [](std::string_view) {});
  return out;
}

std::string odf_mimetype(const ZipReader& zip, ExtractionBudget& budget) {
  const ZipEntry* entry = zip.find("mimetype");
  if (!entry || entry->uncompressed_size > 200) return {};
  auto bytes = zip.read(*entry, budget);
  return bytes ? *bytes : std::string();
}

bool is_properties_part(std::string_view name) {
  return name == "docProps/core.xml" || name == "docProps/custom.xml" ||
         name == "docProps/app.xml" || name == "meta.xml";
}

// Embedded objects and media of a document: extracted like files of their own.
bool is_embedded_part(std::string_view name) {
  return name.find("/embeddings/") != std::string_view::npos ||
         name.find("/media/") != std::string_view::npos || starts_with(name, "Pictures/") ||
         (starts_with(name, "Object ") && name.find('/') == std::string_view::npos);
}

bool is_ooxml_text_part(std::string_view format, std::string_view name) {
  if (!ends_with(name, ".xml") || ends_with(name, ".rels")) return false;
  if (format == "docx")
    return name == "word/document.xml" || starts_with(name, "word/header") ||
           starts_with(name, "word/footer") || name == "word/footnotes.xml" ||
           name == "word/endnotes.xml" || name == "word/comments.xml" ||
           name == "word/commentsExtended.xml" || starts_with(name, "word/glossary/document");
  if (format == "pptx")
    return starts_with(name, "ppt/slides/slide") || starts_with(name, "ppt/notesSlides/") ||
           starts_with(name, "ppt/comments/") || starts_with(name, "ppt/commentAuthors");
  if (format == "xlsx")
    return starts_with(name, "xl/comments") || starts_with(name, "xl/threadedComments/") ||
           starts_with(name, "xl/drawings/drawing");
  return false;
}

Result<void> nested_file(std::string_view bytes, std::string where, ExtractionBudget& budget,
                         unsigned depth, FileExtraction& out) {
  auto nested = extract_file(bytes, budget, {}, depth);
  if (!nested) return nested.error();
  for (auto& text : nested->texts)
    out.texts.push_back({std::move(text.text), where + "/" + text.where});
  for (auto& opaque : nested->opaque) {
    opaque.where = where + "/" + opaque.where;
    out.opaque.push_back(std::move(opaque));
  }
  return {};
}

}  // namespace

Result<void> extract_office(std::string_view bytes, ExtractionBudget& budget, unsigned depth,
                            FileExtraction& out) {
  auto zip = ZipReader::open(bytes, budget);
  if (!zip) return zip.error();
  std::string format = "zip";
  if (zip->find("[Content_Types].xml")) {
    if (zip->find("word/document.xml"))
      format = "docx";
    else if (zip->find("xl/workbook.xml"))
      format = "xlsx";
    else if (zip->find("ppt/presentation.xml"))
      format = "pptx";
  } else if (zip->find("mimetype") && zip->find("content.xml")) {
    const std::string mimetype = odf_mimetype(*zip, budget);
    if (mimetype == "application/vnd.oasis.opendocument.text")
      format = "odt";
    else if (mimetype == "application/vnd.oasis.opendocument.spreadsheet")
      format = "ods";
    else if (mimetype == "application/vnd.oasis.opendocument.presentation")
      format = "odp";
    else
      format = "odf";
  }
  out.format = format;
  out.media_type = media_type_of(format);

  if (format == "zip") {
    // A plain archive: every member is a file of its own. Member names are user data, so places
    // are "entry N"; the names themselves are scanned as text.
    std::string names;
    for (std::size_t i = 0; i < zip->entries().size(); ++i) {
      const ZipEntry& entry = zip->entries()[i];
      names += entry.name + '\n';
      if (entry.is_directory()) continue;
      auto data = zip->read(entry, budget);
      if (!data) return data.error();
      if (auto ok = nested_file(*data, "entry " + std::to_string(i + 1), budget, depth, out); !ok)
        return ok;
    }
    out.texts.push_back({std::move(names), "entry names"});
    return {};
  }

  const bool odf = format == "odt" || format == "ods" || format == "odp" || format == "odf";
  std::vector<std::string> strings;
  if (format == "xlsx") {
    if (const ZipEntry* entry = zip->find("xl/sharedStrings.xml")) {
      auto data = zip->read(*entry, budget);
      if (!data) return data.error();
      strings = shared_strings(*data);
    }
  }
  for (const ZipEntry& entry : zip->entries()) {
    if (entry.is_directory()) continue;
    if (auto ok = budget.check_time(); !ok) return ok;
    const std::string_view name = entry.name;
    const bool properties = is_properties_part(name);
    const bool embedded = is_embedded_part(name);
    const bool odf_text = odf && (ends_with(name, "content.xml") || ends_with(name, "styles.xml"));
    const bool sheet = format == "xlsx" && starts_with(name, "xl/worksheets/sheet");
    const bool workbook = format == "xlsx" && name == "xl/workbook.xml";
    if (!properties && !embedded && !odf_text && !sheet && !workbook &&
        !is_ooxml_text_part(format, name))
      continue;
    auto data = zip->read(entry, budget);
    if (!data) return data.error();
    if (embedded) {
      if (auto ok = nested_file(*data, std::string(name), budget, depth, out); !ok) return ok;
      continue;
    }
    std::string text;
    if (properties)
      text = xml_text(*data, kPropertiesLayout);
    else if (sheet)
      text = sheet_text(*data, strings);
    else if (workbook)
      text = workbook_text(*data);
    else if (odf_text)
      text = xml_text(*data, kOdfLayout);
    else if (format == "docx")
      text = xml_text(*data, kWordLayout);
    else
      text = xml_text(*data, kDrawingLayout);
    out.texts.push_back({std::move(text), properties ? "properties (" + std::string(name) + ")"
                                                     : std::string(name)});
  }
  return {};
}

}  // namespace gatekeeper::extract

#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace gatekeeper::extract {

// Bytes of a text file in any common encoding, as UTF-8: a UTF-8 or UTF-16 (LE/BE) byte order mark
// wins; otherwise valid UTF-8 is kept; anything else is read as Windows-1252 (Latin-1 with the
// 0x80-0x9F punctuation), which never fails, so no byte is silently dropped.
std::string decode_charset(std::string_view bytes);

// Decodes XML and HTML character references: &amp; &lt; &#233; &#xE9; and the usual HTML names
// (&eacute; &nbsp;...). Unknown references are kept as they are.
std::string decode_entities(std::string_view text);

// How markup becomes text. Element names are compared by local name (the part after "prefix:").
struct MarkupLayout {
  std::initializer_list<std::string_view> line_breaks;  // a new line after these (paragraph, row)
  std::initializer_list<std::string_view> cells;        // a tab after these (table cell)
  std::initializer_list<std::string_view> tabs;         // empty elements that stand for a tab
  std::initializer_list<std::string_view> spaces;       // empty elements that stand for a space
  std::initializer_list<std::string_view> skipped;      // their content is not text
  bool html = false;  // names compared case-insensitively, void elements, raw-text skipped content
  bool every_element_ends_line = false;  // data XML: each element's value on its own line
};

// Text content of an XML document: tags removed, entities decoded, CDATA kept, comments and
// processing instructions dropped. Table cells end with a tab and rows with a new line, so that a
// row of a patient table stays one line of tab-separated values for the scanner.
std::string xml_text(std::string_view xml, const MarkupLayout& layout);

// Visible text of an HTML page: script and style dropped, block elements end lines.
std::string html_text(std::string_view html);

// Text of an RTF document: control words and destinations that hold no text (font tables,
// pictures, styles...) dropped, \'hh escapes and \uN decoded.
std::string rtf_text(std::string_view rtf);

}  // namespace gatekeeper::extract

#include "gatekeeper/extract/file_text.hpp"

#include "gatekeeper/core/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <vector>

#include "gatekeeper/extract/payload.hpp"

namespace gatekeeper::extract {
namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Windows-1252 0x80-0x9F; the rest of the byte range is Latin-1.
constexpr std::array<std::uint16_t, 32> kCp1252High = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

void append_cp1252(std::string& out, unsigned char byte) {
  if (byte < 0x80)
    out += static_cast<char>(byte);
  else if (byte < 0xA0)
    append_utf8(out, kCp1252High[byte - 0x80]);
  else
    append_utf8(out, byte);
}

std::string decode_utf16(std::string_view bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size());
  auto unit = [&](std::size_t i) -> std::uint32_t {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const auto b = static_cast<unsigned char>(bytes[i + 1]);
    return little_endian ? (a | (b << 8)) : ((a << 8) | b);
  };
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    std::uint32_t cp = unit(i);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < bytes.size()) {
      const std::uint32_t low = unit(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += 2;
      }
    }
    append_utf8(out, cp);
  }
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

struct NamedEntity {
  std::string_view name;
  std::uint32_t cp;
};

// XML's five, the non-breaking space, and the Latin-1 letters and punctuation of French text.
constexpr std::array<NamedEntity, 58> kEntities = {{
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},     {"eacute", 0xE9},   {"egrave", 0xE8},  {"ecirc", 0xEA},    {"euml", 0xEB},
    {"agrave", 0xE0},  {"acirc", 0xE2},    {"auml", 0xE4},    {"ccedil", 0xE7},   {"ocirc", 0xF4},
    {"ouml", 0xF6},    {"ugrave", 0xF9},   {"ucirc", 0xFB},   {"uuml", 0xFC},     {"icirc", 0xEE},
    {"iuml", 0xEF},    {"Eacute", 0xC9},   {"Egrave", 0xC8},  {"Ecirc", 0xCA},    {"Agrave", 0xC0},
    {"Acirc", 0xC2},   {"Ccedil", 0xC7},   {"Ocirc", 0xD4},   {"Ucirc", 0xDB},    {"Icirc", 0xCE},
    {"oelig", 0x153},  {"OElig", 0x152},   {"aelig", 0xE6},   {"szlig", 0xDF},    {"ntilde", 0xF1},
    {"aacute", 0xE1},  {"iacute", 0xED},   {"oacute", 0xF3},  {"uacute", 0xFA},   {"laquo", 0xAB},
    {"raquo", 0xBB},   {"ndash", 0x2013},  {"mdash", 0x2014}, {"hellip", 0x2026}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"euro", 0x20AC},   {"copy", 0xA9},
    {"reg", 0xAE},     {"deg", 0xB0},      {"middot", 0xB7},  {"bull", 0x2022},   {"times", 0xD7},
    {"shy", 0xAD},     {"thinsp", 0x2009}, {"ensp", 0x2002},
}};

std::string_view local_name(std::string_view name) {
  const std::size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool listed(std::initializer_list<std::string_view> names, std::string_view name, bool html) {
  return std::any_of(names.begin(), names.end(), [&](std::string_view candidate) {
    return html ? iequals(candidate, name) : candidate == name;
  });
}

std::size_t find_ci(std::string_view text, std::string_view needle, std::size_t from) {
  for (std::size_t i = from; i + needle.size() <= text.size(); ++i)
    if (iequals(text.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

// End of the tag that starts at `open` ('<'), skipping quoted attribute values.
std::size_t tag_end(std::string_view xml, std::size_t open) {
  char quote = 0;
  for (std::size_t i = open + 1; i < xml.size(); ++i) {
    const char c = xml[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string decode_charset(std::string_view bytes) {
  if (starts_with(bytes, "\xEF\xBB\xBF"))
    bytes.remove_prefix(3);
  else if (starts_with(bytes, "\xFF\xFE"))
    return decode_utf16(bytes.substr(2), true);
  else if (starts_with(bytes, "\xFE\xFF"))
    return decode_utf16(bytes.substr(2), false);
  else if (bytes.size() >= 4 && bytes[0] != '\0' && bytes[1] == '\0' && bytes[2] != '\0' &&
           bytes[3] == '\0')
    return decode_utf16(bytes, true);  // UTF-16LE without a byte order mark (Windows exports)
  if (is_valid_utf8(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (char c : bytes) append_cp1252(out, static_cast<unsigned char>(c));
  return out;
}

std::string decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const std::size_t semi = text.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += '&';
      continue;
    }
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    bool decoded = false;
    if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      bool ok = !digits.empty() && digits.size() <= 7;
      for (char c : digits) {
        if (!ok) break;
        if (std::isdigit(static_cast<unsigned char>(c)))
          cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(c - '0');
        else if (hex && std::isxdigit(static_cast<unsigned char>(c)))
          cp = cp * 16 + static_cast<std::uint32_t>(std::tolower(c) - 'a' + 10);
        else
          ok = false;
      }
      if (ok) {
        append_utf8(out, cp == 0xA0 ? ' ' : cp);  // a non-breaking space splits words like a space
        decoded = true;
      }
    } else {
      for (const NamedEntity& entity : kEntities)
        if (entity.name == name) {
          append_utf8(out, entity.cp);
          decoded = true;
          break;
        }
    }
    if (decoded)
      i = semi;
    else
      out += '&';
  }
  return out;
}

std::string xml_text(std::string_view xml, const MarkupLayout& layout) {
  std::string out;
  out.reserve(xml.size() / 2);
  int cell_depth = 0;
  std::size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] != '<') {
      std::size_t next = xml.find('<', i);
      if (next == std::string_view::npos) next = xml.size();
      out += decode_entities(xml.substr(i, next - i));
      i = next;
      continue;
    }
    const std::string_view rest = xml.substr(i);
    if (starts_with(rest, "<!--")) {
      const std::size_t end = xml.find("-->", i + 4);
      i = end == std::string_view::npos ? xml.size() : end + 3;
      continue;
    }
    if (starts_with(rest, "<![CDATA[")) {
      const std::size_t end = xml.find("]]>", i + 9);
      out += xml.substr(i + 9, (end == std::string_view::npos ? xml.size() : end) - i - 9);
      i = end == std::string_view::npos ? xml.size() : end + 3;
      continue;
    }
    const std::size_t end = tag_end(xml, i);
    if (end == std::string_view::npos) break;
    if (rest.size() > 1 && (rest[1] == '?' || rest[1] == '!')) {
      i = end + 1;
      continue;
    }
    const bool closing = rest.size() > 1 && rest[1] == '/';
    const bool self_closing = xml[end - 1] == '/';
    std::size_t name_start = i + (closing ? 2 : 1);
    std::size_t name_end = name_start;
    while (name_end < end && !std::isspace(static_cast<unsigned char>(xml[name_end])) &&
           xml[name_end] != '/' && xml[name_end] != '>')
      ++name_end;
    const std::string_view name = local_name(xml.substr(name_start, name_end - name_start));
    i = end + 1;
    if (!closing && !self_closing && listed(layout.skipped, name, layout.html)) {
      // Skip to the matching end tag (script/style content is raw text in HTML).
      const std::string end_tag = "</" + std::string(xml.substr(name_start, name_end - name_start));
      const std::size_t close = layout.html ? find_ci(xml, end_tag, i) : xml.find(end_tag, i);
      if (close == std::string_view::npos) break;
      const std::size_t close_end = tag_end(xml, close);
      i = close_end == std::string_view::npos ? xml.size() : close_end + 1;
      continue;
    }
    const bool is_cell = listed(layout.cells, name, layout.html);
    if (is_cell && !closing && !self_closing) ++cell_depth;
    const bool ends =
        closing || self_closing || (layout.html && (iequals(name, "br") || iequals(name, "hr")));
    if (listed(layout.tabs, name, layout.html)) out += '\t';
    if (listed(layout.spaces, name, layout.html)) out += ' ';
    if (is_cell && (closing || self_closing)) {
      if (cell_depth > 0 && closing) --cell_depth;
      out += '\t';
    } else if ((layout.every_element_ends_line && ends) ||
               (listed(layout.line_breaks, name, layout.html) && (ends || layout.html))) {
      // A paragraph inside a table cell must not split the row.
      if (cell_depth > 0)
        out += ' ';
      else if (!out.empty() && out.back() != '\n')
        out += '\n';
    }
  }
  return out;
}

std::string html_text(std::string_view html) {
  static const MarkupLayout kHtml{
      {"p",      "div",        "br",  "hr",    "li",      "tr",      "h1",      "h2",
       "h3",     "h4",         "h5",  "h6",    "title",   "section", "article", "header",
       "footer", "blockquote", "pre", "table", "caption", "dt",      "dd"},
      {"td", "th"},
      {},
      {},
      {"script", "style", "noscript", "template"},
      true};
  return xml_text(html, kHtml);
}

std::string rtf_text(std::string_view rtf) {
  // Destinations whose content is not document text. Header, footer, footnotes and \info (title,
  // subject, keywords: where a "Confidentiel" label lives) are kept.
  static constexpr std::array<std::string_view, 21> kSkipped = {
      "fonttbl",   "colortbl",  "stylesheet", "listtable", "listoverridetable",
      "pict",      "object",    "themedata",  "datastore", "latentstyles",
      "rsidtbl",   "generator", "xmlnstbl",   "revtbl",    "filetbl",
      "bkmkstart", "bkmkend",   "fldinst",    "mmathPr",   "colorschememapping",
      "pgdsctbl"};
  struct Group {
    bool skip = false;
    bool own_line = false;  // a document property (\title, \keywords...): ends with a new line
    int unicode_skip = 1;   // \ucN: fallback characters that follow each \u
  };
  std::vector<Group> stack{{}};
  std::string out;
  out.reserve(rtf.size() / 2);
  int pending_skip = 0;  // fallback characters still to drop after a \u
  auto emit = [&](auto&& append) {
    if (pending_skip > 0) {
      --pending_skip;
      return;
    }
    if (!stack.back().skip) append();
  };
  for (std::size_t i = 0; i < rtf.size(); ++i) {
    const char c = rtf[i];
    if (c == '{') {
      stack.push_back(stack.back());
      stack.back().own_line = false;
      if (stack.size() > 512) return out;  // absurd nesting: what was read so far is scanned
      continue;
    }
    if (c == '}') {
      if (stack.size() > 1) {
        if (stack.back().own_line && !stack.back().skip) out += '\n';
        stack.pop_back();
      }
      pending_skip = 0;
      continue;
    }
    if (c == '\r' || c == '\n') continue;
    if (c != '\\') {
      emit([&] { append_cp1252(out, static_cast<unsigned char>(c)); });
      continue;
    }
    if (++i >= rtf.size()) break;
    const char next = rtf[i];
    if (std::isalpha(static_cast<unsigned char>(next))) {
      std::size_t word_end = i;
      while (word_end < rtf.size() && std::isalpha(static_cast<unsigned char>(rtf[word_end])))
        ++word_end;
      const std::string_view word = rtf.substr(i, word_end - i);
      std::size_t param_end = word_end;
      if (param_end < rtf.size() && rtf[param_end] == '-') ++param_end;
      while (param_end < rtf.size() && std::isdigit(static_cast<unsigned char>(rtf[param_end])) &&
             param_end - word_end < 10)
        ++param_end;
      const std::string_view digits = rtf.substr(word_end, param_end - word_end);
      const bool has_param = !digits.empty() && digits != "-";
      long param = has_param ? std::stol(std::string(digits)) : 0;
      i = param_end;
      if (i < rtf.size() && rtf[i] == ' ') {
        // The delimiter space belongs to the control word.
      } else {
        --i;
      }
      if (std::find(kSkipped.begin(), kSkipped.end(), word) != kSkipped.end()) {
        stack.back().skip = true;
      } else if (word == "title" || word == "subject" || word == "keywords" || word == "author" ||
                 word == "company" || word == "category" || word == "doccomm" ||
                 word == "manager" || word == "operator" || word == "comment") {
        stack.back().own_line = true;
      } else if (word == "par" || word == "line" || word == "row" || word == "sect" ||
                 word == "page") {
        emit([&] { out += '\n'; });
      } else if (word == "cell" || word == "tab") {
        emit([&] { out += '\t'; });
      } else if (word == "uc" && has_param) {
        stack.back().unicode_skip = static_cast<int>(std::clamp(param, 0L, 8L));
      } else if (word == "u" && has_param) {
        if (param < 0) param += 65536;
        pending_skip = 0;
        if (!stack.back().skip) append_utf8(out, static_cast<std::uint32_t>(param));
        pending_skip = stack.back().unicode_skip;
      } else if (word == "emdash") {
        emit([&] { append_utf8(out, 0x2014); });
      } else if (word == "endash") {
        emit([&] { append_utf8(out, 0x2013); });
      } else if (word == "lquote" || word == "rquote") {
        emit([&] { out += '\''; });
      } else if (word == "ldblquote" || word == "rdblquote") {
        emit([&] { out += '"'; });
      } else if (word == "bullet") {
        emit([&] { append_utf8(out, 0x2022); });
      }
      continue;
    }
    switch (next) {
      case '\'': {
        if (i + 2 < rtf.size() && std::isxdigit(static_cast<unsigned char>(rtf[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(rtf[i + 2]))) {
          const auto byte =
              static_cast<unsigned char>(std::stoi(std::string(rtf.substr(i + 1, 2)), nullptr, 16));
          emit([&] { append_cp1252(out, byte); });
          i += 2;
        }
        break;
      }
      case '*':
        stack.back().skip = true;  // an ignorable destination this reader does not know
        break;
      case '~':
        emit([&] { out += ' '; });
        break;
      case '_':
        emit([&] { out += '-'; });
        break;
      case '\r':
      case '\n':
        emit([&] { out += '\n'; });
        break;
      case '\\':
      case '{':
      case '}':
        emit([&] { out += next; });
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace gatekeeper::extract

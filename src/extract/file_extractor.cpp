#include "gatekeeper/extract/file_extractor.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "gatekeeper/extract/file_text.hpp"
#include "gatekeeper/extract/file_zip.hpp"
#include "gatekeeper/extract/payload.hpp"

namespace gatekeeper::extract {
namespace {

using namespace std::string_view_literals;  // magic numbers contain NUL bytes

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Magic {
  std::size_t offset;
  std::string_view bytes;
  std::string_view format;
};

// Formats recognised by their first bytes. Office zip containers are told apart after opening.
constexpr std::array<Magic, 19> kMagics = {{
    {0, "%PDF-"sv, "pdf"},
    {0, "\x89PNG\r\n\x1A\n"sv, "png"},
    {0, "\xFF\xD8\xFF"sv, "jpeg"},
    {0, "GIF87a"sv, "gif"},
    {0, "GIF89a"sv, "gif"},
    {0, "PK\x03\x04"sv, "zip"},
    {0, "PK\x05\x06"sv, "zip"},  // empty archive
    {0, "\x1F\x8B"sv, "gzip"},
    {0, "{\\rtf"sv, "rtf"},
    {0, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv, "ole"},  // doc, xls, ppt, msg
    {128, "DICM"sv, "dicom"},
    {0, "II*\0"sv, "tiff"},
    {0, "MM\0*"sv, "tiff"},
    {0, "7z\xBC\xAF\x27\x1C"sv, "7z"},
    {0, "Rar!\x1A\x07"sv, "rar"},
    {0, "ID3"sv, "mp3"},
    {0, "OggS"sv, "ogg"},
    {0, "fLaC"sv, "flac"},
    {0, "\x00\x00\x01\x00"sv, "ico"},
}};

std::string_view riff_or_iso_format(std::string_view bytes) {
  // "BM" alone starts ordinary text ("BMI..."): a bitmap also needs a known DIB header size.
  if (bytes.size() > 26 && starts_with(bytes, "BM") && bytes.substr(15, 3) == "\0\0\0"sv) {
    const auto header = static_cast<unsigned char>(bytes[14]);
    if (header == 12 || header == 40 || header == 52 || header == 56 || header == 108 ||
        header == 124)
      return "bmp";
  }
  if (bytes.size() >= 12 && starts_with(bytes, "RIFF")) {
    const std::string_view kind = bytes.substr(8, 4);
    if (kind == "WEBP") return "webp";
    if (kind == "WAVE") return "wav";
    if (kind == "AVI ") return "avi";
    return "riff";
  }
  if (bytes.size() >= 12 && bytes.substr(4, 4) == "ftyp") {
    const std::string_view brand = bytes.substr(8, 4);
    if (brand == "heic" || brand == "heix" || brand == "mif1" || brand == "msf1" ||
        brand == "heim" || brand == "heis" || brand == "hevc")
      return "heic";
    if (brand == "avif") return "avif";
    return "mp4";
  }
  return {};
}

bool is_image(std::string_view format) {
  static constexpr std::array<std::string_view, 9> kImages = {"png",  "jpeg", "gif", "webp", "heic",
                                                              "avif", "tiff", "bmp", "ico"};
  return std::find(kImages.begin(), kImages.end(), format) != kImages.end();
}

// Binary or text: NUL bytes and C0 control characters do not occur in text files.
bool looks_binary(std::string_view bytes) {
  const std::size_t sample = std::min<std::size_t>(bytes.size(), 64 * 1024);
  std::size_t controls = 0;
  for (std::size_t i = 0; i < sample; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == 0) return true;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B) ++controls;
  }
  return controls * 100 > sample;  // more than 1 %
}

std::string_view text_format(std::string_view text, std::string_view declared) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  const std::string_view body = first == std::string_view::npos ? text : text.substr(first);
  const std::string head = lower(body.substr(0, 512));
  if (starts_with(head, "<!doctype html") || starts_with(head, "<html") ||
      (starts_with(head, "<") && head.find("<html") != std::string::npos) ||
      (starts_with(head, "<") && (declared == "text/html" || declared == "application/xhtml+xml")))
    return "html";
  if (starts_with(head, "<?xml") || (starts_with(head, "<") && head.size() > 1 &&
                                     (std::isalpha(static_cast<unsigned char>(head[1])))))
    return "xml";
  if (starts_with(body, "{\\rtf")) return "rtf";
  if ((starts_with(body, "{") || starts_with(body, "[")) && parse_json(body)) return "json";
  if (declared == "text/csv" || declared == "application/csv") return "csv";
  if (declared == "text/tab-separated-values") return "tsv";
  if (declared == "text/markdown") return "md";
  return "txt";
}

void collect_json_strings(const Json& node, std::string& out) {
  switch (node.type()) {
    case Json::value_t::object:
      for (const auto& [key, value] : node.items()) {
        out += key;  // keys of a data file are column names: context words for the scanner
        out += ": ";
        collect_json_strings(value, out);
      }
      break;
    case Json::value_t::array:
      for (const auto& value : node) collect_json_strings(value, out);
      break;
    case Json::value_t::string:
      out += node.get_ref<const std::string&>();
      out += '\n';
      break;
    case Json::value_t::null:
      out += '\n';
      break;
    default:
      out += node.dump();
      out += '\n';
      break;
  }
}

Result<void> extract_text_format(std::string_view bytes, std::string_view format,
                                 ExtractionBudget& budget, FileExtraction& out) {
  std::string text = decode_charset(bytes);
  if (auto ok = budget.add_decoded(text.size()); !ok) return ok;
  if (format == "html") {
    text = html_text(text);
  } else if (format == "xml") {
    MarkupLayout layout{{}, {}, {}, {}, {}, false, true};
    text = xml_text(text, layout);
  } else if (format == "rtf") {
    text = rtf_text(text);
  } else if (format == "json") {
    // Escapes ("\u00e9", "\/") are decoded so that patterns see the real characters. The raw
    // text is scanned too: the structure of the file (keys next to values) is context.
    if (auto doc = parse_json(text)) {
      std::string values;
      collect_json_strings(*doc, values);
      out.texts.push_back({std::move(values), "values"});
    }
  }
  out.texts.push_back({std::move(text), "text"});
  return {};
}

}  // namespace

std::string sniff_format(std::string_view bytes, std::string_view declared_media_type) {
  for (const Magic& magic : kMagics)
    if (bytes.size() >= magic.offset + magic.bytes.size() &&
        bytes.substr(magic.offset, magic.bytes.size()) == magic.bytes)
      return std::string(magic.format);
  if (auto format = riff_or_iso_format(bytes); !format.empty()) return std::string(format);
  const bool has_bom = starts_with(bytes, "\xEF\xBB\xBF") || starts_with(bytes, "\xFF\xFE") ||
                       starts_with(bytes, "\xFE\xFF");
  const bool utf16_without_bom = bytes.size() >= 4 && bytes[0] != '\0' && bytes[1] == '\0' &&
                                 bytes[2] != '\0' && bytes[3] == '\0';
  if (bytes.empty()) return "txt";
  if (!has_bom && !utf16_without_bom && looks_binary(bytes)) return "binary";
  const std::string declared = lower(declared_media_type.substr(0, declared_media_type.find(';')));
  if (has_bom || utf16_without_bom) {
    const std::string text = decode_charset(bytes.substr(0, 4096));
    return std::string(text_format(text, declared));
  }
  return std::string(text_format(bytes.substr(0, 64 * 1024), declared));
}

std::string media_type_of(std::string_view format) {
  struct Media {
    std::string_view format;
    std::string_view media;
  };
  static constexpr std::array<Media, 30> kMedia = {{
      {"txt", "text/plain"},
      {"csv", "text/csv"},
      {"tsv", "text/tab-separated-values"},
      {"md", "text/markdown"},
      {"json", "application/json"},
      {"html", "text/html"},
      {"xml", "application/xml"},
      {"rtf", "application/rtf"},
      {"pdf", "application/pdf"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"odp", "application/vnd.oasis.opendocument.presentation"},
      {"zip", "application/zip"},
      {"gzip", "application/gzip"},
      {"dicom", "application/dicom"},
      {"png", "image/png"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"heic", "image/heic"},
      {"avif", "image/avif"},
      {"tiff", "image/tiff"},
      {"bmp", "image/bmp"},
      {"ole", "application/x-ole-storage"},
      {"mp4", "video/mp4"},
      {"wav", "audio/wav"},
      {"mp3", "audio/mpeg"},
  }};
  for (const Media& media : kMedia)
    if (media.format == format) return std::string(media.media);
  return "application/octet-stream";
}

Result<FileExtraction> extract_file(std::string_view bytes, ExtractionBudget& budget,
                                    std::string_view declared_media_type, unsigned depth) {
  if (auto ok = budget.check_time(); !ok) return ok.error();
  FileExtraction out;
  out.format = sniff_format(bytes, declared_media_type);
  out.media_type = media_type_of(out.format);
  const std::string& format = out.format;
  Result<void> done;
  if (format == "zip") {
    if (auto ok = budget.check_depth(depth + 1); !ok) return ok.error();
    done = extract_office(bytes, budget, depth + 1, out);
  } else if (format == "gzip") {
    if (auto ok = budget.check_depth(depth + 1); !ok) return ok.error();
    auto inner = gunzip(bytes, budget);
    if (!inner) return inner.error();
    auto nested = extract_file(*inner, budget, {}, depth + 1);
    if (!nested) return nested.error();
    for (auto& text : nested->texts)
      out.texts.push_back({std::move(text.text), "gzip/" + text.where});
    for (auto& opaque : nested->opaque) {
      opaque.where = "gzip/" + opaque.where;
      out.opaque.push_back(std::move(opaque));
    }
  } else if (format == "pdf") {
    done = extract_pdf(bytes, budget, out);
  } else if (format == "dicom") {
    done = extract_dicom(bytes, budget, out);
  } else if (is_image(format)) {
    out.opaque.push_back({OpaqueKind::Image, format, "file"});
  } else if (format == "txt" || format == "csv" || format == "tsv" || format == "md" ||
             format == "json" || format == "html" || format == "xml" || format == "rtf") {
    done = extract_text_format(bytes, format, budget, out);
  } else {
    // Legacy Office (ole), other archives (7z, rar), audio, video, executables: no text reader.
    out.opaque.push_back({OpaqueKind::Binary, format, "file"});
  }
  if (!done) return done.error();
  return out;
}

}  // namespace gatekeeper::extract

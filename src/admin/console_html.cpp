#include "gatekeeper/admin/console_html.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace gatekeeper::admin::console {
namespace {

constexpr std::array<const char*, 8> kPalette{"#b03a2e", "#2e86c1", "#d68910", "#239b56",
                                              "#7d3c98", "#5d6d7e", "#17a589", "#a04000"};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view text, std::size_t max_fields) {
  std::map<std::string, std::string> fields;
  std::size_t read = 0;
  while (!text.empty() && read < max_fields) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    ++read;
    const auto eq = pair.find('=');
    std::string name = url_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    fields.emplace(std::move(name), std::move(value));
  }
  return fields;
}

std::string_view query_of(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = target.substr(question + 1);
  return query.substr(0, query.find('#'));
}

std::map<std::string, std::string> parse_cookies(std::string_view header) {
  std::map<std::string, std::string> cookies;
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    const std::string_view pair = header.substr(0, semicolon);
    header = semicolon == std::string_view::npos ? std::string_view() : header.substr(semicolon + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    cookies.emplace(trim(pair.substr(0, eq)), trim(pair.substr(eq + 1)));
  }
  return cookies;
}

std::string csv_field(std::string_view value) {
  std::string text;
  if (!value.empty() && (value.front() == '=' || value.front() == '+' || value.front() == '-' ||
                         value.front() == '@' || value.front() == '\t' || value.front() == '\r')) {
    text.push_back('\'');
  }
  text.append(value);
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string row;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) row.push_back(',');
    row += csv_field(fields[i]);
  }
  row += "\r\n";
  return row;
}

std::string svg_bar_chart(const std::vector<ChartBar>& bars, std::string_view title) {
  constexpr int kWidth = 520, kLabelWidth = 190, kRow = 24, kBarMax = 260;
  std::uint64_t max = 1;
  for (const auto& bar : bars) max = std::max(max, bar.value);
  const int height = 30 + std::max<int>(1, static_cast<int>(bars.size())) * kRow;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" +
                    std::to_string(kWidth) + "\" height=\"" + std::to_string(height) +
                    "\" viewBox=\"0 0 " + std::to_string(kWidth) + " " + std::to_string(height) +
                    "\"><title>" + html_escape(title) + "</title>";
  svg += "<text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"bold\">" + html_escape(title) +
         "</text>";
  if (bars.empty()) {
    svg += "<text x=\"0\" y=\"44\" font-size=\"13\" fill=\"#5d6d7e\">Aucune donnée</text>";
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const int y = 30 + static_cast<int>(i) * kRow;
    const int width =
        bars[i].value == 0 ? 0 : std::max(2, static_cast<int>(bars[i].value * kBarMax / max));
    std::string label = bars[i].label.size() > 28 ? bars[i].label.substr(0, 27) + "…" : bars[i].label;
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 15) + "\" font-size=\"12\">" +
           html_escape(label) + "</text>";
    svg += "<rect x=\"" + std::to_string(kLabelWidth) + "\" y=\"" + std::to_string(y + 3) +
           "\" width=\"" + std::to_string(width) + "\" height=\"16\" fill=\"" +
           kPalette[i % kPalette.size()] + "\"/>";
    svg += "<text x=\"" + std::to_string(kLabelWidth + width + 6) + "\" y=\"" +
           std::to_string(y + 15) + "\" font-size=\"12\">" + std::to_string(bars[i].value) +
           "</text>";
  }
  return svg + "</svg>";
}

std::string svg_stacked_days(const std::vector<std::string>& days,
                             const std::vector<ChartSeries>& series, std::string_view title) {
  constexpr int kLeft = 40, kTop = 30, kPlot = 160, kMaxWidth = 900;
  const int count = static_cast<int>(days.size());
  const int column = count == 0 ? 20 : std::clamp(700 / count, 6, 40);
  const int width = std::min(kMaxWidth, kLeft + std::max(1, count) * column + 20);
  const int legend_y = kTop + kPlot + 34;
  const int height = legend_y + 20;
  std::uint64_t max = 1;
  for (const auto& day : days) {
    std::uint64_t total = 0;
    for (const auto& s : series) {
      auto it = s.by_day.find(day);
      if (it != s.by_day.end()) total += it->second;
    }
    max = std::max(max, total);
  }
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" +
                    std::to_string(width) + "\" height=\"" + std::to_string(height) +
                    "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                    "\"><title>" + html_escape(title) + "</title>";
  svg += "<text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"bold\">" + html_escape(title) +
         "</text>";
  svg += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + std::to_string(kTop + kPlot) +
         "\" x2=\"" + std::to_string(width - 10) + "\" y2=\"" + std::to_string(kTop + kPlot) +
         "\" stroke=\"#5d6d7e\"/>";
  svg += "<text x=\"0\" y=\"" + std::to_string(kTop + 10) + "\" font-size=\"11\">" +
         std::to_string(max) + "</text>";
  if (days.empty()) {
    svg += "<text x=\"" + std::to_string(kLeft + 10) + "\" y=\"" + std::to_string(kTop + 80) +
           "\" font-size=\"13\" fill=\"#5d6d7e\">Aucune donnée</text>";
  }
  for (int d = 0; d < count; ++d) {
    int y = kTop + kPlot;
    const int x = kLeft + d * column + 2;
    for (std::size_t s = 0; s < series.size(); ++s) {
      auto it = series[s].by_day.find(days[d]);
      if (it == series[s].by_day.end() || it->second == 0) continue;
      const int h = std::max(1, static_cast<int>(it->second * kPlot / max));
      y -= h;
      svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
             std::to_string(std::max(2, column - 4)) + "\" height=\"" + std::to_string(h) +
             "\" fill=\"" + kPalette[s % kPalette.size()] + "\"><title>" +
             html_escape(days[d]) + " " + html_escape(series[s].name) + " : " +
             std::to_string(it->second) + "</title></rect>";
    }
    // Label the first, last and every few columns so that the dates stay readable.
    const int every = std::max(1, count / 8);
    if (d == 0 || d == count - 1 || d % every == 0) {
      svg += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kTop + kPlot + 14) +
             "\" font-size=\"10\">" + html_escape(days[d].size() >= 10 ? days[d].substr(5) : days[d]) +
             "</text>";
    }
  }
  int x = 0;
  for (std::size_t s = 0; s < series.size(); ++s) {
    svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(legend_y - 10) +
           "\" width=\"10\" height=\"10\" fill=\"" + kPalette[s % kPalette.size()] + "\"/>";
    svg += "<text x=\"" + std::to_string(x + 14) + "\" y=\"" + std::to_string(legend_y) +
           "\" font-size=\"12\">" + html_escape(series[s].name) + "</text>";
    x += 24 + 8 * static_cast<int>(std::min<std::size_t>(series[s].name.size(), 20));
  }
  return svg + "</svg>";
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

std::string random_hex(std::size_t size) {
  std::string bytes(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(size)) != 1) {
    return {};
  }
  return to_hex(bytes);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace gatekeeper::admin::console

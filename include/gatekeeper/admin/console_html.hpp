#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gatekeeper::admin::console {

// Building blocks of the DPO console's pages: escaping, form and cookie parsing, CSV and the
// inline SVG charts. Everything the pages show from audit records goes through html_escape.

// Escapes & < > " ' so that any text is inert inside element content and quoted attributes.
std::string html_escape(std::string_view text);
// Percent-encodes everything but unreserved characters (RFC 3986), for query strings.
std::string url_encode(std::string_view text);
// Decodes %XX and '+' (application/x-www-form-urlencoded). Malformed escapes are kept verbatim.
std::string url_decode(std::string_view text);

// "a=1&b=x%20y" -> {a: "1", b: "x y"}. The first occurrence of a name wins; at most
// `max_fields` fields are read (the rest is ignored).
std::map<std::string, std::string> parse_form(std::string_view text, std::size_t max_fields = 64);
// The query string of a request target ("/x?a=1" -> "a=1").
std::string_view query_of(std::string_view target);
// "a=1; b=2" (a Cookie header) -> {a: "1", b: "2"}.
std::map<std::string, std::string> parse_cookies(std::string_view header);

// One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, with quotes doubled.
// A field a spreadsheet would read as a formula (starting with = + - @, tab or CR) is prefixed
// with an apostrophe, so that opening an export never runs anything.
std::string csv_field(std::string_view value);
// Fields joined by commas, terminated by CRLF.
std::string csv_row(const std::vector<std::string>& fields);

struct ChartBar {
  std::string label;
  std::uint64_t value = 0;
};
// Horizontal bars, one per row, with the label and the count: an inline <svg> element.
std::string svg_bar_chart(const std::vector<ChartBar>& bars, std::string_view title);

// One stacked column per day (ascending), one colour per series, with a legend.
struct ChartSeries {
  std::string name;
  std::map<std::string, std::uint64_t> by_day;  // "2026-11-22" -> count
};
std::string svg_stacked_days(const std::vector<std::string>& days,
                             const std::vector<ChartSeries>& series, std::string_view title);

// Lower-case hex of bytes.
std::string to_hex(std::string_view bytes);
// `size` random bytes from OpenSSL's CSPRNG, hex-encoded; empty if the generator failed.
std::string random_hex(std::size_t size);
// Constant-time equality (the length may leak, the content does not).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace gatekeeper::admin::console

#include "gatekeeper/admin/audit_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"
#include "gatekeeper/config/settings.hpp"

namespace gatekeeper::admin {
namespace {

using nlohmann::json;

void print_audit_usage(std::ostream& out) {
  out << "Usage:\n"
         "  gatekeeper audit list   [FILTERS] [--format table|jsonl]\n"
         "  gatekeeper audit show   ID|REFERENCE\n"
         "  gatekeeper audit stats  [FILTERS] [--format table|json]\n"
         "  gatekeeper audit export [FILTERS] --format csv|jsonl [--output FILE]\n"
         "  gatekeeper audit verify\n"
         "  gatekeeper audit purge  [--before DATE]   (default: the configured retention)\n"
         "Common options: --data-dir DIR  --config FILE\n"
         "FILTERS: --since DATE --until DATE --platform ID --category ID --action ACTION\n"
         "         --user PSEUDONYM|NAME --kind request|admin|triage|report --reference GK-...\n"
         "         --instance NAME --limit N\n"
         "DATE: 2026-11-22 (midnight UTC) or 2026-11-22T18:52[:01[.123]][Z];\n"
         "      --until is exclusive.\n";
}

struct Options {
  std::string action;
  std::optional<std::filesystem::path> config_file;
  std::optional<std::filesystem::path> data_dir;
  std::string format;
  std::optional<std::filesystem::path> output;
  std::string before;
  std::string target;  // show
  audit::Filter filter;
  bool limit_given = false;
  std::string user;  // as typed: a pseudonym or a name
};

bool parse_args(const Args& args, Options& options, std::ostream& err) {
  options.action = args[0];
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (name.rfind("--", 0) != 0) {
      if (options.action == "show" && options.target.empty()) {
        options.target = name;
        continue;
      }
      err << "gatekeeper audit " << options.action << ": unexpected argument '" << name << "'\n";
      return false;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        err << "gatekeeper audit " << options.action << ": " << name << " needs a value\n";
        return false;
      }
      value = args[++i];
    }
    auto date = [&](std::string& out) {
      if (!audit::canonical_time(*value)) {
        err << "gatekeeper audit: " << name << " '" << *value
            << "' is not a date (use 2026-11-22 or 2026-11-22T18:52:01Z)\n";
        return false;
      }
      out = *value;
      return true;
    };
    audit::Filter& f = options.filter;
    if (name == "--config") options.config_file = *value;
    else if (name == "--data-dir") options.data_dir = *value;
    else if (name == "--format") options.format = *value;
    else if (name == "--output" && options.action == "export") options.output = *value;
    else if (name == "--before" && options.action == "purge") {
      if (!date(options.before)) return false;
    } else if (name == "--since") {
      if (!date(f.since)) return false;
    } else if (name == "--until") {
      if (!date(f.until)) return false;
    } else if (name == "--platform") f.platform = *value;
    else if (name == "--category") f.category = *value;
    else if (name == "--action") f.action = *value;
    else if (name == "--user") options.user = *value;
    else if (name == "--reference") f.reference = *value;
    else if (name == "--instance") f.instance = *value;
    else if (name == "--kind") {
      f.kind = audit::record_kind_from_string(*value);
      if (!f.kind) {
        err << "gatekeeper audit: --kind must be request, admin, triage or report\n";
        return false;
      }
    } else if (name == "--limit") {
      if (value->empty() || value->size() > 9 ||
          !std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
        err << "gatekeeper audit: --limit needs a number (0 = no limit)\n";
        return false;
      }
      f.limit = std::stoul(*value);
      options.limit_given = true;
    } else {
      err << "gatekeeper audit " << options.action << ": unknown option '" << name << "'\n";
      return false;
    }
  }
  return true;
}

std::string instance_name(const config::Settings& settings) {
  if (!settings.audit.instance.empty()) return settings.audit.instance;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "gatekeeper";
  return host;
}

// Records written by this command get their own chain, so that they never fork the chain of a
// proxy running at the same time on the same instance.
Result<void> store_admin_record(audit::Store& store, const config::Settings& settings,
                                audit::Record record) {
  const std::string instance = instance_name(settings) + ":cli";
  auto last = store.last_of_chain(instance);
  if (!last && last.error() != Errc::NotFound) return last.error();
  audit::Chain chain(instance, last ? &*last : nullptr);
  chain.stamp(record);
  std::vector<audit::Record> records{std::move(record)};
  return store.append(records);
}

json filter_json(const audit::Filter& filter) {
  json out = json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
  };
  put("since", filter.since);
  put("until", filter.until);
  put("platform", filter.platform);
  put("category", filter.category);
  put("action", filter.action);
  put("user", filter.user);
  put("reference", filter.reference);
  put("instance", filter.instance);
  if (filter.kind) out["kind"] = std::string(audit::to_string(*filter.kind));
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string body_text(const audit::Record& record, const char* key) {
  if (!record.body.is_object()) return {};
  const auto it = record.body.find(key);
  if (it == record.body.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// "rule@version×count" per finding: what decided, without any excerpt.
std::string findings_text(const audit::Record& record) {
  std::vector<std::string> parts;
  if (record.body.is_object())
    if (const auto it = record.body.find("findings"); it != record.body.end() && it->is_array())
      for (const auto& finding : *it)
        if (finding.is_object())
          parts.push_back(finding.value("rule", "") + "@" + finding.value("rule_version", "") +
                          "x" + std::to_string(finding.value("count", 0)));
  return join(parts, ";");
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

void print_table(const std::vector<audit::Record>& records, std::ostream& out) {
  const std::vector<std::string> headers = {"ID",     "TIME", "KIND",       "REFERENCE",
                                            "PLATFORM", "ACTION", "USER", "CATEGORIES"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : records) {
    std::string what = r.kind == audit::RecordKind::Admin ? body_text(r, "event") : r.action;
    std::string reference = r.reference.empty() ? r.about : r.reference;
    rows.push_back({std::to_string(r.id), r.time, std::string(audit::to_string(r.kind)), reference,
                    r.platform, what, r.user, join(r.categories, ",")});
  }
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t c = 0; c < headers.size(); ++c) {
    widths[c] = headers[c].size();
    for (const auto& row : rows) widths[c] = std::max(widths[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c)
      text += c + 1 == cells.size() ? cells[c] : pad(cells[c], widths[c] + 2);
    out << text << '\n';
  };
  line(headers);
  for (const auto& row : rows) line(row);
}

void print_stats_table(const audit::Stats& stats, std::ostream& out) {
  out << "Requests: " << stats.total << '\n';
  auto section = [&](const char* title, const std::vector<audit::CountRow>& rows) {
    out << '\n' << title << '\n';
    if (rows.empty()) out << "  (none)\n";
    std::size_t width = 0;
    for (const auto& row : rows) width = std::max(width, row.key.size());
    for (const auto& row : rows)
      out << "  " << pad(row.key.empty() ? "(none)" : row.key, std::max<std::size_t>(width, 6) + 2)
          << row.count << '\n';
  };
  section("By action", stats.by_action);
  section("By category", stats.by_category);
  section("By platform", stats.by_platform);
  section("By day", stats.by_day);
}

json stats_json(const audit::Stats& stats) {
  auto rows = [](const std::vector<audit::CountRow>& in) {
    json out = json::array();
    for (const auto& row : in) out.push_back({{"key", row.key}, {"count", row.count}});
    return out;
  };
  return {{"total", stats.total},
          {"by_action", rows(stats.by_action)},
          {"by_category", rows(stats.by_category)},
          {"by_platform", rows(stats.by_platform)},
          {"by_day", rows(stats.by_day)}};
}

const std::vector<std::string> kCsvColumns = {
    "id",        "time",   "kind",     "instance",   "sequence", "reference",    "about",
    "platform",  "tier",   "host",     "method",     "path",     "action",       "would_action",
    "user",      "client", "categories", "findings", "rules",    "justification", "error",
    "previous_hash", "hash"};

std::vector<std::string> csv_row(const audit::Record& r) {
  std::string justification;
  if (r.body.is_object())
    if (const auto it = r.body.find("justification"); it != r.body.end() && it->is_object())
      justification = it->value("stored", false) && (*it)["reason"].is_string()
                          ? (*it)["reason"].get<std::string>()
                          : std::string();
  return {std::to_string(r.id),
          r.time,
          std::string(audit::to_string(r.kind)),
          r.instance,
          std::to_string(r.sequence),
          r.reference,
          r.about,
          r.platform,
          body_text(r, "tier"),
          body_text(r, "host"),
          body_text(r, "method"),
          body_text(r, "path"),
          r.kind == audit::RecordKind::Request ? r.action : body_text(r, "event"),
          body_text(r, "would_action"),
          r.user,
          body_text(r, "client"),
          join(r.categories, ";"),
          findings_text(r),
          body_text(r, "rules"),
          justification,
          body_text(r, "error"),
          r.previous_hash,
          r.hash};
}

void write_csv_line(const std::vector<std::string>& cells, std::ostream& out) {
  for (std::size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_cell(cells[i]);
  out << "\r\n";
}

int print_failure(std::ostream& err, const std::string& what, const boost::system::error_code& e) {
  err << "gatekeeper audit: " << what << ": " << e.message() << '\n';
  return kExitFailure;
}

}  // namespace

std::string csv_cell(std::string_view value) {
  std::string cell;
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' ||
                         value[0] == '@' || value[0] == '\t' || value[0] == '\r'))
    cell.push_back('\'');
  cell.append(value);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

int run_audit_command(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    print_audit_usage(err);
    return kExitInvalidRules;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_audit_usage(out);
    return kExitOk;
  }
  static const std::vector<std::string> kActions = {"list",   "show",   "stats",
                                                    "export", "verify", "purge"};
  if (std::find(kActions.begin(), kActions.end(), args[0]) == kActions.end()) {
    err << "gatekeeper audit: unknown action '" << args[0] << "'\n";
    print_audit_usage(err);
    return kExitInvalidRules;
  }
  Options options;
  if (!parse_args(args, options, err)) {
    print_audit_usage(err);
    return kExitInvalidRules;
  }
  const std::string& action = options.action;
  auto format_ok = [&](std::initializer_list<const char*> allowed, const char* fallback) {
    if (options.format.empty() && *fallback == '\0') {
      err << "gatekeeper audit " << action << ": --format is required (csv or jsonl)\n";
      return false;
    }
    if (options.format.empty()) options.format = fallback;
    for (const char* name : allowed)
      if (options.format == name) return true;
    err << "gatekeeper audit " << action << ": unknown --format '" << options.format << "'\n";
    return false;
  };
  if ((action == "list" && !format_ok({"table", "jsonl"}, "table")) ||
      (action == "stats" && !format_ok({"table", "json"}, "table")) ||
      (action == "export" && !format_ok({"csv", "jsonl"}, ""))) {
    return kExitInvalidRules;
  }
  if (action == "show" && options.target.empty()) {
    err << "gatekeeper audit show: which record? Give its id or its reference (GK-...)\n";
    return kExitInvalidRules;
  }

  // Configuration: the file given, else the shipped one when present, else the defaults.
  Diagnostics diagnostics;
  config::Settings settings;
  config::Overrides overrides;
  overrides.config_file = options.config_file;
  overrides.data_dir = options.data_dir;
  const std::filesystem::path config_file =
      options.config_file ? *options.config_file : config::default_config_file();
  std::error_code ec;
  if (options.config_file || std::filesystem::exists(config_file, ec)) {
    auto loaded = config::load_settings(config_file, diagnostics);
    if (loaded) settings = std::move(*loaded);
  }
  if (!has_errors(diagnostics)) (void)config::apply_overrides(settings, overrides, diagnostics);
  if (has_errors(diagnostics)) {
    for (const auto& d : diagnostics) err << d.to_string() << '\n';
    err << "gatekeeper audit: the configuration is invalid\n";
    return kExitInvalidRules;
  }

  auto opened = audit::open_store(settings, &diagnostics);
  if (!opened) {
    for (const auto& d : diagnostics) err << "gatekeeper audit: " << d.message << '\n';
    return opened.error() == Errc::ConfigInvalid ? kExitInvalidRules : kExitFailure;
  }
  audit::Store& store = **opened;

  // A user may be given by name: it is looked up through the same keyed pseudonym the proxy uses.
  if (!options.user.empty()) {
    options.filter.user = options.user;
    const bool pseudonym = options.user.rfind("u:", 0) == 0;
    const auto key_file = settings.data_dir / audit::Pseudonymizer::kKeyFileName;
    if (!pseudonym && !settings.audit.name_users && std::filesystem::exists(key_file, ec))
      if (auto key = audit::Pseudonymizer::load_or_create(settings.data_dir))
        options.filter.user = (*key)->user_pseudonym(options.user);
  }

  if (action == "list") {
    if (!options.limit_given) options.filter.limit = 50;
    auto records = store.list(options.filter);
    if (!records) return print_failure(err, "cannot read " + store.describe(), records.error());
    if (options.format == "jsonl") {
      for (const auto& record : *records)
        out << audit::record_to_json(record).dump(-1, ' ', false,
                                                  json::error_handler_t::replace)
            << '\n';
    } else {
      print_table(*records, out);
    }
    return out ? kExitOk : kExitFailure;
  }

  if (action == "show") {
    const bool numeric = std::all_of(options.target.begin(), options.target.end(),
                                     [](char c) { return c >= '0' && c <= '9'; }) &&
                         options.target.size() < 19;
    auto record = numeric ? store.get(std::stoll(options.target))
                          : store.find_reference(options.target);
    if (!record) {
      if (record.error() == Errc::NotFound) {
        err << "gatekeeper audit show: no record " << options.target << " in " << store.describe()
            << '\n';
        return kExitFailure;
      }
      return print_failure(err, "cannot read " + store.describe(), record.error());
    }
    out << audit::record_to_json(*record).dump(2, ' ', false, json::error_handler_t::replace)
        << '\n';
    return out ? kExitOk : kExitFailure;
  }

  if (action == "stats") {
    auto stats = store.stats(options.filter);
    if (!stats) return print_failure(err, "cannot read " + store.describe(), stats.error());
    if (options.format == "json") out << stats_json(*stats).dump(2) << '\n';
    else print_stats_table(*stats, out);
    return out ? kExitOk : kExitFailure;
  }

  if (action == "export") {
    if (!options.limit_given) options.filter.limit = 0;
    std::ofstream file;
    if (options.output) {
      file.open(*options.output, std::ios::binary | std::ios::trunc);
      if (!file) {
        err << "gatekeeper audit export: cannot write " << options.output->string() << '\n';
        return kExitFailure;
      }
    }
    std::ostream& sink = options.output ? static_cast<std::ostream&>(file) : out;
    const bool csv = options.format == "csv";
    if (csv) write_csv_line(kCsvColumns, sink);
    std::uint64_t count = 0;
    auto exported = store.for_each(options.filter, [&](const audit::Record& record) {
      if (csv) write_csv_line(csv_row(record), sink);
      else
        sink << audit::record_to_json(record).dump(-1, ' ', false, json::error_handler_t::replace)
             << '\n';
      ++count;
      return static_cast<bool>(sink);
    });
    sink.flush();
    if (!exported) return print_failure(err, "cannot read " + store.describe(), exported.error());
    if (!sink) {
      err << "gatekeeper audit export: the output could not be written\n";
      return kExitFailure;
    }
    // Who took a copy of the trail, and of what, is itself part of the trail.
    auto audited = store_admin_record(
        store, settings,
        audit::make_admin_record("audit_exported", {{"format", options.format},
                                                    {"count", count},
                                                    {"filter", filter_json(options.filter)}}));
    if (!audited)
      err << "gatekeeper audit export: warning: the export could not be recorded in the audit "
             "trail: "
          << audited.error().message() << '\n';
    if (options.output)
      err << "Exported " << count << " record(s) to " << options.output->string() << '\n';
    return kExitOk;
  }

  if (action == "verify") {
    auto report = audit::verify_chain(store);
    if (!report) return print_failure(err, "cannot read " + store.describe(), report.error());
    if (report->ok) {
      out << "ok: " << report->records_checked << " record(s) in " << report->chains
          << " chain(s) verified in " << store.describe() << '\n';
      return kExitOk;
    }
    out << "BROKEN: record " << report->first_broken_id << ": " << report->first_broken_reason
        << " (" << report->records_checked << " record(s) checked)\n";
    return kExitFailure;
  }

  // purge
  audit::Record purge;
  auto count = options.before.empty()
                   ? audit::purge_expired(store, settings.audit.retention, purge)
                   : audit::purge_records_before(store, options.before, purge);
  if (!count) return print_failure(err, "purge failed on " + store.describe(), count.error());
  purge.body["trigger"] = "cli";
  const std::string before = purge.body.value("before", "");
  if (auto audited = store_admin_record(store, settings, std::move(purge)); !audited) {
    err << "gatekeeper audit purge: " << *count
        << " record(s) were deleted but the purge record could not be written ("
        << audited.error().message() << "): `audit verify` will report the cut\n";
    return kExitFailure;
  }
  out << "Purged " << *count << " record(s) older than " << before << " from " << store.describe()
      << '\n';
  return kExitOk;
}

}  // namespace gatekeeper::admin

// RuleSpec list -> immutable compiled RuleSet: every value check, one RE2 per pattern, one
// prefilter per view, resolved validators and combinations, fingerprint, examples.

#include "gatekeeper/detect/rule_set.hpp"

#include "gatekeeper/core/yaml_reporter.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <optional>

#include "gatekeeper/detect/normalizer.hpp"
#include "gatekeeper/detect/rule_set_impl.hpp"

namespace gatekeeper::detect {
namespace {

re2::StringPiece piece(std::string_view s) { return re2::StringPiece(s.data(), s.size()); }

// RE2 rejects these with a terse message; administrators get one that says what to do instead.
std::optional<std::string> unsupported_syntax(std::string_view regex) {
  bool in_class = false;
  for (std::size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\') {
      if (i + 1 < regex.size() && !in_class && regex[i + 1] >= '1' && regex[i + 1] <= '9') {
        return std::string("RE2 does not support backreferences (\\") + regex[i + 1] +
               "); repeat the sub-pattern instead";
      }
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (i + 1 < regex.size() && regex[i + 1] == '^') ++i;
      if (i + 1 < regex.size() && regex[i + 1] == ']') ++i;  // "[]a]": the ] is a literal
      continue;
    }
    if (c == '(' && i + 2 < regex.size() && regex[i + 1] == '?') {
      const char k = regex[i + 2];
      if (k == '=' || k == '!') {
        return std::string("RE2 does not support lookahead (?") + k +
               "; use \\b or a capture group: group 1, if present, is the finding";
      }
      if (k == '<' && i + 3 < regex.size() && (regex[i + 3] == '=' || regex[i + 3] == '!')) {
        return "RE2 does not support lookbehind; use \\b or a capture group";
      }
    }
  }
  return std::nullopt;
}

std::string format_double(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

std::string location_text(const SourceLocation& where) {
  std::string out = where.file.empty() ? std::string("<input>") : where.file;
  if (where.line > 0) out += ":" + std::to_string(where.line);
  return out;
}

// Canonical, location-independent serialisation of the specs, hashed for the audit trail.
std::string fingerprint_of(const std::vector<RuleSpec>& specs) {
  std::string canonical;
  auto field = [&](std::string_view value) {
    canonical += std::to_string(value.size());
    canonical += ':';
    canonical.append(value.data(), value.size());
    canonical += ';';
  };
  auto context = [&](const std::optional<ContextSpec>& c) {
    field(c ? "context" : "none");
    if (!c) return;
    for (const auto& w : c->words) field(w);
    field(std::to_string(c->before));
    field(std::to_string(c->after));
    field(c->mode == ContextMode::Substring ? "substring" : "whole_word");
    field(format_double(c->boost));
    field(format_double(c->floor));
  };
  for (const RuleSpec& r : specs) {
    field("rule");
    field(r.id);
    field(r.version);
    field(r.category);
    field(r.description);
    field(to_string(r.severity));
    field(r.placeholder);
    for (const auto& l : r.languages) field(l);
    field(r.signal ? "signal" : "reported");
    field(r.case_sensitive ? "case" : "nocase");
    for (const auto& p : r.patterns) {
      field(p.name);
      field(p.regex);
      field(format_double(p.score));
    }
    for (const auto& [from, to] : r.normalize) {
      field(from);
      field(to);
    }
    if (r.validator) {
      field(r.validator->name);
      for (const auto& [k, v] : r.validator->params) {
        field(k);
        field(v);
      }
    }
    context(r.context);
    context(r.negative_context);
    if (r.combine) {
      field(r.combine->anchor);
      for (const auto& w : r.combine->with) field(w);
      field(std::to_string(r.combine->min_with));
      field(std::to_string(r.combine->window));
    }
    field(format_double(r.score));
    field(format_double(r.min_score));
    for (const auto& e : r.examples) {
      field(e.should_match ? "match" : "no_match");
      field(e.text);
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex;
}

class Compiler {
 public:
  Compiler(const RuleSetOptions& options, Diagnostics& diagnostics)
      : options_(options), diagnostics_(diagnostics) {}

  Errc first_error() const { return first_error_; }

  void error(const SourceLocation& at, const std::string& rule_id, std::string message,
             Errc code = Errc::ConfigInvalid) {
    diagnostics_.push_back(
        {Diagnostic::Severity::Error, at.file, at.line, at.column, rule_id, std::move(message)});
    if (first_error_ == Errc::Ok) first_error_ = code;
  }

  void warning(const SourceLocation& at, const std::string& rule_id, std::string message) {
    diagnostics_.push_back(
        {Diagnostic::Severity::Warning, at.file, at.line, at.column, rule_id, std::move(message)});
  }

  void check_unit(double value, const SourceLocation& at, const std::string& rule_id,
                  std::string_view name) {
    if (!(value >= 0.0 && value <= 1.0)) {
      error(
          at, rule_id,
          "'" + std::string(name) + "' must be between 0 and 1 (got " + format_double(value) + ")");
    }
  }

  std::optional<CompiledContext> compile_context(const ContextSpec& spec, const RuleSpec& rule,
                                                 bool negative) {
    const char* what = negative ? "negative_context" : "context";
    CompiledContext out;
    out.before = spec.before;
    out.after = spec.after;
    out.mode = spec.mode;
    out.boost = spec.boost;
    out.floor = spec.floor;
    if (spec.before < 0 || spec.after < 0) {
      error(spec.where, rule.id,
            std::string("'") + what + "' before/after must be 0 or more words");
    }
    if (spec.before == 0 && spec.after == 0) {
      warning(spec.where, rule.id,
              std::string("'") + what + "' has before: 0 and after: 0, so it never applies");
    }
    check_unit(spec.boost, spec.where, rule.id, std::string(what) + ".boost");
    if (!negative) check_unit(spec.floor, spec.where, rule.id, "context.floor");
    if (spec.words.empty()) error(spec.where, rule.id, std::string("'") + what + "' has no words");
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    for (const std::string& word : spec.words) {
      const std::string folded = fold(word);
      spans.clear();
      detail::split_words(folded, spans);
      if (spans.empty()) {
        error(spec.where, rule.id,
              std::string("'") + what + "' entry '" + word + "' has no letter or digit");
        continue;
      }
      CompiledContext::Entry entry;
      entry.original = word;
      for (const auto& [s, e] : spans) entry.words.push_back(folded.substr(s, e - s));
      out.entries.push_back(std::move(entry));
    }
    return out;
  }

  void compile_rule(std::size_t index, RuleSet::Impl& impl,
                    std::array<std::vector<std::string>, 2>& view_regexes) {
    RuleSpec& rule = impl.specs[index];
    CompiledRule& compiled = impl.rules[index];
    const std::string& rid = rule.id;

    if (rule.category.empty()) {
      error(rule.where, rid,
            "rule has no category: set 'category:' in the rule or at the top of "
            "the file");
    }
    if (rule.placeholder.empty()) {
      rule.placeholder = rule.category;
      for (char& c : rule.placeholder)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    check_unit(rule.min_score, rule.where, rid, "min_score");
    check_unit(rule.score, rule.where, rid, "score");
    if (rule.examples.empty()) {
      warning(rule.where, rid,
              "rule has no examples: add 'examples: {match: [...], no_match: [...]}' so that "
              "'gatekeeper rules test' can check it");
    }

    if (rule.combine) {
      compiled.combination = true;
      if (rule.signal) {
        error(rule.combine->where, rid,
              "a signal rule cannot have a 'combine' block: signals feed combinations, they are "
              "not built from them");
      }
      if (!rule.patterns.empty()) {
        error(rule.patterns.front().where, rid,
              "a combination rule has no 'patterns': its finding is the anchor's span");
      }
      if (rule.validator) {
        error(rule.validator->where, rid,
              "a combination rule cannot have a validator: put it on the anchor rule");
      }
    } else if (rule.patterns.empty()) {
      error(rule.where, rid, "rule has no 'patterns' (and no 'combine' block)");
    }

    for (std::size_t p = 0; p < rule.patterns.size(); ++p) {
      const PatternSpec& pattern = rule.patterns[p];
      check_unit(pattern.score, pattern.where, rid, "score of pattern '" + pattern.name + "'");
      if (pattern.regex.empty()) {
        error(pattern.where, rid, "pattern '" + pattern.name + "' has an empty regex",
              Errc::RulePatternInvalid);
        continue;
      }
      if (auto problem = unsupported_syntax(pattern.regex)) {
        error(pattern.where, rid, "pattern '" + pattern.name + "': " + *problem,
              Errc::RulePatternInvalid);
        continue;
      }
      const View view = rule.case_sensitive ? View::Text : View::Folded;
      std::string regex = detail::fold_pattern(pattern.regex, view == View::Folded);
      re2::RE2::Options re2_options;
      re2_options.set_log_errors(false);
      re2_options.set_case_sensitive(view == View::Text);
      auto compiled_regex = std::make_unique<const re2::RE2>(piece(regex), re2_options);
      if (!compiled_regex->ok()) {
        error(pattern.where, rid,
              "pattern '" + pattern.name + "' is not valid RE2: " + compiled_regex->error(),
              Errc::RulePatternInvalid);
        continue;
      }
      CompiledPattern cp;
      cp.rule = index;
      cp.pattern = p;
      cp.view = view;
      cp.has_group = compiled_regex->NumberOfCapturingGroups() >= 1;
      cp.regex = std::move(compiled_regex);
      impl.view_patterns[static_cast<int>(view)].push_back(impl.patterns.size());
      view_regexes[static_cast<int>(view)].push_back(std::move(regex));
      impl.patterns.push_back(std::move(cp));
    }

    for (const auto& [from, to] : rule.normalize) {
      if (from.empty()) {
        error(rule.where, rid, "a 'normalize' pair has an empty 'from' text");
      }
    }
    if (rule.validator) {
      const ValidatorSpec& spec = *rule.validator;
      const ValidatorInfo* info = find_validator(spec.name);
      if (info == nullptr) {
        std::vector<std::string_view> names;
        for (const auto& v : validators()) names.push_back(v.name);
        std::string message = "unknown validator '" + spec.name + "'";
        const std::string suggestion = closest_match(spec.name, names);
        if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
        message += " (see 'gatekeeper rules lint --list-validators')";
        error(spec.where, rid, std::move(message), Errc::RuleValidatorUnknown);
      } else {
        compiled.validator = info;
        for (const auto& [name, value] : spec.params) {
          if (std::find(info->params.begin(), info->params.end(), name) != info->params.end()) {
            continue;
          }
          std::string accepted;
          for (std::string_view p : info->params) {
            accepted += accepted.empty() ? "" : ", ";
            accepted += p;
          }
          error(spec.where, rid,
                "validator '" + spec.name + "' has no parameter '" + name +
                    "' (accepted: " + (accepted.empty() ? std::string("none") : accepted) + ")",
                Errc::RuleValidatorUnknown);
        }
      }
    }
    if (rule.context) compiled.context = compile_context(*rule.context, rule, false);
    if (rule.negative_context) {
      compiled.negative_context = compile_context(*rule.negative_context, rule, true);
    }
  }

  void resolve_combination(std::size_t index, RuleSet::Impl& impl) {
    const RuleSpec& rule = impl.specs[index];
    const CombinationSpec& combine = *rule.combine;
    CompiledRule& compiled = impl.rules[index];
    std::vector<std::string_view> ids;
    for (const auto& r : impl.specs) ids.push_back(r.id);

    auto resolve = [&](const std::string& target, const char* role) -> std::optional<std::size_t> {
      auto it = impl.by_id.find(target);
      if (it == impl.by_id.end()) {
        std::string message =
            std::string("combination ") + role + " '" + target + "' is not a rule id";
        const std::string suggestion = closest_match(target, ids);
        if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
        error(combine.where, rule.id, std::move(message));
        return std::nullopt;
      }
      if (it->second == index) {
        error(combine.where, rule.id, "a combination cannot refer to itself");
        return std::nullopt;
      }
      if (impl.specs[it->second].combine) {
        error(combine.where, rule.id,
              std::string("combination ") + role + " '" + target +
                  "' is itself a combination; combine signal or ordinary rules only");
        return std::nullopt;
      }
      return it->second;
    };

    if (combine.anchor.empty()) {
      error(combine.where, rule.id, "'combine' has no anchor");
    } else if (auto anchor = resolve(combine.anchor, "anchor")) {
      compiled.anchor = *anchor;
    }
    if (combine.with.empty()) error(combine.where, rule.id, "'combine.with' lists no rule");
    for (const std::string& target : combine.with) {
      if (auto with = resolve(target, "'with' entry")) compiled.with.push_back(*with);
    }
    if (combine.min_with < 0 || static_cast<std::size_t>(combine.min_with) > combine.with.size()) {
      error(combine.where, rule.id,
            "'min_with' must be between 0 (all) and the number of 'with' rules (" +
                std::to_string(combine.with.size()) + ")");
    }
    if (combine.window <= 0) error(combine.where, rule.id, "'window' must be a positive number");
    compiled.required =
        combine.min_with == 0 ? combine.with.size() : static_cast<std::size_t>(combine.min_with);
    compiled.window = combine.window > 0 ? static_cast<std::size_t>(combine.window) : 0;
    impl.combination_order.push_back(index);
  }

  bool build_prefilters(RuleSet::Impl& impl, std::array<std::vector<std::string>, 2>& regexes) {
    PrefilterKind kind = options_.prefilter;
    // Measured on the default pack and realistic prompts (docs/benchmarks.md, callgrind): a warm
    // RE2::Set DFA costs about 16 instructions per byte whatever the number of patterns, on either
    // view; Hyperscan's databases cost more (29 per byte on `text`, where the \p{Lu} name patterns
    // leave it no literal to start from, and several times that on `folded`). Hybrid therefore
    // prefilters with RE2::Set and keeps Hyperscan for the per-pattern match ends.
    if (kind == PrefilterKind::Auto) {
      kind = hyperscan_available() ? PrefilterKind::Hybrid : PrefilterKind::Re2Set;
    }
    if ((kind == PrefilterKind::Hyperscan || kind == PrefilterKind::Hybrid) &&
        !hyperscan_available()) {
      error({}, "", "the Hyperscan prefilter was requested but this build has no Hyperscan");
      return false;
    }
    impl.kind = kind;
    for (int v = 0; v < 2; ++v) {
      if (regexes[v].empty()) continue;
      PrefilterOptions prefilter_options;
      prefilter_options.caseless = v == static_cast<int>(View::Folded);
      prefilter_options.max_mem = options_.max_mem;
      std::string message;
      const bool use_hyperscan = kind == PrefilterKind::Hyperscan;
      Result<std::unique_ptr<Prefilter>> built =
          use_hyperscan
              ? make_hyperscan_prefilter(regexes[v], prefilter_options, &message)
              : make_re2_set_prefilter(regexes[v], prefilter_options, &message);
      if (!built) {
        error({}, "", "cannot build the pattern prefilter: " + message,
              static_cast<Errc>(built.error().value()));
        return false;
      }
      impl.prefilters[v] = std::move(*built);
    }
    if (kind == PrefilterKind::Hybrid && !regexes[0].empty() && !regexes[1].empty()) {
      // One DFA pass instead of two on pure-ASCII text (see Impl::ascii_prefilter). The folded
      // patterns were compiled case-insensitively; the set is case-sensitive, so they say so.
      std::vector<std::string> both = regexes[static_cast<int>(View::Text)];
      for (const std::string& regex : regexes[static_cast<int>(View::Folded)]) {
        both.push_back("(?i:" + regex + ")");
      }
      PrefilterOptions prefilter_options;
      prefilter_options.caseless = false;
      prefilter_options.max_mem = options_.max_mem;
      std::string message;
      Result<std::unique_ptr<Prefilter>> built =
          make_re2_set_prefilter(both, prefilter_options, &message);
      if (!built) {
        error({}, "", "cannot build the pattern prefilter: " + message,
              static_cast<Errc>(built.error().value()));
        return false;
      }
      impl.ascii_prefilter = std::move(*built);
    }
    // With Hyperscan at hand, locating a pattern can start near its first possible match.
    if (kind != PrefilterKind::Re2Set) {
      for (int v = 0; v < 2; ++v) {
        const auto& to_pattern = impl.view_patterns[static_cast<std::size_t>(v)];
        for (std::size_t k = 0; k < to_pattern.size(); ++k) {
          impl.patterns[to_pattern[k]].ends =
              make_match_ends(regexes[v][k], v == static_cast<int>(View::Folded));
        }
      }
    }
    return true;
  }

 private:
  const RuleSetOptions& options_;
  Diagnostics& diagnostics_;
  Errc first_error_ = Errc::Ok;
};

}  // namespace

RuleSet::RuleSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuleSet::~RuleSet() = default;

const std::vector<RuleSpec>& RuleSet::rules() const noexcept { return impl_->specs; }

const RuleSpec* RuleSet::find_rule(std::string_view id) const noexcept {
  auto it = impl_->by_id.find(id);
  return it == impl_->by_id.end() ? nullptr : &impl_->specs[it->second];
}

std::size_t RuleSet::pattern_count() const noexcept { return impl_->patterns.size(); }
PrefilterKind RuleSet::prefilter_kind() const noexcept { return impl_->kind; }
const std::string& RuleSet::fingerprint() const noexcept { return impl_->fingerprint; }

Result<RuleSetConstSharedPtr> RuleSet::compile(std::vector<RuleSpec> specs,
                                               const RuleSetOptions& options,
                                               Diagnostics& diagnostics) {
  auto impl = std::make_unique<Impl>();
  impl->fingerprint = fingerprint_of(specs);
  impl->specs = std::move(specs);
  impl->rules.resize(impl->specs.size());
  Compiler compiler(options, diagnostics);

  for (std::size_t i = 0; i < impl->specs.size(); ++i) {
    const RuleSpec& rule = impl->specs[i];
    if (rule.id.empty()) {
      compiler.error(rule.where, "", "rule has no 'id'");
      continue;
    }
    auto [it, inserted] = impl->by_id.emplace(rule.id, i);
    if (!inserted) {
      compiler.error(rule.where, rule.id,
                     "duplicate rule id (first defined at " +
                         location_text(impl->specs[it->second].where) + ")");
    }
  }

  std::array<std::vector<std::string>, 2> view_regexes;
  for (std::size_t i = 0; i < impl->specs.size(); ++i)
    compiler.compile_rule(i, *impl, view_regexes);
  for (std::size_t i = 0; i < impl->specs.size(); ++i) {
    if (impl->specs[i].combine) compiler.resolve_combination(i, *impl);
  }
  if (compiler.first_error() != Errc::Ok) return compiler.first_error();
  if (!compiler.build_prefilters(*impl, view_regexes)) return compiler.first_error();

  RuleSetConstSharedPtr rule_set(new RuleSet(std::move(impl)));
  if (options.run_examples) {
    for (const ExampleFailure& failure : run_examples(*rule_set)) {
      compiler.error(failure.example.where, failure.rule_id,
                     std::string(failure.example.should_match ? "'match'" : "'no_match'") +
                         " example fails: " + failure.reason,
                     Errc::RuleExampleFailed);
    }
    if (compiler.first_error() != Errc::Ok) return compiler.first_error();
  }
  return rule_set;
}

Result<RuleSetConstSharedPtr> RuleSet::load(const std::filesystem::path& dir,
                                            const RuleSetOptions& options,
                                            Diagnostics& diagnostics) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    diagnostics.push_back(
        {Diagnostic::Severity::Error, dir.string(), 0, 0, "", "rules directory not found"});
    return Errc::ConfigNotFound;
  }
  const bool had_errors = has_errors(diagnostics);
  bool syntax_error = false;
  std::vector<RuleSpec> specs = detail::parse_rule_files(dir, diagnostics, &syntax_error);
  if (syntax_error) return Errc::ConfigSyntax;
  if (!had_errors && has_errors(diagnostics)) {
    // Still run the compile-time checks so that one run lists every problem; examples are skipped
    // because a rule with a broken field would fail them for the wrong reason.
    RuleSetOptions checks_only = options;
    checks_only.run_examples = false;
    (void)compile(std::move(specs), checks_only, diagnostics);
    return Errc::ConfigInvalid;
  }
  return compile(std::move(specs), options, diagnostics);
}

}  // namespace gatekeeper::detect

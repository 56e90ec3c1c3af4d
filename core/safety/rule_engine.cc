#include "core/safety/rule_engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include <hs/hs.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>
#include <re2/set.h>

#include "core/openai/codec.h"
#include "core/openai/json.h"

namespace echoes::safety {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Names

constexpr std::pair<Validator, std::string_view> kValidatorNames[] = {
    {Validator::kNone, "none"}, {Validator::kLuhn, "luhn"}, {Validator::kIbanMod97, "iban_mod97"}};

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_ascii_alnum(char c) { return is_ascii_digit(c) || is_ascii_upper(c) || is_ascii_lower(c); }

// ---------------------------------------------------------------------------------------------
// Validators

bool luhn_valid(std::string_view candidate) {
  int digits = 0;
  int sum = 0;
  // Walk from the right: every second digit is doubled.
  for (auto it = candidate.rbegin(); it != candidate.rend(); ++it) {
    const char c = *it;
    if (c == ' ' || c == '-') continue;
    if (!is_ascii_digit(c)) return false;
    int d = c - '0';
    if (digits % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++digits;
  }
  return digits >= 13 && digits <= 19 && sum % 10 == 0;
}

bool iban_valid(std::string_view candidate) {
  std::string compact;
  for (char c : candidate) {
    if (c == ' ') continue;
    if (is_ascii_lower(c)) c = static_cast<char>(c - 'a' + 'A');
    if (!is_ascii_digit(c) && !is_ascii_upper(c)) return false;
    compact.push_back(c);
  }
  // ISO 13616: two letters, two check digits, a national part of up to 30 characters; the
  // shortest IBAN in use (Norway) has 15 characters.
  if (compact.size() < 15 || compact.size() > 34) return false;
  if (!is_ascii_upper(compact[0]) || !is_ascii_upper(compact[1])) return false;
  if (!is_ascii_digit(compact[2]) || !is_ascii_digit(compact[3])) return false;
  // Move the first four characters to the end, read letters as 10..35, and take the remainder
  // modulo 97 digit by digit.
  const std::string rotated = compact.substr(4) + compact.substr(0, 4);
  int remainder = 0;
  for (char c : rotated) {
    if (is_ascii_digit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      const int value = c - 'A' + 10;
      remainder = (remainder * 100 + value) % 97;
    }
  }
  return remainder == 1;
}

// ---------------------------------------------------------------------------------------------
// RE2 options shared by every RE2 object here: bytes (Latin-1), so both engines see the same
// alphabet and invalid UTF-8 is just bytes; no logging to stderr (errors come back as values).

RE2::Options re2_options(bool case_insensitive) {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  options.set_case_sensitive(!case_insensitive);
  options.set_max_mem(std::int64_t{64} << 20);
  return options;
}

// ---------------------------------------------------------------------------------------------
// Checking a rule (shared by the loader and RuleEngine::compile).

bool is_identifier(std::string_view s) {
  if (s.empty() || !is_ascii_lower(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_ascii_lower(c) || is_ascii_digit(c) || c == '_'; });
}

// "name" or "name.sub.sub": dot-separated identifiers.
bool is_dotted_identifier(std::string_view s) {
  while (true) {
    const auto dot = s.find('.');
    if (!is_identifier(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

Error rule_error(std::string_view source, const std::string& path, std::string message) {
  return Error(ErrorCode::kInvalidInput, std::move(message), std::string(source) + ": " + path);
}

std::string rule_path(std::size_t index, std::string_view member = {}) {
  std::string path = "rules[" + std::to_string(index) + "]";
  if (!member.empty()) path += "." + std::string(member);
  return path;
}

// Everything that can be wrong with one rule once its fields have their types.
Status check_rule(const Rule& rule, std::size_t index, std::string_view pack_name,
                  std::string_view source, const RulePackLimits& limits) {
  const std::string prefix = std::string(pack_name) + ".";
  if (rule.id.size() <= prefix.size() || rule.id.compare(0, prefix.size(), prefix) != 0 ||
      !is_dotted_identifier(rule.id)) {
    return rule_error(source, rule_path(index, "id"),
                      "rule id \"" + rule.id + "\" must be \"" + prefix +
                          "<name>\" (lower-case letters, digits, '_', '.')");
  }
  if (!is_dotted_identifier(rule.category)) {
    return rule_error(source, rule_path(index, "category"),
                      "rule \"" + rule.id + "\": category \"" + rule.category +
                          "\" must be lower-case letters, digits, '_' and '.'");
  }
  if (rule.description.empty()) {
    return rule_error(source, rule_path(index, "description"),
                      "rule \"" + rule.id + "\": the description is empty");
  }
  if (rule.pattern.empty()) {
    return rule_error(source, rule_path(index, "pattern"),
                      "rule \"" + rule.id + "\": the pattern is empty");
  }
  if (rule.pattern.size() > limits.max_pattern_bytes) {
    return rule_error(source, rule_path(index, "pattern"),
                      "rule \"" + rule.id + "\": the pattern has " +
                          std::to_string(rule.pattern.size()) + " bytes; the limit is " +
                          std::to_string(limits.max_pattern_bytes));
  }
  const RE2 re(regex_source(rule), re2_options(rule.case_insensitive));
  if (!re.ok()) {
    return rule_error(source, rule_path(index, "pattern"),
                      "rule \"" + rule.id + "\": the regex does not compile (RE2: " + re.error() +
                          ")");
  }
  if (RE2::PartialMatch("", re)) {
    return rule_error(source, rule_path(index, "pattern"),
                      "rule \"" + rule.id + "\": the pattern matches the empty string");
  }
  return ok_status();
}

Status check_pack(const RulePack& pack, std::string_view source, const RulePackLimits& limits) {
  if (!is_identifier(pack.name)) {
    return rule_error(source, "name",
                      "pack name \"" + pack.name + "\" must be lower-case letters, digits and '_'");
  }
  if (pack.rules.size() > limits.max_rules) {
    return rule_error(source, "rules",
                      "the pack has " + std::to_string(pack.rules.size()) +
                          " rules; the limit is " + std::to_string(limits.max_rules));
  }
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < pack.rules.size(); ++i) {
    if (Status s = check_rule(pack.rules[i], i, pack.name, source, limits); !s) return s;
    if (!seen.insert(pack.rules[i].id).second) {
      return rule_error(source, rule_path(i, "id"),
                        "duplicate rule id \"" + pack.rules[i].id + "\"");
    }
  }
  return ok_status();
}

// ---------------------------------------------------------------------------------------------
// Reading the JSON document. Unknown members are refused (a misspelt "case_insensitve" would
// otherwise silently change what a rule matches).

const char* json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::discarded: return "nothing";
    default: return "number";
  }
}

class PackReader {
 public:
  PackReader(std::string_view source) : source_(source) {}

  Result<RulePack> read(const json& doc) {
    if (!doc.is_object()) return type_error("$", "object", doc);
    if (Status s = only_members(doc, "$", {"name", "version", "description", "rules"}); !s) return s.error();
    RulePack pack;
    if (Status s = string_member(doc, "", "name", true, pack.name); !s) return s.error();
    if (Status s = string_member(doc, "", "version", true, pack.version); !s) return s.error();
    if (Status s = string_member(doc, "", "description", false, pack.description); !s) return s.error();
    const auto rules = doc.find("rules");
    if (rules == doc.end()) return missing("rules");
    if (!rules->is_array()) return type_error("rules", "array", *rules);
    pack.rules.reserve(rules->size());
    for (std::size_t i = 0; i < rules->size(); ++i) {
      Result<Rule> rule = read_rule((*rules)[i], rule_path(i));
      if (!rule) return rule.error();
      pack.rules.push_back(std::move(*rule));
    }
    return pack;
  }

 private:
  Result<Rule> read_rule(const json& v, const std::string& path) {
    if (!v.is_object()) return type_error(path, "object", v);
    if (Status s = only_members(v, path, {"id", "category", "severity", "description", "kind", "pattern",
                                          "case_insensitive", "validator"});
        !s) {
      return s.error();
    }
    Rule rule;
    const std::string base = path + ".";
    if (Status s = string_member(v, base, "id", true, rule.id); !s) return s.error();
    if (Status s = string_member(v, base, "category", true, rule.category); !s) return s.error();
    if (Status s = string_member(v, base, "description", true, rule.description); !s) return s.error();
    if (Status s = string_member(v, base, "pattern", true, rule.pattern); !s) return s.error();

    std::string severity;
    if (Status s = string_member(v, base, "severity", true, severity); !s) return s.error();
    const std::optional<Severity> sev = severity_from_string(severity);
    if (!sev) return bad_value(base + "severity", severity, "low, medium, high or critical");
    rule.severity = *sev;

    std::string kind;
    if (Status s = string_member(v, base, "kind", true, kind); !s) return s.error();
    if (kind == "literal") {
      rule.kind = RuleKind::kLiteral;
    } else if (kind == "regex") {
      rule.kind = RuleKind::kRegex;
    } else {
      return bad_value(base + "kind", kind, "literal or regex");
    }

    if (const auto ci = v.find("case_insensitive"); ci != v.end()) {
      if (!ci->is_boolean()) return type_error(base + "case_insensitive", "boolean", *ci);
      rule.case_insensitive = ci->get<bool>();
    }
    std::string validator;
    if (Status s = string_member(v, base, "validator", false, validator); !s) return s.error();
    if (!validator.empty()) {
      const std::optional<Validator> val = validator_from_string(validator);
      if (!val || *val == Validator::kNone) return bad_value(base + "validator", validator, "luhn or iban_mod97");
      rule.validator = *val;
    }
    return rule;
  }

  Status only_members(const json& object, const std::string& path,
                      std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : object.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        const std::string where = path == "$" ? key : path + "." + key;
        return rule_error(source_, where, "unknown member \"" + key + "\"");
      }
    }
    return ok_status();
  }

  Status string_member(const json& object, const std::string& base, const char* key, bool required,
                       std::string& out) {
    const auto it = object.find(key);
    if (it == object.end()) {
      if (required) return missing(base + key);
      return ok_status();
    }
    if (!it->is_string()) return type_error(base + key, "string", *it);
    out = it->get<std::string>();
    return ok_status();
  }

  Error missing(const std::string& path) {
    return rule_error(source_, path, "missing required member");
  }
  Error type_error(const std::string& path, const char* expected, const json& got) {
    return rule_error(source_, path, std::string("expected ") + expected + ", got " + json_kind(got));
  }
  Error bad_value(const std::string& path, const std::string& got, const char* expected) {
    return rule_error(source_, path, "\"" + got + "\" is not one of: " + expected);
  }

  std::string_view source_;
};

// ---------------------------------------------------------------------------------------------
// Hyperscan scratch: one per thread, grown to fit every database the thread scans (hs_alloc_scratch
// only ever grows it, so a scratch fitted to a database stays fitted to it). `fitted_for` remembers
// the last engines it was fitted to, so a thread that takes turns over a few engines (the input
// guard runs several per text) costs no call after the first text; engine ids are never reused.

std::atomic<std::uint64_t> next_engine_id{1};

struct ThreadScratch {
  static constexpr std::size_t kRemembered = 16;
  hs_scratch_t* scratch = nullptr;
  std::array<std::uint64_t, kRemembered> fitted_for{};  // 0: none
  std::size_t next = 0;  // the entry of fitted_for replaced next
  ~ThreadScratch() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
};

hs_scratch_t* scratch_for(const hs_database_t* db, std::uint64_t engine_id) {
  thread_local ThreadScratch local;
  if (std::find(local.fitted_for.begin(), local.fitted_for.end(), engine_id) ==
      local.fitted_for.end()) {
    if (hs_alloc_scratch(db, &local.scratch) != HS_SUCCESS) return nullptr;
    local.fitted_for[local.next] = engine_id;
    local.next = (local.next + 1) % ThreadScratch::kRemembered;
  }
  return local.scratch;
}

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};

int on_hs_match(unsigned int id, unsigned long long /*from*/, unsigned long long /*to*/,
                unsigned int /*flags*/, void* context) {
  static_cast<std::vector<std::uint32_t>*>(context)->push_back(id);
  return 0;  // go on: other rules may match further on
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// Public helpers

std::string_view to_string(RuleKind kind) { return kind == RuleKind::kLiteral ? "literal" : "regex"; }

std::string_view to_string(Validator validator) {
  for (const auto& [v, name] : kValidatorNames) {
    if (v == validator) return name;
  }
  return "none";
}

std::optional<Validator> validator_from_string(std::string_view name) {
  for (const auto& [v, n] : kValidatorNames) {
    if (n == name) return v;
  }
  return std::nullopt;
}

bool passes_validator(Validator validator, std::string_view candidate) {
  switch (validator) {
    case Validator::kNone: return true;
    case Validator::kLuhn: return luhn_valid(candidate);
    case Validator::kIbanMod97: return iban_valid(candidate);
  }
  return false;
}

std::string_view to_string(EngineKind kind) { return kind == EngineKind::kRe2 ? "re2" : "hyperscan"; }

std::string regex_source(const Rule& rule) {
  if (rule.kind == RuleKind::kRegex) return rule.pattern;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(rule.pattern.size() * 2);
  for (char c : rule.pattern) {
    if (is_ascii_alnum(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

// -----------------------------------------------------------------------------------------------
// Loader

Result<RulePack> parse_rule_pack(std::string_view text, std::string_view source_name,
                                 const RulePackLimits& limits) {
  openai::DecodeLimits decode_limits;
  decode_limits.max_bytes = limits.max_bytes;
  decode_limits.max_depth = limits.max_depth;
  Result<json> doc = openai::parse_json(text, decode_limits);
  if (!doc) {
    Error error = std::move(doc).error();
    error.context = std::string(source_name) + ": " + (error.context.empty() ? "$" : error.context);
    return error;
  }
  PackReader reader(source_name);
  Result<RulePack> pack = reader.read(*doc);
  if (!pack) return pack;
  if (Status s = check_pack(*pack, source_name, limits); !s) return s.error();
  return pack;
}

Result<RulePack> load_rule_pack(const std::filesystem::path& file, const RulePackLimits& limits) {
  const std::string name = file.string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot read the rule pack: " + ec.message(), name);
  if (size > limits.max_bytes) {
    return Error(ErrorCode::kInvalidInput,
                 "the rule pack has " + std::to_string(size) + " bytes; the limit is " +
                     std::to_string(limits.max_bytes),
                 name);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidInput, "cannot open the rule pack", name);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error(ErrorCode::kInvalidInput, "cannot read the rule pack", name);
  return parse_rule_pack(text, name, limits);
}

// -----------------------------------------------------------------------------------------------
// Engine
//
// Phase 2 uses one precompiled RE2 per rule rather than a second Hyperscan database compiled
// with HS_FLAG_SOM_LEFTMOST for the matched subset: Hyperscan reports every end offset of every
// match (`\d{13,19}` yields up to seven overlapping spans per number), so turning its reports
// into the one leftmost-first span a finding, a validator and redaction need would take a
// second pass anyway; a subset database would have to be compiled (milliseconds) or cached per
// subset; and phase 2 runs only on the rare texts that matched, for the few rules that did, so
// its speed matters far less than phase 1's. RE2 is linear-time, thread-safe when const, and
// already the fallback engine, so both engines locate identically.

struct RuleEngine::Impl {
  RulePack pack;
  EngineKind engine = EngineKind::kHyperscan;
  std::uint64_t id = 0;

  std::unique_ptr<hs_database_t, HsDatabaseDeleter> hs_db;  // null when no rule runs on Hyperscan
  std::vector<std::uint32_t> fallback;                      // rules on RE2::Set
  std::unique_ptr<RE2::Set> set;                            // null when `fallback` is empty
  std::vector<std::unique_ptr<RE2>> per_rule;               // phase 2 (and Set fallback)

  void locate_rule(std::uint32_t rule, std::string_view text, std::vector<RuleMatch>& out,
                   bool first_only) const {
    const RE2& re = *per_rule[rule];
    const Validator validator = pack.rules[rule].validator;
    const re2::StringPiece input(text.data(), text.size());
    std::size_t pos = 0;
    while (pos <= text.size()) {
      re2::StringPiece m;
      if (!re.Match(input, pos, text.size(), RE2::UNANCHORED, &m, 1)) break;
      const auto start = static_cast<std::size_t>(m.data() - text.data());
      const std::size_t end = start + m.size();
      if (end == start) {  // an empty match is no finding (the loader refuses most such rules)
        pos = start + 1;
        continue;
      }
      if (passes_validator(validator, text.substr(start, end - start))) {
        out.push_back(RuleMatch{rule, start, end});
        if (first_only) return;
      }
      pos = end;
    }
  }

  void set_matches(std::string_view text, std::vector<std::uint32_t>& hits) const {
    if (!set) return;
    std::vector<int> found;
    RE2::Set::ErrorInfo info{};
    if (set->Match(re2::StringPiece(text.data(), text.size()), &found, &info)) {
      for (int i : found) hits.push_back(fallback[static_cast<std::size_t>(i)]);
      return;
    }
    if (info.kind == RE2::Set::kNoError) return;  // no rule matched
    // The Set's DFA ran out of memory (a pathological text): ask each rule on its own.
    for (std::uint32_t rule : fallback) {
      if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *per_rule[rule])) {
        hits.push_back(rule);
      }
    }
  }
};

RuleEngine::RuleEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuleEngine::RuleEngine(RuleEngine&&) noexcept = default;
RuleEngine& RuleEngine::operator=(RuleEngine&&) noexcept = default;
RuleEngine::~RuleEngine() = default;

Result<RuleEngine> RuleEngine::compile(RulePack pack, const EngineOptions& options) {
  const std::string source = pack.name.empty() ? std::string("rule pack") : "rule pack " + pack.name;
  RulePackLimits limits;
  limits.max_rules = std::max(limits.max_rules, pack.rules.size());
  limits.max_pattern_bytes = std::numeric_limits<std::size_t>::max();
  if (Status s = check_pack(pack, source, limits); !s) return s.error();

  auto impl = std::make_unique<Impl>();
  impl->id = next_engine_id.fetch_add(1, std::memory_order_relaxed);
  impl->engine = options.engine;
  const std::size_t n = pack.rules.size();
  std::vector<std::string> sources;
  sources.reserve(n);
  for (const Rule& rule : pack.rules) {
    sources.push_back(regex_source(rule));
    impl->per_rule.push_back(std::make_unique<RE2>(sources.back(), re2_options(rule.case_insensitive)));
  }

  // Which rules Hyperscan takes: each is tried alone first (hs_expression_info is cheap and names
  // unsupported constructs), then all together; a rule the joint compile still rejects moves to
  // the fallback and the rest are compiled again.
  std::vector<std::uint32_t> on_hs;
  auto hs_flags = [&](std::uint32_t rule) {
    return HS_FLAG_SINGLEMATCH | (pack.rules[rule].case_insensitive ? HS_FLAG_CASELESS : 0u);
  };
  for (std::uint32_t i = 0; i < n; ++i) {
    if (options.engine == EngineKind::kRe2) {
      impl->fallback.push_back(i);
      continue;
    }
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_expression_info(sources[i].c_str(), hs_flags(i), &info, &err) == HS_SUCCESS) {
      std::free(info);  // allocated with Hyperscan's default allocator (malloc)
      on_hs.push_back(i);
    } else {
      hs_free_compile_error(err);
      impl->fallback.push_back(i);
    }
  }
  while (!on_hs.empty()) {
    std::vector<const char*> expressions;
    std::vector<unsigned int> flags;
    std::vector<unsigned int> ids;
    for (std::uint32_t rule : on_hs) {
      expressions.push_back(sources[rule].c_str());
      flags.push_back(hs_flags(rule));
      ids.push_back(rule);
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                         static_cast<unsigned int>(on_hs.size()), HS_MODE_BLOCK, nullptr, &db,
                         &err) == HS_SUCCESS) {
      impl->hs_db.reset(db);
      break;
    }
    const int bad = err->expression;
    hs_free_compile_error(err);
    if (bad < 0 || static_cast<std::size_t>(bad) >= on_hs.size()) {
      // Not one rule's fault (for instance the database grew too large): RE2 takes them all.
      impl->fallback.insert(impl->fallback.end(), on_hs.begin(), on_hs.end());
      on_hs.clear();
      break;
    }
    impl->fallback.push_back(on_hs[static_cast<std::size_t>(bad)]);
    on_hs.erase(on_hs.begin() + bad);
  }
  std::sort(impl->fallback.begin(), impl->fallback.end());

  if (!impl->fallback.empty()) {
    RE2::Options set_options = re2_options(false);
    set_options.set_max_mem(std::int64_t{256} << 20);
    impl->set = std::make_unique<RE2::Set>(set_options, RE2::UNANCHORED);
    for (std::uint32_t rule : impl->fallback) {
      // The Set shares one set of options, so case-insensitivity travels inside the pattern.
      const std::string pattern =
          (pack.rules[rule].case_insensitive ? "(?i:" : "(?:") + sources[rule] + ")";
      std::string error;
      if (impl->set->Add(pattern, &error) < 0) {
        return Error(ErrorCode::kInvalidInput,
                     "rule \"" + pack.rules[rule].id + "\": the regex does not compile (RE2: " +
                         error + ")",
                     source + ": " + rule_path(rule, "pattern"));
      }
    }
    if (!impl->set->Compile()) {
      return Error(ErrorCode::kInternal, "RE2::Set could not compile the pack (out of memory)",
                   source);
    }
  }
  impl->pack = std::move(pack);
  return RuleEngine(std::move(impl));
}

const RulePack& RuleEngine::pack() const { return impl_->pack; }
EngineKind RuleEngine::engine() const { return impl_->engine; }
std::span<const std::uint32_t> RuleEngine::fallback_rules() const { return impl_->fallback; }

std::vector<std::uint32_t> RuleEngine::matching_rules(std::string_view text) const {
  std::vector<std::uint32_t> hits;
  if (impl_->hs_db) {
    hs_scratch_t* scratch = scratch_for(impl_->hs_db.get(), impl_->id);
    // hs_scan takes an unsigned int length; a longer text (or a failed scratch allocation) is
    // matched by RE2 rule by rule instead, never skipped.
    const bool scanned =
        scratch != nullptr && text.size() <= std::numeric_limits<unsigned int>::max() &&
        hs_scan(impl_->hs_db.get(), text.data(), static_cast<unsigned int>(text.size()), 0, scratch,
                on_hs_match, &hits) == HS_SUCCESS;
    if (!scanned) {
      hits.clear();
      for (std::uint32_t rule = 0; rule < impl_->pack.rules.size(); ++rule) {
        if (std::binary_search(impl_->fallback.begin(), impl_->fallback.end(), rule)) continue;
        if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *impl_->per_rule[rule])) {
          hits.push_back(rule);
        }
      }
    }
  }
  impl_->set_matches(text, hits);
  std::sort(hits.begin(), hits.end());
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  // Rules with a validator count only when a match passes it.
  std::vector<RuleMatch> probe;
  std::erase_if(hits, [&](std::uint32_t rule) {
    if (impl_->pack.rules[rule].validator == Validator::kNone) return false;
    probe.clear();
    impl_->locate_rule(rule, text, probe, /*first_only=*/true);
    return probe.empty();
  });
  return hits;
}

std::vector<RuleMatch> RuleEngine::locate(std::string_view text,
                                          std::span<const std::uint32_t> rules) const {
  std::vector<std::uint32_t> wanted(rules.begin(), rules.end());
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::vector<RuleMatch> out;
  for (std::uint32_t rule : wanted) {
    if (rule >= impl_->pack.rules.size()) continue;
    impl_->locate_rule(rule, text, out, /*first_only=*/false);
  }
  std::sort(out.begin(), out.end(), [](const RuleMatch& a, const RuleMatch& b) {
    return a.start != b.start ? a.start < b.start : a.rule < b.rule;
  });
  return out;
}

std::vector<Finding> RuleEngine::scan(std::string_view text) const {
  const std::vector<std::uint32_t> hits = matching_rules(text);
  std::vector<Finding> findings;
  if (hits.empty()) return findings;
  for (const RuleMatch& m : locate(text, hits)) {
    const Rule& rule = impl_->pack.rules[m.rule];
    findings.push_back(Finding{rule.id, rule.category, rule.severity, m.start, m.end});
  }
  return findings;
}

}  // namespace echoes::safety

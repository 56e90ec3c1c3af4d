// Rule packs and the compiled multi-pattern engine that scans a text for every rule of a pack at
// once.
//
// A rule pack (fixtures/rules/*.json, schema fixtures/contracts/rule_pack.schema.json) is a named,
// versioned list of literal and regex rules. RuleEngine compiles all rules of a pack into ONE
// Hyperscan database and answers in two phases:
//   1. matching_rules(text): which rules match anywhere (one pass, no start offsets);
//   2. locate(text, rules): the byte spans, computed only for the rules phase 1 reported.
// RE2's RE2::Set is the fallback (a rule Hyperscan cannot compile runs there) and can be chosen
// for a whole pack to compare the engines. Both engines see the same pattern language and give
// the same answers (a property test checks that).
//
//   Result<RulePack> pack = load_rule_pack("fixtures/rules/secrets.json");
//   if (!pack) return pack.error();                 // context: "<file>: rules[3].pattern"
//   Result<RuleEngine> engine = RuleEngine::compile(std::move(*pack));
//   std::vector<std::uint32_t> hits = engine->matching_rules(text);     // usually empty
//   for (const RuleMatch& m : engine->locate(text, hits))
//     report(engine->pack().rules[m.rule].id, m.start, m.end);
//
// Pattern language: the common subset of RE2 and Hyperscan (PCRE-like; no back-references, no
// look-around, no `$` before a trailing newline). Texts are matched as bytes: `\w`, `\b`, `\d`
// and case-insensitivity are ASCII, a non-ASCII literal matches its UTF-8 bytes exactly. Callers
// that need Unicode case folding normalise first (core/safety/text_normalizer.h). A rule must not
// match the empty string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/safety/finding.h"

namespace echoes::safety {

enum class RuleKind : std::uint8_t { kLiteral, kRegex };
std::string_view to_string(RuleKind kind);  // "literal" "regex"

// A check a match must also pass to count (the regex finds candidates, the validator confirms).
enum class Validator : std::uint8_t {
  kNone,
  kLuhn,       // payment card numbers: 13-19 digits (spaces and dashes ignored), Luhn checksum
  kIbanMod97,  // IBAN: country code, check digits, 11-30 letters/digits (spaces ignored), mod 97 == 1
};
std::string_view to_string(Validator validator);                    // "none" "luhn" "iban_mod97"
std::optional<Validator> validator_from_string(std::string_view name);

// True when `candidate` passes `validator` (kNone passes everything).
bool passes_validator(Validator validator, std::string_view candidate);

struct Rule {
  std::string id;           // "<pack name>.<rule name>", unique in the pack
  std::string category;     // "injection", "jailbreak", "secret", "pii", "refusal.full", ...
  Severity severity = Severity::kMedium;
  std::string description;  // one short sentence for reports
  RuleKind kind = RuleKind::kRegex;
  std::string pattern;      // a literal string or a regex (see the pattern language above)
  bool case_insensitive = false;
  Validator validator = Validator::kNone;

  friend bool operator==(const Rule&, const Rule&) = default;
};

struct RulePack {
  std::string name;     // lower-case identifier; every rule id starts with "<name>."
  std::string version;  // the pack's own version, e.g. "1.0"
  std::string description;
  std::vector<Rule> rules;

  friend bool operator==(const RulePack&, const RulePack&) = default;
};

// The regex text both engines compile for a rule: the pattern itself for a regex, every byte of
// a literal escaped (letters and digits as they are, anything else as \xHH). Case-insensitivity
// is not part of it (the engines take it as a flag).
std::string regex_source(const Rule& rule);

// Bounds for reading a pack (hostile files are refused before they cost much).
struct RulePackLimits {
  std::size_t max_bytes = std::size_t{4} * 1024 * 1024;  // the whole document
  std::size_t max_depth = 16;                           // nesting of arrays and objects
  std::size_t max_rules = 10000;
  std::size_t max_pattern_bytes = 8192;
};

// Reads and checks a pack. Errors are kInvalidInput with context "<file>: <JSON path>" ("$" for
// the document, "rules[3].pattern", or "offset N" for JSON that does not parse) and a message
// saying what is wrong; a regex that does not compile names the rule id and RE2's message.
Result<RulePack> load_rule_pack(const std::filesystem::path& file, const RulePackLimits& limits = {});
Result<RulePack> parse_rule_pack(std::string_view json, std::string_view source_name,
                                 const RulePackLimits& limits = {});

// Which engine runs the match pass.
enum class EngineKind : std::uint8_t {
  kHyperscan,  // Hyperscan; a rule it cannot compile runs on RE2::Set instead (see fallback_rules)
  kRe2,        // RE2::Set for every rule (the fallback engine, also selectable to compare)
};
std::string_view to_string(EngineKind kind);  // "hyperscan" "re2"

struct EngineOptions {
  EngineKind engine = EngineKind::kHyperscan;
};

// One match of one rule: the rule's index in the pack and the byte span [start, end).
struct RuleMatch {
  std::uint32_t rule = 0;
  std::size_t start = 0;
  std::size_t end = 0;

  friend bool operator==(const RuleMatch&, const RuleMatch&) = default;
};

// A compiled pack. Immutable after compile(); every const member is safe to call from many
// threads at once (Hyperscan scratch space is per thread). Move-only.
class RuleEngine {
 public:
  // Checks the pack (as parse_rule_pack does) and compiles it. Errors: kInvalidInput naming the
  // rule id and the engine's message (a regex RE2 cannot compile, a duplicate id), or kInternal
  // when an engine fails for a reason that is no rule's fault.
  static Result<RuleEngine> compile(RulePack pack, const EngineOptions& options = {});

  RuleEngine(RuleEngine&&) noexcept;
  RuleEngine& operator=(RuleEngine&&) noexcept;
  ~RuleEngine();

  const RulePack& pack() const;
  EngineKind engine() const;
  // Indices of the rules that run on RE2::Set although the engine is Hyperscan (empty when
  // Hyperscan took every rule; every rule with kRe2).
  std::span<const std::uint32_t> fallback_rules() const;

  // Phase 1: the indices (ascending) of the rules that match somewhere in `text`. A rule with a
  // validator counts only when one of its matches passes the validator.
  std::vector<std::uint32_t> matching_rules(std::string_view text) const;

  // Phase 2: every match of the given rules (normally phase 1's answer), sorted by start, then
  // rule. Matches of one rule do not overlap (leftmost-first, scanning on after each match's end);
  // a rule's matches that fail its validator are left out. Indices outside the pack are ignored.
  std::vector<RuleMatch> locate(std::string_view text, std::span<const std::uint32_t> rules) const;

  // Both phases, as findings (rule id, category, severity, span).
  std::vector<Finding> scan(std::string_view text) const;

 private:
  struct Impl;
  explicit RuleEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::safety

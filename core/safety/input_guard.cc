#include "core/safety/input_guard.h"

#include <algorithm>
#include <array>
#include <exception>
#include <string>
#include <utility>

#include "core/safety/policy.h"
#include "core/safety/redaction.h"
#include "core/safety/text_normalizer.h"
#include "core/safety/utf8.h"

namespace echoes::safety {
namespace {

namespace fs = std::filesystem;

// A rule finding's score: how sure a fired rule of that severity is that the text is an attack.
double severity_score(Severity severity) {
  switch (severity) {
    case Severity::kCritical: return 1.0;
    case Severity::kHigh: return 0.9;
    case Severity::kMedium: return 0.6;
    case Severity::kLow: return 0.3;
  }
  return 0.3;
}

// Splits a pack by case sensitivity: the case-insensitive rules run on the normalised (case
// folded) text; the case-sensitive ones ("[INST]", "DAN") would never match folded text, so they
// run on a form that keeps case.
std::pair<RulePack, RulePack> split_by_case(const RulePack& pack) {
  RulePack folded{pack.name, pack.version, pack.description, {}};
  RulePack cased{pack.name, pack.version, pack.description, {}};
  for (const Rule& rule : pack.rules) (rule.case_insensitive ? folded : cased).rules.push_back(rule);
  return {std::move(folded), std::move(cased)};
}

Result<std::optional<RuleEngine>> compile_optional(RulePack pack) {
  if (pack.rules.empty()) return std::optional<RuleEngine>{};
  Result<RuleEngine> engine = RuleEngine::compile(std::move(pack));
  if (!engine) return std::move(engine).error();
  return std::optional<RuleEngine>(std::move(*engine));
}

void sort_unique(std::vector<Finding>& findings) {
  std::sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.start, a.end, a.rule_id) < std::tie(b.start, b.end, b.rule_id);
  });
  findings.erase(std::unique(findings.begin(), findings.end()), findings.end());
}

// A tag-character payload this short and made of lower-case letters and digits is the tail of an
// emoji subdivision flag (England: U+1F3F4 then "gbeng" in tag characters), not smuggled text.
bool looks_like_flag_tag(std::string_view payload) {
  if (payload.size() > 7) return false;
  return std::all_of(payload.begin(), payload.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string_view to_string(GuardDetector detector) {
  switch (detector) {
    case GuardDetector::kInjection: return "injection";
    case GuardDetector::kHarmfulRequest: return "harmful-request";
    case GuardDetector::kSecrets: return "secrets";
    case GuardDetector::kPii: return "pii";
  }
  return "injection";
}

struct InputGuard::Impl {
  config::SafetyConfig config;
  InputGuardOptions options;
  std::optional<RuleEngine> injection_folded;  // case-insensitive injection rules
  std::optional<RuleEngine> injection_cased;   // case-sensitive injection rules
  std::optional<RuleEngine> harmful_folded;
  std::optional<RuleEngine> harmful_cased;
  RuleEngine secrets;
  RuleEngine pii;
  LinearTextModel injection_model;
  LinearTextModel harmful_model;

  // Rules of a (folded, cased) engine pair over `text`, every finding placed by `place`, a
  // function from a span of the text scanned to an original span.
  template <typename Place>
  static void run_rules(const std::optional<RuleEngine>& engine, std::string_view text,
                        const Place& place, std::vector<Finding>& out) {
    if (!engine) return;
    const std::vector<std::uint32_t> hits = engine->matching_rules(text);
    if (hits.empty()) return;
    for (const RuleMatch& m : engine->locate(text, hits)) {
      const Rule& rule = engine->pack().rules[m.rule];
      auto [start, end] = place(m.start, m.end);
      out.push_back(Finding{rule.id, rule.category, rule.severity, start, end});
    }
  }

  // The rules and the model of a normalising detector (injection, harmful-request) over a text
  // whose original span is placed by `place`; the model's finding covers [whole_start, whole_end).
  template <typename Place>
  Status detect_normalised(std::string_view text, const std::optional<RuleEngine>& folded,
                           const std::optional<RuleEngine>& cased, const LinearTextModel& model,
                           std::string_view model_rule, std::string_view model_category,
                           const Place& place, std::pair<std::size_t, std::size_t> whole,
                           TextScan& scan, NormalizedText* keep) const {
    Result<NormalizedText> n = normalize_text(text, NormalizeOptions::for_detection());
    if (!n) return std::move(n).error();
    run_rules(folded, n->text, [&](std::size_t s, std::size_t e) {
      auto [os, oe] = n->original_span(s, e);
      return place(os, oe);
    }, scan.findings);
    if (cased) {
      if (is_ascii(text)) {
        run_rules(cased, text, place, scan.findings);
      } else {
        NormalizeOptions keep_case;
        keep_case.fold_case = false;
        Result<NormalizedText> c = normalize_text(text, keep_case);
        if (!c) return std::move(c).error();
        run_rules(cased, c->text, [&](std::size_t s, std::size_t e) {
          auto [os, oe] = c->original_span(s, e);
          return place(os, oe);
        }, scan.findings);
      }
    }
    const double score = model.score(n->text);
    scan.score = std::max(scan.score, score);
    if (score >= model.threshold()) {
      scan.findings.push_back(Finding{std::string(model_rule), std::string(model_category),
                                      Severity::kHigh, whole.first, whole.second});
    }
    if (keep != nullptr) *keep = std::move(*n);
    return Status();
  }

  Status injection(std::string_view text, TextScan& scan) const {
    const auto identity = [](std::size_t s, std::size_t e) { return std::make_pair(s, e); };
    NormalizedText n;
    if (Status s = detect_normalised(text, injection_folded, injection_cased, injection_model,
                                     "model.injection", "injection", identity, {0, text.size()},
                                     scan, &n);
        !s.ok()) {
      return s;
    }
    // Text smuggled in Unicode tag characters is invisible to a human reviewer and read by the
    // model: the signature of an attack, with no use in a benign prompt apart from the short
    // lower-case tails of emoji subdivision flags. So it is an injection finding of high severity
    // (flagged and, by default, blocked) over the tag characters, and its text is scanned too.
    if (!n.tag_payload.empty() && !looks_like_flag_tag(n.tag_payload)) {
      const std::size_t start = n.tag_payload_origin.front();
      const std::size_t end = std::min<std::size_t>(n.tag_payload_origin.back() + 4, text.size());
      scan.findings.push_back(
          Finding{"injection.hidden_tag_text", "injection", Severity::kHigh, start, end});
      const auto at_tags = [&](std::size_t, std::size_t) { return std::make_pair(start, end); };
      if (Status s = detect_normalised(n.tag_payload, injection_folded, injection_cased,
                                       injection_model, "model.injection", "injection", at_tags,
                                       {start, end}, scan, nullptr);
          !s.ok()) {
        return s;
      }
    }
    // Zero-width and bidi-control characters have benign uses (emoji sequences, Persian and Indic
    // text, right-to-left runs), but not between two ASCII letters or digits, where they only
    // serve to split a word so that a filter misses it ("ig\u200Bnore"). That evasion is an
    // injection signal of medium severity: reported (and, by default, blocked with the injection
    // category) while the words it split are found again on the stripped text.
    if (n.had_zero_width || n.had_bidi_control) {
      for (const auto& [first, last] : n.removed) {
        if (first > 0 && last < text.size() && is_ascii_alnum(text[first - 1]) &&
            is_ascii_alnum(text[last])) {
          scan.findings.push_back(
              Finding{"injection.invisible_in_word", "injection", Severity::kMedium, first, last});
        }
      }
    }
    // Encoded payloads: decoded and scanned again; their findings point at the encoded span.
    for (const DecodedPayload& p : find_encoded_payloads(text, options.payloads)) {
      const auto at_payload = [&](std::size_t, std::size_t) { return std::make_pair(p.start, p.end); };
      TextScan inner;
      if (Status s = detect_normalised(p.text, injection_folded, injection_cased, injection_model,
                                       "model.injection", "injection", at_payload,
                                       {p.start, p.end}, inner, nullptr);
          !s.ok()) {
        // A decoded payload is valid UTF-8 by contract; a failure here is the guard's own.
        return Status(Error(ErrorCode::kInternal, "decoded payload: " + s.error().message,
                            s.error().context));
      }
      scan.score = std::max(scan.score, inner.score);
      for (Finding& f : inner.findings) scan.findings.push_back(std::move(f));
    }
    return Status();
  }

  Status harmful_request(std::string_view text, TextScan& scan) const {
    const auto identity = [](std::size_t s, std::size_t e) { return std::make_pair(s, e); };
    return detect_normalised(text, harmful_folded, harmful_cased, harmful_model,
                             "model.harmful-request", "harmful-request", identity,
                             {0, text.size()}, scan, nullptr);
  }

  // Secrets and PII: on the original bytes (a key is not a word: no case folding, no leetspeak).
  static Status original_rules(std::string_view text, const RuleEngine& engine, TextScan& scan) {
    if (Status s = validate_utf8(text); !s.ok()) return s;
    for (Finding& f : engine.scan(text)) {
      scan.score = std::max(scan.score, severity_score(f.severity));
      scan.findings.push_back(std::move(f));
    }
    return Status();
  }

  Status run(std::string_view text, GuardDetector detector, TextScan& scan) const {
    switch (detector) {
      case GuardDetector::kInjection: return injection(text, scan);
      case GuardDetector::kHarmfulRequest: return harmful_request(text, scan);
      case GuardDetector::kSecrets: return original_rules(text, secrets, scan);
      case GuardDetector::kPii: return original_rules(text, pii, scan);
    }
    return Status(Error(ErrorCode::kInternal, "unknown guard detector"));
  }

  std::size_t tokens(std::size_t bytes) const {
    const std::size_t per = std::max<std::size_t>(1, options.bytes_per_token);
    return (bytes + per - 1) / per;
  }
};

InputGuard::InputGuard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InputGuard::InputGuard(InputGuard&&) noexcept = default;
InputGuard& InputGuard::operator=(InputGuard&&) noexcept = default;
InputGuard::~InputGuard() = default;

const InputGuardOptions& InputGuard::options() const { return impl_->options; }

Result<InputGuard> InputGuard::create(config::SafetyConfig config, InputGuardParts parts,
                                      InputGuardOptions options) {
  const auto model_is = [](const LinearTextModel& m, std::string_view want) -> Status {
    if (m.detector() == want) return Status();
    return Status(Error(ErrorCode::kInvalidInput,
                        "model for detector '" + std::string(m.detector()) + "' given where the '" +
                            std::string(want) + "' model is expected",
                        "detector"));
  };
  if (Status s = model_is(parts.injection_model, "injection"); !s.ok()) return s.error();
  if (Status s = model_is(parts.harmful_request_model, "harmful-request"); !s.ok()) return s.error();
  try {
    auto [inj_folded, inj_cased] = split_by_case(parts.injection_rules);
    auto inj_f = compile_optional(std::move(inj_folded));
    if (!inj_f) return std::move(inj_f).error();
    auto inj_c = compile_optional(std::move(inj_cased));
    if (!inj_c) return std::move(inj_c).error();
    std::optional<RuleEngine> harm_f, harm_c;
    if (parts.harmful_request_rules) {
      auto [hf, hc] = split_by_case(*parts.harmful_request_rules);
      auto f = compile_optional(std::move(hf));
      if (!f) return std::move(f).error();
      auto c = compile_optional(std::move(hc));
      if (!c) return std::move(c).error();
      harm_f = std::move(*f);
      harm_c = std::move(*c);
    }
    Result<RuleEngine> secrets = RuleEngine::compile(std::move(parts.secrets_rules));
    if (!secrets) return std::move(secrets).error();
    Result<RuleEngine> pii = RuleEngine::compile(std::move(parts.pii_rules));
    if (!pii) return std::move(pii).error();
    auto impl = std::unique_ptr<Impl>(new Impl{std::move(config), options, std::move(*inj_f),
                                               std::move(*inj_c), std::move(harm_f),
                                               std::move(harm_c), std::move(*secrets),
                                               std::move(*pii), std::move(parts.injection_model),
                                               std::move(parts.harmful_request_model)});
    return InputGuard(std::move(impl));
  } catch (const std::exception& e) {
    return Error(ErrorCode::kUnexpectedException, std::string("building the input guard: ") + e.what());
  }
}

Result<InputGuard> InputGuard::load(config::SafetyConfig config, const fs::path& rules_dir,
                                    const fs::path& models_dir, InputGuardOptions options) {
  // Errors from the loaders name the file in their context; the message gets it too, so a caller
  // printing only the message still says which file is bad.
  const auto named = [](Error e, const fs::path& file) {
    e.message = file.string() + ": " + e.message;
    return e;
  };
  const auto pack = [&](const char* name) -> Result<RulePack> {
    const fs::path file = rules_dir / name;
    Result<RulePack> p = load_rule_pack(file);
    if (!p) return named(std::move(p).error(), file);
    return p;
  };
  const auto model = [&](const char* name) -> Result<LinearTextModel> {
    const fs::path file = models_dir / name;
    Result<LinearTextModel> m = LinearTextModel::load(file);
    if (!m) return named(std::move(m).error(), file);
    return m;
  };
  Result<RulePack> injection = pack("injection.json");
  if (!injection) return std::move(injection).error();
  Result<RulePack> secrets = pack("secrets.json");
  if (!secrets) return std::move(secrets).error();
  Result<RulePack> pii = pack("pii.json");
  if (!pii) return std::move(pii).error();
  std::optional<RulePack> harmful;
  std::error_code ec;
  if (fs::exists(rules_dir / "harmful_request.json", ec)) {
    Result<RulePack> h = pack("harmful_request.json");
    if (!h) return std::move(h).error();
    harmful = std::move(*h);
  }
  Result<LinearTextModel> injection_model = model("injection.json");
  if (!injection_model) return std::move(injection_model).error();
  Result<LinearTextModel> harmful_model = model("harmful-request.json");
  if (!harmful_model) return std::move(harmful_model).error();
  InputGuardParts parts{std::move(*injection), std::move(*secrets), std::move(*pii),
                        std::move(harmful), std::move(*injection_model),
                        std::move(*harmful_model)};
  Result<InputGuard> guard = create(std::move(config), std::move(parts), options);
  if (!guard) return named(std::move(guard).error(), models_dir / "injection.json");
  return guard;
}

Result<TextScan> InputGuard::scan(std::string_view text, GuardDetector detector) const {
  try {
    TextScan scan;
    if (Status s = impl_->run(text, detector, scan); !s.ok()) return s.error();
    for (const Finding& f : scan.findings) {
      if (!f.rule_id.starts_with("model.")) scan.score = std::max(scan.score, severity_score(f.severity));
    }
    sort_unique(scan.findings);
    return scan;
  } catch (const std::exception& e) {
    return Error(ErrorCode::kUnexpectedException, std::string("input guard: ") + e.what());
  }
}

Result<TextScan> InputGuard::scan_all(std::string_view text, bool secrets_only) const {
  TextScan all;
  static constexpr std::array kEverything = {GuardDetector::kInjection,
                                             GuardDetector::kHarmfulRequest,
                                             GuardDetector::kSecrets, GuardDetector::kPii};
  for (GuardDetector d : kEverything) {
    if (secrets_only && d != GuardDetector::kSecrets) continue;
    Result<TextScan> one = scan(text, d);
    if (!one) return std::move(one).error();
    all.score = std::max(all.score, one->score);
    for (Finding& f : one->findings) all.findings.push_back(std::move(f));
  }
  if (!secrets_only && impl_->options.max_prompt_tokens > 0 &&
      impl_->tokens(text.size()) > impl_->options.max_prompt_tokens) {
    all.findings.push_back(Finding{"length.prompt_tokens", "length", Severity::kMedium, 0, text.size()});
  }
  sort_unique(all.findings);
  return all;
}

Result<Decision> InputGuard::inspect_text(std::string_view text, std::string_view route) const {
  Result<TextScan> scan = scan_all(text);
  if (!scan) return std::move(scan).error();
  try {
    return decide(impl_->config, route, std::move(scan->findings), scan->score);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kUnexpectedException, std::string("input guard: ") + e.what());
  }
}

Result<Decision> InputGuard::inspect_request(const openai::ChatCompletionRequest& request,
                                             std::string_view route) const {
  try {
    std::vector<Finding> findings;
    std::vector<std::size_t> message_of;
    double score = 0;
    std::size_t budget_bytes = 0;
    bool over_budget = false;
    for (std::size_t i = 0; i < request.messages.size(); ++i) {
      const openai::ChatMessage& message = request.messages[i];
      const bool untrusted = message.role == openai::Role::kUser ||
                             message.role == openai::Role::kTool ||
                             message.role == openai::Role::kFunction;
      const std::string text = message.text();
      Result<TextScan> scan = scan_all(text, !untrusted);
      if (!scan) {
        Error e = std::move(scan).error();
        e.message = "messages[" + std::to_string(i) + "]: " + e.message;
        return e;
      }
      // The budget is the whole prompt's: a length finding lands on the message that crosses it.
      std::erase_if(scan->findings, [](const Finding& f) { return f.category == "length"; });
      budget_bytes += text.size();
      if (!over_budget && impl_->options.max_prompt_tokens > 0 &&
          impl_->tokens(budget_bytes) > impl_->options.max_prompt_tokens) {
        over_budget = true;
        scan->findings.push_back(
            Finding{"length.prompt_tokens", "length", Severity::kMedium, 0, text.size()});
      }
      score = std::max(score, scan->score);
      for (Finding& f : scan->findings) {
        findings.push_back(std::move(f));
        message_of.push_back(i);
      }
    }
    Decision d = decide(impl_->config, route, std::move(findings), score);
    d.finding_message = std::move(message_of);
    return d;
  } catch (const std::exception& e) {
    return Error(ErrorCode::kUnexpectedException, std::string("input guard: ") + e.what());
  }
}

openai::ChatCompletionRequest InputGuard::redact_request(
    const openai::ChatCompletionRequest& request, const Decision& decision) const {
  openai::ChatCompletionRequest out = request;
  const std::size_t n = std::min({decision.findings.size(), decision.finding_message.size(),
                                  decision.finding_action.size()});
  for (std::size_t m = 0; m < out.messages.size(); ++m) {
    std::vector<Finding> mine;
    for (std::size_t i = 0; i < n; ++i) {
      if (decision.finding_message[i] == m && decision.finding_action[i] == Action::kRedact) {
        mine.push_back(decision.findings[i]);
      }
    }
    if (mine.empty() || !out.messages[m].content) continue;
    openai::MessageContent& content = *out.messages[m].content;
    if (auto* s = std::get_if<std::string>(&content)) {
      *s = redact(*s, mine).text;
      continue;
    }
    // Text parts: offsets are into the joined text; each part gets the findings clipped to it.
    std::size_t base = 0;
    for (openai::ContentPart& part : std::get<std::vector<openai::ContentPart>>(content)) {
      auto* text_part = std::get_if<openai::TextPart>(&part);
      if (text_part == nullptr) continue;
      const std::size_t size = text_part->text.size();
      std::vector<Finding> clipped;
      for (const Finding& f : mine) {
        const std::size_t s = std::max(f.start, base);
        const std::size_t e = std::min(f.end, base + size);
        if (s < e) {
          Finding c = f;
          c.start = s - base;
          c.end = e - base;
          clipped.push_back(std::move(c));
        }
      }
      if (!clipped.empty()) text_part->text = redact(text_part->text, clipped).text;
      base += size;
    }
  }
  return out;
}

}  // namespace echoes::safety

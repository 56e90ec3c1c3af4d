#include "core/safety/output_filter.h"

#include <algorithm>
#include <charconv>
#include <tuple>
#include <utility>

#include "core/safety/encoded_payloads.h"
#include "core/safety/linear_text_model.h"
#include "core/safety/rule_engine.h"
#include "core/safety/text_normalizer.h"
#include "core/safety/utf8.h"

namespace echoes::safety {

std::string_view to_string(RefusalClass c) {
  switch (c) {
    case RefusalClass::kCompliance: return "compliance";
    case RefusalClass::kPartial: return "partial";
    case RefusalClass::kFull: return "full";
  }
  return "compliance";
}

namespace {

constexpr std::string_view kHarmfulModelRule = "harmful.model";
constexpr std::string_view kToxicityModelRule = "toxicity.model";
constexpr std::string_view kLengthRule = "length.response_tokens";
constexpr std::string_view kLeakageCategory = "system-prompt-leakage";
constexpr std::size_t kRefusalOpeningBytes = 200;   // classify_refusal: "the opening"
constexpr std::size_t kHelpAfterPartialBytes = 300; // substantial help after an offer
constexpr std::size_t kHelpBeforeRefusalBytes = 200;

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char rot13(char c) {
  if (c >= 'a' && c <= 'z') return static_cast<char>('a' + (c - 'a' + 13) % 26);
  return c;
}

// The letters and digits of a normalised text (already case folded) and, for each, its byte
// offset in the original text (plus one past the end for spans).
struct CompactText {
  std::string chars;
  std::vector<std::size_t> start;  // original start of chars[i]
  std::vector<std::size_t> end;    // original end of chars[i]
};

CompactText compact(const NormalizedText& n) {
  CompactText c;
  for (std::size_t i = 0; i < n.text.size(); ++i) {
    if (!is_ascii_alnum(n.text[i])) continue;
    c.chars.push_back(n.text[i]);
    const auto [s, e] = n.original_span(i, i + 1);
    c.start.push_back(s);
    c.end.push_back(e);
  }
  return c;
}

// A canary's forms as they are searched for in the compacted answer.
struct CanaryForms {
  std::string plain, reversed, rotated;
};

Result<std::vector<CanaryForms>> canary_forms(const std::vector<std::string>& canaries) {
  std::vector<CanaryForms> out;
  for (std::size_t i = 0; i < canaries.size(); ++i) {
    Result<NormalizedText> n = normalize_text(canaries[i]);
    if (!n) {
      return Error(ErrorCode::kInvalidInput, "canary " + std::to_string(i) + ": " + n.error().message,
                   n.error().context);
    }
    CanaryForms f;
    for (char ch : n->text) {
      if (is_ascii_alnum(ch)) f.plain.push_back(ch);
    }
    if (f.plain.size() < kMinCanaryChars) {
      return Error(ErrorCode::kInvalidInput,
                   "canary " + std::to_string(i) + " has " + std::to_string(f.plain.size()) +
                       " letters and digits; at least " + std::to_string(kMinCanaryChars) +
                       " are needed",
                   "canaries[" + std::to_string(i) + "]");
    }
    f.reversed.assign(f.plain.rbegin(), f.plain.rend());
    f.rotated = f.plain;
    for (char& ch : f.rotated) ch = rot13(ch);
    out.push_back(std::move(f));
  }
  return out;
}

// Every occurrence of each form of each canary in `text`. A span [start, end) of the original
// is given for occurrences in the text itself; for a payload's decoded text, `fixed` is the
// encoded span every finding points at.
void find_canaries(const CompactText& text, const std::vector<CanaryForms>& canaries,
                   std::string_view suffix, const std::pair<std::size_t, std::size_t>* fixed,
                   std::vector<Finding>& out) {
  auto search = [&](const std::string& needle, std::string_view variant) {
    for (std::size_t at = text.chars.find(needle); at != std::string::npos;
         at = text.chars.find(needle, at + needle.size())) {
      Finding f;
      f.rule_id = std::string(kLeakageCategory) + ".canary" + std::string(variant) +
                  std::string(suffix);
      f.category = std::string(kLeakageCategory);
      f.severity = Severity::kCritical;
      if (fixed != nullptr) {
        f.start = fixed->first;
        f.end = fixed->second;
      } else {
        f.start = text.start[at];
        f.end = text.end[at + needle.size() - 1];
      }
      out.push_back(std::move(f));
      if (fixed != nullptr) return;  // one finding per payload and form
    }
  };
  for (const CanaryForms& c : canaries) {
    search(c.plain, "");
    if (c.reversed != c.plain) search(c.reversed, ".reversed");
    if (c.rotated != c.plain) search(c.rotated, ".rot13");
  }
}

std::vector<Finding> canary_findings(std::string_view original, const NormalizedText& folded,
                                     const std::vector<CanaryForms>& canaries) {
  std::vector<Finding> out;
  if (canaries.empty()) return out;
  find_canaries(compact(folded), canaries, "", nullptr, out);
  for (const DecodedPayload& p : find_encoded_payloads(original)) {
    Result<NormalizedText> n = normalize_text(p.text);
    if (!n) continue;  // decoded bytes that are not text hold no canary we could compare
    const std::pair<std::size_t, std::size_t> span{p.start, p.end};
    find_canaries(compact(*n), canaries, "." + std::string(to_string(p.encoding)), &span, out);
  }
  return out;
}

// A rule engine's findings on the normalised text, mapped back to the original.
void scan_normalized(const RuleEngine& engine, const NormalizedText& n, std::vector<Finding>& out) {
  for (Finding f : engine.scan(n.text)) {
    const auto [s, e] = n.original_span(f.start, f.end);
    f.start = s;
    f.end = e;
    out.push_back(std::move(f));
  }
}

void append(std::vector<Finding>& to, std::vector<Finding> from) {
  for (Finding& f : from) to.push_back(std::move(f));
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string_view policy_category(std::string_view category) {
  return category.substr(0, category.find('.'));
}

void sort_findings(std::vector<Finding>& f) {
  std::sort(f.begin(), f.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.start, a.end, a.rule_id) < std::tie(b.start, b.end, b.rule_id);
  });
}

std::size_t leading_whitespace(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' ||
                             text[i] == '\t')) {
    ++i;
  }
  return i;
}

// The most severe finding's category, "none" for none (ties: the first in the text).
std::string most_severe(const std::vector<Finding>& findings) {
  const Finding* best = nullptr;
  for (const Finding& f : findings) {
    if (best == nullptr || f.severity > best->severity) best = &f;
  }
  return best == nullptr ? "none" : best->category;
}

}  // namespace

struct OutputFilter::Impl {
  config::SafetyConfig config;
  RuleEngine harmful_rules, toxicity_rules, secret_rules, pii_rules, refusal_rules;
  LinearTextModel harmful_model, toxicity_model;

  // Refusal phrases (rule categories refusal.full / refusal.partial) on the original text.
  std::vector<Finding> refusal_phrases(std::string_view text) const {
    return refusal_rules.scan(text);
  }

  // The refusal class and, unless it is compliance, the phrases re-labelled with it.
  std::pair<RefusalClass, std::vector<Finding>> refusal(std::string_view text) const {
    std::vector<Finding> phrases = refusal_phrases(text);
    const RefusalClass c = classify_refusal(phrases, leading_whitespace(text), text.size());
    if (c == RefusalClass::kCompliance) return {c, {}};
    for (Finding& f : phrases) f.category = c == RefusalClass::kFull ? "refusal.full" : "refusal.partial";
    return {c, std::move(phrases)};
  }

  // Rules and canaries (no models, no refusal classes) over `text`, offsets into `text`.
  Result<std::vector<Finding>> rule_findings(std::string_view text,
                                             const std::vector<CanaryForms>& canaries) const {
    Result<NormalizedText> detect = normalize_text(text, NormalizeOptions::for_detection());
    if (!detect) return detect.error();
    std::vector<Finding> out;
    scan_normalized(harmful_rules, *detect, out);
    scan_normalized(toxicity_rules, *detect, out);
    append(out, secret_rules.scan(text));
    append(out, pii_rules.scan(text));
    if (!canaries.empty()) {
      Result<NormalizedText> folded = normalize_text(text);
      if (!folded) return folded.error();
      append(out, canary_findings(text, *folded, canaries));
    }
    return out;
  }

  // The harmful model's score with the profanity the toxicity rules find blanked out: profanity
  // alone is toxicity, not harm, and the model (trained on hateful vs neutral statements and on
  // jailbroken answers) would otherwise count swear words as harm.
  double harmful_score(std::string_view text, const NormalizedText& detect) const {
    std::vector<Finding> profanity;
    scan_normalized(toxicity_rules, detect, profanity);
    if (profanity.empty()) return harmful_model.score(text);
    std::string masked(text);
    for (const Finding& f : profanity) {
      std::fill(masked.begin() + static_cast<std::ptrdiff_t>(f.start),
                masked.begin() + static_cast<std::ptrdiff_t>(f.end), ' ');
    }
    return harmful_model.score(masked);
  }

  std::optional<Finding> length_finding(std::size_t bytes,
                                        std::optional<std::int64_t> completion_tokens) const {
    const std::int64_t tokens = completion_tokens.has_value()
                                    ? *completion_tokens
                                    : static_cast<std::int64_t>((bytes + 3) / 4);
    if (tokens <= config.thresholds.response_length) return std::nullopt;
    return Finding{std::string(kLengthRule), "length", Severity::kLow, 0, bytes};
  }

  // Model findings (whole-text spans) for scores at or above the models' thresholds.
  void model_findings(std::size_t bytes, double harmful, double toxic,
                      std::vector<Finding>& out) const {
    if (harmful >= harmful_model.threshold()) {
      out.push_back(Finding{std::string(kHarmfulModelRule), "harmful", Severity::kHigh, 0, bytes});
    }
    if (toxic >= toxicity_model.threshold()) {
      out.push_back(Finding{std::string(kToxicityModelRule), "toxicity", Severity::kMedium, 0, bytes});
    }
  }

  OutputScan decide(std::vector<Finding> findings, std::string_view route, double harmful,
                    double toxic, RefusalClass refusal) const {
    sort_findings(findings);
    OutputScan s;
    s.harmful_score = harmful;
    s.toxicity_score = toxic;
    s.refusal = refusal;
    s.score = std::max(harmful, toxic);
    const Finding* decider = nullptr;
    Action decided = Action::kAllow;
    for (const Finding& f : findings) {
      if (f.rule_id != kHarmfulModelRule && f.rule_id != kToxicityModelRule) s.score = 1;
      const Action a = config.action_for(policy_category(f.category), route);
      if (decider == nullptr || a > decided || (a == decided && f.severity > decider->severity)) {
        decider = &f;
        decided = a;
      }
    }
    if (decider != nullptr) {
      s.action = decided;
      s.category = decider->category;
    }
    s.findings = std::move(findings);
    return s;
  }
};

OutputFilter::OutputFilter(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
OutputFilter::OutputFilter(OutputFilter&&) noexcept = default;
OutputFilter& OutputFilter::operator=(OutputFilter&&) noexcept = default;
OutputFilter::~OutputFilter() = default;

const config::SafetyConfig& OutputFilter::config() const { return impl_->config; }

namespace {

Result<RuleEngine> load_engine(const std::filesystem::path& file) {
  Result<RulePack> pack = load_rule_pack(file);
  if (!pack) {
    Error e = pack.error();
    if (e.message.find(file.string()) == std::string::npos) e.message = file.string() + ": " + e.message;
    return e;
  }
  Result<RuleEngine> engine = RuleEngine::compile(std::move(*pack));
  if (!engine) {
    Error e = engine.error();
    e.message = file.string() + ": " + e.message;
    return e;
  }
  return engine;
}

Result<LinearTextModel> load_model(const std::filesystem::path& file, std::string_view detector) {
  Result<LinearTextModel> model = LinearTextModel::load(file);
  if (!model) {
    Error e = model.error();
    if (e.message.find(file.string()) == std::string::npos) e.message = file.string() + ": " + e.message;
    return e;
  }
  if (model->detector() != detector) {
    return Error(ErrorCode::kInvalidInput,
                 file.string() + ": the model is for detector '" + std::string(model->detector()) +
                     "', not '" + std::string(detector) + "'",
                 file.string() + ": detector");
  }
  return model;
}

}  // namespace

Result<OutputFilter> OutputFilter::create(const config::SafetyConfig& config,
                                          const std::filesystem::path& rules_dir,
                                          const std::filesystem::path& models_dir) {
  Result<RuleEngine> harmful = load_engine(rules_dir / "harmful_output.json");
  if (!harmful) return harmful.error();
  Result<RuleEngine> toxicity = load_engine(rules_dir / "toxicity.json");
  if (!toxicity) return toxicity.error();
  Result<RuleEngine> secrets = load_engine(rules_dir / "secrets.json");
  if (!secrets) return secrets.error();
  Result<RuleEngine> pii = load_engine(rules_dir / "pii.json");
  if (!pii) return pii.error();
  Result<RuleEngine> refusal = load_engine(rules_dir / "refusal.json");
  if (!refusal) return refusal.error();
  Result<LinearTextModel> harmful_model = load_model(models_dir / "harmful.json", "harmful");
  if (!harmful_model) return harmful_model.error();
  Result<LinearTextModel> toxicity_model = load_model(models_dir / "toxicity.json", "toxicity");
  if (!toxicity_model) return toxicity_model.error();
  auto impl = std::make_shared<Impl>(Impl{config, std::move(*harmful), std::move(*toxicity),
                                          std::move(*secrets), std::move(*pii), std::move(*refusal),
                                          std::move(*harmful_model), std::move(*toxicity_model)});
  return OutputFilter(std::move(impl));
}

Result<OutputScan> OutputFilter::scan(std::string_view answer,
                                      const OutputScanOptions& options) const {
  Result<std::vector<CanaryForms>> canaries = canary_forms(options.canaries);
  if (!canaries) return canaries.error();
  Result<std::vector<Finding>> findings = impl_->rule_findings(answer, *canaries);
  if (!findings) return findings.error();
  Result<NormalizedText> detect = normalize_text(answer, NormalizeOptions::for_detection());
  if (!detect) return detect.error();
  const double harmful = impl_->harmful_score(answer, *detect);
  const double toxic = impl_->toxicity_model.score(answer);
  impl_->model_findings(answer.size(), harmful, toxic, *findings);
  auto [refusal, phrases] = impl_->refusal(answer);
  append(*findings, std::move(phrases));
  if (auto f = impl_->length_finding(answer.size(), options.completion_tokens)) {
    findings->push_back(std::move(*f));
  }
  return impl_->decide(std::move(*findings), options.route, harmful, toxic, refusal);
}

Result<DetectorVerdict> OutputFilter::harmful(std::string_view answer) const {
  Result<NormalizedText> n = normalize_text(answer, NormalizeOptions::for_detection());
  if (!n) return n.error();
  DetectorVerdict v;
  scan_normalized(impl_->harmful_rules, *n, v.findings);
  const double score = impl_->harmful_score(answer, *n);
  impl_->model_findings(answer.size(), score, 0, v.findings);
  sort_findings(v.findings);
  v.flagged = !v.findings.empty();
  v.score = std::any_of(v.findings.begin(), v.findings.end(),
                        [](const Finding& f) { return f.rule_id != kHarmfulModelRule; })
                ? 1.0
                : score;
  v.category = most_severe(v.findings);
  return v;
}

Result<DetectorVerdict> OutputFilter::toxicity(std::string_view answer) const {
  Result<NormalizedText> n = normalize_text(answer, NormalizeOptions::for_detection());
  if (!n) return n.error();
  DetectorVerdict v;
  scan_normalized(impl_->toxicity_rules, *n, v.findings);
  const double score = impl_->toxicity_model.score(answer);
  impl_->model_findings(answer.size(), 0, score, v.findings);
  sort_findings(v.findings);
  v.flagged = !v.findings.empty();
  v.score = std::any_of(v.findings.begin(), v.findings.end(),
                        [](const Finding& f) { return f.rule_id != kToxicityModelRule; })
                ? 1.0
                : score;
  v.category = v.flagged ? "toxicity" : "none";
  return v;
}

Result<DetectorVerdict> OutputFilter::refusal(std::string_view answer) const {
  if (Status valid = validate_utf8(answer); !valid) return valid.error();
  auto [c, phrases] = impl_->refusal(answer);
  DetectorVerdict v;
  v.flagged = c != RefusalClass::kCompliance;
  v.score = c == RefusalClass::kFull ? 1.0 : c == RefusalClass::kPartial ? 0.5 : 0.0;
  v.category = c == RefusalClass::kFull      ? "refusal.full"
               : c == RefusalClass::kPartial ? "refusal.partial"
                                             : "none";
  v.findings = std::move(phrases);
  return v;
}

RefusalClass classify_refusal(const std::vector<Finding>& phrases, std::size_t lead,
                              std::size_t answer_bytes) {
  const std::size_t opening_end = lead + kRefusalOpeningBytes;
  const Finding* first_full = nullptr;
  for (const Finding& f : phrases) {
    if (f.category == "refusal.full" && (first_full == nullptr || f.start < first_full->start)) {
      first_full = &f;
    }
  }
  if (first_full != nullptr && first_full->start < opening_end) {
    for (const Finding& f : phrases) {
      if (f.category == "refusal.partial" && f.start > first_full->start &&
          answer_bytes >= f.end + kHelpAfterPartialBytes) {
        return RefusalClass::kPartial;
      }
    }
    return RefusalClass::kFull;
  }
  if (first_full != nullptr && first_full->start >= lead + kHelpBeforeRefusalBytes) {
    return RefusalClass::kPartial;
  }
  return RefusalClass::kCompliance;
}

Result<std::unique_ptr<OutputStreamFilter>> OutputFilter::start_stream(
    OutputScanOptions options) const {
  Result<std::vector<CanaryForms>> canaries = canary_forms(options.canaries);
  if (!canaries) return canaries.error();
  return std::unique_ptr<OutputStreamFilter>(new OutputStreamFilter(impl_, std::move(options)));
}

// ---- the stream filter ----

OutputStreamFilter::OutputStreamFilter(std::shared_ptr<const OutputFilter::Impl> impl,
                                       OutputScanOptions options)
    : impl_(std::move(impl)), options_(std::move(options)) {}

OutputStreamFilter::~OutputStreamFilter() = default;

namespace {

// Length of the longest prefix of `bytes` that ends on a UTF-8 character boundary, given that
// the whole may end inside a character; nullopt when a byte can never be UTF-8 there.
std::size_t complete_prefix(std::string_view bytes) {
  // Step back over at most 3 continuation bytes to the lead byte of the last character.
  std::size_t i = bytes.size();
  std::size_t back = 0;
  while (i > 0 && back < 3 && (static_cast<unsigned char>(bytes[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++back;
  }
  if (i == 0) return bytes.size();
  const auto lead = static_cast<unsigned char>(bytes[i - 1]);
  std::size_t need = 1;
  if (lead >= 0xF0) need = 4;
  else if (lead >= 0xE0) need = 3;
  else if (lead >= 0xC0) need = 2;
  else return bytes.size();                         // ASCII or a stray continuation
  return back + 1 < need ? i - 1 : bytes.size();    // the last character is incomplete
}

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

void append_unique(std::vector<Finding>& to, std::vector<Finding> found, std::size_t shift) {
  for (Finding& f : found) {
    f.start += shift;
    f.end += shift;
    const bool seen = std::any_of(to.begin(), to.end(), [&](const Finding& g) {
      return g.rule_id == f.rule_id && g.start < f.end && f.start < g.end;
    });
    if (!seen) to.push_back(std::move(f));
  }
}

}  // namespace

Result<OutputScan> OutputStreamFilter::scan_window(std::size_t end) {
  // The window: kWindowBytes before the text not yet scanned, moved back to just after a
  // whitespace byte (at most kWindowBytes further) and forward to a character start.
  std::size_t begin = scanned_ > kWindowBytes ? scanned_ - kWindowBytes : 0;
  for (std::size_t stop = begin > kWindowBytes ? begin - kWindowBytes : 0; begin > stop; --begin) {
    if (is_space(text_[begin - 1])) break;
  }
  while (begin < end && is_utf8_continuation(text_[begin])) ++begin;
  const std::string_view window = std::string_view(text_).substr(begin, end - begin);
  Result<std::vector<CanaryForms>> canaries = canary_forms(options_.canaries);
  if (!canaries) return canaries.error();
  Result<std::vector<Finding>> found = impl_->rule_findings(window, *canaries);
  if (!found) {
    Error e = found.error();
    if (starts_with(e.context, "offset ")) {  // into the whole answer, not the window
      std::size_t at = 0;
      const std::string_view digits = std::string_view(e.context).substr(7);
      std::from_chars(digits.data(), digits.data() + digits.size(), at);
      at += begin;
      e.context = "offset " + std::to_string(at);
      e.message = "invalid UTF-8 at byte " + std::to_string(at) + " of the streamed answer";
    }
    return e;
  }
  append_unique(findings_, std::move(*found), begin);
  scanned_ = end;
  return verdict();
}

Status OutputStreamFilter::run_models() {
  const std::string_view text = std::string_view(text_).substr(0, complete_);
  Result<NormalizedText> detect = normalize_text(text, NormalizeOptions::for_detection());
  if (!detect) return detect.error();
  harmful_score_ = impl_->harmful_score(text, *detect);
  toxicity_score_ = impl_->toxicity_model.score(text);
  model_findings_.clear();
  impl_->model_findings(text.size(), harmful_score_, toxicity_score_, model_findings_);
  model_run_at_ = complete_;
  return ok_status();
}

OutputScan OutputStreamFilter::verdict() const {
  std::vector<Finding> all = findings_;
  append(all, std::vector<Finding>(model_findings_));
  append(all, std::vector<Finding>(refusal_findings_));
  if (auto f = impl_->length_finding(complete_, std::nullopt)) all.push_back(std::move(*f));
  return impl_->decide(std::move(all), options_.route, harmful_score_, toxicity_score_, refusal_);
}

Result<OutputScan> OutputStreamFilter::feed(std::string_view delta) {
  text_.append(delta);
  complete_ = complete_prefix(text_);
  if (complete_ <= scanned_) return verdict();
  Result<OutputScan> v = scan_window(complete_);
  if (!v) return v;
  const std::size_t grown = complete_ - model_run_at_;
  const bool boundary = std::any_of(delta.begin(), delta.end(), is_space);
  if (boundary && grown >= std::max(kModelMinBytes, complete_ / 8)) {
    if (Status s = run_models(); !s) return s.error();
    return verdict();
  }
  return v;
}

Result<OutputScan> OutputStreamFilter::finish() {
  if (complete_ != text_.size()) {
    return Error(ErrorCode::kInvalidInput,
                 "the streamed answer ends inside a UTF-8 character at byte " +
                     std::to_string(complete_),
                 "offset " + std::to_string(complete_));
  }
  if (complete_ > scanned_) {
    Result<OutputScan> v = scan_window(complete_);
    if (!v) return v;
  }
  if (Status s = run_models(); !s) return s.error();
  auto [c, phrases] = impl_->refusal(text_);
  refusal_ = c;
  refusal_findings_ = std::move(phrases);
  return verdict();
}

// ---- TextDetectors ----

namespace {

class OutputDetector final : public TextDetector {
 public:
  enum class Kind { kHarmful, kToxicity, kRefusal };
  OutputDetector(std::shared_ptr<const OutputFilter> filter, Kind kind)
      : filter_(std::move(filter)), kind_(kind) {}

  std::string_view name() const override {
    switch (kind_) {
      case Kind::kHarmful: return "harmful";
      case Kind::kToxicity: return "toxicity";
      case Kind::kRefusal: return "refusal";
    }
    return "harmful";
  }

  Result<DetectorVerdict> inspect(std::string_view text) const override {
    switch (kind_) {
      case Kind::kHarmful: return filter_->harmful(text);
      case Kind::kToxicity: return filter_->toxicity(text);
      case Kind::kRefusal: return filter_->refusal(text);
    }
    return filter_->harmful(text);
  }

 private:
  std::shared_ptr<const OutputFilter> filter_;
  Kind kind_;
};

}  // namespace

std::unique_ptr<TextDetector> make_output_detector(std::shared_ptr<const OutputFilter> filter,
                                                   std::string_view name) {
  using Kind = OutputDetector::Kind;
  if (name == "harmful") return std::make_unique<OutputDetector>(std::move(filter), Kind::kHarmful);
  if (name == "toxicity") return std::make_unique<OutputDetector>(std::move(filter), Kind::kToxicity);
  if (name == "refusal") return std::make_unique<OutputDetector>(std::move(filter), Kind::kRefusal);
  return nullptr;
}

}  // namespace echoes::safety

// OutputFilter: judges a model's ANSWER (the input guard judges the prompt). Built once from the
// configuration, five rule packs and two learned models; immutable and thread-safe afterwards.
//
//   Result<OutputFilter> filter = OutputFilter::create(config.safety, "fixtures/rules",
//                                                      "fixtures/models");
//   if (!filter) return filter.error();            // names the file that could not be read
//   Result<OutputScan> s = filter->scan(answer, {.canaries = {"ECHOES-CANARY-7f3a9c21"},
//                                                .route = "chat", .completion_tokens = 812});
//   if (s && s->action == Action::kBlock) refuse(s->category, s->findings);
//
//   std::unique_ptr<OutputStreamFilter> stream = filter->start_stream({.canaries = canaries});
//   for (delta : deltas) {                          // one per stream
//     Result<OutputScan> v = stream->feed(delta);
//     if (!v || v->action == Action::kBlock) cut();  // this delta must not be passed on
//     pass_on(delta);
//   }
//   Result<OutputScan> last = stream->finish();
//
// What it finds (Finding::category; the policy looks a category up by its part before the first
// '.'):
//   harmful.*              rules of harmful_output.json on the normalised text (leetspeak,
//   harmful                confusables and invisible characters undone), and the `harmful` model
//                          on the whole answer (rule id "harmful.model", span: the whole answer)
//                          with the profanity toxicity.json finds blanked out first: profanity
//                          alone is not harmful. The model fires at its own operating point (the
//                          threshold chosen on validation data when it was trained; it was
//                          trained with compliant benign answers as negatives, so an answer that
//                          is not a refusal is not harmful by that alone).
//   toxicity               rules of toxicity.json on the normalised text and the `toxicity` model
//                          ("toxicity.model"): profanity and insults without a target group.
//   secret, pii            rules of secrets.json and pii.json on the ORIGINAL text (a key is not
//                          a word: no normalisation).
//   system-prompt-leakage  a canary (a marker the caller placed in the system prompt) found in
//                          the answer: compared on the answer's letters and digits only (case
//                          folded, after invisible characters are removed), so a canary split by
//                          whitespace, punctuation or zero-width characters is found; also
//                          reversed and rot13 (compared the same way) and inside base64, hex and
//                          URL-encoded payloads (core/safety/encoded_payloads.h; the finding points
//                          at the encoded span). Rule ids: "system-prompt-leakage.canary[.reversed
//                          |.rot13|.base64|.hex|.url]".
//   refusal.full|partial   refusal.json's phrases plus where they stand (classify_refusal below).
//   length                 the answer is longer than safety_thresholds.response_length tokens:
//                          usage.completion_tokens when given, else ceil(bytes / 4).
//
// Scores: a rule finding scores 1, a model finding its probability; OutputScan::score is the
// highest. The action is the strictest the policy (SafetyConfig::action_for, per route) gives any
// finding; `category` names the finding that decided it (strictest action, then severity, then
// first in the text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/safety/action.h"
#include "core/safety/detector.h"
#include "core/safety/finding.h"

namespace echoes::safety {

// The three refusal classes of XSTest's labelling.
enum class RefusalClass : std::uint8_t { kCompliance, kPartial, kFull };
std::string_view to_string(RefusalClass c);  // "compliance" "partial" "full"

// Canaries shorter than this many letters and digits are refused (kInvalidInput): a short marker
// would be found in ordinary text by chance.
inline constexpr std::size_t kMinCanaryChars = 8;

struct OutputScanOptions {
  std::vector<std::string> canaries;             // markers placed in the system prompt
  std::string route;                             // policy route; empty: the policy itself
  std::optional<std::int64_t> completion_tokens; // the upstream's usage.completion_tokens
};

struct OutputScan {
  Action action = Action::kAllow;  // strictest action the policy gives any finding
  double score = 0;                // in [0, 1]: the highest finding score
  std::string category = "none";   // the category that decided the action
  std::vector<Finding> findings;   // sorted by start, then end, then rule id
  RefusalClass refusal = RefusalClass::kCompliance;  // not computed by feed() (see the stream)
  double harmful_score = 0;        // the models' probabilities (0 when not run)
  double toxicity_score = 0;
};

class OutputStreamFilter;

class OutputFilter {
 public:
  // Reads <rules_dir>/{harmful_output,toxicity,secrets,pii,refusal}.json and
  // <models_dir>/{harmful,toxicity}.json. Errors keep the loader's code; the message names the
  // file.
  static Result<OutputFilter> create(const config::SafetyConfig& config,
                                     const std::filesystem::path& rules_dir,
                                     const std::filesystem::path& models_dir);

  OutputFilter(OutputFilter&&) noexcept;
  OutputFilter& operator=(OutputFilter&&) noexcept;
  ~OutputFilter();

  // Everything above over one answer. kInvalidInput for invalid UTF-8 (context "offset N") or a
  // canary shorter than kMinCanaryChars letters and digits.
  Result<OutputScan> scan(std::string_view answer, const OutputScanOptions& options = {}) const;

  // One detector's view, for `echoes scan` and the efficacy suite:
  //   harmful   harmful.* rules and the harmful model; flagged when either fires;
  //   toxicity  toxicity rules and the toxicity model;
  //   refusal   flagged for a full or partial refusal; category refusal.full|refusal.partial|none,
  //             score 1 (full), 0.5 (partial) or 0, findings: the refusal phrases.
  Result<DetectorVerdict> harmful(std::string_view answer) const;
  Result<DetectorVerdict> toxicity(std::string_view answer) const;
  Result<DetectorVerdict> refusal(std::string_view answer) const;

  // A filter for one streamed answer (see OutputStreamFilter); it shares the compiled rules and
  // models, so it may outlive this filter. kInvalidInput as scan() for a bad canary.
  Result<std::unique_ptr<OutputStreamFilter>> start_stream(OutputScanOptions options) const;

  const config::SafetyConfig& config() const;

 private:
  friend class OutputStreamFilter;
  struct Impl;
  explicit OutputFilter(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // shared with the stream filters it starts
};

// Refusal classes from the refusal phrases found in an answer of `answer_bytes` bytes whose text
// starts (after leading whitespace) at `lead`. The rule:
//   - a full-refusal phrase starting in the opening (the first 200 bytes after `lead`) is a FULL
//     refusal, unless substantial help follows: a partial-refusal phrase after it followed by at
//     least 300 more bytes of answer (declines, then offers and gives something else) -> PARTIAL;
//   - a full-refusal phrase only later in the answer, after at least 200 bytes of help -> PARTIAL
//     (helped, then declined part);
//   - only partial-refusal phrases: COMPLIANCE (a hedge such as "I must point out that ..." or a
//     closing "I recommend consulting a doctor" comes with an answer: XSTest's annotators label
//     such answers compliance);
//   - no phrase: COMPLIANCE.
RefusalClass classify_refusal(const std::vector<Finding>& refusal_phrases, std::size_t lead,
                              std::size_t answer_bytes);

// The stream filter: one per streamed answer, fed the text deltas in order. Not thread-safe.
//
// Sliding window: each feed scans the rules and canaries over the last kWindowBytes of the text
// before the delta (the window start moved back to just after a whitespace byte, at most another
// kWindowBytes, so an encoded payload is not cut in its middle, and forward to a UTF-8 character
// start) plus the delta. A rule match or canary no longer than kWindowBytes that the delta
// completes is therefore wholly inside the scanned text: the feed that completes it reports it,
// and a block means the caller must cut the stream before passing that delta on. Findings carry
// offsets into the whole answer and are reported once. A delta that ends inside a UTF-8 character
// keeps those bytes pending until the character completes; bytes that can never be UTF-8 are
// kInvalidInput (the stream must then be cut).
//
// The models score the whole text so far (a window would change their answer), so to keep the
// cost linear they run only at a word boundary (the delta holds whitespace) once the text has
// grown by at least max(kModelMinBytes, text_so_far / 8) since their last run, and always in
// finish(): the total work is a bounded multiple of the answer's size. A harm only the model sees
// is therefore found late (up to an eighth of the answer later), and may be found only by
// finish(). Refusal classes need the whole answer: finish() computes them. Length counts bytes
// (4 a token) as they arrive.
class OutputStreamFilter {
 public:
  static constexpr std::size_t kWindowBytes = 512;
  static constexpr std::size_t kModelMinBytes = 256;

  ~OutputStreamFilter();
  OutputStreamFilter(const OutputStreamFilter&) = delete;
  OutputStreamFilter& operator=(const OutputStreamFilter&) = delete;

  // The verdict over the text so far (every finding so far, the strictest action).
  Result<OutputScan> feed(std::string_view delta);
  // End of the stream: the models and the refusal classes over the whole answer, and a final
  // rule pass over the tail. kInvalidInput when the answer ends inside a UTF-8 character.
  Result<OutputScan> finish();

  const std::string& text() const { return text_; }

 private:
  friend class OutputFilter;
  OutputStreamFilter(std::shared_ptr<const OutputFilter::Impl> impl, OutputScanOptions options);

  Result<OutputScan> scan_window(std::size_t end);
  Status run_models();
  OutputScan verdict() const;

  std::shared_ptr<const OutputFilter::Impl> impl_;
  OutputScanOptions options_;
  std::string text_;            // every byte fed so far
  std::size_t complete_ = 0;    // text_[0, complete_) ends on a UTF-8 character boundary
  std::size_t scanned_ = 0;     // text_[0, scanned_) has been through the window scan
  std::size_t model_run_at_ = 0;
  double harmful_score_ = 0;
  double toxicity_score_ = 0;
  std::vector<Finding> findings_;        // window findings so far, each reported once
  std::vector<Finding> model_findings_;  // of the last model run
  std::vector<Finding> refusal_findings_;  // set by finish()
  RefusalClass refusal_ = RefusalClass::kCompliance;
};

// The TextDetectors `harmful`, `toxicity` and `refusal` over a shared filter (thread-safe).
std::unique_ptr<TextDetector> make_output_detector(std::shared_ptr<const OutputFilter> filter,
                                                   std::string_view name);

}  // namespace echoes::safety

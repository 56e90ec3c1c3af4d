// SafetyLayer: one model call with the input guard before it and the output filter after it, ending
// in exactly one outcome — an answer (possibly flagged or redacted), a block (with the decision and
// the stage that blocked), or a typed error — with the time each stage took on the injected clock.
//
//   SafetyLayer layer(*client, guard, filter, clock, {.route = "chat", .work_kind = "bias_eval"},
//                     {.limiter = &limiter, .breaker = &breaker});
//   SafetyOutcome outcome = layer.safe_evaluate(request);
//   switch (outcome.kind) {
//     case OutcomeKind::kAnswer: show(*outcome.response); break;
//     case OutcomeKind::kBlock:  refuse(outcome.reason); break;       // blocked_at: input/output
//     case OutcomeKind::kError:  report(*outcome.error); break;
//   }
//   SafetyOutcome streamed = layer.safe_evaluate_stream(request, [](const ChatCompletionChunk& c) {
//     print(c);
//     return ok_status();
//   });
//
// The flow of one call:
//   1. the RequestInspector decides on the caller's request: block ends the call (stage input);
//      redact sends the inspector's redacted request instead;
//   2. canary tokens (options) are added to the system prompt of what is sent;
//   3. the client makes the call, the rate limiter (keyed by the kind of work) and the circuit
//      breaker consulted around every upstream attempt; an upstream failure is the error outcome;
//   4. the ResponseInspector decides on the answer (told the canaries): block (stage output), or
//      the answer — redacted when the decision says redact, flagged when a decision says flag.
//   For a stream, step 4 runs per delta through a StreamInspector BEFORE the delta reaches the
//   caller's sink: a block cuts the stream at once (the delta that completed the unsafe content is
//   not passed on, the upstream exchange is stopped) and the outcome is a block. At the end of the
//   stream StreamInspector::finish checks the tail; a block there ends as a block too (the deltas
//   were already passed on: the caller must discard what it showed).
//
// Fail closed: an inspector that returns an error, throws, or cannot start a stream ends the call as
// a block naming the failure — never as an answer. A block and an error never both reach the
// caller: a blocked stream's cancellation is not reported as an error.
//
// Thread-safe when the client, the inspectors, the limiter and the breaker are (each call has its
// own StreamInspector).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/error.h"
#include "core/openai/client.h"
#include "core/openai/types.h"
#include "core/safety/circuit_breaker.h"
#include "core/safety/decision.h"
#include "core/safety/inspectors.h"
#include "core/safety/rate_limiter.h"

namespace echoes::safety {

class SafetyMetrics;

enum class OutcomeKind : std::uint8_t { kAnswer, kBlock, kError };
// Where a call was decided: the input guard, the upstream call, the output filter.
enum class SafetyStage : std::uint8_t { kInput, kUpstream, kOutput };

std::string_view to_string(OutcomeKind);   // "answer" "block" "error"
std::string_view to_string(SafetyStage);   // "input" "upstream" "output"

// Time spent in each stage of one call, on the layer's clock. guard + upstream + filter <= total;
// the difference is the layer's own work. For a stream, the caller's sink runs inside upstream.
struct StageTimings {
  Duration guard{};
  Duration upstream{};
  Duration filter{};
  Duration total{};
};

struct SafetyOutcome {
  OutcomeKind kind = OutcomeKind::kError;
  // kAnswer from safe_evaluate: the answer as the caller may use it (redactions applied).
  std::optional<openai::ChatCompletionResponse> response;
  // kAnswer (and a block cut mid-stream) from safe_evaluate_stream: the text passed to the sink.
  std::string streamed_text;
  std::optional<Decision> input_decision;   // set once the input guard decided
  std::optional<Decision> output_decision;  // set once the output filter decided
  bool input_redacted = false;   // the redacted request was sent upstream
  bool output_redacted = false;  // the answer's text was redacted
  bool flagged = false;          // a decision said flag (the answer passes, marked)
  // kBlock: which stage blocked, and why ("policy: <category>" or "<inspector> failed: <message>").
  std::optional<SafetyStage> blocked_at;
  std::string reason;
  // kError: the typed error of the call (an upstream failure, the caller's sink, ...).
  std::optional<Error> error;
  StageTimings timings;
};

inline constexpr std::string_view kSafetyOutcomeFormat = "echoes-safety-outcome";
inline constexpr int kSafetyOutcomeVersion = 1;

// The outcome as one JSON object, schema fixtures/contracts/safety_outcome.schema.json. Timings are
// in microseconds; decisions are summarised (action, category, score, rule ids with offsets).
std::string to_json(const SafetyOutcome& outcome);

struct SafetyLayerOptions {
  std::string route = "chat";          // the policy's route for both inspectors
  std::string work_kind = "bias_eval"; // the rate limiter's key (kind of work)
  // Canary tokens: each is placed in the system prompt sent upstream (one line per token), and the
  // output filter is told to look for them in the answer. Empty: no canaries.
  std::vector<std::string> canaries;
  std::optional<int> max_retries;         // per call; the client's config when unset
  std::optional<Duration> total_timeout;  // per call; the client's config when unset
  // Where every finished call is counted (decisions, stage times, errors, refusals); null: nowhere.
  // Not owned; must outlive the layer.
  const SafetyMetrics* metrics = nullptr;
};

// The per-attempt gates (either may be null; not owned, must outlive the layer).
struct UpstreamGates {
  RateLimiter* limiter = nullptr;
  CircuitBreaker* breaker = nullptr;
};

class SafetyLayer {
 public:
  // Keeps references: everything given must outlive the layer.
  SafetyLayer(openai::Client& client, const RequestInspector& guard,
              const ResponseInspector& filter, Clock& clock, SafetyLayerOptions options = {},
              UpstreamGates gates = {});
  SafetyLayer(const SafetyLayer&) = delete;
  SafetyLayer& operator=(const SafetyLayer&) = delete;

  SafetyOutcome safe_evaluate(const openai::ChatCompletionRequest& request) const;
  // The sink sees only deltas the output filter let through. An error from the sink cancels the
  // stream and is the outcome's error.
  SafetyOutcome safe_evaluate_stream(const openai::ChatCompletionRequest& request,
                                     const openai::ChunkSink& sink) const;

  const SafetyLayerOptions& options() const { return options_; }

 private:
  // The guard's decision and the request to send (redacted, with canaries), or false when the
  // outcome is already a block.
  bool prepare(const openai::ChatCompletionRequest& request, SafetyOutcome& outcome,
               openai::ChatCompletionRequest& to_send) const;
  // Applies an output decision to the outcome; false when it ended the call as a block.
  bool judge_output(Result<Decision> decision, bool streaming, SafetyOutcome& outcome) const;
  void evaluate(const openai::ChatCompletionRequest& request, SafetyOutcome& outcome) const;
  void evaluate_stream(const openai::ChatCompletionRequest& request,
                       const openai::ChunkSink& sink, SafetyOutcome& outcome) const;
  openai::CallOptions call_options() const;
  // The limiter's gate, then the breaker's (constructing them): the order they are consulted in.
  std::vector<openai::AttemptGate*> chain(UpstreamGates gates);

  openai::Client& client_;
  const RequestInspector& guard_;
  const ResponseInspector& filter_;
  Clock& clock_;
  const SafetyLayerOptions options_;
  std::optional<openai::RateLimiterGate<RateLimiter>> limiter_gate_;
  std::optional<openai::CircuitBreakerGate<CircuitBreaker>> breaker_gate_;
  // Mutable: AttemptGate's interface is non-const; the chain itself holds no per-call state.
  mutable openai::AttemptGateChain gates_;
};

}  // namespace echoes::safety

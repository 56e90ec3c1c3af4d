#include "harness/batch/batch_senders.h"

#include <utility>

#include "core/openai/json.h"
#include "core/safety/decision.h"

namespace echoes::harness::batch {

LineSender client_sender(openai::Client& client, openai::CallOptions options) {
  return [&client, options = std::move(options)](const openai::ChatCompletionRequest& request) {
    Result<openai::ChatCompletionResponse> answer = client.chat(request, options);
    SentLine sent;
    if (answer) {
      sent.outcome = LineOutcome::kAnswer;
      sent.response = std::move(*answer);
    } else {
      sent.outcome = LineOutcome::kError;
      sent.error = std::move(answer).error();
    }
    return sent;
  };
}

std::string decision_json(const safety::SafetyOutcome& outcome) {
  auto flag = [](bool b) { return b ? std::string("true") : std::string("false"); };
  std::string out = "{\"flagged\":" + flag(outcome.flagged) + ",\"input_redacted\":" + flag(outcome.input_redacted) +
                    ",\"output_redacted\":" + flag(outcome.output_redacted);
  if (outcome.blocked_at) out += ",\"blocked_at\":\"" + std::string(safety::to_string(*outcome.blocked_at)) + "\"";
  if (!outcome.reason.empty()) out += ",\"reason\":" + openai::dump_json(outcome.reason);
  if (outcome.input_decision) out += ",\"input\":" + safety::to_json(*outcome.input_decision);
  if (outcome.output_decision) out += ",\"output\":" + safety::to_json(*outcome.output_decision);
  return out + "}";
}

LineSender safety_sender(const safety::SafetyLayer& layer) {
  return [&layer](const openai::ChatCompletionRequest& request) {
    safety::SafetyOutcome outcome = layer.safe_evaluate(request);
    SentLine sent;
    switch (outcome.kind) {
      case safety::OutcomeKind::kAnswer:
        sent.outcome = LineOutcome::kAnswer;
        sent.response = std::move(outcome.response);
        sent.decision_json = decision_json(outcome);
        break;
      case safety::OutcomeKind::kBlock:
        sent.outcome = LineOutcome::kBlocked;
        sent.decision_json = decision_json(outcome);
        break;
      case safety::OutcomeKind::kError:
        sent.outcome = LineOutcome::kError;
        sent.error = outcome.error.value_or(Error(ErrorCode::kInternal, "the safety layer gave no error"));
        break;
    }
    return sent;
  };
}

}  // namespace echoes::harness::batch

// SafetyLayer outcomes' JSON form (to_json) conforms to fixtures/contracts/safety_outcome.schema.json
// for every kind, and the schema refuses a document that is two kinds at once (not vacuous).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/safety/safety_layer.h"
#include "harness/contract_schemas.h"

namespace echoes::safety {
namespace {

using std::chrono::microseconds;

Decision blocking_decision() {
  Decision d;
  d.action = Action::kBlock;
  d.score = 0.97;
  d.category = "harmful";
  d.findings.push_back(Finding{"harmful.weapons.build", "harmful.weapons", Severity::kHigh, 3, 17});
  return d;
}

SafetyOutcome with_timings(SafetyOutcome o) {
  o.timings = {microseconds(4), microseconds(900), microseconds(6), microseconds(911)};
  return o;
}

std::vector<std::pair<std::string, SafetyOutcome>> outcomes() {
  SafetyOutcome answer;
  answer.kind = OutcomeKind::kAnswer;
  answer.input_decision = Decision{};
  answer.output_decision = Decision{};
  answer.response = openai::ChatCompletionResponse{};
  answer.response->choices.push_back({0, openai::ChatMessage::assistant("Paris."), {}, {}});

  SafetyOutcome streamed;
  streamed.kind = OutcomeKind::kAnswer;
  streamed.flagged = true;
  streamed.streamed_text = "Hello \xff";  // invalid UTF-8 from upstream is replaced, not thrown on

  SafetyOutcome input_block;
  input_block.kind = OutcomeKind::kBlock;
  input_block.blocked_at = SafetyStage::kInput;
  input_block.reason = "policy: injection";
  input_block.input_decision = blocking_decision();

  SafetyOutcome output_block = input_block;
  output_block.blocked_at = SafetyStage::kOutput;
  output_block.output_decision = blocking_decision();

  SafetyOutcome error;
  error.kind = OutcomeKind::kError;
  error.error = Error(ErrorCode::kServerError, "busy");
  error.input_decision = Decision{};

  return {{"answer", with_timings(answer)},
          {"streamed answer", with_timings(streamed)},
          {"input block", with_timings(input_block)},
          {"output block", with_timings(output_block)},
          {"error", with_timings(error)}};
}

TEST(SafetyOutcomeSchema, EveryKindConforms) {
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  for (const auto& [name, outcome] : outcomes()) {
    SCOPED_TRACE(name);
    const std::string json = to_json(outcome);
    const std::vector<std::string> problems = schemas.violations("safety_outcome", json);
    EXPECT_TRUE(problems.empty()) << json << "\n" << harness::ContractSchemas::joined(problems);
  }
}

TEST(SafetyOutcomeSchema, RefusesADocumentThatIsTwoKindsOrMissesItsPart) {
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  const std::string common =
      R"("format":"echoes-safety-outcome","version":1,"flagged":false,"input_redacted":false,)"
      R"("output_redacted":false,"timings_us":{"guard":1,"upstream":2,"filter":3,"total":6})";
  for (const std::string& bad : std::vector<std::string>{
           "{" + common + R"(,"kind":"block","block":{"stage":"output","reason":"r"},)"
                          R"("error":{"code":"timeout","message":"m"}})",   // block and error
           "{" + common + R"(,"kind":"block"})",                             // no block part
           "{" + common + R"(,"kind":"answer","block":{"stage":"input","reason":"r"}})",
           "{" + common + R"(,"kind":"error","error":{"code":"timeout","message":"m"},"x":1})",
       }) {
    EXPECT_FALSE(schemas.violations("safety_outcome", bad).empty()) << bad;
  }
}

}  // namespace
}  // namespace echoes::safety

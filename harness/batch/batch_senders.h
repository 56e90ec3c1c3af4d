// The two ways `echoes batch run` sends a line: straight through the client, or through the safety
// layer (--safety), each turning the call's result into the line's SentLine.
//
//   LineSender direct = client_sender(*client);           // answer | error
//   LineSender guarded = safety_sender(layer);            // answer | blocked | error, with "decision"
//
// The decision object (for answers and blocks through the safety layer): {"flagged", "input_redacted",
// "output_redacted", "blocked_at"?: "input"|"output", "reason"?, "input"?: Decision, "output"?:
// Decision}, each Decision as core/safety/decision.h writes it.
#pragma once

#include "core/openai/client.h"
#include "core/safety/safety_layer.h"
#include "harness/batch/batch_runner.h"

namespace echoes::harness::batch {

// The client and the layer must outlive the sender.
LineSender client_sender(openai::Client& client, openai::CallOptions options = {});
LineSender safety_sender(const safety::SafetyLayer& layer);

// The output line's decision object for a safety outcome (compact JSON).
std::string decision_json(const safety::SafetyOutcome& outcome);

}  // namespace echoes::harness::batch

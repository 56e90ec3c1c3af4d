// Decision: what the safety policy concluded about a text or a request: the action to take, the
// score and category that decided it, and every finding with its offsets, so a caller can block,
// flag or redact and say why.
//
//   Decision d = decide(config.safety, "chat", findings, score);      // policy.h
//   if (d.action == Action::kBlock) return blocked(d);
//   std::string json = to_json(d);     // fixtures/contracts/decision.schema.json
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/safety/action.h"
#include "core/safety/finding.h"

namespace echoes::safety {

inline constexpr std::string_view kDecisionFormat = "echoes-decision";
inline constexpr int kDecisionVersion = 1;

struct Decision {
  Action action = Action::kAllow;   // the strictest action the policy gives any finding
  double score = 0;                 // in [0, 1]: the highest detector score
  std::string category = "none";    // the category that decided the action
  std::vector<Finding> findings;    // every finding (rule id, category, severity, start, end)
  // For messages: which message of the request each finding's offsets refer to (offsets are into
  // that message's text, ChatMessage::text()). Parallel to findings; empty for plain text.
  std::vector<std::size_t> finding_message;
  // The policy's action for each finding (parallel to findings): redaction replaces the findings
  // marked kRedact (and only those).
  std::vector<Action> finding_action;
  friend bool operator==(const Decision&, const Decision&) = default;
};

// The decision as one compact JSON object: {"format": "echoes-decision", "version": 1, "action",
// "score", "category", "findings": [{"rule_id", "category", "severity", "start", "end", "action"
// and, for messages, "message"}]}. Schema: fixtures/contracts/decision.schema.json.
std::string to_json(const Decision& decision);

}  // namespace echoes::safety

// Decision: what the safety policy decided about one text or request — the strictest action any
// finding earns, the score and category behind it, and every finding.
//
//   Decision d = *guard.inspect_request(request, "chat");
//   if (d.action == Action::kBlock) reject(d.category);
//   std::string json = to_json(d);   // schema: fixtures/contracts/decision.schema.json
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/safety/action.h"
#include "core/safety/finding.h"

namespace echoes::safety {

struct Decision {
  Action action = Action::kAllow;   // the strictest action the policy gives any finding
  double score = 0;                 // in [0, 1]: the highest detector score
  std::string category = "none";    // the category that decided the action
  std::vector<Finding> findings;    // every finding (rule id, category, severity, start, end)
  // For messages: which message / content part each finding's offsets refer to.
  std::vector<std::size_t> finding_message;   // parallel to findings; empty for plain text
};

std::string to_json(const Decision&);   // with the schema fixtures/contracts/decision.schema.json

}  // namespace echoes::safety

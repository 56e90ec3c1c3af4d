// Policy: applies the configuration's per-category, per-route actions (core/config) to findings.
// A finding's category is looked up by its part before the first '.' ("harmful.crime" ->
// "harmful", "refusal.partial" -> "refusal"); a category the configuration does not know gets
// block (fail closed).
//
//   Action a = action_for(config.safety, "chat", "harmful.crime");   // the "harmful" action
//   Decision d = decide(config.safety, "chat", findings, score);
#pragma once

#include <span>
#include <string_view>

#include "core/config/config.h"
#include "core/safety/decision.h"

namespace echoes::safety {

// "harmful.crime" -> "harmful"; a category without '.' is its own policy category.
std::string_view policy_category(std::string_view category);

Action action_for(const config::SafetyConfig& config, std::string_view route,
                  std::string_view category);

// The decision over `findings`: each finding's action, the strictest of them, and the category
// that decided it (on a tie in action, the most severe finding's, then the first's). `score` is
// the highest detector score (clamped to [0, 1]). No findings: allow, category "none".
Decision decide(const config::SafetyConfig& config, std::string_view route,
                std::vector<Finding> findings, double score);

}  // namespace echoes::safety

#include "core/safety/policy.h"

#include <algorithm>

namespace echoes::safety {

std::string_view policy_category(std::string_view category) {
  return category.substr(0, category.find('.'));
}

Action action_for(const config::SafetyConfig& config, std::string_view route,
                  std::string_view category) {
  return config.action_for(policy_category(category), route);
}

Decision decide(const config::SafetyConfig& config, std::string_view route,
                std::vector<Finding> findings, double score) {
  Decision d;
  d.score = std::clamp(score, 0.0, 1.0);
  d.finding_action.reserve(findings.size());
  const Finding* decider = nullptr;
  for (const Finding& f : findings) {
    const Action a = action_for(config, route, f.category);
    d.finding_action.push_back(a);
    if (decider == nullptr || a > d.action || (a == d.action && f.severity > decider->severity)) {
      d.action = a;
      decider = &f;
    }
  }
  if (decider != nullptr) d.category = decider->category;
  d.findings = std::move(findings);
  return d;
}

}  // namespace echoes::safety

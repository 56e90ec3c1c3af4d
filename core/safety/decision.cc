#include "core/safety/decision.h"

#include <nlohmann/json.hpp>

namespace echoes::safety {

std::string to_json(const Decision& decision) {
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < decision.findings.size(); ++i) {
    const Finding& f = decision.findings[i];
    nlohmann::ordered_json item;
    item["rule_id"] = f.rule_id;
    item["category"] = f.category;
    item["severity"] = std::string(to_string(f.severity));
    item["start"] = f.start;
    item["end"] = f.end;
    if (i < decision.finding_action.size()) {
      item["action"] = std::string(to_string(decision.finding_action[i]));
    }
    if (i < decision.finding_message.size()) item["message"] = decision.finding_message[i];
    findings.push_back(std::move(item));
  }
  nlohmann::ordered_json doc;
  doc["format"] = kDecisionFormat;
  doc["version"] = kDecisionVersion;
  doc["action"] = std::string(to_string(decision.action));
  doc["score"] = decision.score;
  doc["category"] = decision.category;
  doc["findings"] = std::move(findings);
  // Replace, not throw, on text that is not UTF-8 (a category or rule id is ours, so this is
  // belt and braces).
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace echoes::safety

#include "core/safety/finding.h"

namespace echoes::safety {

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "low";
}

std::optional<Severity> severity_from_string(std::string_view name) {
  for (Severity s : {Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace echoes::safety

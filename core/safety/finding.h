// Finding: one thing a safety detector found in a text (a rule that matched, a model that fired),
// with the bytes it concerns. Severity orders findings; the policy maps categories to actions.
//
//   Finding f{"secrets.openai_key", "secret", Severity::kCritical, 12, 63};
//   std::string_view matched = text.substr(f.start, f.end - f.start);
//   if (auto s = severity_from_string("high")) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace echoes::safety {

// Ordered: a larger value is more severe.
enum class Severity : std::uint8_t { kLow, kMedium, kHigh, kCritical };

// "low" "medium" "high" "critical". Stable: the names appear in rule packs, JSON and reports.
constexpr std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "low";
}

// Inverse of to_string; nullopt for any other name (exact, lower case).
constexpr std::optional<Severity> severity_from_string(std::string_view name) {
  for (Severity s : {Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

struct Finding {
  std::string rule_id;   // e.g. "injection.ignore_previous"
  std::string category;  // e.g. "injection", "jailbreak", "secret", "pii", "harmful", ...
  Severity severity = Severity::kLow;
  std::size_t start = 0;  // byte offsets into the ORIGINAL text, end exclusive
  std::size_t end = 0;

  friend bool operator==(const Finding&, const Finding&) = default;
};

}  // namespace echoes::safety

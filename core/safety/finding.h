// Finding: one rule or model hit in a text, with the byte span it covers in the ORIGINAL text.
// Detectors report findings; policies and redaction act on them.
//
//   Finding f{.rule_id = "secret.openai_key", .category = "secret", .severity = Severity::kHigh,
//             .start = 10, .end = 61};
//   std::string_view s = to_string(f.severity);   // "high"
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace echoes::safety {

enum class Severity : std::uint8_t { kLow, kMedium, kHigh, kCritical };
std::string_view to_string(Severity);                 // "low" "medium" "high" "critical"
std::optional<Severity> severity_from_string(std::string_view);

struct Finding {
  std::string rule_id;      // e.g. "injection.ignore_previous"
  std::string category;     // e.g. "injection", "jailbreak", "secret", "pii", "harmful", ...
  Severity severity;
  std::size_t start = 0;    // byte offsets into the ORIGINAL text, end exclusive
  std::size_t end = 0;
};

}  // namespace echoes::safety

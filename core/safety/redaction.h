// Redaction: replaces the bytes of findings with a placeholder naming their category
// ("[REDACTED:secret]") and reports what it replaced. Offsets are into the original text;
// overlapping or touching findings are merged into one replaced span; bytes outside every finding
// are never changed.
//
//   Redacted r = redact("mail bob@example.com now", findings);   // pii.email at [5, 20)
//   r.text == "mail [REDACTED:pii] now"; r.replaced[0] == {5, 20, "pii", "[REDACTED:pii]"}
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/safety/finding.h"

namespace echoes::safety {

struct RedactedSpan {
  std::size_t start = 0;     // original span replaced, end exclusive
  std::size_t end = 0;
  std::string category;      // policy category of the most severe finding merged into the span
  std::string placeholder;   // what replaced it
  friend bool operator==(const RedactedSpan&, const RedactedSpan&) = default;
};

struct Redacted {
  std::string text;
  std::vector<RedactedSpan> replaced;  // ascending, disjoint, not touching
};

// "[REDACTED:<category>]" with the category's part before the first '.'.
std::string redaction_placeholder(std::string_view category);

// Findings with end <= start or end > text.size() are ignored (they name no bytes of this text).
Redacted redact(std::string_view text, std::span<const Finding> findings);

}  // namespace echoes::safety

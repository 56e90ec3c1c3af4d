#include "core/safety/redaction.h"

#include <algorithm>

#include "core/safety/policy.h"

namespace echoes::safety {

std::string redaction_placeholder(std::string_view category) {
  return "[REDACTED:" + std::string(policy_category(category)) + "]";
}

Redacted redact(std::string_view text, std::span<const Finding> findings) {
  std::vector<const Finding*> spans;
  for (const Finding& f : findings) {
    if (f.start < f.end && f.end <= text.size()) spans.push_back(&f);
  }
  std::sort(spans.begin(), spans.end(), [](const Finding* a, const Finding* b) {
    return a->start != b->start ? a->start < b->start : a->end < b->end;
  });
  // Merge overlapping and touching spans; the merged span takes its most severe finding's category.
  struct Merged { std::size_t start, end; const Finding* worst; };
  std::vector<Merged> merged;
  for (const Finding* f : spans) {
    if (!merged.empty() && f->start <= merged.back().end) {
      Merged& m = merged.back();
      m.end = std::max(m.end, f->end);
      if (f->severity > m.worst->severity) m.worst = f;
    } else {
      merged.push_back({f->start, f->end, f});
    }
  }
  Redacted out;
  out.text.reserve(text.size());
  std::size_t at = 0;
  for (const Merged& m : merged) {
    out.text.append(text.substr(at, m.start - at));
    RedactedSpan r{m.start, m.end, std::string(policy_category(m.worst->category)),
                   redaction_placeholder(m.worst->category)};
    out.text += r.placeholder;
    out.replaced.push_back(std::move(r));
    at = m.end;
  }
  out.text.append(text.substr(at));
  return out;
}

}  // namespace echoes::safety

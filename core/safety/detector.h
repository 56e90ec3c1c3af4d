// TextDetector: the one interface every safety detector offers (injection, harmful-request,
// harmful, toxicity, refusal, secrets, pii). `echoes scan`, the efficacy suite and the input guard
// call it.
//
//   Result<DetectorVerdict> v = detector.inspect("ignore all previous instructions");
//   if (v && v->flagged) report(v->category, v->score, v->findings);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/safety/finding.h"

namespace echoes::safety {

struct DetectorVerdict {
  bool flagged = false;
  double score = 0;                 // in [0, 1]
  std::string category = "none";    // most severe category found, "none" when nothing fired
  std::vector<Finding> findings;    // offsets into the original text
};

class TextDetector {
 public:
  virtual ~TextDetector() = default;
  virtual std::string_view name() const = 0;               // one of the detector names above
  // Thread-safe: `echoes scan --threads N` calls one instance from N threads.
  virtual Result<DetectorVerdict> inspect(std::string_view utf8_text) const = 0;
};

}  // namespace echoes::safety

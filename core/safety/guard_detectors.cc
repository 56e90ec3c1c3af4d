#include "core/safety/guard_detectors.h"

#include <algorithm>

namespace echoes::safety {
namespace {

class GuardTextDetector final : public TextDetector {
 public:
  GuardTextDetector(std::shared_ptr<const InputGuard> guard, GuardDetector detector)
      : guard_(std::move(guard)), detector_(detector) {}

  std::string_view name() const override { return to_string(detector_); }

  Result<DetectorVerdict> inspect(std::string_view utf8_text) const override {
    Result<TextScan> scan = guard_->scan(utf8_text, detector_);
    if (!scan) return std::move(scan).error();
    return verdict_of(std::move(*scan));
  }

 private:
  std::shared_ptr<const InputGuard> guard_;
  GuardDetector detector_;
};

}  // namespace

DetectorVerdict verdict_of(TextScan scan) {
  DetectorVerdict v;
  v.score = std::clamp(scan.score, 0.0, 1.0);
  const Finding* worst = nullptr;
  for (const Finding& f : scan.findings) {
    if (worst == nullptr || f.severity > worst->severity) worst = &f;
  }
  if (worst != nullptr) {
    v.flagged = true;
    v.category = worst->category;
  }
  v.findings = std::move(scan.findings);
  return v;
}

std::unique_ptr<TextDetector> make_guard_detector(std::shared_ptr<const InputGuard> guard,
                                                  GuardDetector detector) {
  return std::make_unique<GuardTextDetector>(std::move(guard), detector);
}

}  // namespace echoes::safety

// The input guard's detectors as TextDetectors (detector.h): `injection`, `harmful-request`,
// `secrets` and `pii`, each a thin adapter over one part of a shared InputGuard, for
// `echoes scan --detector NAME` and the efficacy suite.
//
//   auto guard = std::make_shared<const InputGuard>(std::move(*loaded));
//   std::unique_ptr<TextDetector> pii = make_guard_detector(guard, GuardDetector::kPii);
//   Result<DetectorVerdict> v = pii->inspect("mail bob@example.com");   // flagged, [5, 20)
//
// A verdict is flagged when the detector found anything; its score is the detector's score in
// [0, 1] (the model's probability, or the severity score of the strongest rule that fired), its
// category the most severe finding's category ("none" when nothing fired).
#pragma once

#include <memory>

#include "core/safety/detector.h"
#include "core/safety/input_guard.h"

namespace echoes::safety {

std::unique_ptr<TextDetector> make_guard_detector(std::shared_ptr<const InputGuard> guard,
                                                  GuardDetector detector);

// The verdict for a detector's findings and score.
DetectorVerdict verdict_of(TextScan scan);

}  // namespace echoes::safety

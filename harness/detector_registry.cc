#include "harness/detector_registry.h"

#include <algorithm>

#include "core/safety/output_filter.h"
#include "core/safety/guard_detectors.h"

namespace echoes::harness {

namespace {

// harmful, toxicity and refusal: views of the output filter (core/safety/output_filter.h).
void add_output_filter_detectors(DetectorRegistry& registry) {
  for (const char* name : {"harmful", "toxicity", "refusal"}) {
    registry.add(name, [name](const DetectorContext& context)
                           -> Result<std::unique_ptr<safety::TextDetector>> {
      Result<safety::OutputFilter> filter = safety::OutputFilter::create(
          context.config.safety, context.rules_dir, context.models_dir);
      if (!filter) return filter.error();
      return safety::make_output_detector(
          std::make_shared<const safety::OutputFilter>(std::move(*filter)), name);
    });
  }
}

}  // namespace

DetectorRegistry& DetectorRegistry::builtin() {
  // The product's detectors are added here as they land (rule engine, scorer, ...).
  static DetectorRegistry registry = [] {
    DetectorRegistry r;
    // The input guard's detectors: each loads the guard's packs and models (errors name the file).
    for (safety::GuardDetector d :
         {safety::GuardDetector::kInjection, safety::GuardDetector::kHarmfulRequest,
          safety::GuardDetector::kSecrets, safety::GuardDetector::kPii}) {
      r.add(std::string(safety::to_string(d)),
            [d](const DetectorContext& context) -> Result<std::unique_ptr<safety::TextDetector>> {
              Result<safety::InputGuard> guard = safety::InputGuard::load(
                  context.config.safety, context.rules_dir, context.models_dir);
              if (!guard) return std::move(guard).error();
              return safety::make_guard_detector(
                  std::make_shared<const safety::InputGuard>(std::move(*guard)), d);
            });
    }
    add_output_filter_detectors(r);
    return r;
  }();
  return registry;
}

void DetectorRegistry::add(std::string name, DetectorFactory factory) {
  factories_[std::move(name)] = std::move(factory);
}

Result<std::unique_ptr<safety::TextDetector>> DetectorRegistry::create(
    std::string_view name, const DetectorContext& context) const {
  if (auto f = factories_.find(name); f != factories_.end()) return f->second(context);
  std::string available;
  for (const std::string& n : names()) available += (available.empty() ? "" : ", ") + n;
  if (available.empty()) available = "none in this build";
  const bool known = std::find(std::begin(kDetectorNames), std::end(kDetectorNames), name) !=
                     std::end(kDetectorNames);
  const std::string shown = "'" + std::string(name.substr(0, 64)) + "'";
  return Error(ErrorCode::kNotFound,
               (known ? "detector " + shown + " is not available in this build"
                      : "unknown detector " + shown) +
                   "; available: " + available,
               "--detector");
}

std::vector<std::string> DetectorRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

}  // namespace echoes::harness

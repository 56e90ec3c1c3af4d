// DetectorRegistry: detector name -> factory, so `echoes scan --detector NAME` (and later the
// efficacy suite) builds detectors by name without knowing their types. A factory takes the
// configuration and the directories of rule packs and models.
//
//   DetectorRegistry& registry = DetectorRegistry::builtin();
//   Result<std::unique_ptr<safety::TextDetector>> d = registry.create("injection", context);
//   if (!d) fail(d.error().message);   // names the available detectors
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/safety/detector.h"

namespace echoes::harness {

// The names of the product's detectors (issue 10), whether or not this build has them yet.
inline constexpr std::string_view kDetectorNames[] = {
    "injection", "harmful-request", "harmful", "toxicity", "refusal", "secrets", "pii"};

struct DetectorContext {
  const config::EchoesConfig& config;
  std::filesystem::path rules_dir;   // fixtures/rules
  std::filesystem::path models_dir;  // fixtures/models
};

using DetectorFactory =
    std::function<Result<std::unique_ptr<safety::TextDetector>>(const DetectorContext&)>;

class DetectorRegistry {
 public:
  // The product's detectors. A detector registers itself here when it lands (in
  // detector_registry.cc), never a test double.
  static DetectorRegistry& builtin();

  // Replaces any factory of the same name.
  void add(std::string name, DetectorFactory factory);
  // kNotFound for a name without a factory: the message says whether the name is a product
  // detector not in this build or unknown, and lists the available names.
  Result<std::unique_ptr<safety::TextDetector>> create(std::string_view name,
                                                       const DetectorContext& context) const;
  std::vector<std::string> names() const;  // sorted

 private:
  std::map<std::string, DetectorFactory, std::less<>> factories_;
};

}  // namespace echoes::harness

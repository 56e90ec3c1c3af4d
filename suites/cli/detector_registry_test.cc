// The detector registry builds detectors by name, and names the available ones when a name has no
// factory (unknown, or a product detector not in this build).
#include "harness/detector_registry.h"

#include <gtest/gtest.h>

namespace echoes::harness {
namespace {

class NamedDetector final : public safety::TextDetector {
 public:
  std::string_view name() const override { return "secrets"; }
  Result<safety::DetectorVerdict> inspect(std::string_view) const override {
    return safety::DetectorVerdict{};
  }
};

TEST(DetectorRegistry, CreatesByNameAndListsTheAvailableOnes) {
  const config::EchoesConfig config = config::default_config();
  const DetectorContext context{config, "rules", "models"};
  DetectorRegistry registry;
  auto none = registry.create("secrets", context);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "detector 'secrets' is not available in this build; available: none in this build");

  registry.add("secrets", [](const DetectorContext&) -> Result<std::unique_ptr<safety::TextDetector>> {
    return std::unique_ptr<safety::TextDetector>(std::make_unique<NamedDetector>());
  });
  auto made = registry.create("secrets", context);
  ASSERT_TRUE(made);
  EXPECT_EQ((*made)->name(), "secrets");

  auto unknown = registry.create("secretz", context);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message, "unknown detector 'secretz'; available: secrets");
  EXPECT_EQ(registry.names(), std::vector<std::string>{"secrets"});
}

TEST(DetectorRegistry, BuiltinHoldsOnlyProductDetectorNames) {
  for (const std::string& name : DetectorRegistry::builtin().names()) {
    EXPECT_NE(std::find(std::begin(kDetectorNames), std::end(kDetectorNames), name),
              std::end(kDetectorNames))
        << name;
  }
}

}  // namespace
}  // namespace echoes::harness

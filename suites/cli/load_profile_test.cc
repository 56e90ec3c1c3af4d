// Load profiles: the built-in ones, the weighted choice, and profile files — the committed example
// accepted by the parser and by fixtures/contracts/load_profile.schema.json, hostile files refused
// with the JSON path named.
#include "harness/load/load_profile.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness/contract_schemas.h"

namespace echoes::harness {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LoadProfileTest, EveryBuiltInProfileExistsAndTheAdversarialOnesSaySo) {
  for (std::string_view name : builtin_profile_names()) {
    auto p = builtin_profile(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_FALSE(p->requests.empty()) << name;
  }
  EXPECT_FALSE(builtin_profile("raw")->safety_layer);
  EXPECT_FALSE(builtin_profile("benign")->adversarial());
  EXPECT_TRUE(builtin_profile("injection")->adversarial());
  EXPECT_TRUE(builtin_profile("harmful-output")->adversarial());
  EXPECT_TRUE(builtin_profile("mixed")->adversarial());
  EXPECT_FALSE(builtin_profile("faults")->fault_phases.empty());
  // Soak: faults, then an outage, then none (so the breaker can close again).
  const auto soak = builtin_profile("soak");
  ASSERT_GE(soak->fault_phases.size(), 2u);
  EXPECT_FALSE(soak->fault_phases.back().scenario_json.has_value());
  auto unknown = builtin_profile("nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("built in: raw, benign"), std::string::npos);
}

TEST(LoadProfileTest, PicksByWeightDeterministically) {
  const LoadProfile p = *builtin_profile("mixed");  // benign 60%, injection 20%, harmful 20%
  int benign = 0;
  constexpr int kN = 20000;
  for (std::uint64_t i = 0; i < kN; ++i) {
    const std::size_t k = p.pick(i, 7);
    EXPECT_EQ(k, p.pick(i, 7));
    if (p.requests[k].label == RequestLabel::kBenign) ++benign;
  }
  EXPECT_NEAR(benign / static_cast<double>(kN), 0.6, 0.02);
}

TEST(LoadProfileTest, TheExampleFileIsValidForTheParserAndTheSchema) {
  const std::string path = ECHOES_FIXTURES_DIR "/load/mixed_example.json";
  auto p = read_profile_file(path);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->name, "mixed-example");
  ASSERT_EQ(p->requests.size(), 3u);
  EXPECT_EQ(p->requests[2].label, RequestLabel::kHarmful);
  EXPECT_TRUE(p->requests[1].stream);
  ASSERT_EQ(p->fault_phases.size(), 1u);
  EXPECT_NE(p->fault_phases[0].scenario_json->find("late-503s"), std::string::npos);
  ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  EXPECT_EQ(ContractSchemas::joined(schemas.violations("load_profile", read(path))), "");
}

TEST(LoadProfileTest, HostileFilesAreRefusedNamingThePath) {
  const std::string head = R"({"format":"echoes-load-profile","version":1,"name":"x",)";
  const struct {
    std::string text;
    std::string says;
  } cases[] = {
      {"not json", "not a profile"},
      {"[" + std::string(100, '[') + std::string(101, ']'), "not a profile"},
      {R"({"format":"other","version":1,"name":"x","requests":[]})", "format"},
      {head + R"("requests":[]})", "requests: an array of 1 to 1000"},
      {head + R"("requests":[{"name":"a","weight":-1,"prompt":"p","label":"benign"}]})", "requests[0].weight"},
      {head + R"("requests":[{"name":"a","weight":1,"prompt":"","label":"benign"}]})", "requests[0].prompt"},
      {head + R"("requests":[{"name":"a","weight":1,"prompt":"p","label":"evil"}]})", "requests[0].label"},
      {head + R"("requests":[{"name":"a","weight":1,"prompt":"p","label":"benign","x":1}]})", "requests[0].x: unknown field"},
      {head + R"("requests":[{"name":"a","weight":1,"prompt":"p","label":"benign"}],"max_retries":99})", "max_retries"},
      {head + R"("requests":[{"name":"a","weight":1,"prompt":"p","label":"benign"}],)"
              R"("fault_phases":[{"from_fraction":0.5},{"from_fraction":0.2}]})", "fault_phases[1].from_fraction"},
      {head + R"("requests":[{"name":"a","weight":1,"prompt":"p","label":"benign"}],)"
              R"("fault_phases":[{"from_fraction":0.5,"scenario":5}]})", "fault_phases[0].scenario"},
      {std::string("{\"format\":\"\xff\"}"), "not a profile"},
  };
  for (const auto& c : cases) {
    auto p = parse_profile(c.text, "bad.json");
    ASSERT_FALSE(p.ok()) << c.says;
    EXPECT_NE(p.error().message.find("bad.json: "), std::string::npos) << p.error().message;
    EXPECT_NE(p.error().message.find(c.says), std::string::npos) << p.error().message;
  }
  EXPECT_FALSE(read_profile_file("/nonexistent/profile.json").ok());
}

}  // namespace
}  // namespace echoes::harness

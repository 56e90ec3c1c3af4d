// The committed rule packs conform to fixtures/contracts/rule_pack.schema.json, and the schema
// refuses what the loader refuses for the same structural reason (so the schema is not vacuous).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/contract_schemas.h"

namespace echoes {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(RulePackSchema, EveryCommittedPackConforms) {
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  int packs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ECHOES_FIXTURES_DIR "/rules")) {
    if (entry.path().extension() != ".json") continue;
    ++packs;
    const std::vector<std::string> problems = schemas.violations("rule_pack", read_file(entry.path()));
    EXPECT_TRUE(problems.empty()) << entry.path() << "\n" << harness::ContractSchemas::joined(problems);
  }
  EXPECT_GE(packs, 6);
}

TEST(RulePackSchema, RefusesBrokenPacks) {
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  const std::string rule =
      R"("id":"t.a","category":"c","description":"d","kind":"regex","pattern":"a")";
  for (const std::string& bad : std::vector<std::string>{
           std::string(R"({"name":"t","version":"1"})"),                                        // no rules
           R"({"name":"t","version":"1","rules":[{)" + rule + R"(,"severity":"urgent"}]})",    // severity
           R"({"name":"t","version":"1","rules":[{)" + rule + R"(,"severity":"low","x":1}]})",  // member
           R"({"name":"T","version":"1","rules":[]})",                                          // name
       }) {
    EXPECT_FALSE(schemas.violations("rule_pack", bad).empty()) << bad;
  }
  EXPECT_TRUE(schemas.violations("rule_pack", R"({"name":"t","version":"1","rules":[{)" + rule +
                                                  R"(,"severity":"low"}]})")
                  .empty());
}

}  // namespace
}  // namespace echoes

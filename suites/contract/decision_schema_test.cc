// fixtures/contracts/decision.schema.json and core/safety/decision's to_json agree: decisions with
// and without findings and message indices validate, and documents that break the contract do not.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/safety/decision.h"
#include "harness/contract_schemas.h"

namespace echoes::safety {
namespace {

std::vector<std::string> schema_errors(const std::string& document) {
  static harness::ContractSchemas schemas(std::string(ECHOES_FIXTURES_DIR) + "/contracts");
  return schemas.violations("decision", document);
}

TEST(DecisionSchema, EncodedDecisionsAreValid) {
  Decision empty;
  EXPECT_TRUE(schema_errors(to_json(empty)).empty()) << to_json(empty);
  Decision full;
  full.action = Action::kRedact;
  full.score = 0.75;
  full.category = "pii";
  full.findings = {{"pii.email", "pii", Severity::kMedium, 5, 20},
                   {"secrets.jwt", "secret", Severity::kHigh, 0, 3}};
  full.finding_action = {Action::kRedact, Action::kRedact};
  full.finding_message = {0, 2};
  const std::string json = to_json(full);
  EXPECT_TRUE(schema_errors(json).empty()) << harness::ContractSchemas::joined(schema_errors(json));
  EXPECT_NE(json.find(R"("format":"echoes-decision","version":1,"action":"redact")"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("rule_id":"pii.email","category":"pii","severity":"medium","start":5,"end":20,"action":"redact","message":0)"),
            std::string::npos)
      << json;
}

TEST(DecisionSchema, BrokenDocumentsAreInvalid) {
  const std::string ok = to_json(Decision{});
  EXPECT_FALSE(schema_errors(R"({"format":"echoes-decision","version":1,"action":"maybe","score":0,"category":"none","findings":[]})").empty());
  EXPECT_FALSE(schema_errors(R"({"format":"echoes-decision","version":1,"action":"allow","score":2,"category":"none","findings":[]})").empty());
  EXPECT_FALSE(schema_errors(R"({"format":"echoes-decision","version":1,"action":"allow","score":0,"category":"none","findings":[{"rule_id":"x","category":"y","severity":"huge","start":0,"end":1}]})").empty());
  EXPECT_FALSE(schema_errors(R"({"version":1,"action":"allow","score":0,"category":"none","findings":[]})").empty());
  EXPECT_TRUE(schema_errors(ok).empty());
}

}  // namespace
}  // namespace echoes::safety

// fixtures/contracts/efficacy_report.schema.json accepts a well-formed report and refuses the
// mistakes a writer could make (so the schema is not vacuous). The writer's own output is checked
// against it in suites/cli/efficacy_eval_test.cc and suites/efficacy/.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/contract_schemas.h"

namespace echoes {
namespace {

nlohmann::json valid_report() {
  const nlohmann::json estimate = {{"value", 0.9}, {"low", 0.85}, {"high", 0.95}};
  const nlohmann::json none = {{"value", nullptr}, {"low", nullptr}, {"high", nullptr}};
  nlohmann::json slice = {{"name", "overall"}, {"kind", "overall"}, {"n", 10}, {"positives", 5},
                          {"negatives", 5}, {"matrix", {{"tp", 4}, {"fp", 1}, {"tn", 4}, {"fn", 1}}},
                          {"precision", estimate}, {"recall", estimate}, {"f1", estimate}, {"fpr", none}};
  return {
      {"format", "echoes-efficacy-report"},
      {"version", 1},
      {"provenance",
       {{"commit", nullptr},
        {"part", "test"},
        {"bootstrap", {{"method", "percentile"}, {"seed", 1}, {"resamples", 1000}, {"confidence", 0.95}}},
        {"datasets", {{{"path", "x/data.jsonl"}, {"sha256", std::string(64, 'a')}, {"rows", 10}}}},
        {"rule_packs", nlohmann::json::array()}}},
      {"detectors",
       {{{"detector", "secrets"}, {"status", "evaluated"}, {"message", ""}, {"rows", "all rows"}, {"errors", 0},
         {"model", nullptr}, {"baseline", nullptr}, {"slices", {slice}},
         {"targets",
          {{{"metric", "recall"}, {"slice", "overall"}, {"comparison", ">="}, {"bound", 0.99},
            {"estimate", estimate}, {"baseline_value", nullptr}, {"met", false},
            {"text", "recall >= 0.99 on overall"}}}},
         {"notes", nlohmann::json::array()}}}},
      {"summary", {{"targets", 1}, {"met", 0}, {"all_met", false}}},
  };
}

TEST(EfficacyReportSchema, AcceptsAWellFormedReport) {
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  const std::vector<std::string> problems = schemas.violations("efficacy_report", valid_report().dump());
  EXPECT_TRUE(problems.empty()) << harness::ContractSchemas::joined(problems);
}

TEST(EfficacyReportSchema, RefusesBrokenReports) {
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  std::vector<std::pair<std::string, nlohmann::json>> cases;
  auto broken = [&](std::string what, auto change) {
    nlohmann::json doc = valid_report();
    change(doc);
    cases.emplace_back(std::move(what), std::move(doc));
  };
  broken("format", [](auto& d) { d["format"] = "echoes-report"; });
  broken("no summary", [](auto& d) { d.erase("summary"); });
  broken("metric above 1", [](auto& d) { d["detectors"][0]["slices"][0]["recall"]["value"] = 1.5; });
  broken("negative count", [](auto& d) { d["detectors"][0]["slices"][0]["matrix"]["tp"] = -1; });
  broken("unknown detector", [](auto& d) { d["detectors"][0]["detector"] = "spam"; });
  broken("bad sha", [](auto& d) { d["provenance"]["datasets"][0]["sha256"] = "xyz"; });
  broken("bootstrap method", [](auto& d) { d["provenance"]["bootstrap"]["method"] = "bca"; });
  broken("target without met", [](auto& d) { d["detectors"][0]["targets"][0].erase("met"); });
  for (const auto& [what, doc] : cases) {
    EXPECT_FALSE(schemas.violations("efficacy_report", doc.dump()).empty()) << what;
  }
}

}  // namespace
}  // namespace echoes

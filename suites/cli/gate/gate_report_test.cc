// The gate's reports: the printed table, summary.json against its schema, summary.md, and the
// steal figure from /proc/stat.
#include "harness/gate/gate_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

#include "harness/contract_schemas.h"

namespace echoes::gate {
namespace {

Judgement sample_judgement(bool strict) {
  std::vector<GateSpec> gates = {
      {"tests.failed", "no failed test", GateKind::kBinding, "junit", "failed_tests", GateOp::kAtMost, 0},
      {"coverage.core.branch", "branches", GateKind::kBinding, "coverage", "component.core.branch_percent",
       GateOp::kAtLeast, 70},
      {"bench.regressions", "bench", GateKind::kAdvisory, "bench", "significant_regressions", GateOp::kAtMost, 0}};
  Collected c;
  c.tests = std::vector<SuiteCounts>{{"unit", 10, 0, 0, 1, 2.5}};
  CoverageSummary cov;
  cov.overall = {"overall", 100, 95, 100, 68};
  cov.components = {{"core", 100, 95, 100, 68}, {"mock_server", 0, 0, 0, 0}, {"harness", 0, 0, 0, 0}};
  c.coverage = cov;
  return judge(gates, c, strict);
}

Provenance sample_provenance() {
  Provenance p;
  p.commit = std::string(40, 'a');
  p.dirty = false;
  p.compiler = "g++ 12";
  p.build_type = "Debug";
  p.generated_at = "2026-12-03T18:00:00Z";
  p.cores = 2;
  p.load_avg_1m = 1.5;
  p.steal_percent = 0.25;
  p.inputs = {{"gates", "fixtures/gates.json", std::string(64, 'b')}};
  p.seeds = {{"efficacy_bootstrap", 7}};
  return p;
}

TEST(GateTable, OneRowPerGateWithThresholdMeasuredVerdictAndSource) {
  const std::string table = gate_table(sample_judgement(false));
  EXPECT_EQ(table.rfind("gate ", 0), 0u) << table;
  for (const char* column : {"kind", "threshold", "measured", "verdict", "source"}) {
    EXPECT_NE(table.find(column), std::string::npos) << column;
  }
  const std::size_t row = table.find("coverage.core.branch");
  ASSERT_NE(row, std::string::npos);
  const std::string line = table.substr(row, table.find('\n', row) - row);
  EXPECT_NE(line.find(">= 70"), std::string::npos) << line;
  EXPECT_NE(line.find("68"), std::string::npos) << line;
  EXPECT_NE(line.find("fail"), std::string::npos) << line;
  EXPECT_NE(line.find("coverage"), std::string::npos) << line;
  EXPECT_NE(table.find("missing (advisory)"), std::string::npos) << table;
  EXPECT_NE(table.find("coverage.core.branch (fail): 68 of 100 branches in core"), std::string::npos) << table;
  EXPECT_NE(table.find("FAIL: 3 gates, 1 binding not passed, 1 advisory not passed"), std::string::npos) << table;
}

TEST(GateSummary, JsonConformsToItsSchemaAndCarriesTheVerdicts) {
  const std::string json = summary_json(sample_judgement(true), Collected{}, sample_provenance());
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  const auto violations = schemas.violations("gate_summary", json);
  EXPECT_TRUE(violations.empty()) << harness::ContractSchemas::joined(violations);
  const nlohmann::json doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc["verdict"], "fail");
  EXPECT_EQ(doc["strict"], true);
  EXPECT_EQ(doc["gates"][1]["measured"], 68.0);
  EXPECT_EQ(doc["gates"][1]["verdict"], "fail");
  EXPECT_TRUE(doc["gates"][2]["measured"].is_null());
  EXPECT_EQ(doc["gates"][2]["verdict"], "missing");
  EXPECT_EQ(doc["provenance"]["machine"]["steal_percent"], 0.25);
  EXPECT_EQ(doc["provenance"]["seeds"]["efficacy_bootstrap"], 7);
  EXPECT_TRUE(doc["coverage"].is_null());
}

TEST(GateSummary, CommittedGatesFileConformsToItsSchema) {
  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  std::ifstream file(ECHOES_FIXTURES_DIR "/gates.json");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto violations = schemas.violations("gates", text);
  EXPECT_TRUE(violations.empty()) << harness::ContractSchemas::joined(violations);
  EXPECT_FALSE(schemas.violations("gates", R"({"format": "echoes-gates", "version": 1, "gates": [{"id": "x"}]})").empty());
}

TEST(GateSummary, MarkdownHasTheTableAndProvenance) {
  const std::string md = summary_markdown(sample_judgement(false), Collected{}, sample_provenance());
  EXPECT_NE(md.find("| `coverage.core.branch` | binding | >= 70 | 68 | **fail** | coverage |"), std::string::npos) << md;
  EXPECT_NE(md.find("commit `" + std::string(40, 'a') + "`"), std::string::npos) << md;
}

TEST(MachineProvenance, StealIsTheShareOfStolenJiffies) {
  Result<CpuTimes> a = parse_proc_stat("cpu  100 0 100 700 0 0 0 100 0 0\ncpu0 1 2 3\n");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->total, 1000u);
  EXPECT_EQ(a->steal, 100u);
  Result<CpuTimes> b = parse_proc_stat("cpu  150 0 150 1600 0 0 0 100 0 0\n");
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(*steal_percent(*a, *b), 0.0);
  EXPECT_DOUBLE_EQ(*steal_percent(CpuTimes{}, *a), 10.0);
  EXPECT_FALSE(steal_percent(*a, *a));
  EXPECT_FALSE(parse_proc_stat("intr 1 2 3\n"));
  EXPECT_FALSE(parse_proc_stat("cpu 1 2\n"));
  EXPECT_TRUE(read_cpu_times());
}

TEST(FormatMeasured, IntegersPlainFractionsToFourPlaces) {
  EXPECT_EQ(format_measured(0), "0");
  EXPECT_EQ(format_measured(90), "90");
  EXPECT_EQ(format_measured(68.126), "68.126");
  EXPECT_EQ(format_measured(0.99951), "0.9995");
}

}  // namespace
}  // namespace echoes::gate

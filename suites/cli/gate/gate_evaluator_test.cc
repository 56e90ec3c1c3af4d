// The gate evaluator: a missing metric fails, advisory gates do not bind unless strict, and the
// committed gates file's efficacy gates are issue 10's targets.
#include "harness/gate/gate_evaluator.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "harness/efficacy_eval.h"

namespace echoes::gate {
namespace {

GateSpec gate(std::string id, GateKind kind, std::string source, std::string metric, GateOp op, double value) {
  return GateSpec{std::move(id), "d", kind, std::move(source), std::move(metric), op, value};
}

Collected two_suites(std::uint64_t failures) {
  Collected c;
  c.tests = std::vector<SuiteCounts>{{"unit", 10, failures, 0, 0, 1.0}, {"cli", 5, 0, 0, 0, 1.0}};
  return c;
}

const GateSpec kNoFailure = gate("tests.failed", GateKind::kBinding, "junit", "failed_tests", GateOp::kAtMost, 0);

TEST(GateEvaluator, PassingBindingGatePasses) {
  const Judgement j = judge({kNoFailure}, two_suites(0), false);
  ASSERT_EQ(j.gates.size(), 1u);
  EXPECT_EQ(j.gates[0].verdict, Verdict::kPass);
  EXPECT_EQ(*j.gates[0].measured, 0);
  EXPECT_TRUE(j.passed());
  EXPECT_EQ(judgement_exit_code(j), 0);
}

TEST(GateEvaluator, FailingBindingGateFails) {
  const Judgement j = judge({kNoFailure}, two_suites(2), false);
  EXPECT_EQ(j.gates[0].verdict, Verdict::kFail);
  EXPECT_EQ(*j.gates[0].measured, 2);
  EXPECT_FALSE(j.passed());
  EXPECT_EQ(judgement_exit_code(j), 1);
}

TEST(GateEvaluator, MissingMetricFailsAndSaysWhatIsMissing) {
  const GateSpec coverage =
      gate("coverage.core.line", GateKind::kBinding, "coverage", "component.core.line_percent", GateOp::kAtLeast, 90);
  const Judgement j = judge({kNoFailure, coverage}, two_suites(0), false);
  EXPECT_EQ(j.gates[1].verdict, Verdict::kMissing);
  EXPECT_FALSE(j.gates[1].measured);
  EXPECT_NE(j.gates[1].detail.find("coverage/summary.json not collected"), std::string::npos);
  EXPECT_FALSE(j.passed());
  // A test run with no test case is no sample either.
  Collected empty;
  empty.tests = std::vector<SuiteCounts>{{"unit", 0, 0, 0, 0, 0}};
  EXPECT_EQ(judge({kNoFailure}, empty, false).gates[0].verdict, Verdict::kMissing);
}

TEST(GateEvaluator, AdvisoryGateShowsItsVerdictButBindsOnlyWhenStrict) {
  const GateSpec bench =
      gate("bench.regressions", GateKind::kAdvisory, "bench", "significant_regressions", GateOp::kAtMost, 0);
  Collected c = two_suites(0);
  c.bench = BenchComparison{{BenchRow{"p", "BM_X", 100, 150, 50, 0.001, "fail"}}, {}};
  const Judgement lenient = judge({kNoFailure, bench}, c, false);
  EXPECT_EQ(lenient.gates[1].verdict, Verdict::kFail);
  EXPECT_FALSE(lenient.gates[1].binding);
  EXPECT_TRUE(lenient.passed());
  const Judgement strict = judge({kNoFailure, bench}, c, true);
  EXPECT_TRUE(strict.gates[1].binding);
  EXPECT_FALSE(strict.passed());
  EXPECT_EQ(judgement_exit_code(strict), 1);
  // Missing advisory figures bind under --strict too.
  Collected no_bench = two_suites(0);
  EXPECT_TRUE(judge({bench}, no_bench, false).passed());
  EXPECT_FALSE(judge({bench}, no_bench, true).passed());
}

TEST(GateEvaluator, CommittedEfficacyGatesAreIssue10sTargets) {
  Result<GatesFile> file = load_gates_file(ECHOES_FIXTURES_DIR "/gates.json");
  ASSERT_TRUE(file) << file.error().to_string();
  std::size_t targets = 0;
  for (const harness::DetectorPlan& plan : harness::issue10_efficacy_plan()) {
    for (const harness::EfficacyTarget& t : plan.targets) {
      ++targets;
      const bool above = t.kind == harness::EfficacyTarget::Kind::kAboveBaseline;
      const std::string metric = plan.detector + "." + t.slice + "." + std::string(harness::to_string(t.metric)) +
                                 (above ? "_over_baseline" : "");
      const auto g = std::find_if(file->gates.begin(), file->gates.end(),
                                  [&](const GateSpec& s) { return s.source == "efficacy" && s.metric == metric; });
      ASSERT_NE(g, file->gates.end()) << "no gate for " << metric;
      EXPECT_EQ(g->kind, GateKind::kBinding) << metric;
      const GateOp op = above ? GateOp::kGreater
                        : t.kind == harness::EfficacyTarget::Kind::kAtLeast ? GateOp::kAtLeast : GateOp::kAtMost;
      EXPECT_EQ(g->op, op) << metric;
      EXPECT_DOUBLE_EQ(g->value, above ? 0 : t.bound) << metric;
    }
  }
  EXPECT_EQ(targets, 16u);
}

}  // namespace
}  // namespace echoes::gate

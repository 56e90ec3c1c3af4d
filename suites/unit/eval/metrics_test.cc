#include "core/eval/metrics.h"

#include <cmath>

#include <gtest/gtest.h>

namespace echoes::eval {
namespace {

TEST(MetricsTest, ConfusionMatrixCountsEachCell) {
  ConfusionMatrix m;
  m.add(true, true);
  m.add(true, false);
  m.add(true, false);
  m.add(false, true);
  m.add(false, false);
  m.add(false, false);
  m.add(false, false);
  EXPECT_EQ(m, (ConfusionMatrix{.tp = 1, .fp = 1, .tn = 3, .fn = 2}));
  EXPECT_EQ(m.positives(), 3u);
  EXPECT_EQ(m.negatives(), 4u);
  EXPECT_EQ(m.total(), 7u);
  m += ConfusionMatrix{.tp = 1, .fp = 2, .tn = 3, .fn = 4};
  EXPECT_EQ(m, (ConfusionMatrix{.tp = 2, .fp = 3, .tn = 6, .fn = 6}));
}

TEST(MetricsTest, PointEstimatesMatchHandComputedValues) {
  // tp 8, fp 2, tn 85, fn 5: precision 8/10, recall 8/13, F1 16/23, FPR 2/87.
  const ConfusionMatrix m{.tp = 8, .fp = 2, .tn = 85, .fn = 5};
  EXPECT_DOUBLE_EQ(*precision(m), 0.8);
  EXPECT_DOUBLE_EQ(*recall(m), 8.0 / 13.0);
  EXPECT_DOUBLE_EQ(*f1(m), 16.0 / 23.0);
  EXPECT_DOUBLE_EQ(*false_positive_rate(m), 2.0 / 87.0);
}

TEST(MetricsTest, UndefinedMetricsAreAbsentNotZero) {
  const ConfusionMatrix only_negatives{.tp = 0, .fp = 0, .tn = 5, .fn = 0};
  EXPECT_FALSE(precision(only_negatives));
  EXPECT_FALSE(recall(only_negatives));
  EXPECT_FALSE(f1(only_negatives));
  EXPECT_DOUBLE_EQ(*false_positive_rate(only_negatives), 0.0);
  const MetricReport r = evaluate(only_negatives, BootstrapSpec{.seed = 1, .resamples = 50});
  EXPECT_FALSE(r.recall.value);
  EXPECT_FALSE(r.recall.interval);
  ASSERT_TRUE(r.false_positive_rate.interval);
  EXPECT_DOUBLE_EQ(r.false_positive_rate.interval->low, 0.0);
  EXPECT_DOUBLE_EQ(r.false_positive_rate.interval->high, 0.0);
}

TEST(MetricsTest, BootstrapIntervalOfABalancedRecallIsNearTheNormalApproximation) {
  // recall 200/400 = 0.5; the binomial standard error is 0.025, so the 95% interval is about
  // 0.5 +- 0.049. 2000 resamples put each percentile within about 0.01 of that.
  const ConfusionMatrix m{.tp = 200, .fp = 0, .tn = 0, .fn = 200};
  const MetricReport r = evaluate(m, BootstrapSpec{.seed = 7, .resamples = 2000});
  ASSERT_TRUE(r.recall.interval);
  EXPECT_NEAR(r.recall.interval->low, 0.451, 0.01);
  EXPECT_NEAR(r.recall.interval->high, 0.549, 0.01);
}

TEST(MetricsTest, PerfectPrecisionHasADegenerateInterval) {
  const MetricReport r = evaluate(ConfusionMatrix{.tp = 30, .fp = 0, .tn = 10, .fn = 3},
                                  BootstrapSpec{.seed = 3, .resamples = 200});
  ASSERT_TRUE(r.precision.interval);
  EXPECT_DOUBLE_EQ(r.precision.interval->low, 1.0);
  EXPECT_DOUBLE_EQ(r.precision.interval->high, 1.0);
}

TEST(MetricsTest, BootstrapIsDeterministicForASeedAndDependsOnIt) {
  const ConfusionMatrix m{.tp = 40, .fp = 7, .tn = 120, .fn = 11};
  const MetricReport a = evaluate(m, BootstrapSpec{.seed = 11, .resamples = 300});
  const MetricReport b = evaluate(m, BootstrapSpec{.seed = 11, .resamples = 300});
  const MetricReport c = evaluate(m, BootstrapSpec{.seed = 12, .resamples = 300});
  EXPECT_EQ(a.f1.interval->low, b.f1.interval->low);
  EXPECT_EQ(a.f1.interval->high, b.f1.interval->high);
  EXPECT_EQ(a.false_positive_rate.interval->high, b.false_positive_rate.interval->high);
  EXPECT_TRUE(a.f1.interval->low != c.f1.interval->low || a.f1.interval->high != c.f1.interval->high);
}

}  // namespace
}  // namespace echoes::eval

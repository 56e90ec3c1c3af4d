// Properties of core/eval/metrics: bootstrap intervals contain the point estimate on
// non-degenerate data; metrics do not depend on the examples' order; swapping labels and
// predictions swaps precision and recall.
#include "core/eval/metrics.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace echoes::eval {
namespace {

using Example = std::pair<bool, bool>;  // (label, prediction)

ConfusionMatrix matrix_of(const std::vector<Example>& examples) {
  ConfusionMatrix m;
  for (const auto& [label, predicted] : examples) m.add(label, predicted);
  return m;
}

void expect_contains(const MetricEstimate& e) {
  RC_ASSERT(e.value.has_value());
  RC_ASSERT(e.interval.has_value());
  RC_ASSERT(e.interval->low <= *e.value);
  RC_ASSERT(*e.value <= e.interval->high);
}

// Non-degenerate: every cell holds at least 10 examples, so every metric is defined and the
// resampling distribution is not lopsided at the edge of [0, 1].
RC_GTEST_PROP(MetricsProperty, IntervalsContainThePointEstimate, ()) {
  const auto cell = [] { return *rc::gen::inRange<std::uint64_t>(10, 300); };
  const ConfusionMatrix m{.tp = cell(), .fp = cell(), .tn = cell(), .fn = cell()};
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  const MetricReport r = evaluate(m, BootstrapSpec{.seed = seed, .resamples = 200});
  expect_contains(r.precision);
  expect_contains(r.recall);
  expect_contains(r.f1);
  expect_contains(r.false_positive_rate);
}

RC_GTEST_PROP(MetricsProperty, MetricsAndIntervalsIgnoreExampleOrder, ()) {
  const auto examples = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<Example>>(rc::gen::pair(rc::gen::arbitrary<bool>(),
                                                             rc::gen::arbitrary<bool>())));
  std::vector<Example> shuffled = examples;
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  // A permutation drawn by RapidCheck: rotate, then reverse a prefix.
  const auto pivot = *rc::gen::inRange<std::size_t>(0, shuffled.size());
  std::rotate(shuffled.begin(), shuffled.begin() + static_cast<std::ptrdiff_t>(pivot), shuffled.end());
  std::reverse(shuffled.begin(), shuffled.begin() + static_cast<std::ptrdiff_t>(shuffled.size() / 2));
  const BootstrapSpec spec{.seed = seed, .resamples = 50};
  const MetricReport a = evaluate(matrix_of(examples), spec);
  const MetricReport b = evaluate(matrix_of(shuffled), spec);
  RC_ASSERT(a.matrix == b.matrix);
  RC_ASSERT(a.f1.value == b.f1.value);
  RC_ASSERT(a.precision.value == b.precision.value);
  RC_ASSERT(a.recall.value == b.recall.value);
  RC_ASSERT(a.false_positive_rate.value == b.false_positive_rate.value);
  RC_ASSERT(a.f1.interval.has_value() == b.f1.interval.has_value());
  if (a.f1.interval) {
    RC_ASSERT(a.f1.interval->low == b.f1.interval->low);
    RC_ASSERT(a.f1.interval->high == b.f1.interval->high);
  }
}

RC_GTEST_PROP(MetricsProperty, SwappingLabelsAndPredictionsSwapsPrecisionAndRecall, ()) {
  const auto examples = *rc::gen::container<std::vector<Example>>(
      rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::arbitrary<bool>()));
  std::vector<Example> swapped;
  for (const auto& [label, predicted] : examples) swapped.emplace_back(predicted, label);
  const ConfusionMatrix m = matrix_of(examples);
  const ConfusionMatrix s = matrix_of(swapped);
  RC_ASSERT(precision(m) == recall(s));
  RC_ASSERT(recall(m) == precision(s));
  RC_ASSERT(f1(m) == f1(s));
}

}  // namespace
}  // namespace echoes::eval

#include "core/eval/metrics.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <vector>

#include "core/eval/splitmix64.h"

namespace echoes::eval {

void ConfusionMatrix::add(bool actual_positive, bool predicted_positive) {
  if (actual_positive) {
    ++(predicted_positive ? tp : fn);
  } else {
    ++(predicted_positive ? fp : tn);
  }
}

ConfusionMatrix& ConfusionMatrix::operator+=(const ConfusionMatrix& other) {
  tp += other.tp;
  fp += other.fp;
  tn += other.tn;
  fn += other.fn;
  return *this;
}

namespace {

std::optional<double> ratio(std::uint64_t numerator, std::uint64_t denominator) {
  if (denominator == 0) return std::nullopt;
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

// Percentile with linear interpolation between order statistics (type 7); `sorted` non-empty.
double percentile(const std::vector<double>& sorted, double p) {
  const double position = p * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double weight = position - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * weight;
}

std::optional<Interval> interval_of(std::vector<double>& values, double confidence) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double tail = (1.0 - confidence) / 2.0;
  return Interval{percentile(values, tail), percentile(values, 1.0 - tail)};
}

}  // namespace

std::optional<double> precision(const ConfusionMatrix& m) { return ratio(m.tp, m.tp + m.fp); }
std::optional<double> recall(const ConfusionMatrix& m) { return ratio(m.tp, m.tp + m.fn); }
std::optional<double> f1(const ConfusionMatrix& m) { return ratio(2 * m.tp, 2 * m.tp + m.fp + m.fn); }
std::optional<double> false_positive_rate(const ConfusionMatrix& m) { return ratio(m.fp, m.fp + m.tn); }

MetricReport evaluate(const ConfusionMatrix& matrix, const BootstrapSpec& spec) {
  assert(spec.resamples >= 1 && spec.confidence > 0 && spec.confidence < 1);
  MetricReport report;
  report.matrix = matrix;
  report.precision.value = precision(matrix);
  report.recall.value = recall(matrix);
  report.f1.value = f1(matrix);
  report.false_positive_rate.value = false_positive_rate(matrix);
  const std::uint64_t n = matrix.total();
  if (n == 0) return report;

  // Drawing an example uniformly is drawing a cell with probability count / n: index i < tp is a
  // true positive, then the false positives, false negatives and true negatives in turn.
  const std::array<std::uint64_t, 3> bounds = {matrix.tp, matrix.tp + matrix.fp,
                                               matrix.tp + matrix.fp + matrix.fn};
  SplitMix64 rng(spec.seed);
  std::vector<double> precisions, recalls, f1s, fprs;
  const auto count = static_cast<std::size_t>(spec.resamples);
  precisions.reserve(count);
  recalls.reserve(count);
  f1s.reserve(count);
  fprs.reserve(count);
  for (int r = 0; r < spec.resamples; ++r) {
    ConfusionMatrix resample;
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t index = rng.below(n);
      if (index < bounds[0]) {
        ++resample.tp;
      } else if (index < bounds[1]) {
        ++resample.fp;
      } else if (index < bounds[2]) {
        ++resample.fn;
      } else {
        ++resample.tn;
      }
    }
    if (auto v = precision(resample)) precisions.push_back(*v);
    if (auto v = recall(resample)) recalls.push_back(*v);
    if (auto v = f1(resample)) f1s.push_back(*v);
    if (auto v = false_positive_rate(resample)) fprs.push_back(*v);
  }
  report.precision.interval = interval_of(precisions, spec.confidence);
  report.recall.interval = interval_of(recalls, spec.confidence);
  report.f1.interval = interval_of(f1s, spec.confidence);
  report.false_positive_rate.interval = interval_of(fprs, spec.confidence);
  return report;
}

}  // namespace echoes::eval

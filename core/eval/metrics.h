// Binary classification metrics with percentile-bootstrap confidence intervals.
//
// A detector's verdicts against labels give a ConfusionMatrix; evaluate() turns it into precision,
// recall, F1 and false-positive rate, each with a bootstrap interval. The bootstrap resamples the
// n examples with replacement `resamples` times from a generator seeded with `seed` (splitmix64,
// fixed here so intervals are the same on every platform), and takes the percentiles
// (1 - confidence) / 2 and (1 + confidence) / 2 of each metric over the resamples where it is
// defined (linear interpolation between order statistics). It resamples the confusion matrix's
// cells, so the result depends only on the four counts: never on the examples' order.
//
//   ConfusionMatrix m;
//   for (const auto& row : rows) m.add(row.label == 1, detector_flagged(row));
//   MetricReport r = evaluate(m, BootstrapSpec{.seed = 20250101, .resamples = 1000});
//   if (r.recall.value) std::printf("%.3f [%.3f, %.3f]", *r.recall.value, r.recall.interval->low, ...);
#pragma once

#include <cstdint>
#include <optional>

namespace echoes::eval {

struct ConfusionMatrix {
  std::uint64_t tp = 0;  // label 1, predicted 1
  std::uint64_t fp = 0;  // label 0, predicted 1
  std::uint64_t tn = 0;  // label 0, predicted 0
  std::uint64_t fn = 0;  // label 1, predicted 0

  void add(bool actual_positive, bool predicted_positive);
  ConfusionMatrix& operator+=(const ConfusionMatrix& other);
  std::uint64_t positives() const { return tp + fn; }
  std::uint64_t negatives() const { return fp + tn; }
  std::uint64_t total() const { return tp + fp + tn + fn; }
  friend bool operator==(const ConfusionMatrix&, const ConfusionMatrix&) = default;
};

// Point estimates; nullopt where the denominator is zero (precision with nothing predicted
// positive, recall without positives, FPR without negatives, F1 when tp + fp + fn is zero).
std::optional<double> precision(const ConfusionMatrix& m);  // tp / (tp + fp)
std::optional<double> recall(const ConfusionMatrix& m);     // tp / (tp + fn)
std::optional<double> f1(const ConfusionMatrix& m);         // 2tp / (2tp + fp + fn)
std::optional<double> false_positive_rate(const ConfusionMatrix& m);  // fp / (fp + tn)

struct BootstrapSpec {
  std::uint64_t seed = 20250101;
  int resamples = 1000;     // >= 1
  double confidence = 0.95; // in (0, 1)
};

struct Interval {
  double low = 0;
  double high = 0;
};

struct MetricEstimate {
  std::optional<double> value;      // the point estimate on the data
  std::optional<Interval> interval; // nullopt when the metric is undefined in every resample
};

struct MetricReport {
  ConfusionMatrix matrix;
  MetricEstimate precision;
  MetricEstimate recall;
  MetricEstimate f1;
  MetricEstimate false_positive_rate;
};

// Deterministic: the same matrix and spec give the same report.
MetricReport evaluate(const ConfusionMatrix& matrix, const BootstrapSpec& spec);

}  // namespace echoes::eval

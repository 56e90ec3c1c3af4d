#include "core/monitor/anomaly_detector.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace echoes::monitor {

EwmaDetector::EwmaDetector(EwmaOptions options) : options_(options) {
  assert(options_.alpha > 0 && options_.alpha <= 1 && "alpha in (0, 1]");
}

double EwmaDetector::stddev() const { return std::max(std::sqrt(variance_), options_.min_stddev); }

double EwmaDetector::update(double x) {
  if (!std::isfinite(x)) return 0;
  double score = 0;
  if (samples_ >= options_.warmup && samples_ > 0) score = (x - mean_) / stddev();
  if (std::abs(score) > options_.outlier_z) return score;
  if (samples_ == 0) {
    mean_ = x;
  } else {
    // West (1979): the weighted variance updated with the deviation from the OLD mean.
    const double diff = x - mean_;
    const double increment = options_.alpha * diff;
    mean_ += increment;
    variance_ = (1 - options_.alpha) * (variance_ + diff * increment);
  }
  ++samples_;
  return score;
}

RollingZScore::RollingZScore(RollingOptions options)
    : options_(options), ring_(std::max<std::size_t>(options.window, 2)) {}

double RollingZScore::mean() const {
  if (filled_ == 0) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < filled_; ++i) sum += ring_[i];
  return sum / static_cast<double>(filled_);
}

double RollingZScore::stddev() const {
  if (filled_ == 0) return options_.min_stddev;
  const double m = mean();
  double squares = 0;
  for (std::size_t i = 0; i < filled_; ++i) squares += (ring_[i] - m) * (ring_[i] - m);
  return std::max(std::sqrt(squares / static_cast<double>(filled_)), options_.min_stddev);
}

double RollingZScore::update(double x) {
  if (!std::isfinite(x)) return 0;
  // Recomputed from the window each time: exact (no drift from running sums), O(window), and a
  // window is tens to hundreds of samples fed once per evaluation interval.
  const double score =
      filled_ >= std::max<std::size_t>(options_.min_samples, 1) ? (x - mean()) / stddev() : 0;
  if (std::abs(score) > options_.outlier_z) return score;
  ring_[next_] = x;
  next_ = (next_ + 1) % ring_.size();
  filled_ = std::min(filled_ + 1, ring_.size());
  return score;
}

}  // namespace echoes::monitor

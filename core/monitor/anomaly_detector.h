// Anomaly detectors over one series of numbers (bias scores, block rates, error rates, latency):
// each update returns how unusual the new value is as a z-score against what came BEFORE it, so a
// sudden jump scores high on the sample that jumps.
//
//   monitor::EwmaDetector ewma({.alpha = 0.2, .warmup = 10});
//   for (double rate : block_rates) {
//     const double z = ewma.update(rate);   // 0 until `warmup` samples were seen
//     if (std::abs(z) > 4) alert();
//   }
//   monitor::RollingZScore window({.window = 60, .min_samples = 20});
//   double z2 = window.update(latency_ms);
//
// EwmaDetector: an exponentially weighted mean and variance (West's incremental form); cheap, no
// history, adapts to drift at a rate set by alpha. RollingZScore: the mean and standard deviation of
// the last `window` samples exactly (a ring buffer); forgets an old regime completely after
// `window` samples. Neither is thread-safe: one detector per series, fed by one thread (or behind
// the caller's lock, as AlertManager does).
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace echoes::monitor {

struct EwmaOptions {
  double alpha = 0.1;        // weight of the newest sample, in (0, 1]
  std::size_t warmup = 10;   // samples seen before any score other than 0 is returned
  // The standard deviation used is at least this, so a perfectly flat series does not make a tiny
  // wobble infinitely unusual.
  double min_stddev = 1e-9;
  // A sample scoring beyond this |z| (after warmup) is reported but NOT folded into the baseline,
  // so a sustained shift keeps scoring high (an alert with a `for` duration can fire on it) instead
  // of being absorbed within a few samples. Infinity (the default): every sample is folded in.
  double outlier_z = std::numeric_limits<double>::infinity();
};

class EwmaDetector {
 public:
  explicit EwmaDetector(EwmaOptions options = {});
  // Scores `x` against the mean and variance so far, then folds it in (unless it is an outlier,
  // see EwmaOptions::outlier_z). Non-finite values are ignored (score 0, state unchanged).
  double update(double x);
  double mean() const { return mean_; }
  double stddev() const;
  std::size_t samples() const { return samples_; }

 private:
  EwmaOptions options_;
  double mean_ = 0;
  double variance_ = 0;
  std::size_t samples_ = 0;
};

struct RollingOptions {
  std::size_t window = 60;       // samples kept (>= 2)
  std::size_t min_samples = 10;  // samples in the window before any score other than 0
  double min_stddev = 1e-9;      // as EwmaOptions::min_stddev
  double outlier_z = std::numeric_limits<double>::infinity();  // as EwmaOptions::outlier_z
};

class RollingZScore {
 public:
  explicit RollingZScore(RollingOptions options = {});
  // Scores `x` against the window's mean and standard deviation (population), then adds it
  // (unless it is an outlier, see RollingOptions::outlier_z), dropping the oldest sample when the
  // window is full. Non-finite values are ignored (score 0).
  double update(double x);
  double mean() const;
  double stddev() const;
  std::size_t samples() const { return filled_; }

 private:
  RollingOptions options_;
  std::vector<double> ring_;
  std::size_t next_ = 0;
  std::size_t filled_ = 0;
};

}  // namespace echoes::monitor

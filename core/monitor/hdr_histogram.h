// HdrHistogram: a High Dynamic Range histogram of non-negative integer values (latencies in
// microseconds, say) with a fixed relative precision, laid out exactly as Gil Tene's HdrHistogram
// (Java, C, Go) lays out its counts, so its interval logs (histogram_log.h) are read by their tools
// and theirs by ours.
//
//   HdrHistogram latency(1, 3'600'000'000, 3);   // 1 us .. 1 h, 3 significant digits
//   latency.record(1234);
//   latency.value_at_percentile(99.0);            // within 0.1% of the true 99th percentile value
//   std::string text = latency.percentile_distribution(1000.0);   // the .hgrm text, in ms
//
// Buckets are log-linear: values below 2 * 10^digits (rounded up to a power of two, the
// "sub-bucket count") each have their own count; above it, every power-of-two range is split into
// sub-bucket-count / 2 equal parts. A value is therefore known to within 1 / (sub-bucket count / 2)
// of itself: for 3 digits 1/1024, below the 0.1% promised.
//
// Values above `highest` are recorded as `highest` and counted in clamped_count(); negative values
// are a programming error. Not thread-safe: give each thread its own and add() them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace echoes::monitor {

class HdrHistogram {
 public:
  // lowest >= 1 (the smallest value discernible from 0), highest >= 2 * lowest, digits in [0, 5].
  // Asserts on anything else (use create() for values read from outside).
  HdrHistogram(std::int64_t lowest, std::int64_t highest, int significant_digits);
  static Result<HdrHistogram> create(std::int64_t lowest, std::int64_t highest,
                                     int significant_digits);

  // Records `count` occurrences of `value` (>= 0). Values above highest() are recorded as highest().
  void record(std::int64_t value, std::int64_t count = 1);
  // Adds every count of `other`: the histogram of the union of both samples. Values `other` holds
  // above this histogram's highest are clamped (and counted); values are moved to this layout when
  // the two differ (to each value's equivalent in `other`, a within-precision move).
  void add(const HdrHistogram& other);
  void reset();

  std::int64_t total_count() const { return total_count_; }
  // Smallest and largest recorded value at this precision (lowest / highest equivalent); 0 if empty.
  std::int64_t min() const;
  std::int64_t max() const;
  double mean() const;    // of the recorded values' median equivalents; 0 if empty
  double stddev() const;  // idem
  // The value at or below which `percentile` (0..100) percent of the recorded values lie, given as
  // the highest value equivalent to it (HdrHistogram's getValueAtPercentile); 0 if empty.
  std::int64_t value_at_percentile(double percentile) const;
  std::int64_t clamped_count() const { return clamped_count_; }

  // HdrHistogram's outputPercentileDistribution text (the .hgrm format), with values divided by
  // `value_scale` (1000.0: microseconds shown as milliseconds) and 5 ticks per half distance.
  std::string percentile_distribution(double value_scale, int ticks_per_half_distance = 5) const;

  // One row per percentile step of percentile_distribution (the same iteration).
  struct PercentileRow {
    std::int64_t value;  // highest equivalent value reached
    double percentile;   // 0..100
    std::int64_t total_count;
  };
  std::vector<PercentileRow> percentile_rows(int ticks_per_half_distance = 5) const;

  // The layout, as the encoding needs it.
  std::int64_t lowest() const { return lowest_; }
  std::int64_t highest() const { return highest_; }
  int significant_digits() const { return digits_; }
  std::size_t counts_length() const { return counts_.size(); }
  std::int64_t count_at_index(std::size_t index) const { return counts_[index]; }
  // The index holding `value` (value <= highest()).
  std::size_t index_of(std::int64_t value) const;
  // The smallest value the counts at `index` stand for.
  std::int64_t value_from_index(std::size_t index) const;
  // Sets the count at an index directly (decoding); keeps total, min and max up to date.
  void set_count_at_index(std::size_t index, std::int64_t count);
  int bucket_count() const { return bucket_count_; }
  int sub_bucket_count() const { return sub_bucket_count_; }

  std::int64_t lowest_equivalent(std::int64_t value) const;
  std::int64_t highest_equivalent(std::int64_t value) const;
  std::int64_t median_equivalent(std::int64_t value) const;
  std::int64_t equivalent_range(std::int64_t value) const;  // values sharing one count

  // Same layout and the same count at every index (min, max and total then agree too).
  friend bool operator==(const HdrHistogram& a, const HdrHistogram& b);

 private:
  int bucket_index(std::int64_t value) const;
  int sub_bucket_index(std::int64_t value, int bucket) const;
  void note_value(std::int64_t value);

  std::int64_t lowest_;
  std::int64_t highest_;
  int digits_;
  int unit_magnitude_;
  int sub_bucket_half_count_magnitude_;
  int sub_bucket_count_;
  int sub_bucket_half_count_;
  std::int64_t sub_bucket_mask_;
  int leading_zero_count_base_;
  int bucket_count_;
  std::vector<std::int64_t> counts_;
  std::int64_t total_count_ = 0;
  std::int64_t clamped_count_ = 0;
  std::int64_t min_value_ = INT64_MAX;  // raw recorded extremes
  std::int64_t max_value_ = 0;
};

}  // namespace echoes::monitor

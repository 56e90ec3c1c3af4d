#include "core/monitor/hdr_histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>
#include <cstdio>

namespace echoes::monitor {
namespace {

int leading_zeros(std::int64_t value) {
  return std::countl_zero(static_cast<std::uint64_t>(value));
}

// Appends printf-formatted text (the .hgrm layout is defined by Java's format strings).
template <typename... Args>
void append_format(std::string& out, const char* format, Args... args) {
  char buffer[256];
  const int n = std::snprintf(buffer, sizeof buffer, format, args...);
  if (n > 0) out.append(buffer, static_cast<std::size_t>(std::min(n, 255)));
}

}  // namespace

Result<HdrHistogram> HdrHistogram::create(std::int64_t lowest, std::int64_t highest,
                                          int significant_digits) {
  if (lowest < 1) {
    return Error{ErrorCode::kInvalidInput, "lowest discernible value must be at least 1", {}};
  }
  if (highest < 2 * lowest || highest > (INT64_MAX / 2)) {
    return Error{ErrorCode::kInvalidInput,
                 "highest trackable value must be at least twice the lowest and below 2^62", {}};
  }
  if (significant_digits < 0 || significant_digits > 5) {
    return Error{ErrorCode::kInvalidInput, "significant digits must be between 0 and 5", {}};
  }
  return HdrHistogram(lowest, highest, significant_digits);
}

HdrHistogram::HdrHistogram(std::int64_t lowest, std::int64_t highest, int significant_digits)
    : lowest_(lowest), highest_(highest), digits_(significant_digits) {
  assert(lowest >= 1 && highest >= 2 * lowest && significant_digits >= 0 && significant_digits <= 5);
  // The smallest power of two at least 2 * 10^digits: single-unit resolution up to there.
  const std::int64_t largest_single_unit = 2 * static_cast<std::int64_t>(std::pow(10, digits_));
  const int sub_bucket_count_magnitude =
      static_cast<int>(std::ceil(std::log2(static_cast<double>(largest_single_unit))));
  sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
  unit_magnitude_ = 63 - leading_zeros(lowest_);  // floor(log2(lowest))
  sub_bucket_count_ = 1 << (sub_bucket_half_count_magnitude_ + 1);
  sub_bucket_half_count_ = sub_bucket_count_ / 2;
  sub_bucket_mask_ = static_cast<std::int64_t>(sub_bucket_count_ - 1) << unit_magnitude_;
  leading_zero_count_base_ = 64 - unit_magnitude_ - sub_bucket_half_count_magnitude_ - 1;
  // Buckets needed to cover `highest`, each doubling the range of the one before.
  std::int64_t smallest_untrackable = static_cast<std::int64_t>(sub_bucket_count_) << unit_magnitude_;
  int buckets = 1;
  while (smallest_untrackable <= highest_) {
    if (smallest_untrackable > INT64_MAX / 2) {
      ++buckets;
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  bucket_count_ = buckets;
  counts_.assign(static_cast<std::size_t>(bucket_count_ + 1) *
                     static_cast<std::size_t>(sub_bucket_half_count_),
                 0);
}

int HdrHistogram::bucket_index(std::int64_t value) const {
  return leading_zero_count_base_ - leading_zeros(value | sub_bucket_mask_);
}

int HdrHistogram::sub_bucket_index(std::int64_t value, int bucket) const {
  return static_cast<int>(value >> (bucket + unit_magnitude_));
}

std::size_t HdrHistogram::index_of(std::int64_t value) const {
  const int bucket = bucket_index(value);
  const int sub_bucket = sub_bucket_index(value, bucket);
  const int base = (bucket + 1) << sub_bucket_half_count_magnitude_;
  return static_cast<std::size_t>(base + (sub_bucket - sub_bucket_half_count_));
}

std::int64_t HdrHistogram::value_from_index(std::size_t index) const {
  int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  int sub_bucket = static_cast<int>(index & static_cast<std::size_t>(sub_bucket_half_count_ - 1)) +
                   sub_bucket_half_count_;
  if (bucket < 0) {
    sub_bucket -= sub_bucket_half_count_;
    bucket = 0;
  }
  return static_cast<std::int64_t>(sub_bucket) << (bucket + unit_magnitude_);
}

std::int64_t HdrHistogram::equivalent_range(std::int64_t value) const {
  const int bucket = bucket_index(value);
  const int sub_bucket = sub_bucket_index(value, bucket);
  const int adjusted = sub_bucket >= sub_bucket_count_ ? bucket + 1 : bucket;
  return std::int64_t{1} << (unit_magnitude_ + adjusted);
}

std::int64_t HdrHistogram::lowest_equivalent(std::int64_t value) const {
  const int bucket = bucket_index(value);
  const int sub_bucket = sub_bucket_index(value, bucket);
  return static_cast<std::int64_t>(sub_bucket) << (bucket + unit_magnitude_);
}

std::int64_t HdrHistogram::highest_equivalent(std::int64_t value) const {
  return lowest_equivalent(value) + equivalent_range(value) - 1;
}

std::int64_t HdrHistogram::median_equivalent(std::int64_t value) const {
  return lowest_equivalent(value) + (equivalent_range(value) >> 1);
}

void HdrHistogram::note_value(std::int64_t value) {
  min_value_ = std::min(min_value_, value);
  max_value_ = std::max(max_value_, value);
}

void HdrHistogram::record(std::int64_t value, std::int64_t count) {
  assert(value >= 0 && count >= 0);
  if (count == 0) return;
  if (value > highest_) {
    value = highest_;
    clamped_count_ += count;
  }
  counts_[index_of(value)] += count;
  total_count_ += count;
  note_value(value);
}

void HdrHistogram::set_count_at_index(std::size_t index, std::int64_t count) {
  assert(index < counts_.size() && count >= 0);
  total_count_ += count - counts_[index];
  counts_[index] = count;
  if (count > 0) note_value(value_from_index(index));
}

void HdrHistogram::add(const HdrHistogram& other) {
  const bool same_layout = other.lowest_ == lowest_ && other.highest_ == highest_ &&
                           other.digits_ == digits_;
  for (std::size_t i = 0; i < other.counts_.size(); ++i) {
    const std::int64_t count = other.counts_[i];
    if (count == 0) continue;
    if (same_layout) {
      counts_[i] += count;
      total_count_ += count;
    } else {
      record(other.value_from_index(i), count);
    }
  }
  if (same_layout && other.total_count_ > 0) {
    note_value(other.min_value_);
    note_value(other.max_value_);
  }
  clamped_count_ += other.clamped_count_;
}

void HdrHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = 0;
  clamped_count_ = 0;
  min_value_ = INT64_MAX;
  max_value_ = 0;
}

std::int64_t HdrHistogram::min() const {
  return total_count_ == 0 ? 0 : lowest_equivalent(min_value_);
}

std::int64_t HdrHistogram::max() const {
  return total_count_ == 0 ? 0 : highest_equivalent(max_value_);
}

double HdrHistogram::mean() const {
  if (total_count_ == 0) return 0;
  double total = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    total += static_cast<double>(median_equivalent(value_from_index(i))) *
             static_cast<double>(counts_[i]);
  }
  return total / static_cast<double>(total_count_);
}

double HdrHistogram::stddev() const {
  if (total_count_ == 0) return 0;
  const double m = mean();
  double total = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const double deviation = static_cast<double>(median_equivalent(value_from_index(i))) - m;
    total += deviation * deviation * static_cast<double>(counts_[i]);
  }
  return std::sqrt(total / static_cast<double>(total_count_));
}

std::int64_t HdrHistogram::value_at_percentile(double percentile) const {
  if (total_count_ == 0) return 0;
  const double requested = std::clamp(percentile, 0.0, 100.0);
  std::int64_t count_at_percentile = static_cast<std::int64_t>(
      (requested / 100.0) * static_cast<double>(total_count_) + 0.5);
  count_at_percentile = std::max<std::int64_t>(count_at_percentile, 1);
  std::int64_t running = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    running += counts_[i];
    if (running >= count_at_percentile) {
      const std::int64_t value = value_from_index(i);
      return requested == 0.0 ? lowest_equivalent(value) : highest_equivalent(value);
    }
  }
  return 0;
}

// HdrHistogram's PercentileIterator: steps whose size halves as the remaining distance to 100%
// halves, `ticks` steps per half; each step reports the first recorded value that reaches it; a
// last step at 100%.
std::vector<HdrHistogram::PercentileRow> HdrHistogram::percentile_rows(int ticks) const {
  std::vector<PercentileRow> rows;
  if (total_count_ == 0) return rows;
  const double total = static_cast<double>(total_count_);
  double level_to = 0.0;
  bool reached_last = false;
  std::size_t index = 0;
  std::int64_t running = 0;
  bool fresh = true;
  while (true) {
    if (running >= total_count_) {
      if (reached_last) break;
      level_to = 100.0;
      reached_last = true;
    }
    // next(): walk until the level is reached at a non-empty index.
    bool found = false;
    while (index < counts_.size()) {
      const std::int64_t here = counts_[index];
      if (fresh) {
        running += here;
        fresh = false;
      }
      if (here != 0 && (100.0 * static_cast<double>(running)) / total >= level_to) {
        rows.push_back({highest_equivalent(value_from_index(index)), level_to, running});
        // HdrHistogram's half-distance: 2^(whole octaves to 100 %) + 1 reporting steps. At 100 %
        // the octaves are infinite; Java's (long) cast saturates there, so the step count is
        // infinite too (the walk ends on reached_last), where a cast to int64 would be undefined.
        const double octaves = std::log(100.0 / (100.0 - level_to)) / std::log(2.0);
        const double whole_octaves =
            octaves < 1e18 ? std::trunc(octaves) : std::numeric_limits<double>::infinity();
        const double reporting_ticks = ticks * std::pow(2.0, whole_octaves + 1);
        level_to += 100.0 / reporting_ticks;
        found = true;
        break;
      }
      ++index;
      fresh = true;
    }
    if (!found) break;  // cannot happen while counts add up to total_count_
  }
  return rows;
}

std::string HdrHistogram::percentile_distribution(double value_scale, int ticks) const {
  std::string out;
  append_format(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                "1/(1-Percentile)");
  char row_format[64];
  char last_format[64];
  std::snprintf(row_format, sizeof row_format, "%%12.%df %%2.12f %%10lld %%14.2f\n", digits_);
  std::snprintf(last_format, sizeof last_format, "%%12.%df %%2.12f %%10lld\n", digits_);
  for (const PercentileRow& row : percentile_rows(ticks)) {
    const double value = static_cast<double>(row.value) / value_scale;
    const double fraction = row.percentile / 100.0;
    char line[128];
    int n = 0;
    if (row.percentile != 100.0) {
      n = std::snprintf(line, sizeof line, row_format, value, fraction,
                        static_cast<long long>(row.total_count), 1.0 / (1.0 - fraction));
    } else {
      n = std::snprintf(line, sizeof line, last_format, value, fraction,
                        static_cast<long long>(row.total_count));
    }
    if (n > 0) out.append(line, static_cast<std::size_t>(std::min<int>(n, sizeof line - 1)));
  }
  char footer[64];
  std::snprintf(footer, sizeof footer,
                "#[Mean    = %%12.%df, StdDeviation   = %%12.%df]\n", digits_, digits_);
  append_format(out, footer, mean() / value_scale, stddev() / value_scale);
  std::snprintf(footer, sizeof footer, "#[Max     = %%12.%df, Total count    = %%12lld]\n",
                digits_);
  append_format(out, footer, static_cast<double>(max()) / value_scale,
                static_cast<long long>(total_count_));
  append_format(out, "#[Buckets = %12d, SubBuckets     = %12d]\n", bucket_count_,
                sub_bucket_count_);
  return out;
}

bool operator==(const HdrHistogram& a, const HdrHistogram& b) {
  return a.lowest_ == b.lowest_ && a.highest_ == b.highest_ && a.digits_ == b.digits_ &&
         a.counts_ == b.counts_;
}

}  // namespace echoes::monitor

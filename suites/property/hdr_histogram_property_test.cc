// Properties of core/monitor/hdr_histogram and histogram_log: every value is known to within 0.1%
// of itself at 3 significant digits; a percentile is the sorted samples' value at that rank, to
// within 0.1%; adding two histograms gives the histogram of the union of their samples; the V2
// compressed encoding and the interval log give back the histogram they were made from.
#include "core/monitor/hdr_histogram.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/monitor/histogram_log.h"

namespace echoes::monitor {
namespace {

constexpr std::int64_t kHighest = 3'600'000'000LL;  // one hour in microseconds

// Values spread over every magnitude up to kHighest (a uniform draw would almost never be small).
rc::Gen<std::int64_t> any_value() {
  return rc::gen::mapcat(rc::gen::inRange(0, 32), [](int bits) {
    return rc::gen::inRange<std::int64_t>(0, std::min<std::int64_t>(kHighest, std::int64_t{1} << bits) + 1);
  });
}

HdrHistogram histogram_of(const std::vector<std::int64_t>& values) {
  HdrHistogram h(1, kHighest, 3);
  for (std::int64_t v : values) h.record(v);
  return h;
}

RC_GTEST_PROP(HdrHistogramProperty, EveryValueIsKnownToWithinOneThousandth, ()) {
  const std::int64_t v = *any_value();
  const HdrHistogram h = histogram_of({v});
  RC_ASSERT(h.lowest_equivalent(v) <= v);
  RC_ASSERT(v <= h.highest_equivalent(v));
  // The whole range of values sharing v's count is within 0.1% of v.
  RC_ASSERT(static_cast<double>(h.highest_equivalent(v) - h.lowest_equivalent(v)) <=
            0.001 * static_cast<double>(v));
  RC_ASSERT(h.min() == h.lowest_equivalent(v));
  RC_ASSERT(h.max() == h.highest_equivalent(v));
  RC_ASSERT(h.value_at_percentile(50) == h.highest_equivalent(v));
}

RC_GTEST_PROP(HdrHistogramProperty, PercentilesAreTheSortedSamplesAtThatRankWithinOneThousandth, ()) {
  std::vector<std::int64_t> values = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::int64_t>>(any_value()));
  const double percentile = *rc::gen::inRange(0, 100'001) / 1000.0;
  const HdrHistogram h = histogram_of(values);
  std::sort(values.begin(), values.end());
  const auto n = static_cast<double>(values.size());
  const auto rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(percentile / 100.0 * n + 0.5));
  const std::int64_t exact = values[static_cast<std::size_t>(rank - 1)];
  const std::int64_t measured = h.value_at_percentile(percentile);
  RC_ASSERT(std::abs(static_cast<double>(measured - exact)) <= 0.001 * static_cast<double>(exact));
  RC_ASSERT(h.total_count() == static_cast<std::int64_t>(values.size()));
}

RC_GTEST_PROP(HdrHistogramProperty, AddingEqualsTheHistogramOfTheUnion, ()) {
  const auto a = *rc::gen::container<std::vector<std::int64_t>>(any_value());
  const auto b = *rc::gen::container<std::vector<std::int64_t>>(any_value());
  HdrHistogram merged = histogram_of(a);
  merged.add(histogram_of(b));
  std::vector<std::int64_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  const HdrHistogram expected = histogram_of(both);
  RC_ASSERT(merged == expected);
  RC_ASSERT(merged.total_count() == expected.total_count());
  RC_ASSERT(merged.min() == expected.min());
  RC_ASSERT(merged.max() == expected.max());
  RC_ASSERT(merged.value_at_percentile(99.0) == expected.value_at_percentile(99.0));
}

RC_GTEST_PROP(HdrHistogramProperty, TheCompressedEncodingRoundTrips, ()) {
  const auto values = *rc::gen::container<std::vector<std::int64_t>>(any_value());
  const int digits = *rc::gen::inRange(1, 6);
  HdrHistogram h(1, kHighest, digits);
  for (std::int64_t v : values) h.record(v, *rc::gen::inRange<std::int64_t>(1, 1'000'000));
  auto decoded = decode_compressed(encode_compressed(h));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == h);
  RC_ASSERT(decoded->total_count() == h.total_count());
  RC_ASSERT(decoded->max() == h.max());
  RC_ASSERT(decoded->min() == h.min());
}

RC_GTEST_PROP(HdrHistogramProperty, TheIntervalLogRoundTripsAndMergesToTheUnion, ()) {
  const auto intervals = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<std::vector<std::int64_t>>>(
          rc::gen::container<std::vector<std::int64_t>>(any_value())));
  HistogramLogWriter writer(1'764'720'000.0);
  std::vector<std::int64_t> all;
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    writer.add_interval(static_cast<double>(i), 1.0, histogram_of(intervals[i]));
    all.insert(all.end(), intervals[i].begin(), intervals[i].end());
  }
  auto log = parse_interval_log(writer.text(), "generated");
  RC_ASSERT(log.ok());
  RC_ASSERT(log->intervals.size() == intervals.size());
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    RC_ASSERT(log->intervals[i].histogram == histogram_of(intervals[i]));
  }
  auto merged = merge(log->intervals);
  RC_ASSERT(merged.ok());
  RC_ASSERT(*merged == histogram_of(all));
}

RC_GTEST_PROP(HdrHistogramProperty, Base64RoundTrips, (const std::string& bytes)) {
  auto decoded = base64_decode(base64_encode(bytes));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == bytes);
}

}  // namespace
}  // namespace echoes::monitor

// HdrHistogram and its interval log: the layout HdrHistogram's other implementations use (proved by
// decoding a log Java's HdrHistogram wrote), the .hgrm text, clamping, and hostile encodings and
// logs answered with errors that name what was wrong.
#include "core/monitor/hdr_histogram.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/monitor/histogram_log.h"

namespace echoes::monitor {
namespace {

// Three interval lines of jHiccup-2.0.7S.logV2.hlog from HdrHistogram's own test resources
// (github.com/HdrHistogram/HdrHistogram, src/test/resources/org/HdrHistogram; public domain),
// written by Java's HistogramLogWriter with nanosecond values: the third column is each interval's
// max in milliseconds.
constexpr std::string_view kJavaLog =
    "#[Logged with jHiccup version 2.0.7-SNAPSHOT]\n"
    "#[Histogram log format version 1.2]\n"
    "#[StartTime: 1441753532.570 (seconds since epoch), Tue Sep 08 16:05:32 PDT 2015]\n"
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
    "0.126,1.007,1.933,HISTFAAAAEB42pNpmSzMwMAgywABTBDKT4GBgdnNYMcCBvsPEBEjDT0FMTUxMT05LgEhPqmIeWxtTAKMTNxM6xmZmAAjcgjc\n"
    "7.134,1.515,960.496,HISTFAAAAJV42pNpmSzMwMDUwAABTBDKT4GBgdnNYMcCBvsPEBEWLi4eNkY2PiYOPhYOLgGOLuZjTGLrGZnKgTCYyZrJEoh1mWSZpMFQFkpyM/GCMTKJzOdkYoVCZjgLmc1MhDwzEyMQggl0SH1BbEJIgIUJC2AhUoxchSwsLGwsMIBgYRUkQyFBaQ4g4EIl0PlcpKtB4wMAh5wT+Q==\n"
    "13.132,1.221,897.581,HISTFAAAAJN42pNpmSzMwMBUyAABTBDKT4GBgdnNYMcCBvsPUBkRDjYWFiYONj42NjYeDq4JjOcYNY4yspQzlTN5MlkyWQOxJpM0kywQS0NpSSZuJl4gRCcRLE4mViBkBpOsaGxCojAWIwpE41JBkJA6dMDCxESUGGUKkQRZQICNBQawsSiTJqCQiwMI0AgOLsIEXmk2AGRbE3w=\n";

std::string millis(std::int64_t nanos) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(nanos) / 1e6);
  return text;
}

TEST(HistogramLogTest, DecodesALogWrittenByJavasHdrHistogram) {
  auto log = parse_interval_log(kJavaLog, "java");
  ASSERT_TRUE(log.ok()) << log.error().message;
  ASSERT_EQ(log->intervals.size(), 3u);
  EXPECT_DOUBLE_EQ(*log->start_time_s, 1441753532.570);
  // Each interval's max, in Java's own layout and rounding, is the column Java wrote beside it.
  EXPECT_EQ(millis(log->intervals[0].histogram.max()), "1.933");
  EXPECT_EQ(millis(log->intervals[1].histogram.max()), "960.496");
  EXPECT_EQ(millis(log->intervals[2].histogram.max()), "897.581");
  EXPECT_DOUBLE_EQ(log->intervals[1].start_s, 7.134);
  EXPECT_DOUBLE_EQ(log->intervals[1].length_s, 1.515);
  for (const HistogramInterval& interval : log->intervals) {
    EXPECT_GT(interval.histogram.total_count(), 0);
    // Re-encoding gives the same histogram back (our encoder writes what Java's decoder reads).
    auto again = decode_compressed(encode_compressed(interval.histogram));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, interval.histogram);
  }
  auto merged = merge(log->intervals);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->total_count(), log->intervals[0].histogram.total_count() +
                                       log->intervals[1].histogram.total_count() +
                                       log->intervals[2].histogram.total_count());
  EXPECT_EQ(merged->max(), log->intervals[1].histogram.max());
}

TEST(HdrHistogramTest, TheLayoutForOneMicrosecondToOneHourAtThreeDigits) {
  const HdrHistogram h(1, 3'600'000'000LL, 3);
  EXPECT_EQ(h.sub_bucket_count(), 2048);
  EXPECT_EQ(h.bucket_count(), 22);
  EXPECT_EQ(h.counts_length(), 23u * 1024u);
  // Below 2048 every value has its own count; above, ranges double per bucket.
  EXPECT_EQ(h.equivalent_range(2047), 1);
  EXPECT_EQ(h.equivalent_range(2048), 2);
  EXPECT_EQ(h.equivalent_range(1'000'000), 512);
  EXPECT_EQ(h.value_from_index(h.index_of(1'000'000)), h.lowest_equivalent(1'000'000));
}

TEST(HdrHistogramTest, SummarisesRecordedValues) {
  HdrHistogram h(1, 3'600'000'000LL, 3);
  for (int v = 1; v <= 1000; ++v) h.record(v);
  EXPECT_EQ(h.total_count(), 1000);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 1000);
  EXPECT_DOUBLE_EQ(h.mean(), 500.5);
  EXPECT_EQ(h.value_at_percentile(50), 500);
  EXPECT_EQ(h.value_at_percentile(99), 990);
  EXPECT_EQ(h.value_at_percentile(100), 1000);
  EXPECT_EQ(h.value_at_percentile(0), 1);
}

TEST(HdrHistogramTest, ValuesAboveTheHighestAreClampedAndCounted) {
  HdrHistogram h(1, 10'000, 3);
  h.record(50'000, 3);
  h.record(10);
  EXPECT_EQ(h.total_count(), 4);
  EXPECT_EQ(h.clamped_count(), 3);
  EXPECT_EQ(h.max(), h.highest_equivalent(10'000));
}

TEST(HdrHistogramTest, AnEmptyHistogramReportsZeros) {
  const HdrHistogram h(1, 1000, 2);
  EXPECT_EQ(h.total_count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.value_at_percentile(99), 0);
  EXPECT_TRUE(h.percentile_rows().empty());
}

TEST(HdrHistogramTest, AddsHistogramsOfAnotherLayoutValueByValue) {
  HdrHistogram fine(1, 3'600'000'000LL, 3);
  HdrHistogram coarse(1, 1'000'000, 2);
  coarse.record(5000, 2);
  fine.record(7);
  fine.add(coarse);
  EXPECT_EQ(fine.total_count(), 3);
  EXPECT_EQ(fine.max(), fine.highest_equivalent(coarse.value_from_index(coarse.index_of(5000))));
}

TEST(HdrHistogramTest, WritesThePercentileDistributionText) {
  HdrHistogram h(1, 3'600'000'000LL, 3);
  for (int v = 1; v <= 10'000; ++v) h.record(v * 1000);  // 1 .. 10000 ms in microseconds
  const std::string text = h.percentile_distribution(1000.0);
  EXPECT_EQ(text.rfind("       Value     Percentile TotalCount 1/(1-Percentile)\n\n", 0), 0u) << text;
  // The first row: the smallest value at percentile 0, one value counted.
  EXPECT_NE(text.find("\n       1.000 0.000000000000          1           1.00\n"), std::string::npos)
      << text.substr(0, 300);
  // The last row: 100% with no 1/(1-p) column.
  EXPECT_NE(text.find(" 1.000000000000      10000\n#[Mean    = "), std::string::npos);
  EXPECT_NE(text.find("#[Max     =    10002.431, Total count    =        10000]\n"), std::string::npos)
      << text.substr(text.size() - 200);
  EXPECT_NE(text.find("#[Buckets =           22, SubBuckets     =         2048]\n"), std::string::npos);
  // Rows climb in value and percentile.
  const auto rows = h.percentile_rows();
  ASSERT_GT(rows.size(), 50u);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_LE(rows[i - 1].value, rows[i].value);
    EXPECT_LT(rows[i - 1].percentile, rows[i].percentile);
    EXPECT_LE(rows[i - 1].total_count, rows[i].total_count);
  }
}

TEST(HistogramLogTest, RefusesHostileEncodingsNamingTheProblem) {
  HdrHistogram h(1, 100'000, 3);
  h.record(42, 7);
  const std::string good = encode_compressed(h);
  struct Case {
    std::string bytes;
    std::string says;
  };
  std::string lying_length = good;
  lying_length[7] = static_cast<char>(0x7f);
  std::string bad_cookie = good;
  bad_cookie[0] = 0;
  std::string not_zlib = good.substr(0, 8) + std::string(good.size() - 8, 'x');
  const Case cases[] = {
      {"", "shorter than its 8-byte header"},
      {bad_cookie, "not a V2 compressed histogram"},
      {lying_length, "runs past"},
      {not_zlib, "does not inflate"},
      {good.substr(0, good.size() - 3), "runs past"},
  };
  for (const Case& c : cases) {
    auto decoded = decode_compressed(c.bytes);
    ASSERT_FALSE(decoded.ok()) << c.says;
    EXPECT_NE(decoded.error().message.find(c.says), std::string::npos) << decoded.error().message;
  }
  HistogramDecodeLimits tight;
  tight.max_counts_length = 16;
  auto too_big = decode_compressed(good, tight);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("exceeds the limit"), std::string::npos);
}

TEST(HistogramLogTest, RefusesHostileLogLinesNamingTheLine) {
  const struct {
    std::string text;
    std::string says;
  } cases[] = {
      {"#c\n1.0,2.0\n", "generated:2: an interval line needs 4"},
      {"x,1,1,HIST\n", "generated:1: start, length and max must be numbers"},
      {"0,1,1,HIST!\n", "generated:1: base64 length"},
      {"0,1,1,AAAA\n", "generated:1: compressed histogram shorter"},
      {"Tag=only\n", "generated:1: a tag with no interval"},
  };
  for (const auto& c : cases) {
    auto log = parse_interval_log(c.text, "generated");
    ASSERT_FALSE(log.ok()) << c.says;
    EXPECT_NE(log.error().message.find(c.says), std::string::npos) << log.error().message;
  }
  EXPECT_FALSE(read_interval_log("/nonexistent/latency.hlog").ok());
  EXPECT_FALSE(merge({}).ok());
}

TEST(HistogramLogTest, KeepsTagsAndTheBaseTime) {
  HdrHistogram h(1, 1000, 3);
  h.record(5);
  HistogramLogWriter writer(1000.5);
  writer.add_interval(0.5, 1.0, h, std::string("shard-2"));
  auto log = parse_interval_log(writer.text(), "tagged");
  ASSERT_TRUE(log.ok()) << log.error().message;
  ASSERT_EQ(log->intervals.size(), 1u);
  EXPECT_EQ(log->intervals[0].tag, "shard-2");
  EXPECT_DOUBLE_EQ(*log->base_time_s, 1000.5);
  EXPECT_EQ(log->intervals[0].histogram, h);
}

}  // namespace
}  // namespace echoes::monitor

// MetricsRegistry: the exposition text (HELP/TYPE, escaping, histogram buckets), family reuse,
// reset, and counts that stay exact when many threads update one series.
#include "core/monitor/metrics_registry.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace echoes::monitor {
namespace {

TEST(MetricsRegistryTest, CounterRendersHelpTypeAndValue) {
  MetricsRegistry registry;
  Counter c = registry.counter("echoes_things_total", "Things seen.", {{"kind", "a"}});
  c.inc();
  c.inc(4);
  EXPECT_EQ(c.value(), 5u);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP echoes_things_total Things seen.\n"
            "# TYPE echoes_things_total counter\n"
            "echoes_things_total{kind=\"a\"} 5\n");
}

TEST(MetricsRegistryTest, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  registry.counter("echoes_x_total", "Line one\\two\nthree", {{"path", "a\"b\\c\nd"}}).inc();
  const std::string text = registry.render_prometheus();
  EXPECT_NE(text.find("# HELP echoes_x_total Line one\\\\two\\nthree\n"), std::string::npos) << text;
  EXPECT_NE(text.find("echoes_x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricsRegistry registry;
  const std::array<double, 3> bounds = {0.1, 0.5, 1.0};
  Histogram h = registry.histogram("echoes_seconds", "Time.", bounds, {{"stage", "guard"}});
  h.observe(0.05);   // <= 0.1
  h.observe(0.1);    // le is inclusive: still the 0.1 bucket
  h.observe(0.7);    // <= 1
  h.observe(3.0);    // +Inf only
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 3.85);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP echoes_seconds Time.\n"
            "# TYPE echoes_seconds histogram\n"
            "echoes_seconds_bucket{stage=\"guard\",le=\"0.1\"} 2\n"
            "echoes_seconds_bucket{stage=\"guard\",le=\"0.5\"} 2\n"
            "echoes_seconds_bucket{stage=\"guard\",le=\"1\"} 3\n"
            "echoes_seconds_bucket{stage=\"guard\",le=\"+Inf\"} 4\n"
            "echoes_seconds_sum{stage=\"guard\"} 3.85\n"
            "echoes_seconds_count{stage=\"guard\"} 4\n");
}

TEST(MetricsRegistryTest, GaugeSetsAndAddsAndRendersSpecialValues) {
  MetricsRegistry registry;
  Gauge g = registry.gauge("echoes_level", "Level.");
  g.set(2.5);
  g.add(-1.0);
  EXPECT_DOUBLE_EQ(g.value(), 1.5);
  EXPECT_NE(registry.render_prometheus().find("echoes_level 1.5\n"), std::string::npos);
  g.set(std::numeric_limits<double>::infinity());
  EXPECT_NE(registry.render_prometheus().find("echoes_level +Inf\n"), std::string::npos);
  g.set(std::nan(""));
  EXPECT_NE(registry.render_prometheus().find("echoes_level NaN\n"), std::string::npos);
}

TEST(MetricsRegistryTest, FamilyWithFindsTheSameSeriesForTheSameValues) {
  MetricsRegistry registry;
  CounterFamily errors = registry.counter_family("echoes_errors_total", "Errors.", {"code"});
  errors.with({"timeout"}).inc();
  errors.with({"timeout"}).inc();
  errors.with({"connection"}).inc();
  // Registering the same family again is the same family.
  registry.counter_family("echoes_errors_total", "Errors.", {"code"}).with({"timeout"}).inc();
  EXPECT_EQ(errors.with({"timeout"}).value(), 3u);
  const std::string text = registry.render_prometheus();
  // Series sorted by label values; one HELP/TYPE per family.
  EXPECT_LT(text.find("code=\"connection\"} 1"), text.find("code=\"timeout\"} 3"));
  EXPECT_EQ(text.find("# TYPE echoes_errors_total"), text.rfind("# TYPE echoes_errors_total"));
}

TEST(MetricsRegistryTest, EmptyFamilyRendersOnlyHelpAndType) {
  MetricsRegistry registry;
  registry.counter_family("echoes_none_total", "Nothing yet.", {"a"});
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP echoes_none_total Nothing yet.\n# TYPE echoes_none_total counter\n");
  EXPECT_EQ(registry.family_names(), std::vector<std::string>{"echoes_none_total"});
}

TEST(MetricsRegistryTest, ResetZeroesValuesAndKeepsHandles) {
  MetricsRegistry registry;
  Counter c = registry.counter("echoes_c_total", "C.");
  const std::array<double, 1> bounds = {1.0};
  Histogram h = registry.histogram("echoes_h", "H.", bounds);
  c.inc(7);
  h.observe(0.5);
  registry.reset();
  EXPECT_EQ(c.value(), 0u);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.0);
  c.inc();
  EXPECT_NE(registry.render_prometheus().find("echoes_c_total 1\n"), std::string::npos);
}

TEST(MetricsRegistryTest, DefaultHandlesIgnoreUpdates) {
  Counter c;
  Gauge g;
  Histogram h;
  c.inc();
  g.set(3);
  h.observe(1);
  EXPECT_EQ(c.value(), 0u);
  EXPECT_EQ(g.value(), 0.0);
  EXPECT_EQ(h.count(), 0u);
}

// Sharded cells must not lose updates: every increment from every thread is counted.
TEST(MetricsRegistryTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  Counter c = registry.counter("echoes_c_total", "C.");
  const std::array<double, 2> bounds = {1.0, 2.0};
  Histogram h = registry.histogram("echoes_h", "H.", bounds);
  constexpr int kThreads = 20;  // more than the shards, so some threads share one
  constexpr int kPerThread = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        h.observe(1.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.count(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_DOUBLE_EQ(h.sum(), 1.5 * kThreads * kPerThread);
}

TEST(MetricsRegistryTest, SnapshotCarriesLabelsAndCumulativeBuckets) {
  MetricsRegistry registry;
  const std::array<double, 2> bounds = {1.0, 2.0};
  registry.histogram_family("echoes_h", "H.", bounds, {"route"}).with({"/x"}).observe(1.5);
  const auto snap = registry.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  ASSERT_EQ(snap[0].series.size(), 1u);
  EXPECT_EQ(snap[0].series[0].labels, (Labels{{"route", "/x"}}));
  EXPECT_EQ(snap[0].series[0].buckets, (std::vector<std::uint64_t>{0, 1, 1}));
}

}  // namespace
}  // namespace echoes::monitor

// The open-loop schedule of echoes load: intended send times at a constant rate, over a warm-up,
// along a linear ramp, and the flag texts for durations and ramps (bad ones named).
#include "harness/load/load_schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

namespace echoes::harness {
namespace {

using namespace std::chrono_literals;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

TEST(LoadScheduleTest, AConstantRateSpacesRequestsEvenlyAndEndsOnTime) {
  const RateSchedule s{100, 100, 0s, 2s};
  ASSERT_TRUE(s.validate().ok());
  EXPECT_DOUBLE_EQ(seconds(s.slot(0)->offset), 0.0);
  EXPECT_NEAR(seconds(s.slot(1)->offset), 0.01, 1e-9);
  EXPECT_NEAR(seconds(s.slot(150)->offset), 1.5, 1e-9);
  EXPECT_TRUE(s.slot(199).has_value());
  EXPECT_FALSE(s.slot(200).has_value());  // 2 s at 100/s: 200 requests
  EXPECT_DOUBLE_EQ(s.measured_requests(), 200.0);
}

TEST(LoadScheduleTest, WarmupRequestsComeFirstAndAreNotMeasured) {
  const RateSchedule s{10, 10, 1s, 1s};
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_FALSE(s.slot(i)->measured) << i;
  EXPECT_TRUE(s.slot(10)->measured);
  EXPECT_NEAR(seconds(s.slot(10)->offset), 1.0, 1e-9);
  EXPECT_FALSE(s.slot(20).has_value());
}

TEST(LoadScheduleTest, ARampSendsTheRequestsItsAverageRatePromises) {
  const RateSchedule s{0, 200, 0s, 10s};  // 0 -> 200/s: 1000 requests, sparse first, dense last
  std::uint64_t n = 0;
  while (s.slot(n)) ++n;
  EXPECT_NEAR(static_cast<double>(n), 1000.0, 1.0);
  // The gap near the end is about 1/200 s; in the first second requests are far apart.
  const double late_gap = seconds(s.slot(n - 1)->offset - s.slot(n - 2)->offset);
  EXPECT_NEAR(late_gap, 1.0 / 200, 0.001);
  EXPECT_GT(seconds(s.slot(1)->offset - s.slot(0)->offset), 0.1);
  // Offsets never go backwards.
  for (std::uint64_t i = 1; i < n; ++i) ASSERT_LE(s.slot(i - 1)->offset, s.slot(i)->offset) << i;
}

TEST(LoadScheduleTest, RefusesSchedulesThatCannotRun) {
  EXPECT_FALSE((RateSchedule{0, 0, 0s, 1s}).validate().ok());
  EXPECT_FALSE((RateSchedule{-1, 5, 0s, 1s}).validate().ok());
  EXPECT_FALSE((RateSchedule{5, 5, 0s, 0s}).validate().ok());
  EXPECT_FALSE((RateSchedule{NAN, 5, 0s, 1s}).validate().ok());
  EXPECT_EQ((RateSchedule{5, 5, 0s, 0s}).validate().error().context, "--duration");
}

TEST(LoadScheduleTest, ParsesDurationsWithUnits) {
  EXPECT_EQ(*parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*parse_duration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*parse_duration("10m"), std::chrono::minutes(10));
  EXPECT_EQ(*parse_duration("1h"), std::chrono::hours(1));
  EXPECT_EQ(*parse_duration("2.5s"), std::chrono::milliseconds(2500));
  EXPECT_EQ(*parse_duration("0s"), Duration::zero());
  for (const char* bad : {"", "30", "s", "-1s", "1d", "abc", "1e999s", "9999h"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.error().message.find("duration"), std::string::npos);
  }
}

TEST(LoadScheduleTest, ParsesRamps) {
  EXPECT_EQ(*parse_ramp("50:400"), (std::pair<double, double>{50, 400}));
  for (const char* bad : {"", "50", "50:", ":400", "a:b", "-5:10"}) {
    auto r = parse_ramp(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().context, "--ramp");
  }
}

}  // namespace
}  // namespace echoes::harness

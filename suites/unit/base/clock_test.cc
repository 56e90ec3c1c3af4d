#include "core/base/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace echoes {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock;
  const TimePoint start = clock.now();
  const WallTime wall_start = clock.wall_now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(seconds(5));
  EXPECT_EQ(clock.now() - start, seconds(5));
  EXPECT_EQ(clock.wall_now() - wall_start, seconds(5));
}

TEST(FakeClockTest, SleepAdvancesAtOnceAndIsRecorded) {
  FakeClock clock;
  const TimePoint start = clock.now();
  clock.sleep_for(milliseconds(500));
  clock.sleep_for(milliseconds(250));
  EXPECT_EQ(clock.now() - start, milliseconds(750));
  ASSERT_EQ(clock.sleeps().size(), 2u);
  EXPECT_EQ(clock.sleeps()[0], milliseconds(500));
  EXPECT_EQ(clock.total_slept(), milliseconds(750));
}

TEST(FakeClockTest, WallTimeStartsAtAKnownDate) {
  FakeClock clock;
  EXPECT_EQ(std::chrono::system_clock::to_time_t(clock.wall_now()), 1767225600);  // 2026-01-01
}

TEST(FakeClockTest, ConcurrentAdvancesAreAllCounted) {
  FakeClock clock;
  const TimePoint start = clock.now();
  std::thread a([&] { for (int i = 0; i < 1000; ++i) clock.advance(milliseconds(1)); });
  std::thread b([&] { for (int i = 0; i < 1000; ++i) clock.sleep_for(milliseconds(1)); });
  a.join();
  b.join();
  EXPECT_EQ(clock.now() - start, milliseconds(2000));
}

TEST(SystemClockTest, IsMonotonic) {
  SystemClock& clock = SystemClock::instance();
  TimePoint a = clock.now();
  TimePoint b = clock.now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace echoes

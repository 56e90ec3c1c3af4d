// Token buckets and the keyed limiter, driven by a FakeClock.
#include "core/safety/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace echoes {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

RateLimit limit_of(std::int64_t permits, Duration period, std::int64_t burst) {
  RateLimit limit;
  limit.permits = permits;
  limit.period = period;
  limit.burst = burst;
  return limit;
}

// Takes permits with try_acquire until one is refused; returns how many were granted.
int drain(TokenBucket& bucket) {
  int granted = 0;
  while (bucket.try_acquire().ok()) {
    ++granted;
    if (granted > 1000000) break;  // a bucket that never refuses is a failure, not a hang
  }
  return granted;
}

TEST(RateLimitTest, PerMinuteHasTenSecondsOfBurst) {
  struct Row {
    std::int64_t per_minute;
    std::int64_t burst;
    Duration interval;
  };
  const Row rows[] = {
      {100, 16, milliseconds(600)},  // 16.7 permits in 10 s, rounded down
      {50, 8, milliseconds(1200)},
      {60, 10, seconds(1)},
      {3, 1, seconds(20)},  // less than one permit in 10 s: at least 1
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.per_minute);
    const RateLimit limit = RateLimit::per_minute(row.per_minute);
    EXPECT_EQ(limit.permits, row.per_minute);
    EXPECT_EQ(limit.period, minutes(1));
    EXPECT_EQ(limit.burst, row.burst);
    EXPECT_EQ(limit.permit_interval(), row.interval);
    EXPECT_TRUE(limit.validate().ok());
  }
}

TEST(RateLimitTest, IntervalRoundsUpSoTheRateIsNeverExceeded) {
  EXPECT_EQ(limit_of(3, nanoseconds(10), 1).permit_interval(), nanoseconds(4));
  EXPECT_EQ(limit_of(7, minutes(1), 1).permit_interval(), nanoseconds(8571428572));
}

TEST(RateLimitTest, RejectsEachFieldOutOfRange) {
  struct Row {
    const char* name;
    RateLimit limit;
    const char* field;
  };
  const Row rows[] = {
      {"zero permits", limit_of(0, seconds(1), 1), "permits"},
      {"negative period", limit_of(1, -seconds(1), 1), "period"},
      {"zero period", limit_of(1, Duration::zero(), 1), "period"},
      {"zero burst", limit_of(1, seconds(1), 0), "burst"},
      {"overflowing burst", limit_of(1, std::chrono::hours(24), 1'000'000'000'000), "burst"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Status valid = row.limit.validate();
    ASSERT_FALSE(valid.ok());
    EXPECT_EQ(valid.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(valid.error().context, row.field);
  }
}

TEST(TokenBucketTest, StartsFullAndRefusesAfterTheBurst) {
  FakeClock clock;
  TokenBucket bucket(RateLimit::per_minute(100), clock, "bias_eval");
  EXPECT_EQ(bucket.time_until_next_permit(), Duration::zero());
  EXPECT_EQ(bucket.next_permit_at(), clock.now());
  EXPECT_EQ(drain(bucket), 16);

  Status refused = bucket.try_acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kRateLimitedLocally);
  EXPECT_EQ(refused.error().context, "bias_eval");
  // The bucket is empty: the next permit is one interval (60 s / 100) away.
  EXPECT_EQ(refused.error().retry_after, milliseconds(600));
  EXPECT_EQ(bucket.time_until_next_permit(), milliseconds(600));
  EXPECT_EQ(bucket.next_permit_at(), clock.now() + milliseconds(600));
  clock.advance(milliseconds(450));
  EXPECT_EQ(bucket.time_until_next_permit(), milliseconds(150));
  EXPECT_EQ(bucket.try_acquire().error().retry_after, milliseconds(150));
}

TEST(TokenBucketTest, RefillsAtTheConfiguredRate) {
  FakeClock clock;
  TokenBucket bucket(limit_of(10, seconds(1), 5), clock);  // one permit per 100 ms
  EXPECT_EQ(drain(bucket), 5);
  struct Step {
    Duration advance;
    int granted;
  };
  const Step steps[] = {
      {milliseconds(99), 0}, {milliseconds(1), 1},   {milliseconds(250), 2},
      {milliseconds(50), 1}, {seconds(60), 5},  // a long idle spell refills only the burst
  };
  int index = 0;
  for (const Step& step : steps) {
    SCOPED_TRACE(index++);
    clock.advance(step.advance);
    EXPECT_EQ(drain(bucket), step.granted);
  }
}

TEST(TokenBucketTest, RetryAfterRoundsUpToAMillisecond) {
  FakeClock clock;
  TokenBucket bucket(limit_of(3, milliseconds(1), 1), clock);  // 333334 ns per permit
  ASSERT_TRUE(bucket.try_acquire().ok());
  Status refused = bucket.try_acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().retry_after, milliseconds(1));
  EXPECT_EQ(bucket.time_until_next_permit(), nanoseconds(333334));
}

TEST(TokenBucketTest, AcquireWaitsThroughTheClockWithinTheTimeout) {
  FakeClock clock;
  TokenBucket bucket(limit_of(2, seconds(1), 1), clock);  // one permit per 500 ms
  const TimePoint start = clock.now();
  ASSERT_TRUE(bucket.acquire(seconds(1)).ok());  // available: no wait
  EXPECT_TRUE(clock.sleeps().empty());
  ASSERT_TRUE(bucket.acquire(seconds(1)).ok());  // waits 500 ms
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_EQ(clock.sleeps()[0], milliseconds(500));
  EXPECT_EQ(clock.now() - start, milliseconds(500));
  ASSERT_TRUE(bucket.acquire(milliseconds(500)).ok());  // a wait equal to the timeout is fine
  EXPECT_EQ(clock.now() - start, seconds(1));
}

TEST(TokenBucketTest, AcquireRefusesAtOnceWhenTheWaitExceedsTheTimeout) {
  FakeClock clock;
  TokenBucket bucket(limit_of(2, seconds(1), 1), clock);
  ASSERT_TRUE(bucket.try_acquire().ok());
  Status refused = bucket.acquire(milliseconds(499));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kRateLimitedLocally);
  EXPECT_EQ(refused.error().retry_after, milliseconds(500));
  EXPECT_TRUE(clock.sleeps().empty());
  EXPECT_EQ(bucket.time_until_next_permit(), milliseconds(500));  // the refusal took nothing
  EXPECT_FALSE(bucket.acquire(-seconds(5)).ok());  // a negative timeout means "do not wait"
}

TEST(TokenBucketTest, ReservedPermitsQueueBehindEachOther) {
  FakeClock clock;
  TokenBucket bucket(limit_of(1, seconds(1), 1), clock);
  ASSERT_TRUE(bucket.try_acquire().ok());
  // acquire reserves before it sleeps, so a second caller sees the first caller's permit taken.
  ASSERT_TRUE(bucket.acquire(seconds(1)).ok());
  EXPECT_EQ(bucket.time_until_next_permit(), seconds(1));
  EXPECT_FALSE(bucket.try_acquire().ok());
}

TEST(RateLimiterTest, DefaultsHaveBiasEvalAndBatchProc) {
  const RateLimiterConfig config = RateLimiterConfig::defaults();
  ASSERT_EQ(config.limits.size(), 2u);
  EXPECT_EQ(config.limits.at("bias_eval"), RateLimit::per_minute(100));
  EXPECT_EQ(config.limits.at("batch_proc"), RateLimit::per_minute(50));
  EXPECT_TRUE(config.validate().ok());
}

TEST(RateLimiterTest, KeysHaveIndependentBuckets) {
  FakeClock clock;
  RateLimiter limiter(RateLimiterConfig::defaults(), clock);
  EXPECT_EQ(limiter.keys(), (std::vector<std::string>{"batch_proc", "bias_eval"}));
  int bias = 0;
  while (limiter.try_acquire("bias_eval").ok() && bias < 1000) ++bias;
  EXPECT_EQ(bias, 16);
  int batch = 0;
  while (limiter.try_acquire("batch_proc").ok() && batch < 1000) ++batch;
  EXPECT_EQ(batch, 8);
  Result<Duration> next = limiter.time_until_next_permit("batch_proc");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, milliseconds(1200));

  clock.advance(milliseconds(600));
  EXPECT_TRUE(limiter.try_acquire("bias_eval").ok());
  EXPECT_FALSE(limiter.try_acquire("batch_proc").ok());
  EXPECT_TRUE(limiter.acquire("batch_proc", seconds(1)).ok());
  EXPECT_EQ(limiter.bucket("bias_eval")->limit(), RateLimit::per_minute(100));
}

TEST(RateLimiterTest, UnknownKeyIsInvalidInput) {
  FakeClock clock;
  RateLimiter limiter(RateLimiterConfig::defaults(), clock);
  EXPECT_EQ(limiter.bucket("nope"), nullptr);
  for (const Status& status : {limiter.try_acquire("nope"), limiter.acquire("nope", seconds(1))}) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(status.error().context, "nope");
  }
  EXPECT_FALSE(limiter.time_until_next_permit("nope").ok());
}

TEST(RateLimiterTest, CreateRejectsAnInvalidLimitNamingItsKey) {
  FakeClock clock;
  RateLimiterConfig config = RateLimiterConfig::defaults();
  config.limits["broken"] = limit_of(0, seconds(1), 1);
  auto created = RateLimiter::create(config, clock);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(created.error().context, "broken.permits");
  EXPECT_TRUE(RateLimiter::create(RateLimiterConfig::defaults(), clock).ok());
}

TEST(TokenBucketTest, ConcurrentCallersShareExactlyTheBurst) {
  FakeClock clock;  // time stands still, so exactly `burst` permits exist
  TokenBucket bucket(limit_of(1, seconds(1), 1000), clock);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (bucket.try_acquire().ok()) ++granted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), 1000);
}

TEST(TokenBucketTest, ConcurrentCallersWithAMovingClockStayWithinRatePlusBurst) {
  FakeClock clock;
  const RateLimit limit = limit_of(1000, seconds(1), 10);  // one permit per ms
  TokenBucket bucket(limit, clock);
  const TimePoint start = clock.now();
  std::atomic<int> granted{0};
  std::thread ticker([&] {
    for (int i = 0; i < 500; ++i) clock.advance(std::chrono::microseconds(200));
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (bucket.try_acquire().ok()) ++granted;
        if (bucket.acquire(std::chrono::microseconds(100)).ok()) ++granted;
      }
    });
  }
  ticker.join();
  for (auto& thread : threads) thread.join();
  // acquire's sleeps advance the fake clock too, so measure the time that actually passed.
  const auto elapsed_ms = std::chrono::duration_cast<milliseconds>(clock.now() - start).count();
  EXPECT_LE(granted.load(), elapsed_ms + 1 + 10);
  EXPECT_GE(granted.load(), 10);  // the bucket starts full and time only moves forward
}

}  // namespace
}  // namespace echoes

// RateLimiter: token buckets, one per named key, that pace calls to an upstream.
//
// Each key has a rate (`permits` per `period`) and a burst (the bucket's capacity: the most permits
// handed out at once after a quiet spell). A bucket starts full. Over any interval of length t a
// bucket admits at most rate * t + burst permits. Implemented as GCRA on one atomic (the time at
// which the bucket is full again), so a decision is a clock read and a compare-and-swap.
//
//   FakeClock clock;
//   RateLimiter limiter(RateLimiterConfig::defaults(), clock);   // bias_eval, batch_proc
//   if (Status permit = limiter.try_acquire("bias_eval"); !permit) {
//     // permit.error().code == ErrorCode::kRateLimitedLocally, retry_after = when one is due
//   }
//   Status waited = limiter.acquire("batch_proc", std::chrono::seconds(2));  // sleeps via clock
//
// Thread-safe; refusals are values (kRateLimitedLocally with retry_after), never exceptions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/error.h"
#include "core/base/result.h"

namespace echoes {

struct RateLimit {
  std::int64_t permits = 1;                   // per period; >= 1
  Duration period = std::chrono::seconds(1);  // > 0
  std::int64_t burst = 1;                     // bucket capacity in permits; >= 1

  // `permits` per minute with a burst of 10 seconds' worth (rounded down, at least 1).
  static RateLimit per_minute(std::int64_t permits);
  // kInvalidInput naming the field out of range.
  Status validate() const;
  // The time to earn one permit: period / permits, rounded up to a nanosecond so the bucket never
  // admits faster than the configured rate.
  Duration permit_interval() const;

  friend bool operator==(const RateLimit&, const RateLimit&) = default;
};

// One token bucket. Thread-safe and lock-free.
class TokenBucket {
 public:
  // `limit` must be valid; `clock` must outlive the bucket. `name` appears as the context of
  // refusals. The bucket starts full.
  TokenBucket(RateLimit limit, Clock& clock, std::string name = {});

  TokenBucket(const TokenBucket&) = delete;
  TokenBucket& operator=(const TokenBucket&) = delete;

  // Takes a permit if one is available now; otherwise kRateLimitedLocally with retry_after = the
  // time until one is due (rounded up to a millisecond).
  Status try_acquire();
  // Takes a permit, waiting through the clock (sleep_for) when one is due within `timeout`. When
  // the wait would exceed `timeout` it refuses at once, as try_acquire does, without waiting.
  // The permit is reserved before the wait, so waiters are served in the order they arrived.
  Status acquire(Duration timeout);
  // Zero when a permit is available now.
  Duration time_until_next_permit() const;
  TimePoint next_permit_at() const;

  const RateLimit& limit() const { return limit_; }
  const std::string& name() const { return name_; }

 private:
  Status refusal(std::int64_t wait_ns) const;

  const RateLimit limit_;
  Clock& clock_;
  const std::string name_;
  const std::int64_t interval_ns_;  // time to earn one permit
  const std::int64_t capacity_ns_;  // burst * interval: how far ahead permits may be taken
  // The time (steady-clock ns since its epoch) at which the bucket is full again; at or before now
  // means full. A permit is available when max(full_at, now) + interval - now <= capacity.
  std::atomic<std::int64_t> full_at_ns_;
};

struct RateLimiterConfig {
  std::map<std::string, RateLimit, std::less<>> limits;

  // bias_eval: 100 per minute; batch_proc: 50 per minute; each with a burst of 10 seconds' worth.
  static RateLimiterConfig defaults();
  // kInvalidInput naming the first key whose limit is invalid.
  Status validate() const;
};

// Token buckets by key; the set of keys is fixed at construction.
class RateLimiter {
 public:
  // `config` must be valid; `clock` must outlive the limiter.
  RateLimiter(const RateLimiterConfig& config, Clock& clock);
  // Validates the config first: kInvalidInput instead of a limiter.
  static Result<std::unique_ptr<RateLimiter>> create(const RateLimiterConfig& config, Clock& clock);

  // As TokenBucket's; an unknown key is kInvalidInput.
  Status try_acquire(std::string_view key);
  Status acquire(std::string_view key, Duration timeout);
  Result<Duration> time_until_next_permit(std::string_view key) const;

  // The bucket of `key`, valid for the limiter's lifetime, or nullptr for an unknown key. Callers
  // on a hot path look it up once instead of by name on every call.
  TokenBucket* bucket(std::string_view key) const;
  std::vector<std::string> keys() const;

 private:
  Error unknown_key(std::string_view key) const;

  std::map<std::string, std::unique_ptr<TokenBucket>, std::less<>> buckets_;
};

}  // namespace echoes

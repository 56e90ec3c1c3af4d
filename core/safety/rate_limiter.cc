#include "core/safety/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

namespace echoes {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

std::int64_t to_ns(TimePoint t) {
  return duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RateLimit RateLimit::per_minute(std::int64_t permits) {
  RateLimit limit;
  limit.permits = permits;
  limit.period = std::chrono::minutes(1);
  limit.burst = std::max<std::int64_t>(1, permits * 10 / 60);
  return limit;
}

Status RateLimit::validate() const {
  if (permits < 1) return Error(ErrorCode::kInvalidInput, "permits must be at least 1", "permits");
  if (period <= Duration::zero()) {
    return Error(ErrorCode::kInvalidInput, "period must be positive", "period");
  }
  if (burst < 1) return Error(ErrorCode::kInvalidInput, "burst must be at least 1", "burst");
  // burst * interval must fit the nanosecond arithmetic with room for the clock's own value.
  const std::int64_t interval = permit_interval().count();
  if (burst > std::numeric_limits<std::int64_t>::max() / 4 / interval) {
    return Error(ErrorCode::kInvalidInput, "burst * period / permits is too long", "burst");
  }
  return ok_status();
}

Duration RateLimit::permit_interval() const {
  const std::int64_t period_ns = duration_cast<nanoseconds>(period).count();
  return nanoseconds((period_ns + permits - 1) / permits);
}

// --- TokenBucket --------------------------------------------------------------------------------

TokenBucket::TokenBucket(RateLimit limit, Clock& clock, std::string name)
    : limit_(limit),
      clock_(clock),
      name_(std::move(name)),
      interval_ns_(limit.permit_interval().count()),
      capacity_ns_(limit.burst * interval_ns_),
      full_at_ns_(to_ns(clock.now())) {
  assert(limit_.validate().ok());
}

Status TokenBucket::refusal(std::int64_t wait_ns) const {
  Error error(ErrorCode::kRateLimitedLocally, "local rate limit reached", name_);
  error.retry_after = std::chrono::ceil<milliseconds>(nanoseconds(wait_ns));
  return error;
}

// Both loops read the clock again after losing a race, so a thread preempted between its clock
// read and its compare-and-swap decides on the time of the swap, not on a stale one.
Status TokenBucket::try_acquire() {
  std::int64_t full_at = full_at_ns_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t now = to_ns(clock_.now());
    const std::int64_t next = std::max(full_at, now) + interval_ns_;
    const std::int64_t excess = next - now - capacity_ns_;
    if (excess > 0) return refusal(excess);
    if (full_at_ns_.compare_exchange_weak(full_at, next, std::memory_order_relaxed)) {
      return ok_status();
    }
  }
}

Status TokenBucket::acquire(Duration timeout) {
  const std::int64_t timeout_ns = std::max<std::int64_t>(0, duration_cast<nanoseconds>(timeout).count());
  std::int64_t full_at = full_at_ns_.load(std::memory_order_relaxed);
  std::int64_t wait = 0;
  for (;;) {
    const std::int64_t now = to_ns(clock_.now());
    const std::int64_t next = std::max(full_at, now) + interval_ns_;
    wait = std::max<std::int64_t>(0, next - now - capacity_ns_);
    if (wait > timeout_ns) return refusal(wait);
    if (full_at_ns_.compare_exchange_weak(full_at, next, std::memory_order_relaxed)) break;
  }
  if (wait > 0) clock_.sleep_for(nanoseconds(wait));
  return ok_status();
}

Duration TokenBucket::time_until_next_permit() const {
  const std::int64_t now = to_ns(clock_.now());
  const std::int64_t full_at = full_at_ns_.load(std::memory_order_relaxed);
  return nanoseconds(std::max<std::int64_t>(0, std::max(full_at, now) + interval_ns_ - now -
                                                   capacity_ns_));
}

TimePoint TokenBucket::next_permit_at() const {
  const TimePoint now = clock_.now();
  const std::int64_t full_at = full_at_ns_.load(std::memory_order_relaxed);
  const std::int64_t due = std::max(full_at, to_ns(now)) + interval_ns_ - capacity_ns_;
  return std::max(now, TimePoint(duration_cast<TimePoint::duration>(nanoseconds(due))));
}

// --- RateLimiterConfig and RateLimiter ----------------------------------------------------------

RateLimiterConfig RateLimiterConfig::defaults() {
  RateLimiterConfig config;
  config.limits.emplace("bias_eval", RateLimit::per_minute(100));
  config.limits.emplace("batch_proc", RateLimit::per_minute(50));
  return config;
}

Status RateLimiterConfig::validate() const {
  for (const auto& [key, limit] : limits) {
    if (Status valid = limit.validate(); !valid) {
      Error error = valid.error();
      error.message = "rate limit '" + key + "': " + error.message;
      error.context = key + "." + error.context;
      return error;
    }
  }
  return ok_status();
}

RateLimiter::RateLimiter(const RateLimiterConfig& config, Clock& clock) {
  assert(config.validate().ok());
  for (const auto& [key, limit] : config.limits) {
    buckets_.emplace(key, std::make_unique<TokenBucket>(limit, clock, key));
  }
}

Result<std::unique_ptr<RateLimiter>> RateLimiter::create(const RateLimiterConfig& config,
                                                         Clock& clock) {
  if (Status valid = config.validate(); !valid) return valid.error();
  return std::make_unique<RateLimiter>(config, clock);
}

Error RateLimiter::unknown_key(std::string_view key) const {
  return Error(ErrorCode::kInvalidInput, "no rate limit is configured for this key",
               std::string(key));
}

TokenBucket* RateLimiter::bucket(std::string_view key) const {
  auto it = buckets_.find(key);
  return it == buckets_.end() ? nullptr : it->second.get();
}

Status RateLimiter::try_acquire(std::string_view key) {
  TokenBucket* found = bucket(key);
  if (found == nullptr) return unknown_key(key);
  return found->try_acquire();
}

Status RateLimiter::acquire(std::string_view key, Duration timeout) {
  TokenBucket* found = bucket(key);
  if (found == nullptr) return unknown_key(key);
  return found->acquire(timeout);
}

Result<Duration> RateLimiter::time_until_next_permit(std::string_view key) const {
  TokenBucket* found = bucket(key);
  if (found == nullptr) return unknown_key(key);
  return found->time_until_next_permit();
}

std::vector<std::string> RateLimiter::keys() const {
  std::vector<std::string> keys;
  keys.reserve(buckets_.size());
  for (const auto& entry : buckets_) keys.push_back(entry.first);
  return keys;
}

}  // namespace echoes

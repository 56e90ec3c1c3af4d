// Resilience benchmarks: decisions per second of the CircuitBreaker (permission + recorded
// outcome) and of the RateLimiter (one permit), single-threaded and with two threads contending
// for one instance, on the real clock. Target: at least 10 M decisions/s single-threaded for each.
//
//   build/release/benchmarks/echoes_resilience_bench
//   build/release/benchmarks/echoes_resilience_bench --benchmark_filter=Breaker
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include "core/base/clock.h"
#include "core/safety/circuit_breaker.h"
#include "core/safety/rate_limiter.h"

namespace {

using echoes::CircuitBreaker;
using echoes::CircuitBreakerConfig;
using echoes::ErrorCode;
using echoes::SystemClock;

constexpr echoes::Duration kCallDuration = std::chrono::milliseconds(20);

CircuitBreakerConfig breaker_config(echoes::SlidingWindowType type) {
  CircuitBreakerConfig config;
  config.sliding_window_type = type;
  config.sliding_window_size = 100;  // 100 calls or 100 seconds
  config.minimum_number_of_calls = 10;
  return config;
}

// One instance shared by every thread of a run (Google Benchmark calls the function per thread).
CircuitBreaker& shared_breaker(echoes::SlidingWindowType type) {
  static CircuitBreaker count_based(breaker_config(echoes::SlidingWindowType::kCountBased),
                                    SystemClock::instance());
  static CircuitBreaker time_based(breaker_config(echoes::SlidingWindowType::kTimeBased),
                                   SystemClock::instance());
  return type == echoes::SlidingWindowType::kCountBased ? count_based : time_based;
}

// A CLOSED breaker: permission, then a success (one failure in ten, below the 50% threshold).
void permit_and_record(benchmark::State& state, echoes::SlidingWindowType type) {
  CircuitBreaker& breaker = shared_breaker(type);
  std::uint64_t i = 0;
  for (auto _ : state) {
    echoes::Status permit = breaker.try_acquire_permission();
    benchmark::DoNotOptimize(permit);
    if (++i % 10 == 0) {
      breaker.on_error(kCallDuration, ErrorCode::kServerError);
    } else {
      breaker.on_success(kCallDuration);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  if (state.thread_index() == 0 && breaker.state() != echoes::CircuitState::kClosed) {
    state.SkipWithError("the breaker left CLOSED; the figures would measure refusals");
  }
}

void BM_BreakerPermitAndRecordCountWindow(benchmark::State& state) {
  permit_and_record(state, echoes::SlidingWindowType::kCountBased);
}
BENCHMARK(BM_BreakerPermitAndRecordCountWindow);
BENCHMARK(BM_BreakerPermitAndRecordCountWindow)->Threads(2)->UseRealTime();

void BM_BreakerPermitAndRecordTimeWindow(benchmark::State& state) {
  permit_and_record(state, echoes::SlidingWindowType::kTimeBased);
}
BENCHMARK(BM_BreakerPermitAndRecordTimeWindow);
BENCHMARK(BM_BreakerPermitAndRecordTimeWindow)->Threads(2)->UseRealTime();

// An OPEN breaker refusing: a clock read and the kCircuitOpen error value.
void BM_BreakerRefusalWhileOpen(benchmark::State& state) {
  CircuitBreakerConfig config = breaker_config(echoes::SlidingWindowType::kCountBased);
  config.wait_duration_in_open_state = std::chrono::hours(24);
  CircuitBreaker breaker(config, SystemClock::instance());
  for (int i = 0; i < 10; ++i) {
    if (breaker.try_acquire_permission().ok()) breaker.on_error(kCallDuration, ErrorCode::kTimeout);
  }
  if (breaker.state() != echoes::CircuitState::kOpen) state.SkipWithError("the breaker did not open");
  for (auto _ : state) {
    echoes::Status permit = breaker.try_acquire_permission();
    benchmark::DoNotOptimize(permit);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_BreakerRefusalWhileOpen);

// A bucket fast enough never to refuse: the admitted path.
echoes::TokenBucket& shared_fast_bucket() {
  static echoes::TokenBucket bucket(
      echoes::RateLimit{1'000'000'000'000, std::chrono::seconds(1), 1'000'000},
      SystemClock::instance(), "bench");
  return bucket;
}

void BM_LimiterTryAcquire(benchmark::State& state) {
  echoes::TokenBucket& bucket = shared_fast_bucket();
  std::int64_t refused = 0;
  for (auto _ : state) {
    echoes::Status permit = bucket.try_acquire();
    refused += !permit.ok();
    benchmark::DoNotOptimize(permit);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["refused"] = static_cast<double>(refused);
}
BENCHMARK(BM_LimiterTryAcquire);
BENCHMARK(BM_LimiterTryAcquire)->Threads(2)->UseRealTime();

// The keyed limiter as a caller without a cached bucket uses it: look the key up, take a permit.
void BM_LimiterTryAcquireByKey(benchmark::State& state) {
  echoes::RateLimiterConfig config = echoes::RateLimiterConfig::defaults();
  config.limits["bench"] = echoes::RateLimit{1'000'000'000'000, std::chrono::seconds(1), 1'000'000};
  echoes::RateLimiter limiter(config, SystemClock::instance());
  for (auto _ : state) {
    echoes::Status permit = limiter.try_acquire("bench");
    benchmark::DoNotOptimize(permit);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_LimiterTryAcquireByKey);

// An empty bucket: every decision is a refusal with retry_after.
void BM_LimiterRefusal(benchmark::State& state) {
  echoes::TokenBucket bucket(echoes::RateLimit{1, std::chrono::hours(1), 1}, SystemClock::instance(),
                             "bench");
  (void)bucket.try_acquire();
  for (auto _ : state) {
    echoes::Status permit = bucket.try_acquire();
    benchmark::DoNotOptimize(permit);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_LimiterRefusal);

}  // namespace

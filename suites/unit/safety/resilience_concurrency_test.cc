// The limiter and the breaker used together as the client uses them around each upstream attempt
// (a limiter permit, then the breaker's permission, then a recorded outcome), hammered from several
// threads while another moves the clock and a third reads metrics. Run under the tsan preset this
// is the data-race check for both; here it also checks that every attempt ends in exactly one
// outcome and that the limiter's bound holds across threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/base/clock.h"
#include "core/safety/circuit_breaker.h"
#include "core/safety/rate_limiter.h"
#include "suites/unit/safety/breaker_permit_check.h"

namespace echoes {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ResilienceConcurrencyTest, LimiterThenBreakerFromManyThreads) {
  FakeClock clock;
  RateLimiterConfig limits;
  RateLimit limit;
  limit.permits = 1000;  // one permit per millisecond
  limit.period = std::chrono::seconds(1);
  limit.burst = 20;
  limits.limits["upstream"] = limit;
  RateLimiter limiter(limits, clock);

  CircuitBreakerConfig config;
  config.sliding_window_type = SlidingWindowType::kTimeBased;
  config.sliding_window_size = 2;
  config.minimum_number_of_calls = 5;
  config.wait_duration_in_open_state = milliseconds(20);
  config.permitted_number_of_calls_in_half_open_state = 2;
  CircuitBreaker breaker(config, clock);
  std::mutex events_mutex;
  std::vector<CircuitStateTransition> events;
  breaker.add_listener([&](const CircuitStateTransition& e) {
    std::lock_guard lock(events_mutex);
    events.push_back(e);
  });

  constexpr int kWorkers = 4;
  constexpr int kAttemptsPerWorker = 3000;
  std::atomic<int> succeeded{0};
  std::atomic<int> failed{0};
  std::atomic<int> limited{0};
  std::atomic<int> circuit_open{0};
  std::atomic<int> workers_done{0};
  const TimePoint start = clock.now();

  std::vector<std::thread> threads;
  // Workers use EXPECT (not ASSERT) so that each always reaches workers_done, which ends the
  // clock and observer threads.
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kAttemptsPerWorker; ++i) {
        if (Status permit = limiter.acquire("upstream", microseconds(500)); !permit) {
          EXPECT_EQ(permit.error().code, ErrorCode::kRateLimitedLocally);
          ++limited;
          continue;
        }
        if (Status allowed = breaker.try_acquire_permission(); !allowed) {
          EXPECT_EQ(allowed.error().code, ErrorCode::kCircuitOpen);
          ++circuit_open;
          continue;
        }
        // Failures come in streaks, so the breaker opens and closes again many times.
        if ((i / 50 + w) % 2 == 0) {
          breaker.on_error(milliseconds(1), ErrorCode::kServerError);
          ++failed;
        } else {
          breaker.on_success(milliseconds(1));
          ++succeeded;
        }
      }
      ++workers_done;
    });
  }
  threads.emplace_back([&] {  // the clock
    for (int i = 0; i < 20000 && workers_done.load() < kWorkers; ++i) clock.advance(microseconds(50));
  });
  threads.emplace_back([&] {  // an observer
    while (workers_done.load() < kWorkers) {
      const CircuitBreakerMetrics m = breaker.metrics();
      ASSERT_LE(m.failed_calls, m.buffered_calls);
      ASSERT_TRUE(limiter.time_until_next_permit("upstream").ok());
      std::this_thread::yield();
    }
  });
  for (auto& thread : threads) thread.join();

  // Both refusals happened (each worker's counts add up by construction, so they prove nothing).
  EXPECT_GT(limited.load(), 0);
  EXPECT_GT(circuit_open.load(), 0);
  expect_no_outstanding_trial_permit(breaker, clock, config);
  const auto elapsed_ms = std::chrono::duration_cast<milliseconds>(clock.now() - start).count();
  // Admitted by the limiter: rate * t + burst at most (t rounded up to a whole millisecond).
  EXPECT_LE(succeeded + failed + circuit_open, elapsed_ms + 1 + 20);
  EXPECT_GE(succeeded + failed + circuit_open, 20);  // the burst, at least
  // Transitions are delivered in order, chained, with times that never go backwards.
  std::lock_guard lock(events_mutex);
  for (std::size_t i = 1; i < events.size(); ++i) {
    ASSERT_EQ(events[i].from, events[i - 1].to) << "event " << i;
    ASSERT_GE(events[i].at, events[i - 1].at) << "event " << i;
  }
  if (!events.empty()) {
    EXPECT_EQ(events.front().from, CircuitState::kClosed);
    EXPECT_EQ(events.back().to, breaker.state());
  }
  RecordProperty("breaker_transitions", static_cast<int>(events.size()));
}

}  // namespace
}  // namespace echoes

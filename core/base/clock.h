// Clock: the source of time for everything that waits or measures (retry back-off, circuit breaker
// windows, rate limiter refills, deadlines, latency). Components take a Clock& so tests drive time
// with FakeClock and never sleep for real.
//
//   FakeClock clock;                     // starts at an arbitrary fixed point
//   CircuitBreaker breaker(config, clock);
//   clock.advance(std::chrono::seconds(30));
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

namespace echoes {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time: for intervals, deadlines and windows.
  virtual TimePoint now() const = 0;
  // Calendar time: only for wall-clock values on the wire (HTTP dates in retry-after).
  virtual WallTime wall_now() const = 0;
  // Blocks the calling thread for `d` (the real clock) or advances time by `d` (the fake).
  virtual void sleep_for(Duration d) = 0;
};

// The process's real clocks. Thread-safe; stateless.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  void sleep_for(Duration d) override;
  // A shared instance for production code that is not given a clock.
  static SystemClock& instance();
};

// A clock that moves only when told. sleep_for(d) advances time by d at once and records d, so
// code that backs off can be tested without waiting. Thread-safe.
class FakeClock final : public Clock {
 public:
  // Starts at a fixed, arbitrary steady time and at 2026-01-01T00:00:00Z wall time.
  FakeClock();

  TimePoint now() const override;
  WallTime wall_now() const override;
  void sleep_for(Duration d) override;

  // Moves both clocks forward by d (d >= 0).
  void advance(Duration d);
  // Every duration passed to sleep_for so far, in order.
  std::vector<Duration> sleeps() const;
  Duration total_slept() const;

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
  WallTime wall_now_;
  std::vector<Duration> sleeps_;
};

}  // namespace echoes

#include "core/base/clock.h"

#include <cassert>
#include <numeric>
#include <thread>

namespace echoes {

void SystemClock::sleep_for(Duration d) {
  if (d > Duration::zero()) std::this_thread::sleep_for(d);
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock()
    : now_(TimePoint(std::chrono::hours(1000))),
      wall_now_(WallTime(std::chrono::seconds(1767225600))) {}  // 2026-01-01T00:00:00Z

TimePoint FakeClock::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

WallTime FakeClock::wall_now() const {
  std::lock_guard lock(mutex_);
  return wall_now_;
}

void FakeClock::sleep_for(Duration d) {
  std::lock_guard lock(mutex_);
  sleeps_.push_back(d);
  if (d > Duration::zero()) {
    now_ += d;
    wall_now_ += std::chrono::duration_cast<WallTime::duration>(d);
  }
}

void FakeClock::advance(Duration d) {
  assert(d >= Duration::zero());
  std::lock_guard lock(mutex_);
  now_ += d;
  wall_now_ += std::chrono::duration_cast<WallTime::duration>(d);
}

std::vector<Duration> FakeClock::sleeps() const {
  std::lock_guard lock(mutex_);
  return sleeps_;
}

Duration FakeClock::total_slept() const {
  std::lock_guard lock(mutex_);
  return std::accumulate(sleeps_.begin(), sleeps_.end(), Duration::zero());
}

}  // namespace echoes

// Internal: a delay from a number of milliseconds that came from hostile input (a latency
// distribution's draw, a recorded stream offset times a time scale), range-checked.
//
//   Duration wait = internal::delay_from_ms(offset_ms * time_scale);  // at most a day
#pragma once

#include <chrono>

#include "core/base/clock.h"

namespace echoes::mock::internal {

// The longest delay the server waits for anything it was told to wait for.
inline constexpr double kLongestDelayMs = 24.0 * 3600 * 1000;

// `ms` milliseconds, capped at kLongestDelayMs; zero for a negative value or NaN. A double beyond
// what a Duration holds cannot be converted (undefined behaviour), so the range is checked on
// the double.
inline Duration delay_from_ms(double ms) {
  if (!(ms > 0)) return Duration::zero();  // also NaN
  if (ms > kLongestDelayMs) ms = kLongestDelayMs;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace echoes::mock::internal

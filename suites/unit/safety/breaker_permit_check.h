// A check shared by the breaker's concurrency tests: after a run, no trial permit is outstanding.
#pragma once

#include <gtest/gtest.h>

#include "core/base/clock.h"
#include "core/safety/circuit_breaker.h"

namespace echoes {

// Once HALF_OPEN, exactly the trial permits its window has not used can be taken: a permit lost
// on some path (taken and never recorded) would leave fewer. Moves an OPEN breaker past its wait
// first; a CLOSED breaker has no trial permits to check.
inline void expect_no_outstanding_trial_permit(CircuitBreaker& breaker, FakeClock& clock,
                                               const CircuitBreakerConfig& config) {
  if (breaker.state() == CircuitState::kOpen) clock.advance(config.wait_duration_in_open_state);
  if (breaker.state() == CircuitState::kClosed) return;
  int taken = 0;
  while (taken <= config.permitted_number_of_calls_in_half_open_state &&
         breaker.try_acquire_permission().ok()) {
    ++taken;
  }
  EXPECT_EQ(breaker.state(), CircuitState::kHalfOpen);
  EXPECT_EQ(taken + breaker.metrics().buffered_calls,
            config.permitted_number_of_calls_in_half_open_state);
}

}  // namespace echoes

// The breaker's state machine driven by a FakeClock, asserting state and metrics after each step
// (in the manner of resilience4j's CircuitBreakerStateMachineTest).
#include "core/safety/circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "suites/unit/safety/breaker_permit_check.h"

namespace echoes {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Duration kFast = milliseconds(10);

// A count-based breaker small enough to reason about: window 5, minimum 5, failure threshold 50%,
// slow calls above 1 s with threshold 100%, 5 s in OPEN, 3 trial calls.
CircuitBreakerConfig small_config() {
  CircuitBreakerConfig config;
  config.sliding_window_size = 5;
  config.minimum_number_of_calls = 5;
  config.failure_rate_threshold_percent = 50;
  config.slow_call_duration_threshold = seconds(1);
  config.slow_call_rate_threshold_percent = 100;
  config.wait_duration_in_open_state = seconds(5);
  config.permitted_number_of_calls_in_half_open_state = 3;
  return config;
}

struct Expected {
  CircuitState state;
  int buffered = 0;
  int failed = 0;
  std::uint64_t not_permitted = 0;
};

void expect_breaker(const CircuitBreaker& breaker, const Expected& expected) {
  const CircuitBreakerMetrics m = breaker.metrics();
  EXPECT_EQ(to_string(breaker.state()), to_string(expected.state));
  EXPECT_EQ(m.buffered_calls, expected.buffered);
  EXPECT_EQ(m.failed_calls, expected.failed);
  EXPECT_EQ(m.not_permitted_calls, expected.not_permitted);
}

// A permitted call that succeeds (or fails with `code`) taking `duration`.
void call(CircuitBreaker& breaker, std::optional<ErrorCode> code, Duration duration = kFast) {
  Status permit = breaker.try_acquire_permission();
  ASSERT_TRUE(permit.ok()) << permit.error().to_string();
  if (code) {
    breaker.on_error(duration, *code);
  } else {
    breaker.on_success(duration);
  }
}
void succeed(CircuitBreaker& breaker, Duration duration = kFast) {
  call(breaker, std::nullopt, duration);
}
void fail(CircuitBreaker& breaker, ErrorCode code = ErrorCode::kServerError) { call(breaker, code); }

// Opens a small_config() breaker with five failures.
void open_breaker(CircuitBreaker& breaker) {
  for (int i = 0; i < 5; ++i) fail(breaker);
  ASSERT_EQ(breaker.state(), CircuitState::kOpen);
}

TEST(CircuitBreakerConfigTest, DefaultsAreValid) {
  EXPECT_TRUE(CircuitBreakerConfig{}.validate().ok());
  EXPECT_TRUE(small_config().validate().ok());
}

TEST(CircuitBreakerConfigTest, RejectsEachFieldOutOfRange) {
  struct Row {
    const char* field;
    void (*spoil)(CircuitBreakerConfig&);
  };
  const Row rows[] = {
      {"failure_rate_threshold_percent", [](CircuitBreakerConfig& c) { c.failure_rate_threshold_percent = 0; }},
      {"failure_rate_threshold_percent", [](CircuitBreakerConfig& c) { c.failure_rate_threshold_percent = 100.5; }},
      {"slow_call_rate_threshold_percent", [](CircuitBreakerConfig& c) { c.slow_call_rate_threshold_percent = -1; }},
      {"slow_call_duration_threshold", [](CircuitBreakerConfig& c) { c.slow_call_duration_threshold = Duration::zero(); }},
      {"sliding_window_size", [](CircuitBreakerConfig& c) { c.sliding_window_size = 0; }},
      {"minimum_number_of_calls", [](CircuitBreakerConfig& c) { c.minimum_number_of_calls = 0; }},
      {"wait_duration_in_open_state", [](CircuitBreakerConfig& c) { c.wait_duration_in_open_state = -seconds(1); }},
      {"max_wait_duration_in_half_open_state", [](CircuitBreakerConfig& c) { c.max_wait_duration_in_half_open_state = -milliseconds(1); }},
      {"permitted_number_of_calls_in_half_open_state", [](CircuitBreakerConfig& c) { c.permitted_number_of_calls_in_half_open_state = 0; }},
      {"records_as_failure", [](CircuitBreakerConfig& c) { c.records_as_failure = nullptr; }},
      {"ignores", [](CircuitBreakerConfig& c) { c.ignores = nullptr; }},
  };
  FakeClock clock;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.field);
    CircuitBreakerConfig config = small_config();
    row.spoil(config);
    Status valid = config.validate();
    ASSERT_FALSE(valid.ok());
    EXPECT_EQ(valid.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(valid.error().context, row.field);
    auto created = CircuitBreaker::create(config, clock);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().context, row.field);
  }
  EXPECT_TRUE(CircuitBreaker::create(small_config(), clock).ok());
}

TEST(CircuitBreakerConfigTest, DefaultFailureAndIgnoredCodes) {
  for (ErrorCode code : kAllErrorCodes) {
    SCOPED_TRACE(std::string(to_string(code)));
    const bool failure = code == ErrorCode::kServerError || code == ErrorCode::kTimeout ||
                         code == ErrorCode::kConnection || code == ErrorCode::kMalformedResponse ||
                         code == ErrorCode::kStreamTruncated ||
                         code == ErrorCode::kRateLimitedUpstream;
    EXPECT_EQ(is_upstream_failure(code), failure);
    EXPECT_EQ(never_reached_upstream(code),
              code == ErrorCode::kCircuitOpen || code == ErrorCode::kRateLimitedLocally);
    EXPECT_EQ(says_nothing_about_upstream(code),
              code == ErrorCode::kCircuitOpen || code == ErrorCode::kRateLimitedLocally ||
                  code == ErrorCode::kUnexpectedException);
  }
}

TEST(CircuitStateTest, Names) {
  EXPECT_EQ(to_string(CircuitState::kClosed), "closed");
  EXPECT_EQ(to_string(CircuitState::kOpen), "open");
  EXPECT_EQ(to_string(CircuitState::kHalfOpen), "half_open");
  EXPECT_EQ(to_string(CircuitState::kDisabled), "disabled");
  EXPECT_EQ(to_string(CircuitState::kForcedOpen), "forced_open");
  EXPECT_EQ(to_string(CircuitState::kMetricsOnly), "metrics_only");
}

TEST(CircuitBreakerTest, StartsClosedWithEmptyMetrics) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  expect_breaker(breaker, {CircuitState::kClosed});
  const CircuitBreakerMetrics m = breaker.metrics();
  EXPECT_FALSE(m.failure_rate_percent.has_value());
  EXPECT_FALSE(m.slow_call_rate_percent.has_value());
}

TEST(CircuitBreakerTest, RatesAreUnknownBelowMinimumCallsThenOpenAtThreshold) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  fail(breaker);
  fail(breaker);
  succeed(breaker);
  succeed(breaker);
  expect_breaker(breaker, {CircuitState::kClosed, 4, 2});
  EXPECT_FALSE(breaker.metrics().failure_rate_percent.has_value());  // 4 < minimum 5

  fail(breaker);  // 3 of 5 failed: 60% >= 50%
  expect_breaker(breaker, {CircuitState::kOpen, 5, 3});
  EXPECT_DOUBLE_EQ(*breaker.metrics().failure_rate_percent, 60.0);
  EXPECT_DOUBLE_EQ(*breaker.metrics().slow_call_rate_percent, 0.0);
}

TEST(CircuitBreakerTest, StaysClosedBelowThreshold) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  for (int i = 0; i < 3; ++i) succeed(breaker);
  fail(breaker);
  fail(breaker);  // 2 of 5: 40%
  expect_breaker(breaker, {CircuitState::kClosed, 5, 2});
  EXPECT_DOUBLE_EQ(*breaker.metrics().failure_rate_percent, 40.0);
}

TEST(CircuitBreakerTest, CountWindowDropsTheOldestCall) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.failure_rate_threshold_percent = 80;
  CircuitBreaker breaker(config, clock);
  fail(breaker);
  fail(breaker);
  for (int i = 0; i < 3; ++i) succeed(breaker);
  expect_breaker(breaker, {CircuitState::kClosed, 5, 2});
  succeed(breaker);  // pushes out the first failure
  expect_breaker(breaker, {CircuitState::kClosed, 5, 1});
  succeed(breaker);
  expect_breaker(breaker, {CircuitState::kClosed, 5, 0});
}

TEST(CircuitBreakerTest, OpenRefusesWithTimeUntilHalfOpenAndCountsRefusals) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  expect_breaker(breaker, {CircuitState::kOpen, 5, 5, 0});

  Status refused = breaker.try_acquire_permission();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCircuitOpen);
  EXPECT_EQ(refused.error().retry_after, milliseconds(5000));
  expect_breaker(breaker, {CircuitState::kOpen, 5, 5, 1});

  clock.advance(milliseconds(3500) + std::chrono::microseconds(1));
  refused = breaker.try_acquire_permission();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().retry_after, milliseconds(1500));  // 1499.999 ms rounded up
  expect_breaker(breaker, {CircuitState::kOpen, 5, 5, 2});

  // Time alone does not move the state: the next permission request does.
  clock.advance(seconds(10));
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  EXPECT_TRUE(breaker.try_acquire_permission().ok());
  expect_breaker(breaker, {CircuitState::kHalfOpen, 0, 0, 0});
}

TEST(CircuitBreakerTest, OpenMovesToHalfOpenExactlyWhenTheWaitEnds) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  clock.advance(seconds(5) - std::chrono::nanoseconds(1));
  Status refused = breaker.try_acquire_permission();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().retry_after, milliseconds(1));
  clock.advance(std::chrono::nanoseconds(1));
  EXPECT_TRUE(breaker.try_acquire_permission().ok());
  EXPECT_EQ(breaker.state(), CircuitState::kHalfOpen);
}

TEST(CircuitBreakerTest, OpenStillRecordsCallsPermittedBeforeItOpened) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  ASSERT_TRUE(breaker.try_acquire_permission().ok());  // in flight while the breaker opens
  open_breaker(breaker);
  breaker.on_success(kFast);
  expect_breaker(breaker, {CircuitState::kOpen, 5, 4});
}

TEST(CircuitBreakerTest, HalfOpenPermitsOnlyTheTrialCalls) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  clock.advance(seconds(5));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(breaker.try_acquire_permission().ok());
  }
  Status refused = breaker.try_acquire_permission();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCircuitOpen);
  EXPECT_FALSE(refused.error().retry_after.has_value());
  expect_breaker(breaker, {CircuitState::kHalfOpen, 0, 0, 1});

  breaker.release_permission();  // one trial call was not made after all
  EXPECT_TRUE(breaker.try_acquire_permission().ok());
  EXPECT_FALSE(breaker.try_acquire_permission().ok());
  expect_breaker(breaker, {CircuitState::kHalfOpen, 0, 0, 2});
}

TEST(CircuitBreakerTest, ReleasingAPermitFromBeforeHalfOpenAddsNoTrialCall) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  ASSERT_TRUE(breaker.try_acquire_permission().ok());  // taken while CLOSED, never used
  open_breaker(breaker);
  clock.advance(seconds(5));
  ASSERT_TRUE(breaker.try_acquire_permission().ok());  // to HALF_OPEN, one trial permit taken
  breaker.release_permission();  // returns the trial permit
  breaker.release_permission();  // the CLOSED permit: HALF_OPEN already has all 3 again
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(breaker.try_acquire_permission().ok());
  EXPECT_FALSE(breaker.try_acquire_permission().ok());  // never more than 3 trial calls
  expect_breaker(breaker, {CircuitState::kHalfOpen, 0, 0, 1});
}

TEST(CircuitBreakerTest, HalfOpenClosesWhenTrialsSucceed) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  clock.advance(seconds(5));
  succeed(breaker);
  expect_breaker(breaker, {CircuitState::kHalfOpen, 1, 0});
  fail(breaker);
  expect_breaker(breaker, {CircuitState::kHalfOpen, 2, 1});
  succeed(breaker);  // 1 of 3 failed: 33% < 50%
  expect_breaker(breaker, {CircuitState::kClosed, 0, 0});
  EXPECT_TRUE(breaker.try_acquire_permission().ok());
}

TEST(CircuitBreakerTest, HalfOpenReopensWhenTrialsFail) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  clock.advance(seconds(5));
  fail(breaker);
  succeed(breaker);
  fail(breaker);  // 2 of 3 failed
  expect_breaker(breaker, {CircuitState::kOpen, 3, 2});
  Status refused = breaker.try_acquire_permission();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().retry_after, milliseconds(5000));  // a fresh wait from the reopening
}

TEST(CircuitBreakerTest, HalfOpenEvaluatesAfterMinimumCallsWhenSmaller) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.minimum_number_of_calls = 2;
  config.sliding_window_size = 2;
  CircuitBreaker breaker(config, clock);
  fail(breaker);
  fail(breaker);
  ASSERT_EQ(breaker.state(), CircuitState::kOpen);
  clock.advance(seconds(5));
  succeed(breaker);
  EXPECT_EQ(breaker.state(), CircuitState::kHalfOpen);
  succeed(breaker);  // min(2, 3) trial calls decide
  EXPECT_EQ(breaker.state(), CircuitState::kClosed);
}

TEST(CircuitBreakerTest, SlowCallsAreStrictlyLongerThanTheThreshold) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.slow_call_rate_threshold_percent = 60;
  CircuitBreaker breaker(config, clock);
  succeed(breaker, seconds(1));  // exactly the threshold: not slow
  succeed(breaker, seconds(1) + std::chrono::nanoseconds(1));
  call(breaker, ErrorCode::kServerError, seconds(2));
  EXPECT_EQ(breaker.metrics().slow_calls, 2);
  EXPECT_EQ(breaker.metrics().slow_failed_calls, 1);
  succeed(breaker);
  EXPECT_EQ(breaker.state(), CircuitState::kClosed);
  succeed(breaker, seconds(3));  // 3 of 5 slow: 60%; 1 of 5 failed
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  const CircuitBreakerMetrics m = breaker.metrics();
  EXPECT_DOUBLE_EQ(*m.slow_call_rate_percent, 60.0);
  EXPECT_DOUBLE_EQ(*m.failure_rate_percent, 20.0);
  EXPECT_EQ(m.successful_calls, 4);
}

TEST(CircuitBreakerTest, ErrorsAreFailuresSuccessesOrIgnoredByCode) {
  struct Row {
    ErrorCode code;
    int buffered;
    int failed;
  };
  const Row rows[] = {
      {ErrorCode::kServerError, 1, 1},        {ErrorCode::kTimeout, 1, 1},
      {ErrorCode::kConnection, 1, 1},         {ErrorCode::kMalformedResponse, 1, 1},
      {ErrorCode::kStreamTruncated, 1, 1},    {ErrorCode::kRateLimitedUpstream, 1, 1},
      {ErrorCode::kBadRequest, 1, 0},         {ErrorCode::kAuthentication, 1, 0},
      {ErrorCode::kNotFound, 1, 0},           {ErrorCode::kUnprocessable, 1, 0},
      {ErrorCode::kCircuitOpen, 0, 0},        {ErrorCode::kRateLimitedLocally, 0, 0},
  };
  FakeClock clock;
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(to_string(row.code)));
    CircuitBreaker breaker(small_config(), clock);
    fail(breaker, row.code);
    expect_breaker(breaker, {CircuitState::kClosed, row.buffered, row.failed});
  }
}

TEST(CircuitBreakerTest, CustomFailurePredicate) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.records_as_failure = [](ErrorCode code) { return code == ErrorCode::kBadRequest; };
  config.ignores = [](ErrorCode code) { return code == ErrorCode::kServerError; };
  CircuitBreaker breaker(config, clock);
  fail(breaker, ErrorCode::kBadRequest);
  fail(breaker, ErrorCode::kTimeout);
  fail(breaker, ErrorCode::kServerError);
  expect_breaker(breaker, {CircuitState::kClosed, 2, 1});
}

TEST(CircuitBreakerTest, IgnoredErrorReturnsTheHalfOpenPermit) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  clock.advance(seconds(5));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(breaker.try_acquire_permission().ok());
  breaker.on_error(kFast, ErrorCode::kRateLimitedLocally);
  EXPECT_TRUE(breaker.try_acquire_permission().ok());
  expect_breaker(breaker, {CircuitState::kHalfOpen, 0, 0, 0});
}

TEST(CircuitBreakerTest, TimeWindowForgetsCallsOlderThanItsSeconds) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.sliding_window_type = SlidingWindowType::kTimeBased;
  config.sliding_window_size = 3;  // seconds
  config.minimum_number_of_calls = 4;
  CircuitBreaker breaker(config, clock);

  fail(breaker);  // second 0
  clock.advance(seconds(1));
  fail(breaker);  // second 1
  succeed(breaker);
  expect_breaker(breaker, {CircuitState::kClosed, 3, 2});
  clock.advance(seconds(2));  // second 3: second 0 has left the window
  expect_breaker(breaker, {CircuitState::kClosed, 2, 1});
  succeed(breaker);
  succeed(breaker);  // 4 calls, 1 failed
  expect_breaker(breaker, {CircuitState::kClosed, 4, 1});
  clock.advance(milliseconds(999));  // still second 3
  expect_breaker(breaker, {CircuitState::kClosed, 4, 1});
  clock.advance(milliseconds(1));  // second 4: second 1 leaves
  expect_breaker(breaker, {CircuitState::kClosed, 2, 0});
  clock.advance(seconds(100));
  expect_breaker(breaker, {CircuitState::kClosed, 0, 0});
}

TEST(CircuitBreakerTest, TimeWindowOpensOnFailureRateWithinTheWindow) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.sliding_window_type = SlidingWindowType::kTimeBased;
  config.sliding_window_size = 10;
  config.minimum_number_of_calls = 10;  // not capped by the window size when time-based
  CircuitBreaker breaker(config, clock);
  for (int i = 0; i < 9; ++i) {
    fail(breaker);
    clock.advance(milliseconds(500));
  }
  expect_breaker(breaker, {CircuitState::kClosed, 9, 9});
  fail(breaker);
  expect_breaker(breaker, {CircuitState::kOpen, 10, 10});
}

TEST(CircuitBreakerTest, DisabledPermitsEverythingAndRecordsNothing) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  fail(breaker);
  breaker.disable();
  expect_breaker(breaker, {CircuitState::kDisabled});
  for (int i = 0; i < 20; ++i) fail(breaker);
  expect_breaker(breaker, {CircuitState::kDisabled});
  breaker.reset();
  expect_breaker(breaker, {CircuitState::kClosed});
}

TEST(CircuitBreakerTest, ForcedOpenRefusesUntilReset) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  breaker.force_open();
  for (int i = 0; i < 3; ++i) {
    Status refused = breaker.try_acquire_permission();
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kCircuitOpen);
    EXPECT_FALSE(refused.error().retry_after.has_value());
  }
  clock.advance(seconds(3600));
  EXPECT_FALSE(breaker.try_acquire_permission().ok());
  breaker.on_error(kFast, ErrorCode::kServerError);  // a late outcome is not recorded
  expect_breaker(breaker, {CircuitState::kForcedOpen, 0, 0, 4});
  breaker.reset();
  expect_breaker(breaker, {CircuitState::kClosed});
  EXPECT_TRUE(breaker.try_acquire_permission().ok());
}

TEST(CircuitBreakerTest, ResetFromOpenClearsTheWindow) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  EXPECT_FALSE(breaker.try_acquire_permission().ok());
  breaker.reset();
  expect_breaker(breaker, {CircuitState::kClosed});
  fail(breaker);
  expect_breaker(breaker, {CircuitState::kClosed, 1, 1});
}

TEST(CircuitBreakerTest, PublishesEveryTransitionInOrderWithItsTime) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  std::vector<CircuitStateTransition> events;
  breaker.add_listener([&](const CircuitStateTransition& e) { events.push_back(e); });
  const TimePoint t0 = clock.now();

  open_breaker(breaker);  // t0
  clock.advance(seconds(5));
  fail(breaker);  // t0+5: to half-open
  fail(breaker);
  fail(breaker);  // back to open
  clock.advance(seconds(5));
  for (int i = 0; i < 3; ++i) succeed(breaker);  // t0+10: half-open, then closed
  breaker.disable();
  breaker.disable();  // no change, no event
  breaker.force_open();
  breaker.reset();
  breaker.reset();

  using S = CircuitState;
  const std::vector<CircuitStateTransition> expected = {
      {S::kClosed, S::kOpen, t0},
      {S::kOpen, S::kHalfOpen, t0 + seconds(5)},
      {S::kHalfOpen, S::kOpen, t0 + seconds(5)},
      {S::kOpen, S::kHalfOpen, t0 + seconds(10)},
      {S::kHalfOpen, S::kClosed, t0 + seconds(10)},
      {S::kClosed, S::kDisabled, t0 + seconds(10)},
      {S::kDisabled, S::kForcedOpen, t0 + seconds(10)},
      {S::kForcedOpen, S::kClosed, t0 + seconds(10)},
  };
  ASSERT_EQ(events.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(to_string(events[i].from), to_string(expected[i].from));
    EXPECT_EQ(to_string(events[i].to), to_string(expected[i].to));
    EXPECT_EQ(events[i].at, expected[i].at);
  }
}

// --- Timed transitions and METRICS_ONLY (resilience4j's CircuitBreakerStateMachineTest) ----------

// The transitions a listener saw, as "from>to@ms since t0".
struct TransitionLog {
  TimePoint t0;
  std::vector<std::string> seen;
  TransitionLog(CircuitBreaker& breaker, TimePoint start) : t0(start) {
    breaker.add_listener([this](const CircuitStateTransition& e) {
      seen.push_back(std::string(to_string(e.from)) + ">" + std::string(to_string(e.to)) + "@" +
                     std::to_string(std::chrono::duration_cast<milliseconds>(e.at - t0).count()));
    });
  }
};

TEST(CircuitBreakerTimedTest, AutomaticTransitionMovesOpenToHalfOpenWithoutACall) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.automatic_transition_from_open_to_half_open_enabled = true;
  CircuitBreaker breaker(config, clock);
  TransitionLog log(breaker, clock.now());
  open_breaker(breaker);
  expect_breaker(breaker, {CircuitState::kOpen, 5, 5, 0});

  clock.advance(seconds(5) - std::chrono::nanoseconds(1));
  expect_breaker(breaker, {CircuitState::kOpen, 5, 5, 0});
  // Observed 2 s late, by reading the state alone: the transition carries the time it was due.
  clock.advance(seconds(2) + std::chrono::nanoseconds(1));
  expect_breaker(breaker, {CircuitState::kHalfOpen, 0, 0, 0});
  EXPECT_EQ(log.seen, (std::vector<std::string>{"closed>open@0", "open>half_open@5000"}));

  // The trial permits are those of a fresh HALF_OPEN state.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(breaker.try_acquire_permission().ok());
  EXPECT_FALSE(breaker.try_acquire_permission().ok());
}

TEST(CircuitBreakerTimedTest, MetricsAloneAlsoApplyTheAutomaticTransition) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.automatic_transition_from_open_to_half_open_enabled = true;
  CircuitBreaker breaker(config, clock);
  open_breaker(breaker);
  clock.advance(seconds(5));
  const CircuitBreakerMetrics m = breaker.metrics();  // the half-open state's fresh window
  EXPECT_EQ(m.buffered_calls, 0);
  EXPECT_EQ(m.failed_calls, 0);
}

TEST(CircuitBreakerTimedTest, HalfOpenMovesToOpenWhenItsTrialsOutliveTheMaximumWait) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.max_wait_duration_in_half_open_state = seconds(2);
  CircuitBreaker breaker(config, clock);
  TransitionLog log(breaker, clock.now());
  open_breaker(breaker);
  clock.advance(seconds(5));
  ASSERT_TRUE(breaker.try_acquire_permission().ok());  // to HALF_OPEN at 5 s; never completes
  succeed(breaker);                                    // one of three trials completes
  expect_breaker(breaker, {CircuitState::kHalfOpen, 1, 0, 0});

  clock.advance(seconds(2) - std::chrono::nanoseconds(1));
  expect_breaker(breaker, {CircuitState::kHalfOpen, 1, 0, 0});
  clock.advance(std::chrono::nanoseconds(1) + milliseconds(300));  // observed 0.3 s late
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  EXPECT_EQ(log.seen, (std::vector<std::string>{"closed>open@0", "open>half_open@5000",
                                                "half_open>open@7000"}));
  // OPEN's wait runs from when the maximum wait ended (7 s), not from when it was noticed.
  Status refused = breaker.try_acquire_permission();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().retry_after, milliseconds(4700));

  // The trial call that outlived the half-open state completes late: OPEN records, stays OPEN.
  breaker.on_success(kFast);
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
}

TEST(CircuitBreakerTimedTest, ZeroMaximumWaitKeepsHalfOpenForEver) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);  // max_wait_duration_in_half_open_state = 0
  open_breaker(breaker);
  clock.advance(seconds(5));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(breaker.try_acquire_permission().ok());
  clock.advance(std::chrono::hours(24 * 365));
  expect_breaker(breaker, {CircuitState::kHalfOpen, 0, 0, 0});
  EXPECT_FALSE(breaker.try_acquire_permission().ok());  // every trial permit is still out
}

TEST(CircuitBreakerTimedTest, BothTimersCycleOpenAndHalfOpenObservedOnlyByReading) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.automatic_transition_from_open_to_half_open_enabled = true;
  config.max_wait_duration_in_half_open_state = seconds(1);
  CircuitBreaker breaker(config, clock);
  TransitionLog log(breaker, clock.now());
  open_breaker(breaker);
  clock.advance(seconds(5));
  EXPECT_EQ(breaker.state(), CircuitState::kHalfOpen);
  clock.advance(seconds(1));
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  // One read after two more due transitions publishes both, in order, at their due times.
  clock.advance(seconds(6) + milliseconds(500));
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  EXPECT_EQ(log.seen,
            (std::vector<std::string>{"closed>open@0", "open>half_open@5000", "half_open>open@6000",
                                      "open>half_open@11000", "half_open>open@12000"}));
  // A clock that jumps a year ahead does not loop for a year of cycles: it lands in the state
  // the last cycle is in (OPEN from 12 s + k * 6 s, HALF_OPEN 5 s later for 1 s).
  clock.advance(std::chrono::hours(24 * 365));
  const auto since_open = (clock.now() - log.t0 - seconds(12)) % seconds(6);
  EXPECT_EQ(breaker.state(),
            since_open < seconds(5) ? CircuitState::kOpen : CircuitState::kHalfOpen);
}

TEST(CircuitBreakerMetricsOnlyTest, RecordsAndNeverRefusesNorChangesState) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  TransitionLog log(breaker, clock.now());
  breaker.transition_to_metrics_only();
  for (int i = 0; i < 12; ++i) fail(breaker);  // far above the threshold; `fail` asserts a permit
  expect_breaker(breaker, {CircuitState::kMetricsOnly, 5, 5, 0});
  EXPECT_EQ(breaker.metrics().failure_rate_percent, 100.0);
  succeed(breaker, seconds(2));  // slow
  const CircuitBreakerMetrics m = breaker.metrics();
  EXPECT_EQ(m.failed_calls, 4);
  EXPECT_EQ(m.slow_calls, 1);
  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(breaker.state(), CircuitState::kMetricsOnly);
  breaker.reset();
  expect_breaker(breaker, {CircuitState::kClosed, 0, 0, 0});
  EXPECT_EQ(log.seen, (std::vector<std::string>{"closed>metrics_only@0", "metrics_only>closed@3600000"}));
}

TEST(CircuitBreakerMetricsOnlyTest, EnteringFromOpenStartsAFreshWindow) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  open_breaker(breaker);
  breaker.transition_to_metrics_only();
  expect_breaker(breaker, {CircuitState::kMetricsOnly, 0, 0, 0});
  EXPECT_TRUE(breaker.try_acquire_permission().ok());
}

TEST(CircuitBreakerTest, ListenerMayCallTheBreaker) {
  FakeClock clock;
  CircuitBreaker breaker(small_config(), clock);
  std::vector<std::string> seen;
  breaker.add_listener([&](const CircuitStateTransition& e) {
    seen.push_back(std::string(to_string(e.to)));
    if (e.to == CircuitState::kOpen) breaker.reset();  // a transition from inside a listener
  });
  for (int i = 0; i < 5; ++i) fail(breaker);  // opens, and the listener closes it again
  EXPECT_EQ(breaker.state(), CircuitState::kClosed);
  EXPECT_EQ(seen, (std::vector<std::string>{"open", "closed"}));
}

TEST(CircuitBreakerTest, ConcurrentCallsKeepTheStateMachineConsistent) {
  FakeClock clock;
  CircuitBreakerConfig config = small_config();
  config.sliding_window_size = 20;
  config.minimum_number_of_calls = 10;
  config.wait_duration_in_open_state = milliseconds(5);
  CircuitBreaker breaker(config, clock);
  std::mutex events_mutex;
  std::vector<CircuitStateTransition> events;
  breaker.add_listener([&](const CircuitStateTransition& e) {
    std::lock_guard lock(events_mutex);
    events.push_back(e);
  });

  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 5000;
  std::atomic<int> permitted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        if (breaker.try_acquire_permission().ok()) {
          ++permitted;
          if ((i + t) % 3 != 0) {  // two thirds fail, so the breaker keeps opening
            breaker.on_error(kFast, ErrorCode::kServerError);
          } else if ((i + t) % 7 == 0) {
            breaker.release_permission();
          } else {
            breaker.on_success(kFast);
          }
        } else {
          ++refused;
        }
        if (i % 10 == 0) clock.advance(milliseconds(1));
        if (i % 1000 == 0 && t == 0) {
          breaker.disable();
          breaker.reset();
        }
        (void)breaker.metrics();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_GT(permitted.load(), 0);
  EXPECT_GT(refused.load(), 0);
  const CircuitBreakerMetrics m = breaker.metrics();
  EXPECT_LE(m.buffered_calls, 20);
  EXPECT_LE(m.failed_calls, m.buffered_calls);
  expect_no_outstanding_trial_permit(breaker, clock, config);
  // Transitions chain: each starts where the previous ended, in time order.
  std::lock_guard lock(events_mutex);
  ASSERT_GE(events.size(), 2u);  // at least thread 0's disable() and reset()
  EXPECT_EQ(events.front().from, CircuitState::kClosed);
  for (std::size_t i = 1; i < events.size(); ++i) {
    ASSERT_EQ(events[i].from, events[i - 1].to) << "event " << i;
    ASSERT_GE(events[i].at, events[i - 1].at) << "event " << i;
  }
  EXPECT_EQ(events.back().to, breaker.state());
}

}  // namespace
}  // namespace echoes

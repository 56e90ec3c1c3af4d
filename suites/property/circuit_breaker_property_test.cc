// Properties of the CircuitBreaker: under any random sequence of permission requests, outcomes,
// releases, manual transitions and clock advances, the breaker behaves exactly like a simple model
// that keeps every call of the current window in a list and recomputes the rates from it.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <ostream>

#include "core/base/clock.h"
#include "core/safety/circuit_breaker.h"

namespace echoes {

// Shown by RapidCheck for a failing case (found by argument-dependent lookup; internal linkage).
static void showValue(const CircuitBreakerConfig& c, std::ostream& os) {
  os << (c.sliding_window_type == SlidingWindowType::kTimeBased ? "time" : "count")
     << " window " << c.sliding_window_size << ", minimum " << c.minimum_number_of_calls
     << ", failure >= " << c.failure_rate_threshold_percent << "%, slow >= "
     << c.slow_call_rate_threshold_percent << "% beyond " << c.slow_call_duration_threshold.count()
     << "ns, open " << c.wait_duration_in_open_state.count() << "ns"
     << (c.automatic_transition_from_open_to_half_open_enabled ? " (automatic)" : "")
     << ", half-open " << c.permitted_number_of_calls_in_half_open_state << " for at most "
     << c.max_wait_duration_in_half_open_state.count() << "ns";
}

namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr std::int64_t kSecondNs = 1'000'000'000;

struct ModelCall {
  std::int64_t second;
  bool failed;
  bool slow;
};

// The reference: one list of calls per window, no rings or buckets, rates recomputed each time.
struct BreakerModel {
  CircuitBreakerConfig config;
  std::int64_t now_ns = 0;  // absolute steady time, as the FakeClock reports it
  CircuitState state = CircuitState::kClosed;
  bool time_window = false;
  int window_size = 0;
  int minimum_calls = 0;
  std::deque<ModelCall> calls;
  std::int64_t open_until_ns = 0;
  std::int64_t half_open_until_ns = 0;
  int half_open_left = 0;
  std::uint64_t not_permitted = 0;
  int outstanding = 0;  // permits the test holds, to complete or release later

  std::int64_t now_second() const { return now_ns / kSecondNs; }

  void start_window(CircuitState s) {
    calls.clear();
    not_permitted = 0;
    if (s == CircuitState::kClosed || s == CircuitState::kMetricsOnly) {
      time_window = config.sliding_window_type == SlidingWindowType::kTimeBased;
      window_size = config.sliding_window_size;
      minimum_calls = time_window ? config.minimum_number_of_calls
                                  : std::min(config.minimum_number_of_calls, window_size);
    } else if (s == CircuitState::kHalfOpen) {
      time_window = false;
      window_size = config.permitted_number_of_calls_in_half_open_state;
      minimum_calls = std::min(config.minimum_number_of_calls, window_size);
      half_open_left = window_size;
    } else {
      time_window = false;
      window_size = 1;
      minimum_calls = 1;
    }
  }

  // A transition at `at` (now, or the time a timed transition was due).
  void transition(CircuitState to, std::optional<std::int64_t> at = std::nullopt) {
    const std::int64_t when = at.value_or(now_ns);
    if (to == CircuitState::kOpen) {
      open_until_ns = when + config.wait_duration_in_open_state.count();
    } else {
      start_window(to);
    }
    if (to == CircuitState::kHalfOpen) {
      half_open_until_ns = when + config.max_wait_duration_in_half_open_state.count();
    }
    state = to;
  }

  // The timed transitions due by now, one at a time (resilience4j's timers): OPEN to HALF_OPEN
  // when automatic, HALF_OPEN to OPEN after the maximum wait when one is set.
  void apply_timers() {
    for (;;) {
      if (state == CircuitState::kOpen &&
          config.automatic_transition_from_open_to_half_open_enabled && now_ns >= open_until_ns) {
        transition(CircuitState::kHalfOpen, open_until_ns);
      } else if (state == CircuitState::kHalfOpen &&
                 config.max_wait_duration_in_half_open_state > Duration::zero() &&
                 now_ns >= half_open_until_ns) {
        transition(CircuitState::kOpen, half_open_until_ns);
      } else {
        return;
      }
    }
  }

  // The calls the window holds now.
  std::deque<ModelCall> window() const {
    std::deque<ModelCall> in;
    for (const ModelCall& call : calls) {
      if (!time_window || call.second > now_second() - window_size) in.push_back(call);
    }
    while (!time_window && static_cast<int>(in.size()) > window_size) in.pop_front();
    return in;
  }

  // (total, failed, slow)
  struct Totals {
    int total = 0;
    int failed = 0;
    int slow = 0;
    int slow_failed = 0;
  };
  Totals totals() const {
    Totals t;
    for (const ModelCall& call : window()) {
      ++t.total;
      t.failed += call.failed;
      t.slow += call.slow;
      t.slow_failed += call.failed && call.slow;
    }
    return t;
  }

  // The expected retry_after of a refusal, or nullopt for a permit.
  struct Decision {
    bool permitted;
    std::optional<milliseconds> retry_after;
  };
  Decision acquire() {
    apply_timers();
    if (state == CircuitState::kOpen && now_ns >= open_until_ns) transition(CircuitState::kHalfOpen);
    switch (state) {
      case CircuitState::kClosed:
      case CircuitState::kDisabled:
      case CircuitState::kMetricsOnly:
        return {true, std::nullopt};
      case CircuitState::kOpen:
        ++not_permitted;
        return {false, std::chrono::ceil<milliseconds>(nanoseconds(open_until_ns - now_ns))};
      case CircuitState::kForcedOpen:
        ++not_permitted;
        return {false, std::nullopt};
      case CircuitState::kHalfOpen:
        if (half_open_left > 0) {
          --half_open_left;
          return {true, std::nullopt};
        }
        ++not_permitted;
        return {false, std::nullopt};
    }
    return {false, std::nullopt};
  }

  void release() {
    apply_timers();
    if (state == CircuitState::kHalfOpen &&
        half_open_left < config.permitted_number_of_calls_in_half_open_state) {
      ++half_open_left;
    }
  }

  void record(bool failed, bool slow) {
    apply_timers();
    if (state == CircuitState::kDisabled || state == CircuitState::kForcedOpen) return;
    calls.push_back({now_second(), failed, slow});
    calls = window();
    // OPEN records late completions and METRICS_ONLY records everything; neither changes state.
    if (state == CircuitState::kOpen || state == CircuitState::kMetricsOnly) return;
    const Totals t = totals();
    if (t.total < minimum_calls) return;
    const bool above = t.failed * 100.0 / t.total >= config.failure_rate_threshold_percent ||
                       t.slow * 100.0 / t.total >= config.slow_call_rate_threshold_percent;
    if (above) {
      transition(CircuitState::kOpen);
    } else if (state == CircuitState::kHalfOpen) {
      transition(CircuitState::kClosed);
    }
  }

  // An outcome: nullopt for success, else the error code. A transition it makes may be followed
  // at once by a timed one (an OPEN wait of 0 with the automatic transition).
  void complete(std::optional<ErrorCode> code, Duration duration) {
    classify(code, duration);
    apply_timers();
  }
  void classify(std::optional<ErrorCode> code, Duration duration) {
    const bool slow = duration > config.slow_call_duration_threshold;
    if (!code) return record(false, slow);
    if (says_nothing_about_upstream(*code)) return release();
    record(is_upstream_failure(*code), slow);
  }

  void manual(CircuitState to) {
    if (state == to) {
      start_window(to);
    } else {
      transition(to);
    }
  }
};

struct BreakerSut {
  FakeClock clock;
  CircuitBreaker breaker;
  explicit BreakerSut(const CircuitBreakerConfig& config) : breaker(config, clock) {}
};

using BreakerCommand = rc::state::Command<BreakerModel, BreakerSut>;

void assert_matches(const BreakerModel& model, const BreakerSut& sut) {
  RC_ASSERT(std::chrono::duration_cast<nanoseconds>(sut.clock.now().time_since_epoch()).count() ==
            model.now_ns);
  RC_ASSERT(to_string(sut.breaker.state()) == to_string(model.state));
  const CircuitBreakerMetrics m = sut.breaker.metrics();
  const BreakerModel::Totals t = model.totals();
  RC_ASSERT(m.buffered_calls == t.total);
  RC_ASSERT(m.failed_calls == t.failed);
  RC_ASSERT(m.slow_calls == t.slow);
  RC_ASSERT(m.slow_failed_calls == t.slow_failed);
  RC_ASSERT(m.not_permitted_calls == model.not_permitted);
  const bool rates_known = t.total > 0 && t.total >= model.minimum_calls;
  RC_ASSERT(m.failure_rate_percent.has_value() == rates_known);
  RC_ASSERT(m.slow_call_rate_percent.has_value() == rates_known);
  if (rates_known) {
    RC_ASSERT(*m.failure_rate_percent == t.failed * 100.0 / t.total);
    RC_ASSERT(*m.slow_call_rate_percent == t.slow * 100.0 / t.total);
  }
}

void assert_decision(const BreakerModel::Decision& expected, const Status& actual) {
  RC_ASSERT(actual.ok() == expected.permitted);
  if (!actual.ok()) {
    RC_ASSERT(actual.error().code == ErrorCode::kCircuitOpen);
    RC_ASSERT(actual.error().retry_after == expected.retry_after);
  }
}

// One of: success, a failure code, a non-failure code, or an ignored code.
rc::Gen<std::optional<ErrorCode>> gen_outcome() {
  return rc::gen::element<std::optional<ErrorCode>>(
      std::nullopt, std::nullopt, ErrorCode::kServerError, ErrorCode::kTimeout,
      ErrorCode::kConnection, ErrorCode::kBadRequest, ErrorCode::kRateLimitedLocally);
}

rc::Gen<Duration> gen_call_duration(Duration slow_threshold) {
  return rc::gen::element<Duration>(Duration::zero(), milliseconds(1), slow_threshold,
                                    slow_threshold + nanoseconds(1), slow_threshold * 3);
}

struct Acquire final : BreakerCommand {
  void apply(BreakerModel& model) const override {
    if (model.acquire().permitted) ++model.outstanding;
  }
  void run(const BreakerModel& model, BreakerSut& sut) const override {
    BreakerModel next = model;
    const BreakerModel::Decision expected = next.acquire();
    assert_decision(expected, sut.breaker.try_acquire_permission());
    assert_matches(next, sut);
  }
  void show(std::ostream& os) const override { os << "Acquire"; }
};

// A whole call: permission, then at once its outcome.
struct Call final : BreakerCommand {
  std::optional<ErrorCode> outcome;
  Duration duration;
  explicit Call(const BreakerModel& model)
      : outcome(*gen_outcome()),
        duration(*gen_call_duration(model.config.slow_call_duration_threshold)) {}
  void apply(BreakerModel& model) const override {
    if (model.acquire().permitted) model.complete(outcome, duration);
  }
  void run(const BreakerModel& model, BreakerSut& sut) const override {
    BreakerModel next = model;
    const BreakerModel::Decision expected = next.acquire();
    const Status actual = sut.breaker.try_acquire_permission();
    assert_decision(expected, actual);
    if (actual.ok()) {
      next.complete(outcome, duration);
      if (outcome) {
        sut.breaker.on_error(duration, *outcome);
      } else {
        sut.breaker.on_success(duration);
      }
    }
    assert_matches(next, sut);
  }
  void show(std::ostream& os) const override {
    os << "Call(" << (outcome ? to_string(*outcome) : "success") << ", " << duration.count()
       << "ns)";
  }
};

// Completes a permit taken earlier by Acquire.
struct Complete final : BreakerCommand {
  std::optional<ErrorCode> outcome;
  Duration duration;
  explicit Complete(const BreakerModel& model)
      : outcome(*gen_outcome()),
        duration(*gen_call_duration(model.config.slow_call_duration_threshold)) {}
  void checkPreconditions(const BreakerModel& model) const override {
    RC_PRE(model.outstanding > 0);
  }
  void apply(BreakerModel& model) const override {
    --model.outstanding;
    model.complete(outcome, duration);
  }
  void run(const BreakerModel& model, BreakerSut& sut) const override {
    if (outcome) {
      sut.breaker.on_error(duration, *outcome);
    } else {
      sut.breaker.on_success(duration);
    }
    assert_matches(nextState(model), sut);
  }
  void show(std::ostream& os) const override {
    os << "Complete(" << (outcome ? to_string(*outcome) : "success") << ", " << duration.count()
       << "ns)";
  }
};

struct Release final : BreakerCommand {
  void checkPreconditions(const BreakerModel& model) const override {
    RC_PRE(model.outstanding > 0);
  }
  void apply(BreakerModel& model) const override {
    --model.outstanding;
    model.release();
  }
  void run(const BreakerModel& model, BreakerSut& sut) const override {
    sut.breaker.release_permission();
    assert_matches(nextState(model), sut);
  }
  void show(std::ostream& os) const override { os << "Release"; }
};

struct Advance final : BreakerCommand {
  Duration by;
  explicit Advance(const BreakerModel& model)
      : by(*rc::gen::oneOf(
            rc::gen::element<Duration>(nanoseconds(1), milliseconds(999), seconds(1),
                                       model.config.wait_duration_in_open_state),
            rc::gen::map(rc::gen::inRange<std::int64_t>(0, 12'000),
                         [](std::int64_t ms) -> Duration { return milliseconds(ms); }))) {}
  void apply(BreakerModel& model) const override {
    model.now_ns += by.count();
    model.apply_timers();  // reading the state or the metrics applies what is due
  }
  void run(const BreakerModel& model, BreakerSut& sut) const override {
    sut.clock.advance(by);
    assert_matches(nextState(model), sut);
  }
  void show(std::ostream& os) const override { os << "Advance(" << by.count() << "ns)"; }
};

struct Manual final : BreakerCommand {
  CircuitState to = *rc::gen::element(CircuitState::kDisabled, CircuitState::kForcedOpen,
                                      CircuitState::kMetricsOnly, CircuitState::kClosed);
  void apply(BreakerModel& model) const override { model.manual(to); }
  void run(const BreakerModel& model, BreakerSut& sut) const override {
    if (to == CircuitState::kDisabled) sut.breaker.disable();
    if (to == CircuitState::kForcedOpen) sut.breaker.force_open();
    if (to == CircuitState::kMetricsOnly) sut.breaker.transition_to_metrics_only();
    if (to == CircuitState::kClosed) sut.breaker.reset();
    assert_matches(nextState(model), sut);
  }
  void show(std::ostream& os) const override {
    os << (to == CircuitState::kClosed ? "Reset" : "Manual(" + std::string(to_string(to)) + ")");
  }
};

rc::Gen<CircuitBreakerConfig> gen_config() {
  return rc::gen::exec([] {
    CircuitBreakerConfig config;
    config.sliding_window_type =
        *rc::gen::element(SlidingWindowType::kCountBased, SlidingWindowType::kTimeBased);
    config.sliding_window_size = *rc::gen::inRange(1, 8);
    config.minimum_number_of_calls = *rc::gen::inRange(1, 10);
    config.failure_rate_threshold_percent = *rc::gen::element(20.0, 50.0, 66.6, 100.0);
    config.slow_call_rate_threshold_percent = *rc::gen::element(30.0, 50.0, 100.0);
    config.slow_call_duration_threshold = *rc::gen::element<Duration>(milliseconds(100), seconds(2));
    config.wait_duration_in_open_state =
        *rc::gen::element<Duration>(Duration::zero(), milliseconds(1500), seconds(5));
    config.permitted_number_of_calls_in_half_open_state = *rc::gen::inRange(1, 5);
    config.automatic_transition_from_open_to_half_open_enabled = *rc::gen::arbitrary<bool>();
    config.max_wait_duration_in_half_open_state =
        *rc::gen::element<Duration>(Duration::zero(), Duration::zero(), seconds(1), seconds(3));
    return config;
  });
}

void check_breaker_against_model(const CircuitBreakerConfig& config) {
  BreakerSut sut(config);
  BreakerModel model;
  model.config = config;
  model.now_ns =
      std::chrono::duration_cast<nanoseconds>(sut.clock.now().time_since_epoch()).count();
  model.start_window(CircuitState::kClosed);
  // Whole calls and clock advances dominate, so the breaker visits every state often.
  rc::state::check(model, sut,
                   rc::state::gen::execOneOfWithArgs<Call, Call, Call, Call, Advance, Advance,
                                                     Acquire, Complete, Release, Manual>());
}

RC_GTEST_PROP(CircuitBreakerProperty, BehavesLikeTheModel, ()) {
  check_breaker_against_model(*gen_config());
}

// The same with the manual states out of the way, so that long runs through CLOSED, OPEN and
// HALF_OPEN are common.
RC_GTEST_PROP(CircuitBreakerProperty, AutomaticTransitionsBehaveLikeTheModel, ()) {
  const CircuitBreakerConfig config = *gen_config();
  BreakerSut sut(config);
  BreakerModel model;
  model.config = config;
  model.now_ns =
      std::chrono::duration_cast<nanoseconds>(sut.clock.now().time_since_epoch()).count();
  model.start_window(CircuitState::kClosed);
  rc::state::check(model, sut,
                   rc::state::gen::execOneOfWithArgs<Call, Call, Call, Advance, Acquire,
                                                     Complete, Release>());
}

// Whatever happens, a refusal while OPEN promises a retry_after that is never late: asking again
// after it has passed is never refused for the OPEN wait.
RC_GTEST_PROP(CircuitBreakerProperty, OpenRetryAfterIsNeverLate, ()) {
  CircuitBreakerConfig config = *gen_config();
  FakeClock clock;
  CircuitBreaker breaker(config, clock);
  const int failures = *rc::gen::inRange(1, 40);
  for (int i = 0; i < failures; ++i) {
    if (breaker.try_acquire_permission().ok()) breaker.on_error(milliseconds(1), ErrorCode::kTimeout);
  }
  clock.advance(nanoseconds(*rc::gen::inRange<std::int64_t>(0, 6'000'000'000)));
  const CircuitState before = breaker.state();
  Status first = breaker.try_acquire_permission();
  RC_CLASSIFY(first.ok(), "permitted at once");
  RC_CLASSIFY(!first.ok(), "refused, then asked again");
  if (first.ok()) {
    // A permit comes only from CLOSED, or from HALF_OPEN once OPEN's wait has passed.
    const CircuitState after = breaker.state();
    RC_ASSERT(after == CircuitState::kClosed || after == CircuitState::kHalfOpen);
    RC_ASSERT(before != CircuitState::kOpen || after == CircuitState::kHalfOpen);
    return;
  }
  RC_ASSERT(first.error().retry_after.has_value());  // neither forced open nor half-open here
  clock.advance(*first.error().retry_after);
  Status again = breaker.try_acquire_permission();
  RC_ASSERT(again.ok());
  RC_ASSERT(breaker.state() == CircuitState::kHalfOpen);
}

}  // namespace
}  // namespace echoes

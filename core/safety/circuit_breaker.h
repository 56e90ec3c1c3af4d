// CircuitBreaker: stops calling an upstream that keeps failing, with resilience4j's state machine.
//
// States: CLOSED (calls flow, outcomes are recorded in a sliding window), OPEN (calls are refused
// until the wait in open state has passed), HALF_OPEN (a fixed number of trial calls decide between
// CLOSED and OPEN), and the manual states DISABLED (always permit, record nothing) and FORCED_OPEN
// (always refuse) and METRICS_ONLY (always permit, record and evaluate the window, never change
// state: observing an upstream without protecting against it). The window is count-based (the last N calls) or time-based (the calls of the
// last N seconds, in one bucket per second). A CLOSED breaker opens when, with at least
// `minimum_number_of_calls` buffered, the failure rate or the slow-call rate reaches its threshold.
//
//   CircuitBreaker breaker(CircuitBreakerConfig{}, clock);
//   if (Status permit = breaker.try_acquire_permission(); !permit) return permit.error();
//   const TimePoint start = clock.now();
//   Result<Response> r = attempt();
//   if (r) breaker.on_success(clock.now() - start);
//   else breaker.on_error(clock.now() - start, r.error().code);
//
// Every permitted call must end in exactly one of on_success, on_error or release_permission.
//
// Timed transitions (resilience4j's automaticTransitionFromOpenToHalfOpenEnabled and
// maxWaitDurationInHalfOpenState) need no timer thread: every public member that looks at the
// breaker (state(), metrics(), try_acquire_permission, the recording calls) first applies the
// transitions the clock has made due, each published with the time it was due, not the time it
// was noticed.
// Thread-safe. The CLOSED permission check takes no lock; recording takes one short lock.
#pragma once

#include <atomic>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/error.h"
#include "core/base/result.h"

namespace echoes {

enum class CircuitState : std::uint8_t {
  kClosed,
  kOpen,
  kHalfOpen,
  kDisabled,
  kForcedOpen,
  kMetricsOnly,
};

// "closed", "open", "half_open", "disabled", "forced_open", "metrics_only".
std::string_view to_string(CircuitState state);

enum class SlidingWindowType : std::uint8_t {
  kCountBased,  // the last `sliding_window_size` calls
  kTimeBased,   // the calls of the last `sliding_window_size` seconds (one bucket per second)
};

// Which error codes the breaker records as failures: server error, timeout, connection, malformed
// response, stream truncated and rate limited upstream (the upstream is unhealthy or overloaded).
// Other codes (bad request, authentication, ...) mean the upstream answered properly, so they are
// recorded as successes.
bool is_upstream_failure(ErrorCode code);
// Codes that never reached the upstream (circuit open, rate limited locally): on_error with one of
// these only releases the permission.
bool never_reached_upstream(ErrorCode code);
// The codes the breaker ignores by default: those that never reached the upstream, and
// kUnexpectedException (an exception in the caller's code, such as a stream sink, or a failed
// allocation: no verdict on the upstream either way).
bool says_nothing_about_upstream(ErrorCode code);

struct CircuitBreakerConfig {
  // Percentages in (0, 100]; a rate at or above its threshold opens the circuit.
  double failure_rate_threshold_percent = 50;
  double slow_call_rate_threshold_percent = 100;
  // A call that lasts longer than this (strictly) is slow.
  Duration slow_call_duration_threshold = std::chrono::seconds(60);
  SlidingWindowType sliding_window_type = SlidingWindowType::kCountBased;
  // Calls (count-based) or seconds (time-based); >= 1.
  int sliding_window_size = 100;
  // Rates are not evaluated until this many calls are buffered. For a count-based window the
  // effective minimum is min(minimum_number_of_calls, sliding_window_size).
  int minimum_number_of_calls = 100;
  // How long OPEN refuses calls; the first permission request after it moves to HALF_OPEN. >= 0.
  Duration wait_duration_in_open_state = std::chrono::seconds(60);
  // When true, OPEN moves to HALF_OPEN as soon as the wait has passed, without waiting for a
  // permission request (observable through state() and metrics()); the transition carries the
  // time the wait ended.
  bool automatic_transition_from_open_to_half_open_enabled = false;
  // The longest HALF_OPEN may last before its trial calls have decided: when it passes, the
  // breaker moves to OPEN (at the time it passed). Zero: HALF_OPEN waits for its trial calls for
  // ever. >= 0.
  Duration max_wait_duration_in_half_open_state = Duration::zero();
  // Trial calls permitted in HALF_OPEN; when min(minimum_number_of_calls, this) of them have
  // completed the circuit closes (rates below thresholds) or opens again.
  int permitted_number_of_calls_in_half_open_state = 10;
  // Whether an error code counts as a failure; otherwise it is recorded as a success.
  std::function<bool(ErrorCode)> records_as_failure = is_upstream_failure;
  // Whether an error code is ignored: the permission is released and nothing is recorded.
  // Takes precedence over records_as_failure.
  std::function<bool(ErrorCode)> ignores = says_nothing_about_upstream;

  // kInvalidInput naming the first field out of range.
  Status validate() const;
};

struct CircuitStateTransition {
  CircuitState from;
  CircuitState to;
  TimePoint at;
  friend bool operator==(const CircuitStateTransition&, const CircuitStateTransition&) = default;
};

// A snapshot of the current state's window. As in resilience4j, every transition except
// CLOSED -> OPEN and HALF_OPEN -> OPEN starts a fresh window (and a fresh not-permitted count);
// OPEN keeps the window that opened it.
struct CircuitBreakerMetrics {
  // Percent of buffered calls; nullopt while fewer than the minimum number of calls are buffered.
  std::optional<double> failure_rate_percent;
  std::optional<double> slow_call_rate_percent;
  int buffered_calls = 0;
  int failed_calls = 0;
  int slow_calls = 0;         // successful or failed
  int slow_failed_calls = 0;  // slow and failed
  int successful_calls = 0;
  std::uint64_t not_permitted_calls = 0;
};

class CircuitBreaker {
 public:
  using Listener = std::function<void(const CircuitStateTransition&)>;

  // `config` must be valid (validate()); `clock` must outlive the breaker. Starts CLOSED.
  CircuitBreaker(CircuitBreakerConfig config, Clock& clock);
  // Validates the config first: kInvalidInput instead of a breaker.
  static Result<std::unique_ptr<CircuitBreaker>> create(CircuitBreakerConfig config, Clock& clock);

  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // OK when a call may proceed. Otherwise kCircuitOpen, with retry_after = the time until the
  // breaker will move to HALF_OPEN (rounded up to a millisecond; absent when FORCED_OPEN or when
  // HALF_OPEN has no trial permit left). An OPEN breaker whose wait has passed moves to HALF_OPEN
  // here and hands out the first trial permit.
  Status try_acquire_permission();
  // Gives back a permission without recording an outcome (the call was not made). In HALF_OPEN it
  // returns the trial permit.
  void release_permission();
  // Records a completed call and its duration.
  void on_success(Duration duration);
  // Records a failed call: a failure, a success or nothing, by the config's predicates.
  void on_error(Duration duration, ErrorCode code);

  // The current state, after any timed transition that is due.
  CircuitState state() const;
  CircuitBreakerMetrics metrics() const;
  const CircuitBreakerConfig& config() const { return config_; }

  // Called after every state transition, in order, outside the breaker's lock (a listener may call
  // the breaker). Thread-safe; listeners cannot be removed.
  void add_listener(Listener listener);

  // Manual transitions; each starts a fresh window and publishes a transition when the state
  // changes. reset() returns to CLOSED from any state.
  void disable();
  void force_open();
  void transition_to_metrics_only();
  void reset();

 private:
  // Outcome flags of one call.
  static constexpr std::uint8_t kFailed = 1;
  static constexpr std::uint8_t kSlow = 2;

  struct Counts {
    int total = 0;
    int failed = 0;
    int slow = 0;
    int slow_failed = 0;
    void add(std::uint8_t outcome);
    void remove(const Counts& other);
    void remove_one(std::uint8_t outcome);
  };

  // The sliding window of one state: a ring of outcomes (count-based) or of per-second buckets
  // (time-based). Storage is allocated once per configuration, so recording never allocates.
  class CallWindow {
   public:
    void reset(SlidingWindowType type, int size, int minimum_calls);
    void record(std::uint8_t outcome, std::int64_t now_second);
    // Drops the buckets older than the window (time-based only).
    void advance_to(std::int64_t now_second);
    const Counts& totals() const { return totals_; }
    int minimum_calls() const { return minimum_calls_; }
    SlidingWindowType type() const { return type_; }

   private:
    SlidingWindowType type_ = SlidingWindowType::kCountBased;
    int size_ = 0;
    int minimum_calls_ = 1;
    Counts totals_;
    // Count-based: ring of outcomes.
    std::vector<std::uint8_t> outcomes_;
    int next_ = 0;
    // Time-based: ring of buckets, `head_` holding `head_second_`.
    std::vector<Counts> buckets_;
    int head_ = 0;
    std::int64_t head_second_ = 0;
  };

  enum class Evaluation { kBelowMinimumCalls, kBelowThresholds, kAboveThresholds };

  Status acquire_slow_path();
  // Whether a timed transition can be due in `state` (so the caller must take the lock).
  bool has_timed_transition(CircuitState state) const;
  // Requires mutex_. Makes the transitions that are due at `now`, each at the time it was due.
  void apply_due_transitions_locked(TimePoint now) const;
  // Applies the due transitions and delivers their events; for the observers.
  void apply_due_transitions() const;
  void record(std::uint8_t outcome);
  Evaluation evaluate() const;
  std::int64_t now_second(TimePoint now) const;
  // Requires mutex_. Queues the transition event for publish_events().
  void transition_locked(CircuitState to, TimePoint now) const;
  void start_window_locked(CircuitState state) const;
  // Requires mutex_. Returns whether the caller must deliver the queued events.
  bool claim_delivery_locked() const;
  void deliver_events() const;
  Status refusal(std::optional<Duration> retry_after) const;
  void manual_transition(CircuitState to);

  const CircuitBreakerConfig config_;
  Clock& clock_;
  // Precomputed from the config's predicates, indexed by ErrorCode.
  std::bitset<64> failure_codes_;
  std::bitset<64> ignored_codes_;

  // The state machine is mutable: state() and metrics() apply the transitions that time has made
  // due (a timed transition is a fact of the clock, not a change a reader makes).
  mutable std::atomic<CircuitState> state_{CircuitState::kClosed};
  // While OPEN: when the wait ends (steady-clock nanoseconds since its epoch).
  mutable std::atomic<std::int64_t> open_until_ns_{0};
  // While HALF_OPEN with a maximum wait: when it ends.
  mutable std::int64_t half_open_until_ns_ = 0;  // guarded by mutex_
  mutable std::atomic<std::uint64_t> not_permitted_calls_{0};

  mutable std::mutex mutex_;
  mutable CallWindow window_;  // guarded by mutex_; metrics() moves a time-based window forward
  mutable int half_open_permits_left_ = 0;
  mutable std::deque<CircuitStateTransition> pending_events_;
  mutable bool delivering_ = false;
  std::vector<std::shared_ptr<const Listener>> listeners_;
};

}  // namespace echoes

#include "core/safety/circuit_breaker.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

namespace echoes {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

std::size_t code_index(ErrorCode code) { return static_cast<std::size_t>(code); }

std::int64_t to_ns(TimePoint t) {
  return duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

// Rounded up, so that waiting retry_after is always enough.
milliseconds ceil_ms(Duration d) { return std::chrono::ceil<milliseconds>(d); }

}  // namespace

std::string_view to_string(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed: return "closed";
    case CircuitState::kOpen: return "open";
    case CircuitState::kHalfOpen: return "half_open";
    case CircuitState::kDisabled: return "disabled";
    case CircuitState::kForcedOpen: return "forced_open";
    case CircuitState::kMetricsOnly: return "metrics_only";
  }
  return "unknown";
}

bool is_upstream_failure(ErrorCode code) {
  switch (code) {
    case ErrorCode::kServerError:
    case ErrorCode::kTimeout:
    case ErrorCode::kConnection:
    case ErrorCode::kMalformedResponse:
    case ErrorCode::kStreamTruncated:
    case ErrorCode::kRateLimitedUpstream:
      return true;
    default:
      return false;
  }
}

bool never_reached_upstream(ErrorCode code) {
  return code == ErrorCode::kCircuitOpen || code == ErrorCode::kRateLimitedLocally;
}

bool says_nothing_about_upstream(ErrorCode code) {
  return never_reached_upstream(code) || code == ErrorCode::kUnexpectedException;
}

Status CircuitBreakerConfig::validate() const {
  auto invalid = [](std::string field, std::string requirement) {
    return Error(ErrorCode::kInvalidInput, field + " must be " + requirement, field);
  };
  if (!(failure_rate_threshold_percent > 0 && failure_rate_threshold_percent <= 100)) {
    return invalid("failure_rate_threshold_percent", "in (0, 100]");
  }
  if (!(slow_call_rate_threshold_percent > 0 && slow_call_rate_threshold_percent <= 100)) {
    return invalid("slow_call_rate_threshold_percent", "in (0, 100]");
  }
  if (slow_call_duration_threshold <= Duration::zero()) {
    return invalid("slow_call_duration_threshold", "positive");
  }
  if (sliding_window_size < 1) return invalid("sliding_window_size", "at least 1");
  if (minimum_number_of_calls < 1) return invalid("minimum_number_of_calls", "at least 1");
  if (wait_duration_in_open_state < Duration::zero()) {
    return invalid("wait_duration_in_open_state", "zero or positive");
  }
  if (max_wait_duration_in_half_open_state < Duration::zero()) {
    return invalid("max_wait_duration_in_half_open_state", "zero or positive");
  }
  if (permitted_number_of_calls_in_half_open_state < 1) {
    return invalid("permitted_number_of_calls_in_half_open_state", "at least 1");
  }
  if (!records_as_failure) return invalid("records_as_failure", "set");
  if (!ignores) return invalid("ignores", "set");
  return ok_status();
}

// --- Counts and CallWindow ----------------------------------------------------------------------

void CircuitBreaker::Counts::add(std::uint8_t outcome) {
  ++total;
  if (outcome & kFailed) ++failed;
  if (outcome & kSlow) ++slow;
  if ((outcome & kFailed) && (outcome & kSlow)) ++slow_failed;
}

void CircuitBreaker::Counts::remove_one(std::uint8_t outcome) {
  --total;
  if (outcome & kFailed) --failed;
  if (outcome & kSlow) --slow;
  if ((outcome & kFailed) && (outcome & kSlow)) --slow_failed;
}

void CircuitBreaker::Counts::remove(const Counts& other) {
  total -= other.total;
  failed -= other.failed;
  slow -= other.slow;
  slow_failed -= other.slow_failed;
}

void CircuitBreaker::CallWindow::reset(SlidingWindowType type, int size, int minimum_calls) {
  type_ = type;
  size_ = size;
  minimum_calls_ = minimum_calls;
  totals_ = Counts{};
  next_ = 0;
  head_ = 0;
  head_second_ = 0;
  if (type == SlidingWindowType::kCountBased) {
    buckets_.clear();
    outcomes_.assign(static_cast<std::size_t>(size), 0);
  } else {
    outcomes_.clear();
    buckets_.assign(static_cast<std::size_t>(size), Counts{});
  }
}

void CircuitBreaker::CallWindow::advance_to(std::int64_t now_second) {
  if (type_ != SlidingWindowType::kTimeBased || now_second <= head_second_) return;
  // Each elapsed second retires the oldest bucket and becomes the new head; after `size_` steps
  // every bucket is empty, so the remaining seconds need no work.
  const std::int64_t steps = std::min<std::int64_t>(now_second - head_second_, size_);
  for (std::int64_t i = 0; i < steps; ++i) {
    head_ = (head_ + 1) % size_;
    totals_.remove(buckets_[static_cast<std::size_t>(head_)]);
    buckets_[static_cast<std::size_t>(head_)] = Counts{};
  }
  head_second_ = now_second;
}

void CircuitBreaker::CallWindow::record(std::uint8_t outcome, std::int64_t now_second) {
  if (type_ == SlidingWindowType::kCountBased) {
    auto& slot = outcomes_[static_cast<std::size_t>(next_)];
    if (totals_.total == size_) totals_.remove_one(slot);
    slot = outcome;
    next_ = next_ + 1 == size_ ? 0 : next_ + 1;
    totals_.add(outcome);
    return;
  }
  if (totals_.total == 0) {
    head_second_ = now_second;  // an empty window may jump straight to now
  } else {
    advance_to(now_second);
  }
  buckets_[static_cast<std::size_t>(head_)].add(outcome);
  totals_.add(outcome);
}

// --- CircuitBreaker -----------------------------------------------------------------------------

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, Clock& clock)
    : config_(std::move(config)), clock_(clock) {
  assert(config_.validate().ok());
  for (ErrorCode code : kAllErrorCodes) {
    failure_codes_[code_index(code)] = config_.records_as_failure(code);
    ignored_codes_[code_index(code)] = config_.ignores(code);
  }
  start_window_locked(CircuitState::kClosed);
}

Result<std::unique_ptr<CircuitBreaker>> CircuitBreaker::create(CircuitBreakerConfig config,
                                                               Clock& clock) {
  if (Status valid = config.validate(); !valid) return valid.error();
  return std::make_unique<CircuitBreaker>(std::move(config), clock);
}

Status CircuitBreaker::refusal(std::optional<Duration> retry_after) const {
  Error error(ErrorCode::kCircuitOpen, "circuit breaker is open");
  if (retry_after) error.retry_after = ceil_ms(*retry_after);
  return error;
}

Status CircuitBreaker::try_acquire_permission() {
  switch (state_.load(std::memory_order_acquire)) {
    case CircuitState::kClosed:
    case CircuitState::kDisabled:
    case CircuitState::kMetricsOnly:
      return ok_status();
    case CircuitState::kForcedOpen:
      not_permitted_calls_.fetch_add(1, std::memory_order_relaxed);
      return refusal(std::nullopt);
    case CircuitState::kOpen: {
      const std::int64_t now = to_ns(clock_.now());
      const std::int64_t until = open_until_ns_.load(std::memory_order_acquire);
      if (now < until) {
        not_permitted_calls_.fetch_add(1, std::memory_order_relaxed);
        return refusal(nanoseconds(until - now));
      }
      break;  // the wait is over: move to HALF_OPEN under the lock
    }
    case CircuitState::kHalfOpen:
      break;
  }
  return acquire_slow_path();
}

Status CircuitBreaker::acquire_slow_path() {
  Status outcome;
  bool deliver = false;
  {
    std::lock_guard lock(mutex_);
    const TimePoint now = clock_.now();
    apply_due_transitions_locked(now);
    // Re-read under the lock: another thread may have moved the state since the fast path.
    if (state_.load(std::memory_order_relaxed) == CircuitState::kOpen) {
      const std::int64_t until = open_until_ns_.load(std::memory_order_relaxed);
      if (to_ns(now) >= until) transition_locked(CircuitState::kHalfOpen, now);
    }
    switch (state_.load(std::memory_order_relaxed)) {
      case CircuitState::kClosed:
      case CircuitState::kDisabled:
      case CircuitState::kMetricsOnly:
        break;
      case CircuitState::kOpen:
        not_permitted_calls_.fetch_add(1, std::memory_order_relaxed);
        outcome = refusal(nanoseconds(open_until_ns_.load(std::memory_order_relaxed) - to_ns(now)));
        break;
      case CircuitState::kForcedOpen:
        not_permitted_calls_.fetch_add(1, std::memory_order_relaxed);
        outcome = refusal(std::nullopt);
        break;
      case CircuitState::kHalfOpen:
        if (half_open_permits_left_ > 0) {
          --half_open_permits_left_;
        } else {
          not_permitted_calls_.fetch_add(1, std::memory_order_relaxed);
          outcome = refusal(std::nullopt);
        }
        break;
    }
    deliver = claim_delivery_locked();
  }
  if (deliver) deliver_events();
  return outcome;
}

void CircuitBreaker::release_permission() {
  bool deliver = false;
  {
    std::lock_guard lock(mutex_);
    if (has_timed_transition(state_.load(std::memory_order_relaxed))) {
      apply_due_transitions_locked(clock_.now());
    }
    if (state_.load(std::memory_order_relaxed) == CircuitState::kHalfOpen &&
        half_open_permits_left_ < config_.permitted_number_of_calls_in_half_open_state) {
      ++half_open_permits_left_;
    }
    deliver = claim_delivery_locked();
  }
  if (deliver) deliver_events();
}

void CircuitBreaker::on_success(Duration duration) {
  record(duration > config_.slow_call_duration_threshold ? kSlow : 0);
}

void CircuitBreaker::on_error(Duration duration, ErrorCode code) {
  const std::size_t index = code_index(code);
  if (ignored_codes_[index]) {
    release_permission();
    return;
  }
  std::uint8_t outcome = failure_codes_[index] ? kFailed : 0;
  if (duration > config_.slow_call_duration_threshold) outcome |= kSlow;
  record(outcome);
}

std::int64_t CircuitBreaker::now_second(TimePoint now) const {
  return std::chrono::floor<seconds>(now.time_since_epoch()).count();
}

void CircuitBreaker::record(std::uint8_t outcome) {
  // Only a time-based window or a timed transition needs the time for recording; read it before
  // taking the lock.
  const bool time_based = config_.sliding_window_type == SlidingWindowType::kTimeBased;
  const bool timed = config_.automatic_transition_from_open_to_half_open_enabled ||
                     config_.max_wait_duration_in_half_open_state > Duration::zero();
  const TimePoint now = time_based || timed ? clock_.now() : TimePoint{};
  bool deliver = false;
  {
    std::lock_guard lock(mutex_);
    if (timed) apply_due_transitions_locked(now);
    const CircuitState state = state_.load(std::memory_order_relaxed);
    // DISABLED and FORCED_OPEN record nothing. OPEN still records calls that were permitted
    // before it opened, and METRICS_ONLY records every call, but neither changes state.
    const bool records = state != CircuitState::kDisabled && state != CircuitState::kForcedOpen;
    if (records) {
      window_.record(outcome,
                     window_.type() == SlidingWindowType::kTimeBased ? now_second(now) : 0);
    }
    const bool evaluates = state == CircuitState::kClosed || state == CircuitState::kHalfOpen;
    const Evaluation evaluation = evaluates ? evaluate() : Evaluation::kBelowMinimumCalls;
    // A transition reads the clock again under the lock, so transitions carry ordered times and
    // the OPEN wait starts when the breaker actually opens.
    if (evaluation == Evaluation::kAboveThresholds) {
      transition_locked(CircuitState::kOpen, clock_.now());
    } else if (evaluation == Evaluation::kBelowThresholds && state == CircuitState::kHalfOpen) {
      transition_locked(CircuitState::kClosed, clock_.now());
    }
    deliver = claim_delivery_locked();
  }
  if (deliver) deliver_events();
}

CircuitBreaker::Evaluation CircuitBreaker::evaluate() const {
  const Counts& totals = window_.totals();
  if (totals.total == 0 || totals.total < window_.minimum_calls()) {
    return Evaluation::kBelowMinimumCalls;
  }
  const double failure_rate = totals.failed * 100.0 / totals.total;
  const double slow_rate = totals.slow * 100.0 / totals.total;
  if (failure_rate >= config_.failure_rate_threshold_percent ||
      slow_rate >= config_.slow_call_rate_threshold_percent) {
    return Evaluation::kAboveThresholds;
  }
  return Evaluation::kBelowThresholds;
}

void CircuitBreaker::start_window_locked(CircuitState state) const {
  not_permitted_calls_.store(0, std::memory_order_relaxed);
  switch (state) {
    case CircuitState::kClosed:
    case CircuitState::kMetricsOnly: {
      const int size = config_.sliding_window_size;
      const int minimum = config_.sliding_window_type == SlidingWindowType::kCountBased
                              ? std::min(config_.minimum_number_of_calls, size)
                              : config_.minimum_number_of_calls;
      window_.reset(config_.sliding_window_type, size, minimum);
      break;
    }
    case CircuitState::kHalfOpen: {
      const int size = config_.permitted_number_of_calls_in_half_open_state;
      window_.reset(SlidingWindowType::kCountBased, size,
                    std::min(config_.minimum_number_of_calls, size));
      half_open_permits_left_ = size;
      break;
    }
    case CircuitState::kOpen:
      break;  // keeps the window that opened it
    case CircuitState::kDisabled:
    case CircuitState::kForcedOpen:
      window_.reset(SlidingWindowType::kCountBased, 1, 1);
      break;
  }
}

bool CircuitBreaker::has_timed_transition(CircuitState state) const {
  return (state == CircuitState::kOpen &&
          config_.automatic_transition_from_open_to_half_open_enabled) ||
         (state == CircuitState::kHalfOpen &&
          config_.max_wait_duration_in_half_open_state > Duration::zero());
}

void CircuitBreaker::apply_due_transitions_locked(TimePoint now) const {
  const Duration open_wait = config_.wait_duration_in_open_state;
  const Duration half_open_wait = config_.max_wait_duration_in_half_open_state;
  const std::int64_t now_ns = to_ns(now);
  for (;;) {
    const CircuitState state = state_.load(std::memory_order_relaxed);
    if (!has_timed_transition(state)) return;
    if (state == CircuitState::kOpen) {
      std::int64_t due = open_until_ns_.load(std::memory_order_relaxed);
      if (now_ns < due) return;
      // A clock that jumped over many whole OPEN -> HALF_OPEN -> OPEN cycles (both timed) skips
      // to the last one, so this loop is bounded; the skipped cycles are not published.
      const std::int64_t cycle = duration_cast<nanoseconds>(open_wait + half_open_wait).count();
      if (half_open_wait > Duration::zero() && cycle > 0 && now_ns - due > cycle) {
        due += (now_ns - due) / cycle * cycle;
        if (due > now_ns) due -= cycle;
      }
      transition_locked(CircuitState::kHalfOpen, TimePoint(nanoseconds(due)));
    } else {
      if (now_ns < half_open_until_ns_) return;
      transition_locked(CircuitState::kOpen, TimePoint(nanoseconds(half_open_until_ns_)));
    }
  }
}

void CircuitBreaker::apply_due_transitions() const {
  if (!has_timed_transition(state_.load(std::memory_order_acquire))) return;
  bool deliver = false;
  {
    std::lock_guard lock(mutex_);
    apply_due_transitions_locked(clock_.now());
    deliver = claim_delivery_locked();
  }
  if (deliver) deliver_events();
}

CircuitState CircuitBreaker::state() const {
  apply_due_transitions();
  return state_.load(std::memory_order_acquire);
}

void CircuitBreaker::transition_locked(CircuitState to, TimePoint now) const {
  const CircuitState from = state_.load(std::memory_order_relaxed);
  if (to == CircuitState::kOpen) {
    open_until_ns_.store(to_ns(now + config_.wait_duration_in_open_state),
                         std::memory_order_relaxed);
  }
  if (to == CircuitState::kHalfOpen) {
    half_open_until_ns_ = to_ns(now + config_.max_wait_duration_in_half_open_state);
  }
  if (to != CircuitState::kOpen) start_window_locked(to);
  state_.store(to, std::memory_order_release);
  pending_events_.push_back(CircuitStateTransition{from, to, now});
}

bool CircuitBreaker::claim_delivery_locked() const {
  if (pending_events_.empty() || delivering_) return false;
  delivering_ = true;
  return true;
}

void CircuitBreaker::deliver_events() const {
  // One thread at a time delivers, in the order the transitions happened; a transition made by
  // another thread (or by a listener) meanwhile is queued and delivered by this loop.
  for (;;) {
    CircuitStateTransition event;
    std::vector<std::shared_ptr<const Listener>> listeners;
    {
      std::lock_guard lock(mutex_);
      if (pending_events_.empty()) {
        delivering_ = false;
        return;
      }
      event = pending_events_.front();
      pending_events_.pop_front();
      listeners = listeners_;
    }
    for (const auto& listener : listeners) (*listener)(event);
  }
}

void CircuitBreaker::add_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::make_shared<const Listener>(std::move(listener)));
}

CircuitBreakerMetrics CircuitBreaker::metrics() const {
  apply_due_transitions();
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  window_.advance_to(now_second(now));
  const Counts& totals = window_.totals();
  CircuitBreakerMetrics metrics;
  metrics.buffered_calls = totals.total;
  metrics.failed_calls = totals.failed;
  metrics.slow_calls = totals.slow;
  metrics.slow_failed_calls = totals.slow_failed;
  metrics.successful_calls = totals.total - totals.failed;
  metrics.not_permitted_calls = not_permitted_calls_.load(std::memory_order_relaxed);
  if (totals.total > 0 && totals.total >= window_.minimum_calls()) {
    metrics.failure_rate_percent = totals.failed * 100.0 / totals.total;
    metrics.slow_call_rate_percent = totals.slow * 100.0 / totals.total;
  }
  return metrics;
}

void CircuitBreaker::manual_transition(CircuitState to) {
  bool deliver = false;
  {
    std::lock_guard lock(mutex_);
    const TimePoint now = clock_.now();
    if (state_.load(std::memory_order_relaxed) == to) {
      start_window_locked(to);  // same state: a fresh window, no event
    } else {
      transition_locked(to, now);
    }
    deliver = claim_delivery_locked();
  }
  if (deliver) deliver_events();
}

void CircuitBreaker::disable() { manual_transition(CircuitState::kDisabled); }
void CircuitBreaker::force_open() { manual_transition(CircuitState::kForcedOpen); }
void CircuitBreaker::transition_to_metrics_only() { manual_transition(CircuitState::kMetricsOnly); }
void CircuitBreaker::reset() { manual_transition(CircuitState::kClosed); }

}  // namespace echoes

#include "core/safety/safety_metrics.h"

#include <chrono>

#include "core/safety/safety_layer.h"

namespace echoes::safety {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

constexpr CircuitState kAllStates[] = {CircuitState::kClosed,   CircuitState::kOpen,
                                       CircuitState::kHalfOpen, CircuitState::kDisabled,
                                       CircuitState::kForcedOpen, CircuitState::kMetricsOnly};

}  // namespace

SafetyMetrics::SafetyMetrics(monitor::MetricsRegistry& registry) {
  const auto outcomes = registry.counter_family(
      "echoes_safety_outcomes_total", "Safety layer calls by outcome.", {"outcome"});
  outcome_answer_ = outcomes.with({"answer"});
  outcome_block_ = outcomes.with({"block"});
  outcome_error_ = outcomes.with({"error"});
  decisions_ = registry.counter_family(
      "echoes_safety_decisions_total",
      "Decisions of the input guard and the output filter, by action and deciding category.",
      {"stage", "action", "category"});
  rule_hits_ = registry.counter_family("echoes_safety_rule_hits_total",
                                       "Findings in safety decisions, by rule and category.",
                                       {"stage", "rule", "category"});
  const auto stages = registry.histogram_family(
      "echoes_safety_stage_duration_seconds",
      "Time a safety layer call spent in each stage, on the layer's clock.", kStageBounds,
      {"stage"});
  guard_seconds_ = stages.with({"guard"});
  upstream_seconds_ = stages.with({"upstream"});
  filter_seconds_ = stages.with({"filter"});
  total_seconds_ = stages.with({"total"});
  upstream_errors_ = registry.counter_family(
      "echoes_upstream_errors_total",
      "Calls that ended in an error, by error code (local refusals are counted apart).", {"code"});
  limiter_refusals_ = registry.counter_family(
      "echoes_limiter_refusals_total", "Calls the local rate limiter refused, by kind of work.",
      {"work_kind"});
  breaker_refusals_ = registry.counter("echoes_breaker_refusals_total",
                                       "Calls an open circuit breaker refused.");
  breaker_state_ = registry.gauge_family(
      "echoes_breaker_state", "1 for the circuit breaker's current state, 0 for the others.",
      {"breaker", "state"});
  breaker_transitions_ = registry.counter_family(
      "echoes_breaker_transitions_total", "Circuit breaker state transitions.",
      {"breaker", "from", "to"});
}

void SafetyMetrics::record(const SafetyOutcome& outcome, std::string_view work_kind) const {
  switch (outcome.kind) {
    case OutcomeKind::kAnswer: outcome_answer_.inc(); break;
    case OutcomeKind::kBlock: outcome_block_.inc(); break;
    case OutcomeKind::kError: outcome_error_.inc(); break;
  }
  const auto count_decision = [&](const char* stage, const Decision& d) {
    decisions_.with({stage, std::string(to_string(d.action)), d.category}).inc();
    for (const Finding& f : d.findings) rule_hits_.with({stage, f.rule_id, f.category}).inc();
  };
  if (outcome.input_decision) count_decision("input", *outcome.input_decision);
  if (outcome.output_decision) count_decision("output", *outcome.output_decision);
  guard_seconds_.observe(seconds(outcome.timings.guard));
  upstream_seconds_.observe(seconds(outcome.timings.upstream));
  filter_seconds_.observe(seconds(outcome.timings.filter));
  total_seconds_.observe(seconds(outcome.timings.total));
  if (outcome.kind == OutcomeKind::kError && outcome.error) {
    switch (outcome.error->code) {
      case ErrorCode::kRateLimitedLocally:
        limiter_refusals_.with({std::string(work_kind)}).inc();
        break;
      case ErrorCode::kCircuitOpen: breaker_refusals_.inc(); break;
      default: upstream_errors_.with({std::string(to_string(outcome.error->code))}).inc();
    }
  }
}

void SafetyMetrics::watch(CircuitBreaker& breaker, const std::string& name) const {
  const auto publish = [gauges = breaker_state_, name](CircuitState current) {
    for (const CircuitState s : kAllStates) {
      gauges.with({name, std::string(to_string(s))}).set(s == current ? 1.0 : 0.0);
    }
  };
  publish(breaker.state());
  breaker.add_listener([publish, transitions = breaker_transitions_,
                        name](const CircuitStateTransition& t) {
    transitions.with({name, std::string(to_string(t.from)), std::string(to_string(t.to))}).inc();
    publish(t.to);
  });
}

}  // namespace echoes::safety

// SafetyMetrics: what the safety layer counts, in a monitor::MetricsRegistry the caller owns and
// passes in (there is no hidden global registry). Series whose labels are fixed are looked up once,
// here; per-rule and per-code series are looked up by their label values when they occur.
//
//   monitor::MetricsRegistry registry;
//   safety::SafetyMetrics metrics(registry);
//   metrics.watch(breaker, "upstream");            // state gauge + transitions counter
//   SafetyLayer layer(client, guard, filter, clock, {.metrics = &metrics}, {...});
//   layer.safe_evaluate(request);                  // counted when it returns
//   std::string text = registry.render_prometheus();
//
// Metrics (all prefixed echoes_):
//   safety_outcomes_total{outcome="answer"|"block"|"error"}
//   safety_decisions_total{stage="input"|"output",action,category}   one per decision made
//   safety_rule_hits_total{stage,rule,category}                      one per finding
//   safety_stage_duration_seconds{stage="guard"|"upstream"|"filter"|"total"}   histogram
//   upstream_errors_total{code}        a call's final error (ErrorCode names), local refusals apart
//   limiter_refusals_total{work_kind}  calls the local rate limiter refused
//   breaker_refusals_total             calls an open circuit refused
//   breaker_state{breaker,state}       1 for the breaker's current state, 0 for the others
//   breaker_transitions_total{breaker,from,to}
#pragma once

#include <string>

#include "core/monitor/metrics_registry.h"
#include "core/safety/circuit_breaker.h"

namespace echoes::safety {

struct SafetyOutcome;

class SafetyMetrics {
 public:
  // Registers the families in `registry`, which must outlive this object and every breaker
  // watched.
  explicit SafetyMetrics(monitor::MetricsRegistry& registry);

  // Counts one finished call of the layer. Thread-safe.
  void record(const SafetyOutcome& outcome, std::string_view work_kind) const;
  // Publishes `breaker`'s state now and after every transition (a listener; breakers cannot remove
  // listeners, so the registry must outlive the breaker's transitions).
  void watch(CircuitBreaker& breaker, const std::string& name) const;

  // Stage duration buckets, in seconds (+Inf implicit): 100 us to 30 s.
  static constexpr double kStageBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5,
                                            5.0,    10.0,    30.0};

 private:
  monitor::Counter outcome_answer_, outcome_block_, outcome_error_;
  monitor::CounterFamily decisions_;   // stage, action, category
  monitor::CounterFamily rule_hits_;   // stage, rule, category
  monitor::Histogram guard_seconds_, upstream_seconds_, filter_seconds_, total_seconds_;
  monitor::CounterFamily upstream_errors_;   // code
  monitor::CounterFamily limiter_refusals_;  // work_kind
  monitor::Counter breaker_refusals_;
  monitor::GaugeFamily breaker_state_;              // breaker, state
  monitor::CounterFamily breaker_transitions_;      // breaker, from, to
};

}  // namespace echoes::safety

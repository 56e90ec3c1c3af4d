// Metric updates: the cost of one counter increment, one histogram observation and one gauge set on
// a kept handle, single-threaded and with 2 and 8 threads updating the SAME series (the contended
// case the sharded cells are for), plus a labelled lookup followed by an increment (the cost paid
// when the handle is not kept). Target: tens of nanoseconds per update, no lock on the hot path.
//
//   build/release/benchmarks/echoes_metrics_bench
//   build/release/benchmarks/echoes_metrics_bench --benchmark_filter=Counter
#include <benchmark/benchmark.h>

#include <array>

#include "core/monitor/metrics_registry.h"

namespace {

using echoes::monitor::MetricsRegistry;

// One registry and one series shared by every thread of a run.
MetricsRegistry& registry() {
  static MetricsRegistry instance;
  return instance;
}

constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

void BM_CounterInc(benchmark::State& state) {
  static const auto counter =
      registry().counter("bench_counter_total", "Bench.", {{"route", "/v1/chat/completions"}});
  for (auto _ : state) counter.inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

void BM_HistogramObserve(benchmark::State& state) {
  static const auto histogram =
      registry().histogram("bench_seconds", "Bench.", kBounds, {{"stage", "guard"}});
  double v = 0.0001;
  for (auto _ : state) {
    histogram.observe(v);
    v = v < 3.0 ? v * 1.7 : 0.0001;  // walk the buckets
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

void BM_GaugeSet(benchmark::State& state) {
  static const auto gauge = registry().gauge("bench_level", "Bench.");
  double v = 0;
  for (auto _ : state) gauge.set(v += 1);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GaugeSet)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

// Looking the series up by label values every time (a shared lock and a map find), then the add.
void BM_CounterLookupThenInc(benchmark::State& state) {
  static const auto family =
      registry().counter_family("bench_lookup_total", "Bench.", {"code", "route"});
  for (auto _ : state) family.with({"timeout", "/v1/chat/completions"}).inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterLookupThenInc)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

}  // namespace

// MockMetrics: echoes-mock's metrics, kept in a monitor::MetricsRegistry and rendered in the
// Prometheus text exposition format at /__admin/metrics (names documented in mock_server/README.md).
//
//   metrics.observe("/v1/chat/completions", 200, "", std::chrono::milliseconds(3));
//   std::string text = metrics.render_prometheus();
//   // echoes_mock_requests_total{route="/v1/chat/completions",status="200",fault="none"} 1
//   metrics.observe_event_lateness(std::chrono::microseconds(300));  // a stream event sent late
//   metrics.observe_handler_run(/*on_event_loop=*/true);
//   // echoes_mock_handler_runs_total{thread="loop"} 1
//   metrics.set_transport({.open_connections = 3});  // gauges: set just before rendering
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/base/clock.h"
#include "core/monitor/metrics_registry.h"

namespace echoes::mock {

class MockMetrics {
 public:
  // Upper bounds of the latency histogram buckets, in seconds (+Inf is implicit).
  static constexpr std::array<double, 12> kBucketBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                           0.025,  0.05,  0.1,    0.25,  0.5,
                                                           1.0,    2.5};

  // Upper bounds of the stream event lateness buckets, in seconds (+Inf is implicit): fine around
  // the 5 ms that a replayed event may be late at p99.
  static constexpr std::array<double, 13> kLatenessBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1};

  // What the transport and the response cache hold at the moment of rendering.
  struct Levels {
    std::uint64_t response_cache_entries = 0;
    std::uint64_t response_cache_bytes = 0;
    std::uint64_t open_connections = 0;
    std::uint64_t worker_tasks_queued = 0;
    std::uint64_t worker_tasks_running = 0;
  };

  MockMetrics();

  // `fault` is "" for none. Thread-safe.
  void observe(const std::string& route, int status, const std::string& fault, Duration latency);
  // How long after its recorded time (scaled) a replayed stream event was written. Thread-safe.
  void observe_event_lateness(Duration late);
  // A request's handler started on the event loop (true) or on a worker thread. Thread-safe.
  void observe_handler_run(bool on_event_loop);
  // Sets the gauges. Thread-safe.
  void set_levels(const Levels& levels) const;
  std::string render_prometheus() const;
  // Zeroes every count (the series stay, at zero).
  void reset();
  // Requests counted for this label set (for tests).
  std::uint64_t count(const std::string& route, int status, const std::string& fault) const;
  // Handlers run on the event loop (true) or on workers (false) (for tests).
  std::uint64_t handler_runs(bool on_event_loop) const;

  monitor::MetricsRegistry& registry() { return registry_; }

 private:
  monitor::MetricsRegistry registry_;
  monitor::CounterFamily requests_;          // route, status, fault
  monitor::HistogramFamily request_seconds_;  // route
  monitor::Histogram lateness_;
  monitor::Counter handler_runs_on_loop_;
  monitor::Counter handler_runs_on_workers_;
  monitor::Gauge cache_entries_;
  monitor::Gauge cache_bytes_;
  monitor::Gauge open_connections_;
  monitor::Gauge worker_tasks_queued_;
  monitor::Gauge worker_tasks_running_;
};

}  // namespace echoes::mock

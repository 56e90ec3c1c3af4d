#include "mock_server/mock_metrics.h"

#include <algorithm>

namespace echoes::mock {
namespace {
double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
std::string fault_label(const std::string& fault) { return fault.empty() ? "none" : fault; }
}  // namespace

// Families are registered in the order /__admin/metrics has always listed them.
MockMetrics::MockMetrics()
    : requests_(registry_.counter_family("echoes_mock_requests_total",
                                         "Requests answered, by route, status and fault.",
                                         {"route", "status", "fault"})),
      request_seconds_(registry_.histogram_family("echoes_mock_request_duration_seconds",
                                                  "Time from request to response headers.",
                                                  kBucketBounds, {"route"})),
      lateness_(registry_.histogram(
          "echoes_mock_stream_event_lateness_seconds",
          "How long after its recorded (scaled) offset each replayed stream event was written.",
          kLatenessBounds)),
      handler_runs_on_loop_(registry_.counter(
          "echoes_mock_handler_runs_total",
          "Requests handled, by the thread that ran the handler: the event loop or a worker.",
          {{"thread", "loop"}})),
      handler_runs_on_workers_(registry_.counter(
          "echoes_mock_handler_runs_total",
          "Requests handled, by the thread that ran the handler: the event loop or a worker.",
          {{"thread", "worker"}})),
      cache_entries_(registry_.gauge("echoes_mock_response_cache_entries",
                                     "Replayed bodies cached by their raw bytes.")),
      cache_bytes_(registry_.gauge("echoes_mock_response_cache_bytes",
                                   "Bytes the response cache counts against its bound.")),
      open_connections_(registry_.gauge("echoes_mock_open_connections",
                                        "Client connections accepted and not yet closed.")),
      worker_tasks_queued_(registry_.gauge(
          "echoes_mock_worker_tasks", "Requests handed to the worker pool, waiting or running.",
          {{"state", "queued"}})),
      worker_tasks_running_(registry_.gauge(
          "echoes_mock_worker_tasks", "Requests handed to the worker pool, waiting or running.",
          {{"state", "running"}})) {}

void MockMetrics::observe(const std::string& route, int status, const std::string& fault,
                          Duration latency) {
  requests_.with({route, std::to_string(status), fault_label(fault)}).inc();
  request_seconds_.with({route}).observe(seconds(latency));
}

void MockMetrics::observe_event_lateness(Duration late) {
  lateness_.observe(std::max(0.0, seconds(late)));
}

void MockMetrics::observe_handler_run(bool on_event_loop) {
  (on_event_loop ? handler_runs_on_loop_ : handler_runs_on_workers_).inc();
}

void MockMetrics::set_levels(const Levels& levels) const {
  cache_entries_.set(static_cast<double>(levels.response_cache_entries));
  cache_bytes_.set(static_cast<double>(levels.response_cache_bytes));
  open_connections_.set(static_cast<double>(levels.open_connections));
  worker_tasks_queued_.set(static_cast<double>(levels.worker_tasks_queued));
  worker_tasks_running_.set(static_cast<double>(levels.worker_tasks_running));
}

std::uint64_t MockMetrics::handler_runs(bool on_event_loop) const {
  return (on_event_loop ? handler_runs_on_loop_ : handler_runs_on_workers_).value();
}

std::uint64_t MockMetrics::count(const std::string& route, int status,
                                 const std::string& fault) const {
  return requests_.with({route, std::to_string(status), fault_label(fault)}).value();
}

void MockMetrics::reset() { registry_.reset(); }

std::string MockMetrics::render_prometheus() const { return registry_.render_prometheus(); }

}  // namespace echoes::mock

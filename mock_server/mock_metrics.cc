#include "mock_server/mock_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string_view>

namespace echoes::mock {
namespace {

// Appends one Prometheus histogram: cumulative `_bucket` lines for `bounds` and +Inf (`counts`
// holds one more entry than `bounds`, the overflow), then `_sum` and `_count`. `labels` is ""
// or `name="value",...` without braces.
void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      std::span<const double> bounds, std::span<const std::uint64_t> counts,
                      double sum) {
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, bounds[i], cumulative);
  }
  cumulative += counts[bounds.size()];
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, prefix, cumulative);
  const std::string braced = labels.empty() ? std::string() : "{" + std::string(labels) + "}";
  out += fmt::format("{}_sum{} {}\n", name, braced, sum);
  out += fmt::format("{}_count{} {}\n", name, braced, cumulative);
}

// The index of the first bucket whose upper bound is at least `seconds`; bounds.size() is +Inf.
size_t bucket_index(std::span<const double> bounds, double seconds) {
  size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  return i;
}

}  // namespace

void MockMetrics::observe(const std::string& route, int status, const std::string& fault,
                          Duration latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mutex_);
  ++requests_[{route, status, fault.empty() ? std::string("none") : fault}];
  ++buckets_[route][bucket_index(kBucketBounds, seconds)];
  latency_sum_seconds_[route] += seconds;
}

void MockMetrics::observe_event_lateness(Duration late) {
  const double seconds = std::max(0.0, std::chrono::duration<double>(late).count());
  const size_t i = bucket_index(kLatenessBounds, seconds);
  std::lock_guard lock(mutex_);
  ++lateness_buckets_[i];
  lateness_sum_seconds_ += seconds;
}

void MockMetrics::observe_handler_run(bool on_event_loop) {
  std::lock_guard lock(mutex_);
  ++(on_event_loop ? handler_runs_on_loop_ : handler_runs_on_workers_);
}

std::uint64_t MockMetrics::handler_runs(bool on_event_loop) const {
  std::lock_guard lock(mutex_);
  return on_event_loop ? handler_runs_on_loop_ : handler_runs_on_workers_;
}

std::uint64_t MockMetrics::count(const std::string& route, int status,
                                 const std::string& fault) const {
  std::lock_guard lock(mutex_);
  auto it = requests_.find({route, status, fault.empty() ? std::string("none") : fault});
  return it == requests_.end() ? 0 : it->second;
}

void MockMetrics::reset() {
  std::lock_guard lock(mutex_);
  requests_.clear();
  buckets_.clear();
  latency_sum_seconds_.clear();
  lateness_buckets_.fill(0);
  lateness_sum_seconds_ = 0.0;
  handler_runs_on_loop_ = 0;
  handler_runs_on_workers_ = 0;
}

std::string MockMetrics::render_prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP echoes_mock_requests_total Requests answered, by route, status and fault.\n";
  out += "# TYPE echoes_mock_requests_total counter\n";
  for (const auto& [labels, value] : requests_) {
    const auto& [route, status, fault] = labels;
    out += fmt::format("echoes_mock_requests_total{{route=\"{}\",status=\"{}\",fault=\"{}\"}} {}\n",
                       route, status, fault, value);
  }
  out += "# HELP echoes_mock_request_duration_seconds Time from request to response headers.\n";
  out += "# TYPE echoes_mock_request_duration_seconds histogram\n";
  for (const auto& [route, buckets] : buckets_) {
    append_histogram(out, "echoes_mock_request_duration_seconds", fmt::format("route=\"{}\"", route),
                     kBucketBounds, buckets, latency_sum_seconds_.at(route));
  }
  out += "# HELP echoes_mock_stream_event_lateness_seconds How long after its recorded (scaled) "
         "offset each replayed stream event was written.\n";
  out += "# TYPE echoes_mock_stream_event_lateness_seconds histogram\n";
  append_histogram(out, "echoes_mock_stream_event_lateness_seconds", "", kLatenessBounds,
                   lateness_buckets_, lateness_sum_seconds_);
  out += "# HELP echoes_mock_handler_runs_total Requests handled, by the thread that ran the "
         "handler: the event loop or a worker.\n";
  out += "# TYPE echoes_mock_handler_runs_total counter\n";
  out += fmt::format("echoes_mock_handler_runs_total{{thread=\"loop\"}} {}\n", handler_runs_on_loop_);
  out += fmt::format("echoes_mock_handler_runs_total{{thread=\"worker\"}} {}\n",
                     handler_runs_on_workers_);
  return out;
}

}  // namespace echoes::mock

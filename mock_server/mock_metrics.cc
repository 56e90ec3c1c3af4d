#include "mock_server/mock_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace echoes::mock {

void MockMetrics::observe(const std::string& route, int status, const std::string& fault,
                          Duration latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mutex_);
  ++requests_[{route, status, fault.empty() ? std::string("none") : fault}];
  auto& buckets = buckets_[route];
  size_t i = 0;
  while (i < kBucketBounds.size() && seconds > kBucketBounds[i]) ++i;
  ++buckets[i];
  latency_sum_seconds_[route] += seconds;
}

void MockMetrics::observe_event_lateness(Duration late) {
  const double seconds = std::max(0.0, std::chrono::duration<double>(late).count());
  size_t i = 0;
  while (i < kLatenessBounds.size() && seconds > kLatenessBounds[i]) ++i;
  std::lock_guard lock(mutex_);
  ++lateness_buckets_[i];
  lateness_sum_seconds_ += seconds;
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
    std::uint64_t cumulative = 0;
    for (size_t i = 0; i < kBucketBounds.size(); ++i) {
      cumulative += buckets[i];
      out += fmt::format("echoes_mock_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                         route, kBucketBounds[i], cumulative);
    }
    cumulative += buckets[kBucketBounds.size()];
    out += fmt::format("echoes_mock_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                       route, cumulative);
    out += fmt::format("echoes_mock_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route,
                       latency_sum_seconds_.at(route));
    out += fmt::format("echoes_mock_request_duration_seconds_count{{route=\"{}\"}} {}\n", route,
                       cumulative);
  }
  out += "# HELP echoes_mock_stream_event_lateness_seconds How long after its recorded (scaled) "
         "offset each replayed stream event was written.\n";
  out += "# TYPE echoes_mock_stream_event_lateness_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatenessBounds.size(); ++i) {
    cumulative += lateness_buckets_[i];
    out += fmt::format("echoes_mock_stream_event_lateness_seconds_bucket{{le=\"{}\"}} {}\n",
                       kLatenessBounds[i], cumulative);
  }
  cumulative += lateness_buckets_[kLatenessBounds.size()];
  out += fmt::format("echoes_mock_stream_event_lateness_seconds_bucket{{le=\"+Inf\"}} {}\n",
                     cumulative);
  out += fmt::format("echoes_mock_stream_event_lateness_seconds_sum {}\n", lateness_sum_seconds_);
  out += fmt::format("echoes_mock_stream_event_lateness_seconds_count {}\n", cumulative);
  return out;
}

}  // namespace echoes::mock

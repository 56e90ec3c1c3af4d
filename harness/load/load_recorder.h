// What `echoes load` measured: one record per request (its outcome, its latency from the intended
// send time, stage timings, stream timings, the safety check), gathered from many threads into HDR
// histograms and counts. Every request that was started must be recorded exactly once: a request
// started but never recorded is "lost".
//
//   LoadRecorder recorder(run_start, measured_start, std::chrono::seconds(1));
//   recorder.started(record.measured);   // before sending
//   ...
//   recorder.record(record);             // exactly once per request, from any thread
//   LoadResults results = recorder.results();
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/error.h"
#include "core/monitor/hdr_histogram.h"
#include "core/safety/safety_layer.h"

namespace echoes::harness {

// The batch runner's words: an answer, a block, or an error (by ErrorCode name).
enum class LoadOutcome : std::uint8_t { kAnswer, kBlocked, kError };

struct RequestRecord {
  std::uint64_t index = 0;
  bool measured = false;
  TimePoint intended{};   // intended send time
  TimePoint completed{};  // when the outcome was known
  LoadOutcome outcome = LoadOutcome::kError;
  std::optional<ErrorCode> error;  // kError only
  std::optional<safety::StageTimings> stages;  // safety-layer requests
  std::optional<Duration> time_to_first_token;  // streams: from the intended send time
  std::vector<Duration> between_tokens;         // streams: gaps between content deltas
  // The safety check (safety-layer requests that had a reference decision).
  bool checked = false;
  bool decision_mismatch = false;
  bool harmful = false;            // labelled harmful
  bool harmful_unblocked = false;  // labelled harmful and answered
};

// Latencies are recorded in microseconds, 1 us .. 1 h, 3 significant digits.
monitor::HdrHistogram new_latency_histogram();

struct LoadResults {
  monitor::HdrHistogram latency = new_latency_histogram();
  monitor::HdrHistogram ttft = new_latency_histogram();
  monitor::HdrHistogram inter_token = new_latency_histogram();
  monitor::HdrHistogram stage_guard = new_latency_histogram();
  monitor::HdrHistogram stage_upstream = new_latency_histogram();
  monitor::HdrHistogram stage_filter = new_latency_histogram();
  // Latency per interval of completion time since the measured start (for the .hlog).
  std::map<std::int64_t, monitor::HdrHistogram> intervals;
  Duration interval_length{};
  std::uint64_t started_measured = 0;
  std::uint64_t started_warmup = 0;
  std::uint64_t recorded_warmup = 0;
  std::uint64_t answer = 0;
  std::uint64_t blocked = 0;
  std::uint64_t error = 0;
  std::map<std::string, std::uint64_t> errors;  // by ErrorCode name
  std::uint64_t checked = 0;
  std::uint64_t decision_mismatches = 0;
  std::uint64_t harmful_answers = 0;
  std::uint64_t harmful_answers_unblocked = 0;
  std::uint64_t double_records = 0;  // a request recorded twice (a bug; must stay 0)
  TimePoint measured_start{};
  std::optional<TimePoint> last_completion;  // of a measured request

  std::uint64_t requests() const { return answer + blocked + error; }
  // Started but never recorded (must be 0).
  std::uint64_t lost() const {
    return started_measured > requests() ? started_measured - requests() : 0;
  }
};

class LoadRecorder {
 public:
  LoadRecorder(TimePoint measured_start, Duration interval_length);
  void started(bool measured);
  void record(const RequestRecord& record);
  LoadResults results() const;
  // Cheap counts for a progress line: measured requests recorded, errors, blocked.
  struct Progress {
    std::uint64_t recorded = 0, blocked = 0, errors = 0, started = 0;
  };
  Progress progress() const;

 private:
  mutable std::mutex mutex_;
  LoadResults results_;
  std::vector<bool> seen_;  // by request index: recorded already
  // Intervals two or more behind the latest, V2-compressed: a long run's intervals (up to 60) would
  // otherwise hold a 184 KiB counts array each, and the load process's memory would grow with time.
  std::map<std::int64_t, std::string> closed_intervals_;
};

}  // namespace echoes::harness

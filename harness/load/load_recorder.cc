#include "harness/load/load_recorder.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "core/monitor/histogram_log.h"

namespace echoes::harness {
namespace {

std::int64_t micros(Duration d) {
  return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

monitor::HdrHistogram new_latency_histogram() { return monitor::HdrHistogram(1, 3'600'000'000LL, 3); }

LoadRecorder::LoadRecorder(TimePoint measured_start, Duration interval_length) {
  results_.measured_start = measured_start;
  results_.interval_length = interval_length;
}

void LoadRecorder::started(bool measured) {
  std::lock_guard lock(mutex_);
  (measured ? results_.started_measured : results_.started_warmup) += 1;
}

void LoadRecorder::record(const RequestRecord& r) {
  std::lock_guard lock(mutex_);
  if (r.index >= seen_.size()) seen_.resize(std::max<std::size_t>(r.index + 1, seen_.size() * 2), false);
  if (seen_[r.index]) {
    ++results_.double_records;
    return;
  }
  seen_[r.index] = true;
  if (!r.measured) {
    ++results_.recorded_warmup;
    return;
  }
  LoadResults& s = results_;
  const std::int64_t latency = micros(r.completed - r.intended);
  s.latency.record(latency);
  const auto interval = static_cast<std::int64_t>((r.completed - s.measured_start) / s.interval_length);
  const std::int64_t k = std::max<std::int64_t>(0, interval);
  if (auto closed = closed_intervals_.find(k); closed != closed_intervals_.end()) {
    // A request recorded late (its thread paused between its completion and here): reopen.
    auto reopened = monitor::decode_compressed(closed->second);
    s.intervals.try_emplace(k, reopened ? std::move(*reopened) : new_latency_histogram());
    closed_intervals_.erase(closed);
  }
  auto [it, inserted] = s.intervals.try_emplace(k, new_latency_histogram());
  it->second.record(latency);
  while (!s.intervals.empty() && s.intervals.begin()->first < k - 1) {
    closed_intervals_[s.intervals.begin()->first] = monitor::encode_compressed(s.intervals.begin()->second);
    s.intervals.erase(s.intervals.begin());
  }
  switch (r.outcome) {
    case LoadOutcome::kAnswer: ++s.answer; break;
    case LoadOutcome::kBlocked: ++s.blocked; break;
    case LoadOutcome::kError:
      ++s.error;
      ++s.errors[std::string(to_string(r.error.value_or(ErrorCode::kInternal)))];
      break;
  }
  if (r.stages) {
    s.stage_guard.record(micros(r.stages->guard));
    s.stage_upstream.record(micros(r.stages->upstream));
    s.stage_filter.record(micros(r.stages->filter));
  }
  if (r.time_to_first_token) s.ttft.record(micros(*r.time_to_first_token));
  for (Duration gap : r.between_tokens) s.inter_token.record(micros(gap));
  if (r.checked) ++s.checked;
  if (r.decision_mismatch) ++s.decision_mismatches;
  if (r.harmful) ++s.harmful_answers;
  if (r.harmful_unblocked) ++s.harmful_answers_unblocked;
  if (!s.last_completion || r.completed > *s.last_completion) s.last_completion = r.completed;
}

LoadResults LoadRecorder::results() const {
  std::lock_guard lock(mutex_);
  LoadResults copy = results_;
  for (const auto& [k, bytes] : closed_intervals_) {
    auto decoded = monitor::decode_compressed(bytes);
    if (decoded) copy.intervals.try_emplace(k, std::move(*decoded));  // our own encoding: decodes
  }
  return copy;
}

LoadRecorder::Progress LoadRecorder::progress() const {
  std::lock_guard lock(mutex_);
  return Progress{results_.requests(), results_.blocked, results_.error, results_.started_measured};
}

}  // namespace echoes::harness

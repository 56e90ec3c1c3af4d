// The load recorder: one outcome per request (a second record of one request is refused and
// counted), lost requests (started, never recorded), and the per-interval latency histograms —
// kept compressed once closed — adding up to the whole run's.
#include "harness/load/load_recorder.h"

#include <gtest/gtest.h>

#include <chrono>

namespace echoes::harness {
namespace {

using namespace std::chrono_literals;

RequestRecord at(std::uint64_t index, TimePoint start, Duration when, Duration latency) {
  RequestRecord r;
  r.index = index;
  r.measured = true;
  r.completed = start + when;
  r.intended = r.completed - latency;
  r.outcome = index % 3 == 0 ? LoadOutcome::kError : LoadOutcome::kAnswer;
  if (r.outcome == LoadOutcome::kError) r.error = ErrorCode::kServerError;
  return r;
}

TEST(LoadRecorderTest, IntervalsAddUpToTheWholeRunAndLateRecordsReopenTheirInterval) {
  const TimePoint start{};
  LoadRecorder recorder(start, 1s);
  std::uint64_t i = 0;
  for (int second = 0; second < 100; ++second) {
    for (int k = 0; k < 5; ++k, ++i) {
      recorder.started(true);
      recorder.record(at(i, start, std::chrono::seconds(second) + std::chrono::milliseconds(100 * k),
                         std::chrono::microseconds(100 + 37 * static_cast<int>(i))));
    }
  }
  // A record that arrives late for an interval closed long ago.
  recorder.started(true);
  recorder.record(at(i, start, 3s + 500ms, 9ms));
  const LoadResults r = recorder.results();
  ASSERT_EQ(r.intervals.size(), 100u);
  monitor::HdrHistogram sum = new_latency_histogram();
  for (const auto& [k, h] : r.intervals) sum.add(h);
  EXPECT_EQ(sum, r.latency);
  EXPECT_EQ(r.intervals.at(3).total_count(), 6);
  EXPECT_EQ(r.requests(), 501u);
  EXPECT_EQ(r.lost(), 0u);
  EXPECT_EQ(r.errors.at("server_error"), r.error);
}

TEST(LoadRecorderTest, ARequestRecordedTwiceIsCountedOnceAndFlagged) {
  LoadRecorder recorder(TimePoint{}, 1s);
  recorder.started(true);
  recorder.started(true);
  recorder.record(at(1, TimePoint{}, 1s, 1ms));
  recorder.record(at(1, TimePoint{}, 1s, 1ms));
  const LoadResults r = recorder.results();
  EXPECT_EQ(r.requests(), 1u);
  EXPECT_EQ(r.double_records, 1u);
  EXPECT_EQ(r.lost(), 1u);  // two started, one recorded
}

}  // namespace
}  // namespace echoes::harness

// The open-loop runner of `echoes load` for blocking requests (the safety layer): `workers`
// threads each claim the next slot of the schedule, wait for its intended send time on the clock
// (not at all when it has passed: the request then starts late and its latency says so), run it,
// and record exactly one outcome for it. A slot is claimed only when a worker is free, so when the
// target is faster than the workers the backlog shows up as latency, as in wrk2.
//
//   LoadRecorder recorder(start + schedule.warmup, 1s);
//   run_open_loop(schedule, 16, clock, start, recorder, [&](RequestRecord& r) {
//     r.outcome = ...; r.completed = clock.now();
//   });
//
// RunTicker calls a function every `period` on its own thread (progress line, fault phases,
// process samples) until it is destroyed.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/base/clock.h"
#include "harness/load/load_recorder.h"
#include "harness/load/load_schedule.h"

namespace echoes::harness {

// Fills the record's outcome, completion time and details; index, measured and intended are set.
// An exception it throws is recorded as an error (kUnexpectedException), never lost.
using RequestExecutor = std::function<void(RequestRecord& record)>;

void run_open_loop(const RateSchedule& schedule, int workers, Clock& clock, TimePoint start,
                   LoadRecorder& recorder, const RequestExecutor& execute);

class RunTicker {
 public:
  RunTicker(Duration period, std::function<void()> tick);
  ~RunTicker();  // stops, then ticks once more
  RunTicker(const RunTicker&) = delete;
  RunTicker& operator=(const RunTicker&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::function<void()> tick_;
  std::thread thread_;
};

}  // namespace echoes::harness

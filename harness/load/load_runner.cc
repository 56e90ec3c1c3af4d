#include "harness/load/load_runner.h"

#include <atomic>
#include <exception>
#include <vector>

namespace echoes::harness {

void run_open_loop(const RateSchedule& schedule, int workers, Clock& clock, TimePoint start,
                   LoadRecorder& recorder, const RequestExecutor& execute) {
  std::atomic<std::uint64_t> next{0};
  auto work = [&] {
    while (true) {
      const std::uint64_t i = next.fetch_add(1);
      const std::optional<ScheduledRequest> slot = schedule.slot(i);
      if (!slot) return;
      RequestRecord record;
      record.index = i;
      record.measured = slot->measured;
      record.intended = start + slot->offset;
      const TimePoint now = clock.now();
      if (now < record.intended) clock.sleep_for(record.intended - now);
      recorder.started(record.measured);
      try {
        execute(record);
      } catch (const std::exception& e) {
        record.outcome = LoadOutcome::kError;
        record.error = ErrorCode::kUnexpectedException;
        record.completed = clock.now();
      } catch (...) {
        record.outcome = LoadOutcome::kError;
        record.error = ErrorCode::kUnexpectedException;
        record.completed = clock.now();
      }
      recorder.record(record);
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
}

RunTicker::RunTicker(Duration period, std::function<void()> tick) : tick_(std::move(tick)) {
  thread_ = std::thread([this, period] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      tick_();
      lock.lock();
    }
  });
}

RunTicker::~RunTicker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  tick_();
}

}  // namespace echoes::harness

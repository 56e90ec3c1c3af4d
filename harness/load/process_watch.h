// CPU and resident memory of one process over a run, from /proc (Linux): `echoes load
// --watch-pid PID` samples the process under load (echoes-mock, or the load process itself when
// it runs the mock in-process).
//
//   ProcessWatch watch(pid);                 // first reading now
//   if (!watch.ok()) report(watch.problem());
//   watch.sample(elapsed_s);                 // CPU% since the previous sample, RSS now
//   for (const ProcessSample& s : watch.samples()) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"

namespace echoes::harness {

struct ProcessSample {
  double t_s = 0;
  double cpu_percent = 0;  // of one core, since the previous sample (may exceed 100)
  std::int64_t rss_bytes = 0;
};

// utime + stime (clock ticks) from the text of /proc/PID/stat; nullopt when malformed. The command
// name in parentheses may hold spaces and ')' itself, so fields are counted after the last ')'.
std::optional<std::uint64_t> cpu_ticks_from_stat(std::string_view stat);
// VmRSS from the text of /proc/PID/status, in bytes; nullopt when absent.
std::optional<std::int64_t> rss_bytes_from_status(std::string_view status);

class ProcessWatch {
 public:
  explicit ProcessWatch(int pid, Clock& clock = SystemClock::instance());
  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }
  int pid() const { return pid_; }
  // Reads /proc now; a process that has gone away ends the sampling (problem() says so).
  void sample(double t_s);
  const std::vector<ProcessSample>& samples() const { return samples_; }

 private:
  bool read(std::uint64_t& ticks, std::int64_t& rss);

  int pid_;
  Clock& clock_;
  std::string problem_;
  std::uint64_t last_ticks_ = 0;
  TimePoint last_time_{};
  std::vector<ProcessSample> samples_;
};

}  // namespace echoes::harness

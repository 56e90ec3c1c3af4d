// The open-loop schedule of `echoes load`, in wrk2's manner: request i has an intended send time
// fixed before the run, whatever happened to the requests before it, and its latency is measured
// from that time — so a stall that delays sending is counted in full (coordinated omission is
// corrected) instead of hiding behind the requests that were never sent.
//
//   RateSchedule schedule{.from_rps = 100, .to_rps = 100, .warmup = 2s, .duration = 20s};
//   for (std::uint64_t i = 0;; ++i) {
//     std::optional<ScheduledRequest> slot = schedule.slot(i);
//     if (!slot) break;                       // past the end of the run
//     wait_until(start + slot->offset); send(i); latency = done - (start + slot->offset);
//   }
//
// The warm-up runs at `from_rps` and its requests are not measured; over `duration` the rate goes
// linearly from `from_rps` to `to_rps` (equal for a constant rate).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "core/base/clock.h"
#include "core/base/result.h"

namespace echoes::harness {

struct ScheduledRequest {
  Duration offset{};      // intended send time, from the start of the run (warm-up included)
  bool measured = false;  // after the warm-up
};

struct RateSchedule {
  double from_rps = 0;
  double to_rps = 0;
  Duration warmup{};
  Duration duration{};

  // Request i's slot, or nullopt when it would fall after warmup + duration.
  std::optional<ScheduledRequest> slot(std::uint64_t i) const;
  // How many requests the measured part intends to send.
  double measured_requests() const;
  // kInvalidInput naming the field: negative or non-finite rates, both zero, a zero duration.
  Status validate() const;
};

// "30s", "10m", "500ms", "1h", "2.5s": a positive count and a unit (ms, s, m, h). "0s" is allowed.
Result<Duration> parse_duration(std::string_view text);
// "FROM:TO" requests per second, e.g. "50:400".
Result<std::pair<double, double>> parse_ramp(std::string_view text);

}  // namespace echoes::harness

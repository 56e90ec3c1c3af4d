// The progress of a batch run as text: a bar with rate and ETA for a terminal (redrawn in place
// with "\r"), or a plain line for logs.
//
//   std::cerr << "\r" << progress_text(counters, elapsed, ProgressStyle::kBar) << std::flush;
//   //  [##########----------]  512/1024  50%  48.2 lines/s  ETA 10s  (3 errors)
//   std::cerr << progress_text(counters, elapsed, ProgressStyle::kPlain) << "\n";
//   //  batch: 512/1024 lines (50%), 48.2 lines/s, ETA 10s, 3 errors, 0 blocked, 1 invalid
#pragma once

#include <string>

#include "core/base/clock.h"
#include "harness/batch/batch_runner.h"

namespace echoes::harness::batch {

enum class ProgressStyle : std::uint8_t { kBar, kPlain };

// `elapsed` is the time this run has been sending; the rate counts lines completed by this run,
// the fraction counts lines done earlier too. The ETA is "?" until a line has completed.
std::string progress_text(const BatchCounters& counters, Duration elapsed, ProgressStyle style);

}  // namespace echoes::harness::batch

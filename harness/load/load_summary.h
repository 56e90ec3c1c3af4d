// The outputs of one `echoes load` run, in --out DIR (the reports/ layout of load/<profile>/):
//   summary.json   "echoes-load-summary" version 1, schema fixtures/contracts/load_summary.schema.json
//   latency.hgrm   the latency's percentile distribution (HdrHistogram's text, milliseconds)
//   latency.hlog   the latency per interval, HdrHistogram's interval log (V2 compressed, microseconds)
//
//   LoadRunInfo info{.profile = "faults", ...};
//   Status written = write_load_outputs("reports/load/faults", info, recorder.results());
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "harness/load/load_recorder.h"
#include "harness/load/process_watch.h"

namespace echoes::harness {

inline constexpr std::string_view kLoadSummaryFormat = "echoes-load-summary";
inline constexpr int kLoadSummaryVersion = 1;

struct BreakerTransitionRecord {
  double t_s = 0;  // since the start of the run (warm-up included)
  std::string from;
  std::string to;
};

struct LoadRunInfo {
  std::string profile;
  std::string base_url;
  double target_rps = 0;  // mean target over the measured part (the ramp's midpoint)
  Duration duration{};
  Duration warmup{};
  int connections = 0;
  bool safety_layer = true;
  double start_wall_s = 0;  // seconds since the epoch when the run started (the .hlog's start)
  std::vector<BreakerTransitionRecord> breaker_transitions;
  std::optional<std::string> breaker_final_state;
  std::optional<int> watched_pid;
  std::vector<ProcessSample> watched_samples;
};

// Resident memory growth in percent from the mean of the second fifth of the samples to the mean of
// the last fifth; nullopt with fewer than 5 samples.
std::optional<double> rss_growth_percent(const std::vector<ProcessSample>& samples);

// The summary's "latency_ms" object (null without samples) and its "spectrum" array for a latency
// histogram recorded in microseconds, as JSON text. The report merge rebuilds both from the
// shards' merged .hlog histograms with these, so a merged summary reads like a single run's.
std::string latency_percentiles_json(const monitor::HdrHistogram& latency_us);
std::string latency_spectrum_json(const monitor::HdrHistogram& latency_us);

std::string load_summary_json(const LoadRunInfo& info, const LoadResults& results);
// Creates the folder; each file is written whole (to a temporary name, then renamed).
Status write_load_outputs(const std::string& dir, const LoadRunInfo& info, const LoadResults& results);

}  // namespace echoes::harness

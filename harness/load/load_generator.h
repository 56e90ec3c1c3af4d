// `echoes load` as a library: runs a load profile open-loop against echoes-mock (started
// in-process when no base URL is given) or any OpenAI-compatible base URL, through the safety
// layer (or the client alone for `raw`), and returns what it measured.
//
//   LoadOptions options;
//   options.profile = *builtin_profile("faults");
//   options.schedule = {.from_rps = 200, .to_rps = 200, .warmup = 2s, .duration = 20s};
//   Result<LoadRun> run = run_load(options);
//   write_load_outputs("reports/load/faults", run->info, run->results);
//
// Before the run every request of the profile is sent once, unloaded and without faults, through
// the same pipeline: its outcome is the reference. Under load every outcome that is a decision
// (answer or block) must equal its reference (kind, stage, both decisions); an error (an upstream
// fault) must not stand where the reference was an input block (the guard needs no upstream).
// Every request labelled harmful must not end as an answer. The counts go to `safety`.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/monitor/log.h"
#include "core/monitor/metrics_registry.h"
#include "harness/load/load_profile.h"
#include "harness/load/load_recorder.h"
#include "harness/load/load_schedule.h"
#include "harness/load/load_summary.h"

namespace echoes::safety {
struct SafetyOutcome;
}

namespace echoes::harness {

struct LoadOptions {
  LoadProfile profile;
  RateSchedule schedule;
  int connections = 16;
  std::optional<std::string> base_url;  // "http://host:port/v1"; none: the in-process mock
  std::string fixtures_dir;             // cassettes/safety, rules/, models/
  config::EchoesConfig config = config::default_config();
  std::optional<int> watch_pid;  // none: the load process itself when the mock is in-process
  std::uint64_t seed = 1;
  std::ostream* progress = nullptr;  // a live progress line ('\r'-updated) when set
  std::optional<std::string> api_key;  // the upstream's key; none: $OPENAI_API_KEY
  // Called for every measured request that went through the safety layer, from the workers
  // (concurrently): the prompt and the outcome. `echoes load --audit-log` records them.
  std::function<void(std::string_view prompt, const safety::SafetyOutcome& outcome)> on_outcome;
  // Where the safety layer's metrics go (safety::SafetyMetrics; the reference run counts too) and
  // the breaker's state; null: not counted. Not owned.
  monitor::MetricsRegistry* metrics = nullptr;
  // Where each request that ends in an error is logged, with its request id; null: not logged.
  monitor::Log* log = nullptr;
};

struct LoadRun {
  LoadRunInfo info;
  LoadResults results;
};

// kInvalidInput for bad options (naming the flag), or when a reference request fails.
Result<LoadRun> run_load(const LoadOptions& options);

}  // namespace echoes::harness

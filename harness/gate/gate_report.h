// What `echoes gate` writes: the printed table (gate, kind, threshold, measured, verdict, source),
// summary.json (format "echoes-gate-summary", version 1, schema
// fixtures/contracts/gate_summary.schema.json) and summary.md (CI step summaries), each with its
// provenance: commit, compiler and flags, the hashes of the inputs, the seeds and the machine.
//
//   Provenance p = build_provenance(ProvenanceOptions{...}, collected);
//   std::cout << gate_table(judgement);
//   write_file_atomically("reports/summary.json", summary_json(judgement, collected, p));
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "harness/gate/gate_evaluator.h"

namespace echoes::gate {

inline constexpr std::string_view kGateSummaryFormat = "echoes-gate-summary";
inline constexpr int kGateSummaryVersion = 1;

struct InputFile {
  std::string kind;  // "dataset", "model", "rule_pack", "config" or "gates"
  std::string path;
  std::string sha256;
};

struct Provenance {
  std::string commit;          // empty when unknown
  std::optional<bool> dirty;   // uncommitted changes in the source tree; none when unknown
  std::string compiler;
  std::string build_type;
  std::string flags;
  std::string generated_at;    // UTC, ISO 8601
  unsigned cores = 0;
  std::optional<double> load_avg_1m;
  std::optional<double> steal_percent;
  std::vector<InputFile> inputs;
  std::vector<std::pair<std::string, std::uint64_t>> seeds;
};

// The cpu line of /proc/stat: jiffies in all states, and stolen by the hypervisor.
struct CpuTimes {
  std::uint64_t total = 0;
  std::uint64_t steal = 0;
};
Result<CpuTimes> parse_proc_stat(std::string_view text);
Result<CpuTimes> read_cpu_times();  // /proc/stat
// The share of CPU time stolen between two readings, in percent; none when no time passed.
std::optional<double> steal_percent(const CpuTimes& begin, const CpuTimes& end);

// Adds what the collected efficacy report names (datasets, models, rule packs with their sha256,
// the bootstrap seed) to `provenance`.
void add_efficacy_provenance(const Collected& collected, Provenance& provenance);

std::string format_measured(double value);  // "0", "90", "68.13", "0.9995"
std::string gate_table(const Judgement& judgement);
std::string summary_markdown(const Judgement& judgement, const Collected& collected, const Provenance& provenance);
std::string summary_json(const Judgement& judgement, const Collected& collected, const Provenance& provenance);

}  // namespace echoes::gate

// Merges the reports folders of CI shards (or of the pods of a load Job) into one reports folder
// that `echoes gate --from` judges (layout: reports/README.md). Behind `echoes report --merge`.
//
//   MergeOptions options{.source_root = "/src/echoes"};
//   Result<MergeSummary> merged = merge_reports({"shard-0", "shard-1"}, "reports", options);
//   if (!merged) fail(merged.error().to_string());        // names the file that was wrong
//   for (const std::string& line : merged->notes) std::cout << line << '\n';
//
// What each part becomes:
//   junit/<suite>.xml       per suite file name, the shards' test cases together in one suite,
//                           tests/failures/errors/skipped/disabled/time summed; a test case in two
//                           shards is an error (the shards overlapped, it would count twice)
//   coverage/*.json         every shard's gcovr JSON tracefile merged by `gcovr --add-tracefile`
//                           with the filters of cmake/Coverage.cmake into coverage/merged.json and
//                           coverage/summary.json (gcovr's JSON summary)
//   efficacy/*.json, bench/*.json
//                           must be identical in every shard that has them (or in one): copied
//   load/<profile>/         one shard: copied whole. Several: summary.json's counts summed
//                           (requests, lost, outcomes, errors, safety, rates) and availability
//                           recomputed; latency_ms, spectrum and latency.hgrm from the shards'
//                           latency.hlog histograms merged (when every shard has one; else null,
//                           said in the notes); each .hlog kept as load/<profile>/latency.<shard>.hlog;
//                           stages, stream timings and the watched process are not merged (null)
// summary.json, summary.md and index.html of a shard are not merged (echoes gate writes them).
// Errors (kInvalidInput, naming the file or folder): a shard folder that is missing or holds no
// results, malformed XML or JSON, conflicting shards, an --out that is one of the shards or is
// not empty, gcovr failing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace echoes::harness::report {

struct MergeOptions {
  // The source tree the coverage tracefiles' paths are relative to (gcovr's --root).
  std::filesystem::path source_root;
  std::string gcovr = "gcovr";  // the program run for the coverage merge
};

struct MergeSummary {
  std::size_t junit_files = 0;       // merged suite files written
  std::size_t test_cases = 0;        // test cases in them
  std::size_t tracefiles = 0;        // gcovr tracefiles merged
  std::size_t load_profiles = 0;     // load/<profile>/ folders written
  std::vector<std::string> notes;    // what was done, and what was not (one line each)
};

Result<MergeSummary> merge_reports(const std::vector<std::filesystem::path>& shards,
                                   const std::filesystem::path& out, const MergeOptions& options);

// The source folders coverage measures: the --filter arguments of cmake/Coverage.cmake, relative
// to the source root (a test keeps the two lists equal).
const std::vector<std::string>& coverage_components();

}  // namespace echoes::harness::report

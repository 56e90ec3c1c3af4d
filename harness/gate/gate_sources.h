// The gate's source readers: what `echoes gate` collects from a reports folder (reports/README.md
// has the layout) and how a gate's metric path resolves against it.
//
//   Collected results = collect_reports({"reports"}, CollectOptions{.baseline_dir = "benchmarks/baseline"});
//   Measurement m = resolve_metric(results, "coverage", "component.core.branch_percent");
//   if (!m.value) std::cout << m.detail;      // names what is missing
//
// Sources and their metric paths:
//   junit          failed_tests (failures + errors), tests, failures, errors, skipped — over every
//                  junit/*.xml (CTest's --output-junit format); missing when no test ran
//   coverage       overall.line_percent, overall.branch_percent,
//                  component.<core|mock_server|harness>.<line|branch>_percent — from gcovr's JSON
//                  summary, files grouped by the first folder of their path
//   efficacy       <detector>.<slice>.<precision|recall|f1|fpr> (the slice's point estimate), and
//                  <detector>.<slice>.<metric>_over_baseline (estimate minus the baseline's) — from
//                  efficacy/report.json; missing when the detector was not evaluated or the metric
//                  is undefined (null)
//   load/<profile> a dotted path into load/<profile>/summary.json ("availability", "latency_ms.p99");
//                  missing when the profile was not run or measured no request
//   bench          significant_regressions (benchmarks more than kBenchRegressionPercent slower
//                  than benchmarks/baseline/ with a U test p-value under kBenchAlpha, from Google
//                  Benchmark's compare.py); missing when no benchmark could be tested
//
// Hostile files (malformed XML or JSON, deep nesting, huge files, invalid UTF-8) are refused with an
// error naming the file and what is wrong; the error is kept in `Collected::problems` and every gate
// on that source reports it as missing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace echoes::gate {

// Bounds on what is read: a JUnit file or JSON document larger than this is refused.
inline constexpr std::size_t kMaxReportFileBytes = std::size_t{64} << 20;
inline constexpr double kBenchRegressionPercent = 10.0;
inline constexpr double kBenchAlpha = 0.05;

struct SuiteCounts {
  std::string name;  // the file's stem: junit/unit.xml -> "unit"
  std::uint64_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double time_s = 0;
};

// One JUnit file (CTest's --output-junit, or a <testsuites> of several suites): the counts are of
// the <testcase> elements it holds, not of the attributes it claims.
Result<SuiteCounts> parse_junit(std::string_view xml, std::string name, std::string_view origin);

struct CoverageCounts {
  std::string name;  // "overall", "core", "mock_server", "harness"
  std::uint64_t lines_total = 0, lines_covered = 0, branches_total = 0, branches_covered = 0;
  std::optional<double> line_percent() const;    // none when there is no line
  std::optional<double> branch_percent() const;  // none when there is no branch
};

struct CoverageSummary {
  CoverageCounts overall;
  std::vector<CoverageCounts> components;  // core, mock_server, harness (in that order), then others
};

// gcovr's --json-summary document. File names are taken relative to gcovr's --root.
Result<CoverageSummary> parse_gcovr_summary(std::string_view json, std::string_view origin);

// A JSON document collected as is (efficacy report, load summary), checked for its format and version.
struct JsonDocument {
  std::string path;
  std::string text;
};

Result<JsonDocument> parse_efficacy_report(std::string text, std::string path);
Result<JsonDocument> parse_load_summary(std::string text, std::string path);

struct BenchRow {
  std::string program;  // bench/<program>.json
  std::string name;     // the benchmark
  double baseline_ns = 0;
  double measured_ns = 0;
  double delta_percent = 0;
  std::optional<double> p_value;  // none: too few repetitions for the U test
  std::string verdict;            // "pass", "fail", "no-difference" or "untested"
};

struct BenchComparison {
  std::vector<BenchRow> rows;
  std::vector<std::string> notes;  // programs without a baseline, compare.py failures
};

// compare.py's --dump_to_json output for one program.
Result<std::vector<BenchRow>> parse_compare_output(std::string_view json, const std::string& program,
                                                   std::string_view origin);

struct Collected {
  std::optional<std::vector<SuiteCounts>> tests;  // none: no junit/*.xml found
  std::optional<CoverageSummary> coverage;
  std::optional<JsonDocument> efficacy;
  std::optional<JsonDocument> efficacy_previous;
  std::map<std::string, JsonDocument> load;       // by profile
  std::optional<BenchComparison> bench;
  // Files that could not be read, by source ("junit", "coverage", "efficacy", "load/<p>", "bench").
  std::map<std::string, std::vector<std::string>> problems;
  std::vector<std::string> read_files;  // every file read, for the provenance
};

struct CollectOptions {
  std::filesystem::path baseline_dir;             // benchmarks/baseline
  std::filesystem::path python = "/usr/bin/python3";
  std::filesystem::path compare_script = "/usr/share/benchmark/compare.py";
  std::filesystem::path scratch_dir;              // where compare.py's output and merged coverage go
  std::filesystem::path gcovr = "gcovr";
};

// Reads every DIR (the layout of reports/); results of several DIRs are combined: JUnit suites and
// load profiles side by side, coverage tracefiles merged with gcovr --add-tracefile when more than
// one DIR has coverage. Never fails: what cannot be read lands in `problems`.
Collected collect_reports(const std::vector<std::filesystem::path>& dirs, const CollectOptions& options);

struct Measurement {
  std::optional<double> value;
  std::string detail;  // what was measured, or what is missing and why
};

Measurement resolve_metric(const Collected& collected, std::string_view source, std::string_view metric);

}  // namespace echoes::gate

// Efficacy evaluation: runs detectors from a DetectorRegistry over labelled data sets and reports
// precision, recall, F1 and false-positive rate with confusion matrices and bootstrap intervals,
// per source, per group and overall, judged against targets. `echoes eval safety` runs the
// issue's plan (issue10_efficacy_plan()); the efficacy suite checks its document.
//
//   EfficacyOptions options{.datasets_dir = ".../fixtures/datasets", .models_dir = ..., ...};
//   Result<EfficacyReport> report = run_efficacy(issue10_efficacy_plan(), registry, context, options);
//   std::cout << efficacy_table(*report);
//   write(efficacy_json(*report));            // schema: fixtures/contracts/efficacy_report.schema.json
//   return efficacy_exit_code(*report);       // 0 every target met, 1 one missed
//
// Which rows: a detector with a model file (<models_dir>/<detector>.json) is judged on the part
// (`options.part`, normally test) of each data file that the model's recorded split seed and
// fractions give (core/eval/dataset_split.h), unless the file is marked `whole` (not in the model's
// data); a rule-only detector on every row. A detector error on a row counts as flagged (a guard
// that fails blocks: fail closed) and is counted in `errors`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/eval/dataset_split.h"
#include "core/eval/metrics.h"
#include "harness/detector_registry.h"

namespace echoes::harness {

inline constexpr std::string_view kEfficacyReportFormat = "echoes-efficacy-report";
inline constexpr int kEfficacyReportVersion = 1;

struct EfficacyDataFile {
  std::string path;        // relative to the datasets folder, e.g. "xstest/safe.jsonl"
  std::string group;       // the slice targets can name, e.g. "benign", "xstest_safe"
  bool whole = false;      // every row, never split (the file is not in the model's data)
  bool in_overall = true;  // false: reported as its own group only (information)
  std::string only_field;  // when set, keep only rows whose field `only_field` equals only_value
  std::string only_value;
  std::optional<int> label;  // overrides the file's labels
};

enum class Metric { kPrecision, kRecall, kF1, kFalsePositiveRate };
std::string_view to_string(Metric metric);  // "precision" "recall" "f1" "fpr"

struct EfficacyTarget {
  enum class Kind { kAtLeast, kAtMost, kAboveBaseline };
  Metric metric = Metric::kRecall;
  std::string slice = "overall";  // "overall" or a group
  Kind kind = Kind::kAtLeast;
  double bound = 0;               // unused for kAboveBaseline
};

struct DetectorPlan {
  std::string detector;
  std::vector<EfficacyDataFile> files;
  std::vector<EfficacyTarget> targets;
  std::string baseline_field;  // rows carry a baseline's 0/1 prediction in this field (refusal)
  std::string baseline_name;   // what the baseline is, for the report
  std::vector<std::string> notes;
};

// The data and targets of issue 10's "Efficacy" section, one plan per product detector.
std::vector<DetectorPlan> issue10_efficacy_plan();

struct EfficacyOptions {
  std::filesystem::path datasets_dir;
  std::filesystem::path models_dir;
  std::filesystem::path rules_dir;
  eval::DataPart part = eval::DataPart::kTest;
  eval::BootstrapSpec bootstrap;
  std::string commit;  // empty when unknown
};

struct FileProvenance {
  std::string path;  // as named in the plan (relative to its folder)
  std::string sha256;
  std::uint64_t rows = 0;
};

struct ModelProvenance {
  std::string path;  // "<detector>.json"
  std::string sha256;
  double threshold = 0;
  std::uint64_t split_seed = 0;
  double train_fraction = 0;
  double validation_fraction = 0;
  std::string pr_curve_json = "[]";  // the model file's validation [threshold, precision, recall, ...] points
};

struct SliceResult {
  std::string name;
  std::string kind;  // "source", "group" or "overall"
  eval::MetricReport metrics;
  std::optional<eval::MetricReport> baseline;
};

struct TargetResult {
  EfficacyTarget target;
  std::optional<double> value;
  std::optional<eval::Interval> interval;
  std::optional<double> baseline_value;  // kAboveBaseline
  bool met = false;
  std::string text;  // "recall >= 0.95 on overall"
};

struct DetectorResult {
  std::string detector;
  std::string status;   // "evaluated", "not_available" (not in this build) or "failed"
  std::string message;  // why not evaluated
  std::string rows;     // "test part", "validation part" or "all rows"
  std::optional<ModelProvenance> model;
  std::uint64_t errors = 0;
  std::vector<SliceResult> slices;
  std::vector<TargetResult> targets;
  std::string baseline_name;
  std::vector<std::string> notes;
};

struct EfficacyReport {
  EfficacyOptions options;
  std::vector<FileProvenance> datasets;
  std::vector<FileProvenance> rule_packs;
  std::vector<DetectorResult> detectors;
};

// Errors: a data file that cannot be read or parsed, a model file that cannot be loaded (kInvalidInput
// naming the file). A detector the registry lacks, or whose factory fails, is reported in the
// result ("not_available" / "failed", its targets not met), not an error.
Result<EfficacyReport> run_efficacy(const std::vector<DetectorPlan>& plans, const DetectorRegistry& registry,
                                    const DetectorContext& context, const EfficacyOptions& options);

std::string efficacy_json(const EfficacyReport& report);
std::string efficacy_table(const EfficacyReport& report);
// 0 when every target of every planned detector is met, else 1.
int efficacy_exit_code(const EfficacyReport& report);

}  // namespace echoes::harness

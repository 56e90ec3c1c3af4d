// Trains a LinearTextModel from labelled texts: the engine behind `echoes train`.
//
// Steps, all deterministic (the same examples, in the same order, and options give a
// byte-identical model file):
//   1. Deduplicate by normalised text (eval::normalise_for_grouping): the first copy is kept; a
//      text that appears with both labels is dropped (counted in the model's "training").
//   2. Split with eval::assign_part(seed) into train / validation / test.
//   3. Fit L2-regularised logistic regression on the train part with liblinear's primal solver
//      (L2R_LR, trust-region Newton: no random numbers), bias as an extra feature.
//   4. Round weights to 4 decimals and drop the zeros; everything after this uses the rounded
//      model, exactly as it will be loaded.
//   5. Choose the threshold on the VALIDATION part only (operating_point_rule), then measure the
//      validation and test parts and the validation precision-recall curve.
//   With several candidate values of C (TrainingOptions::c_candidates), steps 3 to 5 run for each
//   and the validation part picks one; the test part is measured for the chosen model only.
//
//   TrainingOptions options{.detector = "injection", .seed = 20250101, .c = 16.0};
//   Result<TrainingResult> trained = train_linear_text_model(examples, options);
//   write(trained->model.to_json());  std::cout << trained->summary;
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/eval/labelled_data.h"
#include "core/safety/linear_text_model.h"

namespace echoes::safety {

// A false-positive-rate ceiling on the validation negatives of some sources.
struct FprLimit {
  std::string name;                  // "benign", "xstest_safe"
  std::vector<std::string> sources;  // negatives whose "source" is one of these
  double max_fpr = 0;
};

// How a detector's threshold is chosen: with limits, the lowest threshold that keeps every limit
// (limits whose sources have no validation negatives are skipped); without, the threshold with
// the best validation F1.
struct OperatingPointRule {
  std::vector<FprLimit> limits;
};

// The detectors that have a learned model: "injection", "harmful-request" (FPR limits from the
// issue's targets), "harmful", "toxicity" (best F1). kInvalidInput for another name.
Result<OperatingPointRule> operating_point_rule(std::string_view detector);

struct TrainingOptions {
  std::string detector;
  std::uint64_t seed = 20250101;  // the split seed
  double c = 16.0;                // liblinear's C (inverse regularisation strength)
  // When not empty, C is chosen from these instead of `c`, on the VALIDATION part: each is fitted
  // on the train part and its threshold chosen by the detector's operating-point rule; the winner
  // has the highest validation recall at its threshold (detectors with FPR limits) or the highest
  // validation F1 (the others); ties go to the higher validation F1, then to the earlier
  // candidate. The candidates and each one's validation figures are recorded in the model.
  std::vector<double> c_candidates;
  double eps = 0.01;              // liblinear's stopping tolerance
  TextFeatureSettings features;
  std::vector<std::string> data_names;  // recorded in the model (file names, no directories)
  std::string data_sha256;              // recorded in the model
};

struct TrainingResult {
  LinearTextModel model;
  std::string summary;  // human-readable metrics table (validation and test, per source)
};

Result<TrainingResult> train_linear_text_model(const std::vector<eval::LabelledText>& examples,
                                               const TrainingOptions& options);

}  // namespace echoes::safety

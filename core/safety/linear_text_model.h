// LinearTextModel: the learned scorer beside the rules. Hashed word and character n-gram features
// (text_features.h) and a logistic regression: score(text) = sigmoid(bias + w . x(text)).
//
// Models are JSON files under fixtures/models/<detector>.json, written by `echoes train`
// (linear_text_trainer.h). Top-level fields, one a line, in this order: "format"
// ("echoes.linear_text_model"), "version" (1), "detector", "features" ({"bucket_bits",
// "word_ngram_max", "char_ngram_min", "char_ngram_max", "max_word_bytes", "tf": "sublinear",
// "norm": "l2"}), "threshold" (the operating point, a probability), "bias", "training" (data
// SHA-256, split seed, hyper-parameters, counts), "operating_point" (how the threshold was chosen),
// "metrics" (validation and test), "pr_curve" (validation [threshold, precision, recall] points),
// and last "weights" ({"indices": ascending buckets, "values": non-zero weights}).
//
//   Result<LinearTextModel> model = LinearTextModel::load("fixtures/models/injection.json");
//   if (!model) return model.error();          // context: "<file>: <JSON path>"
//   bool flagged = model->score(prompt) >= model->threshold();
//
// score() is thread-safe and allocates nothing once a thread's scratch buffers have grown.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/safety/text_features.h"

namespace echoes::safety {

inline constexpr std::string_view kLinearTextModelFormat = "echoes.linear_text_model";
inline constexpr int kLinearTextModelVersion = 1;

// Everything a model file holds. The provenance fields are JSON text (each a compact JSON value)
// so this header needs no JSON library; the loader checks that they are objects or arrays.
struct LinearTextModelData {
  std::string detector;
  TextFeatureSettings features;
  double threshold = 0.5;
  double bias = 0;
  std::vector<std::uint32_t> indices;  // ascending, < 2^bucket_bits
  std::vector<double> values;          // same size as indices, finite, |v| <= kMaxWeight
  std::string training_json = "{}";
  std::string operating_point_json = "{}";
  std::string metrics_json = "{}";
  std::string pr_curve_json = "[]";

  static constexpr double kMaxWeight = 1e4;
};

class LinearTextModel {
 public:
  // Checks `data` as the loader does (error context "<source_name>: <field>").
  static Result<LinearTextModel> create(LinearTextModelData data,
                                        std::string_view source_name = "model");
  static Result<LinearTextModel> load(const std::filesystem::path& path);
  // Errors: kInvalidInput with context "<source_name>: <JSON path>" (bad JSON: the byte offset;
  // wrong format or version, a missing or mistyped field, weights out of range or unsorted,
  // nesting deeper than 16 levels, files over 64 MiB).
  static Result<LinearTextModel> parse(std::string_view json, std::string_view source_name);

  double score(std::string_view text) const;  // probability in [0, 1]
  double threshold() const { return data_.threshold; }
  std::string_view detector() const { return data_.detector; }
  const LinearTextModelData& data() const { return data_; }

  // The model file's text (see the banner); parse(to_json()) gives back an equal model and
  // to_json() again the same bytes.
  std::string to_json() const;

 private:
  explicit LinearTextModel(LinearTextModelData data);

  LinearTextModelData data_;
  std::vector<float> dense_;  // weight per bucket, for scoring
};

}  // namespace echoes::safety

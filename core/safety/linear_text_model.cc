#include "core/safety/linear_text_model.h"

#include <cmath>
#include <utility>
#include <vector>

#include "core/eval/labelled_data.h"
#include "core/openai/json.h"

namespace echoes::safety {
namespace {

using nlohmann::json;

Error invalid(std::string_view source_name, std::string_view path, std::string message) {
  return Error(ErrorCode::kInvalidInput, std::move(message),
               std::string(source_name) + ": " + std::string(path));
}

Result<std::uint32_t> get_uint(const json& object, const char* key, std::uint32_t lo,
                               std::uint32_t hi, std::string_view source_name,
                               const std::string& prefix) {
  auto it = object.find(key);
  const std::string path = prefix + key;
  if (it == object.end()) return invalid(source_name, path, "missing field");
  if (!it->is_number_integer()) return invalid(source_name, path, "expected an integer");
  const std::int64_t v = it->get<std::int64_t>();
  if (v < lo || v > hi) {
    return invalid(source_name, path,
                   "expected " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                       std::to_string(v));
  }
  return static_cast<std::uint32_t>(v);
}

Result<double> get_number(const json& object, const char* key, std::string_view source_name) {
  auto it = object.find(key);
  if (it == object.end()) return invalid(source_name, key, "missing field");
  if (!it->is_number()) return invalid(source_name, key, "expected a number");
  const double v = it->get<double>();
  if (!std::isfinite(v)) return invalid(source_name, key, "expected a finite number");
  return v;
}

Status check(const LinearTextModelData& d, std::string_view source_name) {
  const TextFeatureSettings& f = d.features;
  if (d.detector.empty()) return invalid(source_name, "detector", "expected a non-empty string");
  if (f.bucket_bits < 10 || f.bucket_bits > 24) {
    return invalid(source_name, "features.bucket_bits", "expected 10..24");
  }
  if (f.word_ngram_max < 1 || f.word_ngram_max > 2) {
    return invalid(source_name, "features.word_ngram_max", "expected 1..2");
  }
  if (f.char_ngram_max > 8 || (f.char_ngram_min != 0 && f.char_ngram_min > f.char_ngram_max)) {
    return invalid(source_name, "features.char_ngram_max",
                   "expected char_ngram_min <= char_ngram_max <= 8");
  }
  if (f.max_word_bytes < 1 || f.max_word_bytes > 4096) {
    return invalid(source_name, "features.max_word_bytes", "expected 1..4096");
  }
  if (!(d.threshold >= 0 && d.threshold <= 1)) {
    return invalid(source_name, "threshold", "expected a probability in [0, 1]");
  }
  if (!std::isfinite(d.bias) || std::fabs(d.bias) > LinearTextModelData::kMaxWeight) {
    return invalid(source_name, "bias", "out of range");
  }
  if (d.indices.size() != d.values.size()) {
    return invalid(source_name, "weights", "indices and values differ in length");
  }
  const std::uint64_t buckets = std::uint64_t{1} << f.bucket_bits;
  for (std::size_t i = 0; i < d.indices.size(); ++i) {
    if (d.indices[i] >= buckets) {
      return invalid(source_name, "weights.indices[" + std::to_string(i) + "]",
                     "bucket " + std::to_string(d.indices[i]) + " out of range (2^" +
                         std::to_string(f.bucket_bits) + " buckets)");
    }
    if (i > 0 && d.indices[i] <= d.indices[i - 1]) {
      return invalid(source_name, "weights.indices[" + std::to_string(i) + "]",
                     "indices must be strictly ascending");
    }
    if (!std::isfinite(d.values[i]) || std::fabs(d.values[i]) > LinearTextModelData::kMaxWeight) {
      return invalid(source_name, "weights.values[" + std::to_string(i) + "]",
                     "weight out of range (finite, magnitude at most 1e4)");
    }
  }
  return ok_status();
}

}  // namespace

LinearTextModel::LinearTextModel(LinearTextModelData data) : data_(std::move(data)) {
  dense_.assign(std::size_t{1} << data_.features.bucket_bits, 0.0f);
  for (std::size_t i = 0; i < data_.indices.size(); ++i) {
    dense_[data_.indices[i]] = static_cast<float>(data_.values[i]);
  }
}

Result<LinearTextModel> LinearTextModel::create(LinearTextModelData data,
                                                std::string_view source_name) {
  if (Status s = check(data, source_name); !s) return s.error();
  // Provenance fields must be JSON values of the documented kinds.
  const std::pair<const char*, const std::string*> provenance[] = {
      {"training", &data.training_json},
      {"operating_point", &data.operating_point_json},
      {"metrics", &data.metrics_json},
      {"pr_curve", &data.pr_curve_json}};
  for (const auto& [name, text] : provenance) {
    openai::DecodeLimits limits;
    limits.max_depth = 15;
    Result<json> value = openai::parse_json(*text, limits);
    const bool want_array = std::string_view(name) == "pr_curve";
    if (!value || (want_array ? !value->is_array() : !value->is_object())) {
      return invalid(source_name, name, want_array ? "expected an array" : "expected an object");
    }
  }
  return LinearTextModel(std::move(data));
}

Result<LinearTextModel> LinearTextModel::load(const std::filesystem::path& path) {
  Result<std::string> bytes = eval::read_file_bytes(path);
  if (!bytes) return bytes.error();
  return parse(*bytes, path.string());
}

Result<LinearTextModel> LinearTextModel::parse(std::string_view text, std::string_view source_name) {
  openai::DecodeLimits limits;
  limits.max_depth = 16;
  limits.max_bytes = std::size_t{64} << 20;
  Result<json> parsed = openai::parse_json(text, limits);
  if (!parsed) return invalid(source_name, parsed.error().context, parsed.error().message);
  const json& doc = *parsed;
  if (!doc.is_object()) return invalid(source_name, "$", "expected a JSON object");

  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || *format != kLinearTextModelFormat) {
    return invalid(source_name, "format",
                   "expected \"" + std::string(kLinearTextModelFormat) + "\"");
  }
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() ||
      version->get<std::int64_t>() != kLinearTextModelVersion) {
    return invalid(source_name, "version",
                   "unsupported version (this build reads version " +
                       std::to_string(kLinearTextModelVersion) + ")");
  }
  LinearTextModelData d;
  auto detector = doc.find("detector");
  if (detector == doc.end() || !detector->is_string()) {
    return invalid(source_name, "detector", "expected a string");
  }
  d.detector = detector->get<std::string>();

  auto features = doc.find("features");
  if (features == doc.end() || !features->is_object()) {
    return invalid(source_name, "features", "expected an object");
  }
  const std::string fp = "features.";
  auto bits = get_uint(*features, "bucket_bits", 10, 24, source_name, fp);
  if (!bits) return bits.error();
  auto word_max = get_uint(*features, "word_ngram_max", 1, 2, source_name, fp);
  if (!word_max) return word_max.error();
  auto char_min = get_uint(*features, "char_ngram_min", 0, 8, source_name, fp);
  if (!char_min) return char_min.error();
  auto char_max = get_uint(*features, "char_ngram_max", 0, 8, source_name, fp);
  if (!char_max) return char_max.error();
  auto word_bytes = get_uint(*features, "max_word_bytes", 1, 4096, source_name, fp);
  if (!word_bytes) return word_bytes.error();
  d.features = {*bits, *word_max, *char_min, *char_max, *word_bytes};
  for (const auto& [key, expected] : {std::pair{"tf", "sublinear"}, std::pair{"norm", "l2"}}) {
    auto it = features->find(key);
    if (it == features->end() || !it->is_string() || *it != expected) {
      return invalid(source_name, fp + key, std::string("expected \"") + expected + "\"");
    }
  }

  auto threshold = get_number(doc, "threshold", source_name);
  if (!threshold) return threshold.error();
  d.threshold = *threshold;
  auto bias = get_number(doc, "bias", source_name);
  if (!bias) return bias.error();
  d.bias = *bias;

  const std::pair<const char*, std::string*> provenance[] = {
      {"training", &d.training_json},
      {"operating_point", &d.operating_point_json},
      {"metrics", &d.metrics_json},
      {"pr_curve", &d.pr_curve_json}};
  for (const auto& [name, out] : provenance) {
    auto it = doc.find(name);
    const bool want_array = std::string_view(name) == "pr_curve";
    if (it == doc.end() || (want_array ? !it->is_array() : !it->is_object())) {
      return invalid(source_name, name, want_array ? "expected an array" : "expected an object");
    }
    *out = openai::dump_json(*it);
  }

  auto weights = doc.find("weights");
  if (weights == doc.end() || !weights->is_object()) {
    return invalid(source_name, "weights", "expected an object");
  }
  auto indices = weights->find("indices");
  auto values = weights->find("values");
  if (indices == weights->end() || !indices->is_array()) {
    return invalid(source_name, "weights.indices", "expected an array");
  }
  if (values == weights->end() || !values->is_array()) {
    return invalid(source_name, "weights.values", "expected an array");
  }
  d.indices.reserve(indices->size());
  for (std::size_t i = 0; i < indices->size(); ++i) {
    const json& v = (*indices)[i];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > UINT32_MAX) {
      return invalid(source_name, "weights.indices[" + std::to_string(i) + "]",
                     "expected a non-negative integer bucket");
    }
    d.indices.push_back(static_cast<std::uint32_t>(v.get<std::uint64_t>()));
  }
  d.values.reserve(values->size());
  for (std::size_t i = 0; i < values->size(); ++i) {
    const json& v = (*values)[i];
    if (!v.is_number()) {
      return invalid(source_name, "weights.values[" + std::to_string(i) + "]", "expected a number");
    }
    d.values.push_back(v.get<double>());
  }
  if (Status s = check(d, source_name); !s) return s.error();
  return LinearTextModel(std::move(d));
}

double LinearTextModel::score(std::string_view text) const {
  // The dot product of the weights with extract_features(text), without building or sorting the
  // vector. A bucket's feature is float(float(1 + ln tf) * scale) as extract_features rounds it;
  // most buckets occur once, and all of those share one feature value, so their weights are summed
  // first and multiplied once. Only the order of the sums differs from the sorted vector's (the
  // scores agree to about 1e-15).
  thread_local BucketCounts counts;
  thread_local std::vector<std::pair<float, float>> repeated;  // (weight, unscaled value), tf > 1
  counts.count(text, data_.features);
  repeated.clear();
  double norm2 = 0;
  double once_weights = 0;  // the weights of the buckets seen once
  std::size_t once = 0;
  counts.for_each([&](std::uint32_t bucket, std::uint32_t count) {
    const float weight = dense_[bucket];
    if (count == 1) {
      ++once;
      once_weights += static_cast<double>(weight);
      return;
    }
    const double value = sublinear_tf(count);
    norm2 += value * value;
    repeated.emplace_back(weight, static_cast<float>(value));
  });
  norm2 += static_cast<double>(once);
  double z = data_.bias;
  if (norm2 > 0) {
    const double scale = 1.0 / std::sqrt(norm2);
    z += once_weights * static_cast<double>(static_cast<float>(scale));
    for (const auto& [weight, unscaled] : repeated) {
      z += static_cast<double>(weight) * static_cast<double>(static_cast<float>(unscaled * scale));
    }
  }
  return 1.0 / (1.0 + std::exp(-z));
}

std::string LinearTextModel::to_json() const {
  const TextFeatureSettings& f = data_.features;
  json features = json::object();
  features["bucket_bits"] = f.bucket_bits;
  features["word_ngram_max"] = f.word_ngram_max;
  features["char_ngram_min"] = f.char_ngram_min;
  features["char_ngram_max"] = f.char_ngram_max;
  features["max_word_bytes"] = f.max_word_bytes;
  features["tf"] = "sublinear";
  features["norm"] = "l2";
  json weights = json::object();
  weights["indices"] = data_.indices;
  weights["values"] = data_.values;
  // One top-level field a line, in a fixed order, so a model file is readable and diffs well.
  std::string out = "{\n";
  auto field = [&out](std::string_view key, const std::string& value, bool last = false) {
    out += "  \"";
    out += key;
    out += "\": ";
    out += value;
    out += last ? "\n" : ",\n";
  };
  field("format", openai::dump_json(json(kLinearTextModelFormat)));
  field("version", std::to_string(kLinearTextModelVersion));
  field("detector", openai::dump_json(json(data_.detector)));
  field("features", openai::dump_json(features));
  field("threshold", openai::dump_json(json(data_.threshold)));
  field("bias", openai::dump_json(json(data_.bias)));
  field("training", data_.training_json);
  field("operating_point", data_.operating_point_json);
  field("metrics", data_.metrics_json);
  field("pr_curve", data_.pr_curve_json);
  field("weights", openai::dump_json(weights), true);
  out += "}\n";
  return out;
}

}  // namespace echoes::safety

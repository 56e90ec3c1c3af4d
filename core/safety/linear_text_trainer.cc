#include "core/safety/linear_text_trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include <linear.h>

#include "core/eval/dataset_split.h"
#include "core/openai/json.h"

namespace echoes::safety {
namespace {

using nlohmann::json;
constexpr double kWeightScale = 1e4;  // weights are stored with 4 decimals

double round_to(double v, double scale) { return std::round(v * scale) / scale; }
double ratio(std::size_t a, std::size_t b) { return b == 0 ? 0.0 : round_to(double(a) / double(b), 1e4); }

struct Scored {
  double score;
  int label;
  const std::string* source;
};

struct Counts {
  std::size_t tp = 0, fp = 0, tn = 0, fn = 0;
  void add(bool flagged, int label) {
    if (label == 1) (flagged ? tp : fn)++;
    else (flagged ? fp : tn)++;
  }
  double precision() const { return ratio(tp, tp + fp); }
  double recall() const { return ratio(tp, tp + fn); }
  double fpr() const { return ratio(fp, fp + tn); }
  double f1() const {
    return (2 * tp + fp + fn) == 0 ? 0.0 : round_to(2.0 * double(tp) / double(2 * tp + fp + fn), 1e4);
  }
};

json metrics_json(const std::vector<Scored>& rows, double threshold) {
  Counts all;
  std::map<std::string, Counts> by_source;
  for (const Scored& r : rows) {
    const bool flagged = r.score >= threshold;
    all.add(flagged, r.label);
    by_source[*r.source].add(flagged, r.label);
  }
  json out = {{"examples", rows.size()}, {"tp", all.tp}, {"fp", all.fp}, {"tn", all.tn},
              {"fn", all.fn}, {"precision", all.precision()}, {"recall", all.recall()},
              {"f1", all.f1()}, {"fpr", all.fpr()}};
  json sources = json::object();
  for (const auto& [name, c] : by_source) {
    json s = {{"positives", c.tp + c.fn}, {"negatives", c.fp + c.tn}};
    if (c.tp + c.fn > 0) s["recall"] = c.recall();
    if (c.fp + c.tn > 0) s["fpr"] = c.fpr();
    sources[name] = s;
  }
  out["by_source"] = sources;
  return out;
}

// Smallest threshold meeting every limit; nullopt when no limit applies.
std::optional<double> constrained_threshold(const std::vector<Scored>& rows,
                                            const OperatingPointRule& rule, json& used) {
  bool any = false;
  double floor_score = -1;  // the threshold must be strictly above this score
  used = json::array();
  for (const FprLimit& limit : rule.limits) {
    std::vector<double> negatives;
    for (const Scored& r : rows) {
      if (r.label == 0 &&
          std::find(limit.sources.begin(), limit.sources.end(), *r.source) != limit.sources.end()) {
        negatives.push_back(r.score);
      }
    }
    if (negatives.empty()) continue;
    any = true;
    std::sort(negatives.rbegin(), negatives.rend());
    const auto allowed = static_cast<std::size_t>(std::floor(limit.max_fpr * double(negatives.size()) + 1e-9));
    if (allowed < negatives.size()) floor_score = std::max(floor_score, negatives[allowed]);
    used.push_back({{"name", limit.name}, {"max_fpr", limit.max_fpr}, {"negatives", negatives.size()},
                    {"allowed_false_positives", allowed}});
  }
  if (!any) return std::nullopt;
  if (floor_score < 0) return 0.0;
  // Half way to the next higher validation score: a margin on both sides.
  double next = 1.0;
  for (const Scored& r : rows) {
    if (r.score > floor_score) next = std::min(next, r.score);
  }
  double t = std::ceil((floor_score + (next - floor_score) / 2) * 1e6) / 1e6;
  if (t <= floor_score) t = floor_score + 1e-6;
  return std::min(t, 1.0);
}

double best_f1_threshold(const std::vector<Scored>& rows) {
  std::vector<Scored> sorted = rows;
  std::sort(sorted.begin(), sorted.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
  std::size_t positives = 0;
  for (const Scored& r : rows) positives += r.label == 1;
  std::size_t tp = 0, fp = 0;
  double best_f1 = -1, best = 0.5;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    (sorted[i].label == 1 ? tp : fp)++;
    if (i + 1 < sorted.size() && sorted[i + 1].score == sorted[i].score) continue;
    const double f1 = 2.0 * double(tp) / double(tp + fp + positives);
    if (f1 > best_f1) {
      best_f1 = f1;
      const double lower = i + 1 < sorted.size() ? sorted[i + 1].score : 0.0;
      double t = std::floor((lower + (sorted[i].score - lower) / 2) * 1e6) / 1e6;
      if (t <= lower) t = sorted[i].score;
      best = t;
    }
  }
  return best;
}

void silent(const char*) {}

std::string format_metrics(std::string_view part, const json& m) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line,
                "%-10s n=%-6zu precision=%.4f recall=%.4f f1=%.4f fpr=%.4f (tp=%zu fp=%zu tn=%zu fn=%zu)\n",
                std::string(part).c_str(), m["examples"].get<std::size_t>(), m["precision"].get<double>(),
                m["recall"].get<double>(), m["f1"].get<double>(), m["fpr"].get<double>(),
                m["tp"].get<std::size_t>(), m["fp"].get<std::size_t>(), m["tn"].get<std::size_t>(),
                m["fn"].get<std::size_t>());
  out += line;
  for (const auto& [name, s] : m["by_source"].items()) {
    std::string detail;
    if (s.contains("recall")) detail += " recall=" + std::to_string(s["recall"].get<double>()).substr(0, 6) +
                                        " of " + std::to_string(s["positives"].get<std::size_t>());
    if (s.contains("fpr")) detail += " fpr=" + std::to_string(s["fpr"].get<double>()).substr(0, 6) +
                                     " of " + std::to_string(s["negatives"].get<std::size_t>());
    std::snprintf(line, sizeof line, "  %-26s%s\n", name.c_str(), detail.c_str());
    out += line;
  }
  return out;
}

}  // namespace

Result<OperatingPointRule> operating_point_rule(std::string_view detector) {
  const std::vector<std::string> benign = {"gsm8k", "fastchat", "self_instruct", "arena_hard"};
  if (detector == "injection") {
    return OperatingPointRule{{{"benign", benign, 0.01}, {"xstest_safe", {"xstest_safe"}, 0.05}}};
  }
  if (detector == "harmful-request") {
    return OperatingPointRule{{{"benign", benign, 0.02}, {"xstest_safe", {"xstest_safe"}, 0.10}}};
  }
  if (detector == "harmful" || detector == "toxicity") return OperatingPointRule{};
  return Error(ErrorCode::kInvalidInput,
               "no learned model for detector \"" + std::string(detector) +
                   "\" (expected injection, harmful-request, harmful or toxicity)",
               "detector");
}

Result<TrainingResult> train_linear_text_model(const std::vector<eval::LabelledText>& examples,
                                               const TrainingOptions& options) {
  Result<OperatingPointRule> rule = operating_point_rule(options.detector);
  if (!rule) return rule.error();
  for (double c : options.c_candidates.empty() ? std::vector<double>{options.c} : options.c_candidates) {
    if (!(c > 0) || !std::isfinite(c)) return Error(ErrorCode::kInvalidInput, "C must be a positive number", "c");
  }

  // 1. Deduplicate by normalised text; drop texts seen with both labels.
  std::unordered_map<std::string, std::size_t> first;  // key -> index into kept
  std::vector<const eval::LabelledText*> kept;
  std::vector<bool> conflicting;
  std::size_t duplicates = 0;
  for (const eval::LabelledText& e : examples) {
    auto [it, inserted] = first.try_emplace(eval::normalise_for_grouping(e.text), kept.size());
    if (inserted) {
      kept.push_back(&e);
      conflicting.push_back(false);
    } else {
      ++duplicates;
      if (kept[it->second]->label != e.label) conflicting[it->second] = true;
    }
  }

  // 2. Split.
  const eval::SplitSpec split{.seed = options.seed};
  std::vector<const eval::LabelledText*> parts[3];
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (conflicting[i]) {
      ++dropped;
      continue;
    }
    parts[static_cast<int>(eval::assign_part(kept[i]->text, split))].push_back(kept[i]);
  }
  const auto& train_part = parts[0];
  std::size_t train_positives = 0;
  for (const auto* e : train_part) train_positives += e->label == 1;
  if (train_positives == 0 || train_positives == train_part.size()) {
    return Error(ErrorCode::kInvalidInput,
                 "the training part needs both positive and negative examples (it has " +
                     std::to_string(train_positives) + " positives of " +
                     std::to_string(train_part.size()) + ")",
                 "data");
  }

  // 3. Features of the train part (extracted once, fitted once per candidate C).
  const int buckets = 1 << options.features.bucket_bits;
  std::vector<std::vector<feature_node>> rows(train_part.size());
  std::vector<feature_node*> row_ptrs(train_part.size());
  std::vector<double> labels(train_part.size());
  FeatureScratch scratch;
  std::vector<HashedFeature> features;
  for (std::size_t i = 0; i < train_part.size(); ++i) {
    extract_features(train_part[i]->text, options.features, scratch, features);
    rows[i].reserve(features.size() + 2);
    for (const HashedFeature& f : features) {
      rows[i].push_back({static_cast<int>(f.bucket) + 1, static_cast<double>(f.value)});
    }
    rows[i].push_back({buckets + 1, 1.0});  // bias feature
    rows[i].push_back({-1, 0.0});
    row_ptrs[i] = rows[i].data();
    labels[i] = train_part[i]->label == 1 ? 1.0 : -1.0;
  }
  problem prob{};
  prob.l = static_cast<int>(train_part.size());
  prob.n = buckets + 1;
  prob.y = labels.data();
  prob.x = row_ptrs.data();
  prob.bias = 1.0;
  set_print_string_function(&silent);

  auto score_part = [](const LinearTextModel& scorer, const std::vector<const eval::LabelledText*>& part) {
    std::vector<Scored> out;
    out.reserve(part.size());
    for (const auto* e : part) out.push_back({scorer.score(e->text), e->label, &e->source});
    return out;
  };

  // One candidate: fit on the train part (3), round (4), threshold on validation (5).
  struct Candidate {
    double c = 0;
    LinearTextModelData data;  // weights, bias and threshold
    std::vector<Scored> validation;
    json operating_point;
    Counts at_threshold;  // validation counts at the threshold
  };
  auto fit = [&](double c) -> Result<Candidate> {
    if (!(c > 0) || !std::isfinite(c)) {
      return Error(ErrorCode::kInvalidInput, "C must be a positive number", "c");
    }
    parameter param{};
    param.solver_type = L2R_LR;
    param.eps = options.eps;
    param.C = c;
    if (const char* problem_text = check_parameter(&prob, &param)) {
      return Error(ErrorCode::kInvalidInput, std::string("liblinear: ") + problem_text, "c");
    }
    model* fitted = ::train(&prob, &param);
    const double sign = fitted->label[0] == 1 ? 1.0 : -1.0;
    Candidate out;
    out.c = c;
    out.data.detector = options.detector;
    out.data.features = options.features;
    for (int b = 0; b < buckets; ++b) {
      const double w = round_to(sign * fitted->w[b], kWeightScale);
      if (w != 0) {
        out.data.indices.push_back(static_cast<std::uint32_t>(b));
        out.data.values.push_back(w);
      }
    }
    out.data.bias = round_to(sign * fitted->w[buckets], kWeightScale);
    free_and_destroy_model(&fitted);
    Result<LinearTextModel> scorer = LinearTextModel::create(out.data, "trained model");
    if (!scorer) return scorer.error();
    out.validation = score_part(*scorer, parts[1]);
    json limits_used;
    std::optional<double> constrained = constrained_threshold(out.validation, *rule, limits_used);
    if (constrained) {
      out.data.threshold = *constrained;
      out.operating_point = {{"rule", "lowest threshold keeping every validation FPR limit"},
                             {"limits", limits_used}};
    } else {
      out.data.threshold = best_f1_threshold(out.validation);
      out.operating_point = {{"rule", "threshold with the best validation F1"}};
    }
    out.operating_point["chosen_on"] = "validation";
    out.operating_point["threshold"] = out.data.threshold;
    for (const Scored& r : out.validation) out.at_threshold.add(r.score >= out.data.threshold, r.label);
    return out;
  };

  // The candidates of C, and the choice among them on the validation part.
  const std::vector<double> c_values =
      options.c_candidates.empty() ? std::vector<double>{options.c} : options.c_candidates;
  const bool by_recall = !rule->limits.empty();
  std::optional<Candidate> chosen;
  json tried = json::array();
  for (double c : c_values) {
    Result<Candidate> candidate = fit(c);
    if (!candidate) return candidate.error();
    const Counts& k = candidate->at_threshold;
    tried.push_back({{"c", c}, {"threshold", candidate->data.threshold}, {"validation_recall", k.recall()},
                     {"validation_f1", k.f1()}});
    const auto key = [by_recall](const Counts& n) {
      return std::make_pair(by_recall ? n.recall() : n.f1(), n.f1());
    };
    if (!chosen || key(k) > key(chosen->at_threshold)) chosen = std::move(*candidate);
  }
  LinearTextModelData data = std::move(chosen->data);
  const std::vector<Scored> validation = std::move(chosen->validation);
  json operating_point = std::move(chosen->operating_point);
  Result<LinearTextModel> scorer = LinearTextModel::create(data, "trained model");
  if (!scorer) return scorer.error();
  const std::vector<Scored> test = score_part(*scorer, parts[2]);

  json curve = json::array();
  std::vector<double> points;
  for (int i = 1; i < 20; ++i) points.push_back(i * 0.05);
  points.push_back(data.threshold);
  std::sort(points.begin(), points.end());
  for (double t : points) {
    Counts c;
    for (const Scored& r : validation) c.add(r.score >= t, r.label);
    curve.push_back({round_to(t, 1e6), c.precision(), c.recall(), c.fpr()});
  }

  std::map<std::string, std::size_t> train_sources;
  for (const auto* e : train_part) train_sources[e->source]++;
  json training = {
      {"data_sha256", options.data_sha256},
      {"data_files", options.data_names},
      {"split", {{"seed", options.seed}, {"train", split.train}, {"validation", split.validation},
                 {"key", "FNV-1a 64 + splitmix64 of the normalised text (core/eval/dataset_split.h)"}}},
      {"solver", "liblinear L2R_LR (primal, trust-region Newton)"},
      {"c", chosen->c},
      {"eps", options.eps},
      {"weight_decimals", 4},
      {"examples", {{"train", parts[0].size()}, {"validation", parts[1].size()}, {"test", parts[2].size()}}},
      {"train_by_source", train_sources},
      {"duplicates_merged", duplicates},
      {"conflicting_dropped", dropped}};
  if (c_values.size() > 1) {
    training["c_selection"] = {
        {"rule", by_recall ? "highest validation recall at the operating point, then validation F1, then the earlier"
                           : "highest validation F1 at the operating point, then the earlier"},
        {"candidates", tried}};
  }
  const json validation_metrics = metrics_json(validation, data.threshold);
  const json test_metrics = metrics_json(test, data.threshold);
  data.training_json = openai::dump_json(training);
  data.operating_point_json = openai::dump_json(operating_point);
  data.metrics_json = openai::dump_json(json{{"validation", validation_metrics}, {"test", test_metrics}});
  data.pr_curve_json = openai::dump_json(curve);

  Result<LinearTextModel> final_model = LinearTextModel::create(std::move(data), "trained model");
  if (!final_model) return final_model.error();
  std::string summary = "detector " + options.detector + ": threshold " +
                        std::to_string(final_model->threshold()) + ", " +
                        std::to_string(final_model->data().indices.size()) + " non-zero weights, " +
                        std::to_string(parts[0].size()) + " training texts\n";
  summary += format_metrics("validation", validation_metrics);
  summary += format_metrics("test", test_metrics);
  return TrainingResult{std::move(*final_model), std::move(summary)};
}

}  // namespace echoes::safety

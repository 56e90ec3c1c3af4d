// The efficacy machinery (harness/efficacy_eval) on a tiny fixture with a keyword detector: the
// confusion matrices per source, group and overall, which rows a model's split keeps, the baseline
// comparison, targets met and missed, a detector not in the build, and a report that conforms to
// fixtures/contracts/efficacy_report.schema.json.
#include "harness/efficacy_eval.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/safety/linear_text_model.h"
#include "harness/contract_schemas.h"

namespace echoes::harness {
namespace {

namespace fs = std::filesystem;

// Flags every text that contains "attack"; fails on texts that contain "boom".
class KeywordDetector final : public safety::TextDetector {
 public:
  std::string_view name() const override { return "injection"; }
  Result<safety::DetectorVerdict> inspect(std::string_view text) const override {
    if (text.find("boom") != std::string_view::npos) return Error(ErrorCode::kInternal, "boom");
    safety::DetectorVerdict v;
    v.flagged = text.find("attack") != std::string_view::npos;
    v.score = v.flagged ? 1 : 0;
    return v;
  }
};

class EfficacyEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("echoes_efficacy_eval_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "datasets" / "t");
    fs::create_directories(dir_ / "models");
    // attacks: 4 flagged (tp), 1 missed (fn); benign: 1 flagged (fp), 3 not (tn), 1 error (fp).
    write("datasets/t/attacks.jsonl",
          R"({"text":"attack one","label":1,"source":"a1"}
{"text":"attack two","label":1,"source":"a1"}
{"text":"attack three","label":1,"source":"a2"}
{"text":"attack four","label":1,"source":"a2"}
{"text":"quiet intrusion","label":1,"source":"a2"}
)");
    write("datasets/t/benign.jsonl",
          R"({"text":"how to attack a chess problem","label":0,"source":"b","baseline":1,"class":"x"}
{"text":"hello there","label":0,"source":"b","baseline":0,"class":"y"}
{"text":"what is two plus two","label":0,"source":"b","baseline":0,"class":"x"}
{"text":"name a river","label":0,"source":"b","baseline":1,"class":"x"}
{"text":"boom","label":0,"source":"b","baseline":0,"class":"x"}
)");
    registry_.add("injection", [](const DetectorContext&) -> Result<std::unique_ptr<safety::TextDetector>> {
      return std::unique_ptr<safety::TextDetector>(std::make_unique<KeywordDetector>());
    });
    options_.datasets_dir = dir_ / "datasets";
    options_.models_dir = dir_ / "models";
    options_.rules_dir = dir_ / "rules";
    options_.bootstrap = eval::BootstrapSpec{.seed = 1, .resamples = 100};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& relative, const std::string& content) {
    std::ofstream(dir_ / relative, std::ios::binary) << content;
  }

  static DetectorPlan plan() {
    DetectorPlan p;
    p.detector = "injection";
    p.files = {{"t/attacks.jsonl", "attacks", false, true, "", "", std::nullopt},
               {"t/benign.jsonl", "benign", false, true, "", "", std::nullopt}};
    p.targets = {{Metric::kRecall, "overall", EfficacyTarget::Kind::kAtLeast, 0.8},
                 {Metric::kFalsePositiveRate, "benign", EfficacyTarget::Kind::kAtMost, 0.1}};
    return p;
  }

  static const SliceResult& slice(const DetectorResult& d, const std::string& name) {
    for (const SliceResult& s : d.slices) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no slice " << name;
    return d.slices.front();
  }

  fs::path dir_;
  DetectorRegistry registry_;
  config::EchoesConfig config_ = config::default_config();
  EfficacyOptions options_;
};

TEST_F(EfficacyEvalTest, CountsEachSliceJudgesTargetsAndWritesAConformingReport) {
  const DetectorContext context{config_, dir_ / "rules", dir_ / "models"};
  Result<EfficacyReport> report = run_efficacy({plan()}, registry_, context, options_);
  ASSERT_TRUE(report) << report.error().to_string();
  ASSERT_EQ(report->detectors.size(), 1u);
  const DetectorResult& d = report->detectors[0];
  EXPECT_EQ(d.status, "evaluated");
  EXPECT_EQ(d.rows, "all rows");  // no model file: a rule-only detector sees every row
  EXPECT_EQ(d.errors, 1u);        // "boom": counted as flagged (fail closed)
  EXPECT_EQ(slice(d, "a1").metrics.matrix, (eval::ConfusionMatrix{.tp = 2, .fp = 0, .tn = 0, .fn = 0}));
  EXPECT_EQ(slice(d, "a2").metrics.matrix, (eval::ConfusionMatrix{.tp = 2, .fp = 0, .tn = 0, .fn = 1}));
  EXPECT_EQ(slice(d, "attacks").metrics.matrix, (eval::ConfusionMatrix{.tp = 4, .fp = 0, .tn = 0, .fn = 1}));
  EXPECT_EQ(slice(d, "overall").metrics.matrix, (eval::ConfusionMatrix{.tp = 4, .fp = 2, .tn = 3, .fn = 1}));
  // "benign" is the single source "b" under another name, so both appear; equal counts.
  EXPECT_EQ(slice(d, "benign").metrics.matrix, slice(d, "b").metrics.matrix);
  ASSERT_EQ(d.targets.size(), 2u);
  EXPECT_DOUBLE_EQ(*d.targets[0].value, 0.8);  // recall 4/5 >= 0.8
  EXPECT_TRUE(d.targets[0].met);
  EXPECT_DOUBLE_EQ(*d.targets[1].value, 0.4);  // fpr 2/5 > 0.1
  EXPECT_FALSE(d.targets[1].met);
  EXPECT_EQ(efficacy_exit_code(*report), 1);

  const std::string json = efficacy_json(*report);
  ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  const std::vector<std::string> problems = schemas.violations("efficacy_report", json);
  EXPECT_TRUE(problems.empty()) << ContractSchemas::joined(problems) << json;
  const auto doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc["summary"]["met"], 1);
  EXPECT_EQ(doc["summary"]["all_met"], false);
  ASSERT_EQ(doc["provenance"]["datasets"].size(), 2u);
  EXPECT_EQ(doc["provenance"]["datasets"][0]["rows"], 5);

  const std::string table = efficacy_table(*report);
  EXPECT_NE(table.find("recall >= 0.80 on overall"), std::string::npos) << table;
  EXPECT_NE(table.find("1 of 2 targets met"), std::string::npos) << table;
}

// A slice name longer than the table's default column still leaves a gap before the count.
TEST_F(EfficacyEvalTest, TableColumnsFitLongSliceNames) {
  const DetectorContext context{config_, dir_ / "rules", dir_ / "models"};
  DetectorPlan p = plan();
  const std::string long_group = "a_group_whose_name_is_longer_than_the_column";
  p.files[1].group = long_group;
  p.targets = {{Metric::kFalsePositiveRate, long_group, EfficacyTarget::Kind::kAtMost, 0.1}};
  Result<EfficacyReport> report = run_efficacy({p}, registry_, context, options_);
  ASSERT_TRUE(report) << report.error().to_string();
  const std::string table = efficacy_table(*report);
  const std::string label = long_group + " (group)";
  const std::size_t at = table.find(label);
  ASSERT_NE(at, std::string::npos) << table;
  EXPECT_EQ(table.substr(at + label.size(), 2), "  ") << table;
  // The same column holds the short names: "overall (overall)" and the long label start together.
  const std::size_t line_start = table.rfind('\n', at) + 1;
  const std::size_t overall = table.find("overall (overall)");
  ASSERT_NE(overall, std::string::npos);
  EXPECT_EQ(at - line_start, overall - (table.rfind('\n', overall) + 1));
  const std::size_t n_long = table.find_first_not_of(' ', at + label.size());
  const std::size_t n_overall = table.find_first_not_of(' ', overall + std::string("overall (overall)").size());
  EXPECT_EQ(n_long - line_start, n_overall - (table.rfind('\n', overall) + 1)) << table;
}

TEST_F(EfficacyEvalTest, AllTargetsMetGivesExitZero) {
  const DetectorContext context{config_, dir_ / "rules", dir_ / "models"};
  DetectorPlan p = plan();
  p.targets = {{Metric::kPrecision, "attacks", EfficacyTarget::Kind::kAtLeast, 1.0}};
  Result<EfficacyReport> report = run_efficacy({p}, registry_, context, options_);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->detectors[0].targets[0].met);
  EXPECT_EQ(efficacy_exit_code(*report), 0);
}

TEST_F(EfficacyEvalTest, FiltersRowsOverridesLabelsAndComparesWithABaseline) {
  const DetectorContext context{config_, dir_ / "rules", dir_ / "models"};
  DetectorPlan p;
  p.detector = "injection";
  p.baseline_field = "baseline";
  p.baseline_name = "strmatch";
  p.files = {{"t/attacks.jsonl", "attacks", true, true, "", "", std::nullopt},
             {"t/benign.jsonl", "info", true, false, "class", "x", 1}};
  p.targets = {{Metric::kF1, "attacks", EfficacyTarget::Kind::kAboveBaseline, 0}};
  Result<EfficacyReport> report = run_efficacy({p}, registry_, context, options_);
  ASSERT_TRUE(report) << report.error().to_string();
  const DetectorResult& d = report->detectors[0];
  // Only class "x" rows (4), relabelled positive; not in overall.
  EXPECT_EQ(slice(d, "info").metrics.matrix, (eval::ConfusionMatrix{.tp = 2, .fp = 0, .tn = 0, .fn = 2}));
  EXPECT_EQ(slice(d, "overall").metrics.matrix, (eval::ConfusionMatrix{.tp = 4, .fp = 0, .tn = 0, .fn = 1}));
  ASSERT_TRUE(slice(d, "info").baseline);
  EXPECT_EQ(slice(d, "info").baseline->matrix, (eval::ConfusionMatrix{.tp = 2, .fp = 0, .tn = 0, .fn = 2}));
  // The attack rows carry no baseline field: the baseline said 0 on all, F1 0 against 8/9.
  EXPECT_DOUBLE_EQ(*d.targets[0].baseline_value, 0.0);
  EXPECT_TRUE(d.targets[0].met);
}

TEST_F(EfficacyEvalTest, AModelBackedDetectorIsJudgedOnItsTestPartOnly) {
  safety::LinearTextModelData data;
  data.detector = "injection";
  data.training_json = R"({"split":{"seed":5,"train":0.4,"validation":0.2}})";
  Result<safety::LinearTextModel> model = safety::LinearTextModel::create(data);
  ASSERT_TRUE(model) << model.error().to_string();
  write("models/injection.json", model->to_json());
  const DetectorContext context{config_, dir_ / "rules", dir_ / "models"};
  Result<EfficacyReport> report = run_efficacy({plan()}, registry_, context, options_);
  ASSERT_TRUE(report) << report.error().to_string();
  const DetectorResult& d = report->detectors[0];
  EXPECT_EQ(d.rows, "test part");
  ASSERT_TRUE(d.model);
  EXPECT_EQ(d.model->split_seed, 5u);
  std::uint64_t expected = 0;
  const eval::SplitSpec spec{.seed = 5, .train = 0.4, .validation = 0.2};
  for (const char* text : {"attack one", "attack two", "attack three", "attack four", "quiet intrusion",
                           "how to attack a chess problem", "hello there", "what is two plus two", "name a river",
                           "boom"}) {
    expected += eval::assign_part(text, spec) == eval::DataPart::kTest;
  }
  EXPECT_GT(expected, 0u);
  EXPECT_LT(expected, 10u);
  EXPECT_EQ(slice(d, "overall").metrics.matrix.total(), expected);
}

TEST_F(EfficacyEvalTest, ADetectorNotInTheBuildIsReportedAndMissesItsTargets) {
  const DetectorContext context{config_, dir_ / "rules", dir_ / "models"};
  DetectorPlan p = plan();
  p.detector = "pii";
  Result<EfficacyReport> report = run_efficacy({p}, registry_, context, options_);
  ASSERT_TRUE(report);
  const DetectorResult& d = report->detectors[0];
  EXPECT_EQ(d.status, "not_available");
  EXPECT_TRUE(d.slices.empty());
  EXPECT_FALSE(d.targets[0].met);
  EXPECT_FALSE(d.targets[0].value);
  EXPECT_EQ(efficacy_exit_code(*report), 1);
  ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  EXPECT_TRUE(schemas.violations("efficacy_report", efficacy_json(*report)).empty());
}

TEST_F(EfficacyEvalTest, AnUnreadableDataFileIsAnErrorNamingIt) {
  const DetectorContext context{config_, dir_ / "rules", dir_ / "models"};
  DetectorPlan p = plan();
  p.files[0].path = "t/missing.jsonl";
  Result<EfficacyReport> report = run_efficacy({p}, registry_, context, options_);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().context.find("missing.jsonl"), std::string::npos) << report.error().to_string();
}

TEST(EfficacyPlan, CoversEveryProductDetectorWithTheIssueTargets) {
  const std::vector<DetectorPlan> plans = issue10_efficacy_plan();
  std::vector<std::string> names;
  for (const DetectorPlan& p : plans) {
    names.push_back(p.detector);
    EXPECT_FALSE(p.targets.empty()) << p.detector;
    for (const EfficacyDataFile& f : p.files) {
      EXPECT_TRUE(fs::exists(fs::path(ECHOES_FIXTURES_DIR "/datasets") / f.path)) << f.path;
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>(std::begin(kDetectorNames), std::end(kDetectorNames))));
}

}  // namespace
}  // namespace echoes::harness

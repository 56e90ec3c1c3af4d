// The gate's source readers: JUnit, gcovr summaries, efficacy reports, load summaries and
// compare.py output; malformed files give errors naming the file and the fault, and a source with
// an unreadable file resolves to a missing metric.
#include "harness/gate/gate_sources.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/gate/bounded_file.h"

namespace echoes::gate {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJunit = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Linux-c++" tests="3" failures="1" disabled="0" skipped="1" hostname="" time="1.5">
  <testcase name="a" classname="a" time="0.1" status="run"/>
  <testcase name="b" classname="b" time="0.1" status="fail"><failure message="Failed">out</failure></testcase>
  <testcase name="c" classname="c" time="0.0" status="notrun"><skipped message="Disabled"/></testcase>
</testsuite>
)";

constexpr const char* kGcovr = R"({"gcovr/summary_format_version": "0.5", "root": "..",
  "files": [
    {"filename": "core/base/error.cc", "line_total": 100, "line_covered": 95, "line_percent": 95.0,
     "branch_total": 10, "branch_covered": 7, "branch_percent": 70.0, "function_total": 1, "function_covered": 1},
    {"filename": "core/x.cc", "line_total": 100, "line_covered": 85, "branch_total": 10, "branch_covered": 6},
    {"filename": "harness/h.cc", "line_total": 10, "line_covered": 10, "branch_total": 0, "branch_covered": 0}
  ], "line_total": 210, "line_covered": 190, "branch_total": 20, "branch_covered": 13})";

// The efficacy report's shape as far as the gate reads it (efficacy_report.schema.json).
std::string efficacy_report(const std::string& injection_status = "evaluated") {
  return R"({"format": "echoes-efficacy-report", "version": 1,
    "provenance": {"commit": null, "part": "test", "bootstrap": {"method": "percentile", "seed": 7, "resamples": 10, "confidence": 0.95},
                   "datasets": [{"path": "a.jsonl", "sha256": ")" + std::string(64, 'a') + R"("}], "rule_packs": []},
    "detectors": [
      {"detector": "injection", "status": ")" + injection_status + R"(", "message": "m", "slices": [
        {"name": "benign", "kind": "source", "recall": {"value": 0.1}, "fpr": {"value": 0.5}},
        {"name": "benign", "kind": "group", "recall": {"value": 0.2}, "fpr": {"value": 0.004}},
        {"name": "overall", "kind": "overall", "recall": {"value": 0.97}, "fpr": {"value": null}}]},
      {"detector": "refusal", "status": "evaluated", "message": "", "slices": [
        {"name": "xstest_completions_gpt4", "kind": "group", "f1": {"value": 0.8},
         "baseline": {"f1": {"value": 0.6}}}]}
    ], "summary": {"targets": 0, "met": 0, "all_met": true}})";
}

class TempReports : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("echoes_gate_sources_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& relative, const std::string& text) {
    ASSERT_TRUE(write_file_atomically(dir_ / relative, text));
  }
  Collected collect() {
    CollectOptions options;
    options.baseline_dir = dir_ / "baseline";
    options.scratch_dir = dir_ / "scratch";
    return collect_reports({dir_}, options);
  }
  fs::path dir_;
};

TEST(JunitReader, CountsTheTestCasesNotTheClaimedAttributes) {
  Result<SuiteCounts> s = parse_junit(kJunit, "unit", "unit.xml");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->name, "unit");
  EXPECT_EQ(s->tests, 3u);
  EXPECT_EQ(s->failures, 1u);
  EXPECT_EQ(s->skipped, 1u);
  EXPECT_DOUBLE_EQ(s->time_s, 1.5);
  // A file whose attributes say "no failure" while a test case failed: the test case counts.
  Result<SuiteCounts> lying = parse_junit(
      R"(<testsuite tests="100" failures="0"><testcase name="x"><failure/></testcase></testsuite>)", "u", "u.xml");
  ASSERT_TRUE(lying);
  EXPECT_EQ(lying->tests, 1u);
  EXPECT_EQ(lying->failures, 1u);
}

TEST(JunitReader, ReadsSeveralSuitesAndErrors) {
  Result<SuiteCounts> s = parse_junit(
      R"(<testsuites><testsuite><testcase/><testcase><error/></testcase></testsuite><testsuite><testcase/></testsuite></testsuites>)",
      "u", "u.xml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->tests, 3u);
  EXPECT_EQ(s->errors, 1u);
}

TEST(JunitReader, MalformedDeepAndNonUtf8FilesAreRefusedByName) {
  Result<SuiteCounts> malformed = parse_junit("<testsuite><testcase></testsuite>", "u", "junit/u.xml");
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.error().to_string().find("not well-formed XML"), std::string::npos);
  EXPECT_NE(malformed.error().to_string().find("junit/u.xml"), std::string::npos);

  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<a>";
  for (int i = 0; i < 5000; ++i) deep += "</a>";
  Result<SuiteCounts> nested = parse_junit(deep, "u", "u.xml");
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().message.find("not well-formed XML"), std::string::npos) << nested.error().message;

  Result<SuiteCounts> utf8 = parse_junit("<testsuite name=\"\xFF\"/>", "u", "u.xml");
  ASSERT_FALSE(utf8);
  EXPECT_NE(utf8.error().message.find("not valid UTF-8 at byte offset 17"), std::string::npos) << utf8.error().message;

  Result<SuiteCounts> root = parse_junit("<html/>", "u", "u.xml");
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message.find("root element <html>"), std::string::npos);
}

TEST(GcovrReader, GroupsFilesIntoComponents) {
  Result<CoverageSummary> s = parse_gcovr_summary(kGcovr, "summary.json");
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_GE(s->components.size(), 3u);
  EXPECT_EQ(s->components[0].name, "core");
  EXPECT_EQ(s->components[0].lines_total, 200u);
  EXPECT_DOUBLE_EQ(*s->components[0].line_percent(), 90.0);
  EXPECT_DOUBLE_EQ(*s->components[0].branch_percent(), 65.0);
  EXPECT_FALSE(s->components[1].line_percent());  // mock_server: no file, no samples
  EXPECT_FALSE(s->components[2].branch_percent());  // harness: no branch
  EXPECT_EQ(s->overall.lines_covered, 190u);
}

TEST(GcovrReader, MalformedSummariesAreRefusedByField) {
  EXPECT_NE(parse_gcovr_summary("{", "s.json").error().message.find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_gcovr_summary("{}", "s.json").error().message.find("files: expected an array"), std::string::npos);
  const Error more = parse_gcovr_summary(
      R"({"files": [{"filename": "core/a.cc", "line_total": 1, "line_covered": 2, "branch_total": 0, "branch_covered": 0}]})",
      "s.json").error();
  EXPECT_NE(more.message.find("files[0]: more covered than total"), std::string::npos) << more.message;
  const Error negative = parse_gcovr_summary(
      R"({"files": [{"filename": "core/a.cc", "line_total": -1, "line_covered": 0, "branch_total": 0, "branch_covered": 0}]})",
      "s.json").error();
  EXPECT_NE(negative.message.find("line_total: expected a non-negative integer"), std::string::npos);
}

TEST(DocumentReaders, EfficacyAndLoadDocumentsAreCheckedForTheirFormat) {
  EXPECT_TRUE(parse_efficacy_report(efficacy_report(), "e.json"));
  const Result<JsonDocument> wrong = parse_efficacy_report(R"({"format": "echoes-load-summary", "version": 1})", "e.json");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("format: expected \"echoes-efficacy-report\""), std::string::npos);
  EXPECT_NE(parse_efficacy_report(R"({"format": "echoes-efficacy-report", "version": 1, "detectors": {}})", "e.json")
                .error().message.find("detectors: expected an array"),
            std::string::npos);
  EXPECT_TRUE(parse_load_summary(R"({"format": "echoes-load-summary", "version": 1, "requests": 5})", "l.json"));
  EXPECT_NE(parse_load_summary(R"({"format": "echoes-load-summary", "version": 1})", "l.json")
                .error().message.find("requests"),
            std::string::npos);
}

TEST(CompareOutput, UTestDecidesRegressionsAndFewRepetitionsAreUntested) {
  auto entry = [](const std::string& name, double old_ns, double new_ns, int reps, double p) {
    std::string m;
    for (int i = 0; i < reps; ++i) {
      m += (i ? "," : "") + std::string(R"({"real_time": )") + std::to_string(old_ns) +
           R"(, "real_time_other": )" + std::to_string(new_ns) + "}";
    }
    return R"({"name": ")" + name + R"(", "run_type": "iteration", "time_unit": "us", "measurements": [)" + m +
           R"(], "utest": {"time_pvalue": )" + std::to_string(p) + R"(, "nr_of_repetitions": )" +
           std::to_string(reps) + R"(, "nr_of_repetitions_other": )" + std::to_string(reps) + "}}";
  };
  const std::string json = "[" + entry("slow", 100, 120, 9, 0.001) + "," + entry("faster", 100, 90, 9, 0.001) + "," +
                           entry("noise", 100, 130, 9, 0.4) + "," + entry("few", 100, 200, 3, 0.01) +
                           R"(, {"name": "slow_mean", "run_type": "aggregate", "measurements": []}])";
  Result<std::vector<BenchRow>> rows = parse_compare_output(json, "p", "c.json");
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].verdict, "fail");
  EXPECT_DOUBLE_EQ((*rows)[0].baseline_ns, 100000);
  EXPECT_NEAR((*rows)[0].delta_percent, 20, 1e-9);
  EXPECT_EQ((*rows)[1].verdict, "pass");
  EXPECT_EQ((*rows)[2].verdict, "no-difference");
  EXPECT_EQ((*rows)[3].verdict, "untested");
  EXPECT_FALSE(parse_compare_output("{}", "p", "c.json"));
}

TEST_F(TempReports, CollectsEverySourceAndResolvesMetrics) {
  write("junit/unit.xml", kJunit);
  write("coverage/summary.json", kGcovr);
  write("efficacy/report.json", efficacy_report());
  write("load/faults/summary.json",
        R"({"format": "echoes-load-summary", "version": 1, "requests": 10, "availability": 0.9995,
            "latency_ms": {"p99": 12.5}, "ttft_ms": null})");
  const Collected c = collect();
  EXPECT_TRUE(c.problems.empty());
  EXPECT_EQ(*resolve_metric(c, "junit", "failed_tests").value, 1);
  EXPECT_EQ(*resolve_metric(c, "junit", "tests").value, 3);
  EXPECT_DOUBLE_EQ(*resolve_metric(c, "coverage", "component.core.line_percent").value, 90);
  EXPECT_DOUBLE_EQ(*resolve_metric(c, "coverage", "overall.branch_percent").value, 65);
  // The group slice wins over a source slice of the same name, as in the efficacy evaluation.
  EXPECT_DOUBLE_EQ(*resolve_metric(c, "efficacy", "injection.benign.fpr").value, 0.004);
  EXPECT_DOUBLE_EQ(*resolve_metric(c, "efficacy", "injection.overall.recall").value, 0.97);
  EXPECT_NEAR(*resolve_metric(c, "efficacy", "refusal.xstest_completions_gpt4.f1_over_baseline").value, 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(*resolve_metric(c, "load/faults", "availability").value, 0.9995);
  EXPECT_DOUBLE_EQ(*resolve_metric(c, "load/faults", "latency_ms.p99").value, 12.5);
}

TEST_F(TempReports, MissingMetricsNameWhatIsMissing) {
  write("efficacy/report.json", efficacy_report("not_available"));
  write("load/raw/summary.json", R"({"format": "echoes-load-summary", "version": 1, "requests": 0, "availability": 1})");
  write("load/faults/summary.json",
        R"({"format": "echoes-load-summary", "version": 1, "requests": 3, "ttft_ms": null})");
  const Collected c = collect();
  const Measurement junit = resolve_metric(c, "junit", "failed_tests");
  EXPECT_FALSE(junit.value);
  EXPECT_NE(junit.detail.find("no JUnit file"), std::string::npos);
  EXPECT_NE(resolve_metric(c, "coverage", "component.core.line_percent").detail.find("coverage/summary.json not collected"),
            std::string::npos);
  const Measurement injection = resolve_metric(c, "efficacy", "injection.overall.recall");
  EXPECT_FALSE(injection.value);
  EXPECT_NE(injection.detail.find("injection not evaluated (not_available"), std::string::npos) << injection.detail;
  const Measurement undefined = resolve_metric(c, "efficacy", "refusal.xstest_completions_gpt4.precision");
  EXPECT_FALSE(undefined.value);
  const Measurement raw = resolve_metric(c, "load/raw", "availability");
  EXPECT_FALSE(raw.value);
  EXPECT_NE(raw.detail.find("no samples"), std::string::npos);
  const Measurement ttft = resolve_metric(c, "load/faults", "ttft_ms.p99");
  EXPECT_FALSE(ttft.value);
  EXPECT_NE(ttft.detail.find("ttft_ms.p99"), std::string::npos) << ttft.detail;
  EXPECT_FALSE(resolve_metric(c, "load/soak", "availability").value);
  const Measurement bench = resolve_metric(c, "bench", "significant_regressions");
  EXPECT_FALSE(bench.value);
  EXPECT_NE(bench.detail.find("no benchmark results"), std::string::npos);
}

TEST_F(TempReports, OneUnreadableFileMakesItsSourceMissing) {
  // A good suite beside a malformed one: the failures may be in the malformed file, so the
  // failed-test count is not known.
  write("junit/unit.xml", kJunit);
  write("junit/cli.xml", "<testsuite><testcase>");
  write("efficacy/report.json", "{\"format\": ");
  const Collected c = collect();
  const Measurement failed = resolve_metric(c, "junit", "failed_tests");
  EXPECT_FALSE(failed.value);
  EXPECT_NE(failed.detail.find("cli.xml"), std::string::npos) << failed.detail;
  EXPECT_NE(failed.detail.find("not well-formed XML"), std::string::npos) << failed.detail;
  const Measurement efficacy = resolve_metric(c, "efficacy", "injection.overall.recall");
  EXPECT_FALSE(efficacy.value);
  EXPECT_NE(efficacy.detail.find("report.json"), std::string::npos) << efficacy.detail;
}

TEST_F(TempReports, ShardsOfTheSameSuiteAddUp) {
  write("a/junit/unit.xml", kJunit);
  write("b/junit/unit.xml", kJunit);
  CollectOptions options;
  options.scratch_dir = dir_ / "scratch";
  const Collected c = collect_reports({dir_ / "a", dir_ / "b"}, options);
  ASSERT_TRUE(c.tests);
  ASSERT_EQ(c.tests->size(), 1u);
  EXPECT_EQ((*c.tests)[0].tests, 6u);
  EXPECT_EQ(*resolve_metric(c, "junit", "failed_tests").value, 2);
}

TEST_F(TempReports, FilesOverTheBoundAreRefusedBeforeReading) {
  write("big.xml", std::string(2048, ' '));
  Result<std::string> text = read_bounded_file(dir_ / "big.xml", 1024);
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().message.find("2048 bytes is larger than the limit of 1024"), std::string::npos);
}

}  // namespace
}  // namespace echoes::gate

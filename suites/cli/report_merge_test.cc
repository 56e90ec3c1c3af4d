// The merge of CI shards' reports folders (harness/report/report_merge.h). The JUnit and coverage
// shards are real: a throwaway CTest project run whole and in three `ctest -I start,,3` shards, and a
// small program built with --coverage whose runs are split between shards; the merged counts must
// equal the single run's. Then the documents that must agree, load summaries, and hostile inputs.
#include "harness/report/report_merge.h"

#include "core/monitor/histogram_log.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using echoes::harness::report::coverage_components;
using echoes::harness::report::merge_reports;
using echoes::harness::report::MergeOptions;
using json = nlohmann::json;

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

// Runs a shell command; its exit status.
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ReportMerge : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("report_merge_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  fs::path dir_;
};

// Test names and counts of a JUnit file: {name -> status ("pass"/"fail")}, and the root's counts.
struct JUnitView {
  std::set<std::string> passed, failed;
  long tests = -1, failures = -1;
};
JUnitView view(const fs::path& file) {
  const std::string xml = read(file);
  JUnitView v;
  const std::regex testcase(R"re(<testcase name="([^"]*)"[^>]*status="([a-z]*)")re");
  for (auto m = std::sregex_iterator(xml.begin(), xml.end(), testcase); m != std::sregex_iterator(); ++m) {
    ((*m)[2] == "fail" ? v.failed : v.passed).insert((*m)[1]);
  }
  std::smatch m;
  if (std::regex_search(xml, m, std::regex(R"re(<testsuite[^>]*\stests="([0-9]+)")re"))) v.tests = std::stol(m[1]);
  if (std::regex_search(xml, m, std::regex(R"re(<testsuite[^>]*\sfailures="([0-9]+)")re"))) v.failures = std::stol(m[1]);
  return v;
}

TEST_F(ReportMerge, CtestStrideShardsMergeToTheSingleRunsJUnit) {
  write(dir_ / "src/CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.16)\nproject(shards NONE)\nenable_testing()\n"
        "foreach(i RANGE 1 10)\n  add_test(NAME pass_${i} COMMAND ${CMAKE_COMMAND} -E true)\nendforeach()\n"
        "add_test(NAME fails_once COMMAND ${CMAKE_COMMAND} -E false)\n");
  const std::string build = (dir_ / "build").string();
  ASSERT_EQ(shell("cmake -S '" + (dir_ / "src").string() + "' -B '" + build + "' > /dev/null"), 0);
  // ctest exits non-zero because one test fails; the JUnit file is what matters.
  shell("ctest --test-dir '" + build + "' --output-junit '" + (dir_ / "one/junit/gate.xml").string() + "' > /dev/null 2>&1");
  std::vector<fs::path> shards;
  for (int start = 1; start <= 3; ++start) {
    const fs::path shard = dir_ / ("shard" + std::to_string(start));
    shell("ctest --test-dir '" + build + "' -I " + std::to_string(start) + ",,3 --output-junit '" +
          (shard / "junit/gate.xml").string() + "' > /dev/null 2>&1");
    shards.push_back(shard);
  }
  const JUnitView first_shard = view(shards[0] / "junit/gate.xml");
  ASSERT_EQ(first_shard.tests, 4) << "ctest -I 1,,3 should run tests 1, 4, 7, 10";

  auto merged = merge_reports(shards, dir_ / "merged", MergeOptions{});
  ASSERT_TRUE(merged.ok()) << merged.error().to_string();
  EXPECT_EQ(merged->junit_files, 1u);
  EXPECT_EQ(merged->test_cases, 11u);
  const JUnitView one = view(dir_ / "one/junit/gate.xml");
  const JUnitView all = view(dir_ / "merged/junit/gate.xml");
  EXPECT_EQ(one.tests, 11);
  EXPECT_EQ(all.tests, one.tests);
  EXPECT_EQ(all.failures, one.failures);
  EXPECT_EQ(all.passed, one.passed);
  EXPECT_EQ(all.failed, one.failed);
  EXPECT_EQ(all.failed, std::set<std::string>{"fails_once"});
}

TEST_F(ReportMerge, TestsuitesFilesMergeBySuiteAndOverlappingShardsAreRefused) {
  const std::string a = R"(<?xml version="1.0"?><testsuites tests="2" failures="1">
    <testsuite name="unit" tests="2" failures="1" errors="0" skipped="0" time="1.5">
      <testcase classname="A" name="one" time="1"/><testcase classname="A" name="two"><failure message="x"/></testcase>
    </testsuite></testsuites>)";
  const std::string b = R"(<?xml version="1.0"?><testsuites tests="3" failures="0">
    <testsuite name="unit" tests="1" failures="0" errors="1" skipped="0" time="0.5"><testcase classname="A" name="three"/></testsuite>
    <testsuite name="contract" tests="2" skipped="1"><testcase classname="C" name="x"/><testcase classname="C" name="y"><skipped/></testcase></testsuite>
    </testsuites>)";
  write(dir_ / "a/junit/suites.xml", a);
  write(dir_ / "b/junit/suites.xml", b);
  auto merged = merge_reports({dir_ / "a", dir_ / "b"}, dir_ / "out", MergeOptions{});
  ASSERT_TRUE(merged.ok()) << merged.error().to_string();
  const std::string xml = read(dir_ / "out/junit/suites.xml");
  EXPECT_NE(xml.find(R"(<testsuites tests="5" failures="1" errors="1" skipped="1" time="2.000">)"), std::string::npos) << xml;
  EXPECT_NE(xml.find(R"(<testsuite name="unit" tests="3" failures="1" errors="1" skipped="0" time="2.000">)"), std::string::npos) << xml;
  EXPECT_NE(xml.find(R"(<testsuite name="contract" tests="2" skipped="1")"), std::string::npos) << xml;
  EXPECT_EQ(merged->test_cases, 5u);

  // The same test case in two shards: they overlapped, and it would count twice.
  write(dir_ / "c/junit/suites.xml", a);
  auto overlap = merge_reports({dir_ / "a", dir_ / "c"}, dir_ / "out2", MergeOptions{});
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.error().message.find("c/junit/suites.xml"), std::string::npos) << overlap.error().message;
  EXPECT_NE(overlap.error().message.find("overlap"), std::string::npos) << overlap.error().message;
}

// A small program built with coverage: core/lib.cc is measured, suites/main.cc is not (the filters
// of cmake/Coverage.cmake). `runs` are the arguments of its runs; the tracefile goes to `out`.
void coverage_run(const fs::path& root, const std::vector<std::string>& runs, const fs::path& out) {
  shell("find '" + (root / "obj").string() + "' -name '*.gcda' -delete");
  for (const std::string& arg : runs) ASSERT_EQ(shell("'" + (root / "obj/t").string() + "' " + arg), 0);
  fs::create_directories(out.parent_path());
  ASSERT_EQ(shell("cd '" + root.string() + "' && gcovr --root . --object-directory obj --filter core/ --json '" +
                  out.string() + "' > /dev/null 2>&1"),
            0);
}

TEST_F(ReportMerge, CoverageShardsMergeToTheSingleRunsFigures) {
  const fs::path root = dir_ / "src";
  write(root / "core/lib.cc",
        "int f(int x) { if (x > 0) return 1; return 2; }\n"
        "int g(int x) { if (x < 0) return 3; return 4; }\n"
        "int h(int x) { return x > 5 ? 5 : x; }\n");
  write(root / "suites/main.cc",
        "#include <cstdlib>\nint f(int); int g(int); int h(int);\n"
        "int main(int, char** argv) { int w = std::atoi(argv[1]); int r = 0;\n"
        "  if (w & 1) r += f(1); if (w & 2) r += g(-1); if (w & 4) r += h(9); return r < 0; }\n");
  fs::create_directories(root / "obj");
  ASSERT_EQ(shell("cd '" + (root / "obj").string() + "' && g++ --coverage -O0 -o t ../core/lib.cc ../suites/main.cc"), 0);
  coverage_run(root, {"1", "2", "4"}, dir_ / "one/coverage/run.json");
  coverage_run(root, {"1"}, dir_ / "s1/coverage/run.json");
  coverage_run(root, {"2", "4"}, dir_ / "s2/coverage/run.json");
  // gcovr's own summary beside the tracefile is not a tracefile and is not merged.
  write(dir_ / "s2/coverage/summary.json", R"({"line_percent": 1})");

  MergeOptions options;
  options.source_root = root;
  auto merged = merge_reports({dir_ / "s1", dir_ / "s2"}, dir_ / "merged", options);
  ASSERT_TRUE(merged.ok()) << merged.error().to_string();
  EXPECT_EQ(merged->tracefiles, 2u);
  auto single = merge_reports({dir_ / "one"}, dir_ / "single", options);
  ASSERT_TRUE(single.ok()) << single.error().to_string();
  const json a = json::parse(read(dir_ / "merged/coverage/summary.json"));
  const json b = json::parse(read(dir_ / "single/coverage/summary.json"));
  for (const char* key : {"line_covered", "line_total", "branch_covered", "branch_total", "function_covered"}) {
    EXPECT_EQ(a[key], b[key]) << key;
  }
  EXPECT_EQ(a["line_covered"], a["line_total"]);  // together the shards ran every line of lib.cc
  ASSERT_EQ(a["files"].size(), 1u);               // suites/ is filtered out
  EXPECT_EQ(a["files"][0]["filename"], "core/lib.cc");
  EXPECT_TRUE(fs::exists(dir_ / "merged/coverage/merged.json"));
  // A shard's tracefile alone covers less: the merge did add something.
  auto shard_only = merge_reports({dir_ / "s1"}, dir_ / "s1-only", options);
  ASSERT_TRUE(shard_only.ok());
  EXPECT_LT(json::parse(read(dir_ / "s1-only/coverage/summary.json"))["line_covered"], a["line_covered"]);
}

TEST_F(ReportMerge, CoverageFiltersAreThoseOfCoverageCmake) {
  const std::string cmake = read(fs::path(ECHOES_SOURCE_DIR) / "cmake/Coverage.cmake");
  std::vector<std::string> filters;
  const std::regex filter(R"re(--filter "\$\{PROJECT_SOURCE_DIR\}/([^"]+)")re");
  for (auto m = std::sregex_iterator(cmake.begin(), cmake.end(), filter); m != std::sregex_iterator(); ++m) {
    filters.push_back((*m)[1]);
  }
  EXPECT_EQ(filters, coverage_components());
}

TEST_F(ReportMerge, MalformedTracefileIsNamedBeforeGcovrSeesIt) {
  write(dir_ / "a/coverage/run.json", R"({"files": [{"file": "core/x.cc", "lines": [)");
  auto broken = merge_reports({dir_ / "a"}, dir_ / "out", MergeOptions{});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("a/coverage/run.json"), std::string::npos) << broken.error().message;
  EXPECT_NE(broken.error().message.find("malformed JSON"), std::string::npos) << broken.error().message;
  write(dir_ / "b/coverage/run.json", R"({"line_percent": 90})");
  auto summary_only = merge_reports({dir_ / "b"}, dir_ / "out2", MergeOptions{});
  ASSERT_FALSE(summary_only.ok());
  EXPECT_NE(summary_only.error().message.find("not a gcovr JSON tracefile"), std::string::npos);
  write(dir_ / "c/coverage/run.json", std::string(100000, '[') + std::string(100000, ']'));
  auto deep = merge_reports({dir_ / "c"}, dir_ / "out3", MergeOptions{});
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("deeper"), std::string::npos) << deep.error().message;
}

TEST_F(ReportMerge, MalformedJUnitIsNamed) {
  write(dir_ / "a/junit/unit.xml", "<testsuite tests=\"1\"><testcase name=\"x\"></testsuite>");
  auto broken = merge_reports({dir_ / "a"}, dir_ / "out", MergeOptions{});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("a/junit/unit.xml: malformed XML"), std::string::npos) << broken.error().message;
  write(dir_ / "b/junit/unit.xml", "<html><body/></html>");
  auto wrong_root = merge_reports({dir_ / "b"}, dir_ / "out2", MergeOptions{});
  ASSERT_FALSE(wrong_root.ok());
  EXPECT_NE(wrong_root.error().message.find("expected <testsuite>"), std::string::npos);
  write(dir_ / "c/junit/unit.xml", "<testsuite tests=\"lots\"/>");
  auto bad_count = merge_reports({dir_ / "c"}, dir_ / "out3", MergeOptions{});
  ASSERT_FALSE(bad_count.ok());
  EXPECT_NE(bad_count.error().message.find("is not a count"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<a>";
  write(dir_ / "d/junit/unit.xml", "<testsuite>" + deep + "</testsuite>");
  auto too_deep = merge_reports({dir_ / "d"}, dir_ / "out4", MergeOptions{});
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.error().message.find("d/junit/unit.xml"), std::string::npos);
}

TEST_F(ReportMerge, EfficacyMustBeIdenticalOrInOneShard) {
  const std::string report = R"({"format": "echoes-efficacy-report", "version": 1, "summary": {"met": 3}})";
  write(dir_ / "a/efficacy/report.json", report);
  write(dir_ / "b/efficacy/report.json", "{ \"version\": 1, \"format\": \"echoes-efficacy-report\", \"summary\": {\"met\": 3} }");
  write(dir_ / "c/junit/x.xml", "<testsuite tests=\"0\"/>");
  auto same = merge_reports({dir_ / "a", dir_ / "b", dir_ / "c"}, dir_ / "out", MergeOptions{});
  ASSERT_TRUE(same.ok()) << same.error().to_string();
  EXPECT_EQ(json::parse(read(dir_ / "out/efficacy/report.json")), json::parse(report));
  write(dir_ / "d/efficacy/report.json", R"({"format": "echoes-efficacy-report", "version": 1, "summary": {"met": 2}})");
  auto conflict = merge_reports({dir_ / "a", dir_ / "d"}, dir_ / "out2", MergeOptions{});
  ASSERT_FALSE(conflict.ok());
  EXPECT_NE(conflict.error().message.find("d/efficacy/report.json"), std::string::npos) << conflict.error().message;
  EXPECT_NE(conflict.error().message.find("differs from"), std::string::npos);
}

json load_summary(int requests, int answer, int blocked, int errors, double rps) {
  return {{"format", "echoes-load-summary"}, {"version", 1}, {"profile", "faults"}, {"target_rps", rps},
          {"achieved_rps", rps - 0.5}, {"duration_s", 20}, {"requests", requests}, {"lost", 0},
          {"latency_ms", {{"p50", 3.0}, {"p99", 9.0}}}, {"outcomes", {{"answer", answer}, {"blocked", blocked}, {"error", errors}}},
          {"errors", {{"server_error", errors}}}, {"availability", double(answer + blocked) / requests},
          {"safety", {{"checked", requests}, {"decision_mismatches", 0}}}, {"spectrum", json::array({{{"value_ms", 3}}})}};
}

TEST_F(ReportMerge, LoadShardsSumTheirCountsAndLeaveLatencyNullWhenAShardHasNoHistogram) {
  write(dir_ / "pod0/load/faults/summary.json", load_summary(1000, 990, 5, 5, 100).dump());
  write(dir_ / "pod0/load/faults/latency.hlog", "#[hlog of pod 0]\n");
  write(dir_ / "pod1/load/faults/summary.json", load_summary(1000, 1000, 0, 0, 100).dump());
  write(dir_ / "pod1/load/benign/summary.json", load_summary(10, 10, 0, 0, 5).dump());
  auto merged = merge_reports({dir_ / "pod0", dir_ / "pod1"}, dir_ / "out", MergeOptions{});
  ASSERT_TRUE(merged.ok()) << merged.error().to_string();
  EXPECT_EQ(merged->load_profiles, 2u);
  const json faults = json::parse(read(dir_ / "out/load/faults/summary.json"));
  EXPECT_EQ(faults["requests"], 2000);
  EXPECT_EQ(faults["target_rps"], 200);
  EXPECT_EQ(faults["outcomes"]["answer"], 1990);
  EXPECT_EQ(faults["outcomes"]["error"], 5);
  EXPECT_EQ(faults["errors"]["server_error"], 5);
  EXPECT_EQ(faults["safety"]["checked"], 2000);
  EXPECT_DOUBLE_EQ(faults["availability"].get<double>(), 1995.0 / 2000);
  EXPECT_TRUE(faults["latency_ms"].is_null());  // percentiles need the histograms merged
  EXPECT_TRUE(faults["spectrum"].empty());
  EXPECT_EQ(read(dir_ / "out/load/faults/latency.0.hlog"), "#[hlog of pod 0]\n");
  bool gap_reported = false;  // one shard of two has a histogram: latency is not merged, and it says so
  for (const std::string& note : merged->notes) gap_reported = gap_reported || note.find("1 of 2 shards") != std::string::npos;
  EXPECT_TRUE(gap_reported);
  // A profile from one pod only is copied as it is.
  EXPECT_EQ(json::parse(read(dir_ / "out/load/benign/summary.json")), load_summary(10, 10, 0, 0, 5));
}

// Two shards' interval logs: the merged summary's latency equals that of one histogram holding
// both shards' samples, and a log that does not decode names its file.
TEST_F(ReportMerge, LoadShardsLatencyIsTheMergeOfTheirHistograms) {
  echoes::monitor::HdrHistogram union_of_samples(1, 3'600'000'000LL, 3);  // the load recorder's layout
  for (int pod = 0; pod < 2; ++pod) {
    echoes::monitor::HdrHistogram interval(1, 3'600'000'000LL, 3);
    for (std::int64_t us = 1; us <= 1000; ++us) interval.record(us * (pod == 0 ? 100 : 7));
    union_of_samples.add(interval);
    echoes::monitor::HistogramLogWriter log(1.7e9);
    log.add_interval(0, 10, interval);
    const std::string folder = "pod" + std::to_string(pod) + "/load/faults/";
    write(dir_ / (folder + "summary.json"), load_summary(1000, 1000, 0, 0, 100).dump());
    write(dir_ / (folder + "latency.hlog"), log.text());
  }
  auto merged = merge_reports({dir_ / "pod0", dir_ / "pod1"}, dir_ / "out", MergeOptions{});
  ASSERT_TRUE(merged.ok()) << merged.error().to_string();
  const json faults = json::parse(read(dir_ / "out/load/faults/summary.json"));
  ASSERT_TRUE(faults["latency_ms"].is_object()) << faults.dump();
  EXPECT_EQ(faults["latency_ms"]["count"], 2000);
  EXPECT_DOUBLE_EQ(faults["latency_ms"]["p99"].get<double>(),
                   static_cast<double>(union_of_samples.value_at_percentile(99)) / 1000.0);
  EXPECT_DOUBLE_EQ(faults["latency_ms"]["p50"].get<double>(),
                   static_cast<double>(union_of_samples.value_at_percentile(50)) / 1000.0);
  EXPECT_FALSE(faults["spectrum"].empty());
  EXPECT_EQ(read(dir_ / "out/load/faults/latency.hgrm"), union_of_samples.percentile_distribution(1000.0));

  write(dir_ / "pod1/load/faults/latency.hlog", "0.0,10.0,1.0,not-base64!\n");
  auto broken = merge_reports({dir_ / "pod0", dir_ / "pod1"}, dir_ / "out2", MergeOptions{});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().to_string().find("pod1/load/faults/latency.hlog"), std::string::npos)
      << broken.error().to_string();
}

TEST_F(ReportMerge, HostileFoldersAreRefusedByName) {
  auto missing = merge_reports({dir_ / "nowhere"}, dir_ / "out", MergeOptions{});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nowhere: no such folder"), std::string::npos) << missing.error().message;
  fs::create_directories(dir_ / "empty");
  auto empty = merge_reports({dir_ / "empty"}, dir_ / "out", MergeOptions{});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("holds no results"), std::string::npos);
  write(dir_ / "a/junit/x.xml", "<testsuite tests=\"0\"/>");
  auto into_itself = merge_reports({dir_ / "a"}, dir_ / "a", MergeOptions{});
  ASSERT_FALSE(into_itself.ok());
  EXPECT_NE(into_itself.error().message.find("also the output folder"), std::string::npos);
  write(dir_ / "full/old.txt", "stale");
  auto not_empty = merge_reports({dir_ / "a"}, dir_ / "full", MergeOptions{});
  ASSERT_FALSE(not_empty.ok());
  EXPECT_NE(not_empty.error().message.find("not empty"), std::string::npos);
  fs::create_directories(dir_ / "b/load/faults");
  auto no_summary = merge_reports({dir_ / "b"}, dir_ / "out", MergeOptions{});
  ASSERT_FALSE(no_summary.ok());
  EXPECT_NE(no_summary.error().message.find("load/faults"), std::string::npos);
  write(dir_ / "c/load/faults/summary.json", "{\"format\": \"echoes-load-summary\"");
  write(dir_ / "d/load/faults/summary.json", load_summary(1, 1, 0, 0, 1).dump());
  auto malformed = merge_reports({dir_ / "c", dir_ / "d"}, dir_ / "out5", MergeOptions{});
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.error().message.find("c/load/faults/summary.json: malformed JSON"), std::string::npos);
  json wrong_types = load_summary(1, 1, 0, 0, 1);
  wrong_types["duration_s"] = "long";
  wrong_types["version"] = "one";
  wrong_types["outcomes"] = "plenty";
  write(dir_ / "e/load/faults/summary.json", wrong_types.dump());
  auto mistyped = merge_reports({dir_ / "d", dir_ / "e"}, dir_ / "out6", MergeOptions{});
  ASSERT_FALSE(mistyped.ok());
  EXPECT_NE(mistyped.error().message.find("e/load/faults/summary.json"), std::string::npos) << mistyped.error().message;
}

}  // namespace

// `echoes gate --from DIR` as a child process: exit 0 when every binding gate passes, 1 when one
// fails or is missing, 2 when the run could not happen; the printed table and the reports written.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "harness/contract_schemas.h"
#include "harness/gate/bounded_file.h"
#include "harness/gate/child_process.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kPassingJunit = R"(<testsuite tests="2">
  <testcase name="a" status="run"/><testcase name="b" status="run"/></testsuite>)";
constexpr const char* kFailingJunit = R"(<testsuite tests="2">
  <testcase name="a" status="run"/><testcase name="b" status="fail"><failure message="x"/></testcase></testsuite>)";

// A small gates file: tests, a coverage gate, a load gate and an advisory bench gate.
constexpr const char* kGates = R"({"format": "echoes-gates", "version": 1, "gates": [
  {"id": "tests.failed", "description": "d", "kind": "binding", "source": "junit", "metric": "failed_tests", "op": "<=", "value": 0},
  {"id": "coverage.core.line", "description": "d", "kind": "binding", "source": "coverage", "metric": "component.core.line_percent", "op": ">=", "value": 90},
  {"id": "load.faults.availability", "description": "d", "kind": "binding", "source": "load/faults", "metric": "availability", "op": ">=", "value": 0.999},
  {"id": "bench.regressions", "description": "d", "kind": "advisory", "source": "bench", "metric": "significant_regressions", "op": "<=", "value": 0}]})";

class GateCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("echoes_gate_command_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    write("gates.json", kGates);
    write("from/junit/unit.xml", kPassingJunit);
    write("from/coverage/summary.json",
          R"({"files": [{"filename": "core/a.cc", "line_total": 10, "line_covered": 10, "branch_total": 2, "branch_covered": 2}]})");
    write("from/load/faults/summary.json",
          R"({"format": "echoes-load-summary", "version": 1, "requests": 4000, "availability": 0.9995})");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& relative, const std::string& text) {
    ASSERT_TRUE(echoes::gate::write_file_atomically(dir_ / relative, text));
  }

  // Runs `echoes gate --from <from dirs> --reports <dir>/out --gates <dir>/gates.json [extra]`;
  // returns the exit code and sets out_ to what it printed.
  int gate(std::vector<std::string> from, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {ECHOES_BINARY, "gate", "--reports", (dir_ / "out").string(), "--gates",
                                     (dir_ / "gates.json").string(), "--from"};
    for (const std::string& f : from) argv.push_back((dir_ / f).string());
    for (std::string& e : extra) argv.push_back(std::move(e));
    const fs::path log = dir_ / "gate.log";
    echoes::Result<int> exit = echoes::gate::run_child(argv, log);
    std::ifstream file(log);
    out_.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    return exit ? *exit : -1;
  }

  fs::path dir_;
  std::string out_;
};

TEST_F(GateCommand, AllBindingGatesPassExitsZeroAndPrintsTheTable) {
  // The advisory bench gate is missing (no bench/ results) and does not bind.
  ASSERT_EQ(gate({"from"}), 0) << out_;
  EXPECT_NE(out_.find("gate "), std::string::npos);
  for (const char* column : {"threshold", "measured", "verdict", "source"}) {
    EXPECT_NE(out_.find(column), std::string::npos) << column << "\n" << out_;
  }
  const std::size_t row = out_.find("load.faults.availability");
  ASSERT_NE(row, std::string::npos) << out_;
  const std::string line = out_.substr(row, out_.find('\n', row) - row);
  EXPECT_NE(line.find(">= 0.999"), std::string::npos) << line;
  EXPECT_NE(line.find("0.9995"), std::string::npos) << line;
  EXPECT_NE(line.find("pass"), std::string::npos) << line;
  EXPECT_NE(line.find("load/faults"), std::string::npos) << line;
  EXPECT_NE(out_.find("missing (advisory)"), std::string::npos) << out_;
  EXPECT_NE(out_.find("PASS: 4 gates, 0 binding not passed, 1 advisory not passed"), std::string::npos) << out_;

  std::ifstream summary(dir_ / "out/summary.json");
  const std::string text((std::istreambuf_iterator<char>(summary)), std::istreambuf_iterator<char>());
  echoes::harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  const auto violations = schemas.violations("gate_summary", text);
  EXPECT_TRUE(violations.empty()) << echoes::harness::ContractSchemas::joined(violations);
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["verdict"], "pass");
  EXPECT_EQ(doc["tests"]["total"]["tests"], 2);
  EXPECT_EQ(doc["load"][0]["availability"], 0.9995);
  EXPECT_TRUE(fs::exists(dir_ / "out/summary.md"));
  // The readiness report is rendered from the same summary: its gate table is there.
  std::ifstream page(dir_ / "out/index.html");
  const std::string html((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("<table id=\"gate-table\">"), std::string::npos);
  EXPECT_NE(html.find("tests.failed"), std::string::npos);
}

TEST_F(GateCommand, StrictMakesTheMissingAdvisoryGateFail) {
  EXPECT_EQ(gate({"from"}, {"--strict"}), 1) << out_;
  EXPECT_NE(out_.find("bench.regressions (missing): no benchmark results"), std::string::npos) << out_;
}

TEST_F(GateCommand, FailedTestExitsOne) {
  write("from/junit/cli.xml", kFailingJunit);
  EXPECT_EQ(gate({"from"}), 1) << out_;
  EXPECT_NE(out_.find("tests.failed (fail): 1 failed, 0 errors of 4 tests in 2 suites"), std::string::npos) << out_;
}

TEST_F(GateCommand, MissingSourceExitsOneNamingIt) {
  fs::remove_all(dir_ / "from/load");
  EXPECT_EQ(gate({"from"}), 1) << out_;
  EXPECT_NE(out_.find("load.faults.availability (missing): load/faults/summary.json not collected"), std::string::npos)
      << out_;
}

TEST_F(GateCommand, SeveralFromFoldersAreCombined) {
  // The load profile lives in a second folder (another machine); the tests in the first.
  write("other/load/faults/summary.json",
        R"({"format": "echoes-load-summary", "version": 1, "requests": 10, "availability": 1})");
  fs::remove_all(dir_ / "from/load");
  EXPECT_EQ(gate({"from", "other"}), 0) << out_;
}

// gcovr JSON tracefiles of two shards: each covers half of core/a.cc, together all of it.
std::string tracefile(int line1, int line2, int branch1, int branch2) {
  auto line = [](int number, int count, std::string branches) {
    return R"({"line_number": )" + std::to_string(number) + R"(, "count": )" + std::to_string(count) +
           R"(, "branches": [)" + branches + R"(], "gcovr/noncode": false, "gcovr/excluded": false})";
  };
  auto branch = [](int count) { return R"({"count": )" + std::to_string(count) + R"(, "fallthrough": false, "throw": false})"; };
  return R"({"gcovr/format_version": "0.3", "files": [{"file": "core/a.cc", "functions": [], "lines": [)" +
         line(1, line1, branch(branch1) + "," + branch(branch2)) + "," + line(2, line2, "") + "]}]}";
}

TEST_F(GateCommand, CoverageOfSeveralFoldersIsMergedByGcovr) {
  write("gates.json", R"({"format": "echoes-gates", "version": 1, "gates": [
    {"id": "line", "description": "d", "kind": "binding", "source": "coverage", "metric": "component.core.line_percent", "op": ">=", "value": 100},
    {"id": "branch", "description": "d", "kind": "binding", "source": "coverage", "metric": "component.core.branch_percent", "op": ">=", "value": 100}]})");
  write("a/coverage/tracefile.json", tracefile(1, 0, 1, 0));
  write("b/coverage/tracefile.json", tracefile(0, 3, 0, 2));
  EXPECT_EQ(gate({"a"}), 1) << out_;  // one shard alone: half the lines and branches
  EXPECT_EQ(gate({"a", "b"}), 0) << out_;
}

TEST_F(GateCommand, RunThatCannotHappenExitsTwo) {
  write("gates.json", R"({"format": "echoes-gates", "version": 1, "gates": [{"id": "x", "op": "=>"}]})");
  EXPECT_EQ(gate({"from"}), 2) << out_;
  EXPECT_NE(out_.find("gates[0] (x)"), std::string::npos) << out_;
  write("gates.json", kGates);
  EXPECT_EQ(gate({"no-such-folder"}), 2) << out_;
  EXPECT_NE(out_.find("no-such-folder: not a folder"), std::string::npos) << out_;
}

TEST_F(GateCommand, BuildFolderThatIsNotConfiguredExitsTwo) {
  const fs::path log = dir_ / "gate.log";
  echoes::Result<int> exit = echoes::gate::run_child(
      {ECHOES_BINARY, "gate", "--build-dir", (dir_ / "nobuild").string(), "--reports", (dir_ / "out").string(),
       "--gates", (dir_ / "gates.json").string()},
      log);
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, 2);
  std::ifstream file(log);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("is not a configured build"), std::string::npos) << text;
}

}  // namespace

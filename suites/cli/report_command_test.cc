// `echoes report` as a child process: --from renders index.html from a reports folder's
// summary.json; --merge merges shards into --out; bad usage and bad inputs exit 2 naming the file.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int exit_code = -1;
  std::string out, err;
};

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

class ReportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("report_command_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  // Runs `echoes report <args>` (arguments are quoted by the caller where needed).
  CommandRun report(const std::string& args) {
    const std::string command = std::string("'") + ECHOES_BINARY + "' report " + args + " > '" +
                                (dir_ / "stdout").string() + "' 2> '" + (dir_ / "stderr").string() + "'";
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(dir_ / "stdout"), read(dir_ / "stderr")};
  }
  fs::path dir_;
};

TEST_F(ReportCommand, FromRendersIndexHtmlBesideTheSummaryOrIntoOut) {
  fs::copy_file(fs::path(ECHOES_FIXTURES_DIR) / "reports/summary_full.json", dir_ / "summary.json");
  const CommandRun beside = report("--from '" + dir_.string() + "'");
  EXPECT_EQ(beside.exit_code, 0) << beside.err;
  const std::string page = read(dir_ / "index.html");
  EXPECT_NE(page.find("<table id=\"gate-table\">"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "index.html.partial"));
  const CommandRun elsewhere = report("--from '" + dir_.string() + "' --out '" + (dir_ / "site").string() + "'");
  EXPECT_EQ(elsewhere.exit_code, 0) << elsewhere.err;
  EXPECT_EQ(read(dir_ / "site/index.html"), page);
}

TEST_F(ReportCommand, FromRefusesMissingMalformedAndForeignSummariesNamingTheFile) {
  const CommandRun missing = report("--from '" + dir_.string() + "'");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find((dir_ / "summary.json").string()), std::string::npos) << missing.err;
  write(dir_ / "summary.json", "{\"format\": \"echoes-gate-summary\", ");
  const CommandRun malformed = report("--from '" + dir_.string() + "'");
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.err.find("summary.json: malformed JSON"), std::string::npos) << malformed.err;
  write(dir_ / "summary.json", std::string(5000, '[') + std::string(5000, ']'));
  const CommandRun deep = report("--from '" + dir_.string() + "'");
  EXPECT_EQ(deep.exit_code, 2);
  EXPECT_NE(deep.err.find("deeper than 128"), std::string::npos) << deep.err;
  write(dir_ / "summary.json", R"({"format": "echoes-load-summary", "version": 1})");
  const CommandRun foreign = report("--from '" + dir_.string() + "'");
  EXPECT_EQ(foreign.exit_code, 2);
  EXPECT_NE(foreign.err.find("not a gate summary"), std::string::npos) << foreign.err;
  EXPECT_FALSE(fs::exists(dir_ / "index.html"));
}

TEST_F(ReportCommand, MergeWritesTheMergedFolderAndSaysWhatToRunNext) {
  write(dir_ / "a/junit/unit.xml", R"(<testsuite tests="1" failures="0"><testcase classname="A" name="x"/></testsuite>)");
  write(dir_ / "b/junit/unit.xml", R"(<testsuite tests="1" failures="1"><testcase classname="A" name="y"><failure/></testcase></testsuite>)");
  const CommandRun merged = report("--merge '" + (dir_ / "a").string() + "' '" + (dir_ / "b").string() + "' --out '" +
                            (dir_ / "out").string() + "'");
  EXPECT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_NE(merged.out.find("echoes gate --from"), std::string::npos) << merged.out;
  const std::string xml = read(dir_ / "out/junit/unit.xml");
  EXPECT_NE(xml.find(R"(tests="2" failures="1")"), std::string::npos) << xml;
}

TEST_F(ReportCommand, BadUsageExits2) {
  EXPECT_EQ(report("").exit_code, 2);
  const CommandRun both = report("--from a --merge b --out c");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  const CommandRun no_out = report("--merge '" + dir_.string() + "'");
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_NE(no_out.err.find("--out"), std::string::npos) << no_out.err;
  const CommandRun missing = report("--merge '" + (dir_ / "nowhere").string() + "' --out '" + (dir_ / "o").string() + "'");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nowhere: no such folder"), std::string::npos) << missing.err;
}

}  // namespace

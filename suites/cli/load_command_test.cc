// `echoes load` as a child process: a short faults run against the in-process mock writes
// summary.json (valid against fixtures/contracts/load_summary.schema.json, every request with one
// outcome), latency.hgrm and latency.hlog (read back, the same count); bad flags and hostile
// profile files exit 2 naming what was wrong. No terminal here, so no progress line.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/monitor/histogram_log.h"
#include "harness/contract_schemas.h"

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // standard output and error together
};

// Runs `echoes <args>` through the shell. Bounded by timeout(1): 300 s is far beyond these
// few-second runs, generous for a loaded Debug build.
CommandResult echoes(const std::string& args) {
  CommandResult result;
  const std::string command = "timeout 300 " + std::string(ECHOES_BINARY) + " " + args + " 2>&1 </dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LoadCommandTest, AFaultsRunWritesTheSummaryTheSpectrumAndTheIntervalLog) {
  const std::string out = ::testing::TempDir() + "/echoes_load_faults";
  std::filesystem::remove_all(out);
  const CommandResult run = echoes("load --profile faults --rate 50 --duration 2s --warmup 200ms "
                                   "--connections 8 --out " + out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("profile faults: "), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find('\r'), std::string::npos);  // no progress line off a terminal

  const std::string summary_text = read(out + "/summary.json");
  echoes::harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  EXPECT_EQ(echoes::harness::ContractSchemas::joined(schemas.violations("load_summary", summary_text)), "");
  const auto summary = nlohmann::json::parse(summary_text);
  EXPECT_EQ(summary["format"], "echoes-load-summary");
  EXPECT_EQ(summary["profile"], "faults");
  EXPECT_EQ(summary["lost"], 0);
  const auto requests = summary["requests"].get<std::int64_t>();
  EXPECT_GT(requests, 80);  // 2 s at 50/s
  const auto& o = summary["outcomes"];
  EXPECT_EQ(o["answer"].get<std::int64_t>() + o["blocked"].get<std::int64_t>() + o["error"].get<std::int64_t>(),
            requests);
  EXPECT_EQ(summary["safety"]["decision_mismatches"], 0);
  EXPECT_FALSE(summary["spectrum"].empty());

  EXPECT_EQ(read(out + "/latency.hgrm").rfind("       Value     Percentile", 0), 0u);
  auto merged = echoes::monitor::merge_interval_logs({out + "/latency.hlog"});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->total_count(), requests);
}

TEST(LoadCommandTest, BadFlagsAndHostileProfileFilesExitTwoNamingTheProblem) {
  const std::string bad_profile = ::testing::TempDir() + "/echoes_bad_profile.json";
  {
    std::ofstream f(bad_profile);
    f << R"({"format":"echoes-load-profile","version":1,"name":"x","requests":[{"name":"a","weight":0,"prompt":"p","label":"benign"}]})";
  }
  const struct {
    std::string args;
    std::string says;
  } cases[] = {
      {"load --duration 10x", "--duration: duration '10x'"},
      {"load --warmup forever", "--warmup: "},
      {"load --ramp 10", "--ramp: ramp '10'"},
      {"load --rate 0 --duration 1s", "--rate: the rate must be above 0"},
      {"load --profile nope", "--profile: unknown profile 'nope'"},
      {"load --profile-file " + bad_profile, "requests[0].weight"},
      {"load --profile-file /nonexistent.json", "cannot read profile file"},
      {"load --base-url http://127.0.0.1:9/v2", "must end in /v1"},
      {"load --watch-pid -3 --duration 1s", "--watch-pid"},
      {"load --connections 0", "--connections"},
  };
  for (const auto& c : cases) {
    const CommandResult r = echoes(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args << "\n" << r.output;
  }
}

}  // namespace

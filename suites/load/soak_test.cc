// The soak (issue 11): `echoes load --profile soak` for 10 minutes at a fixed rate with faults —
// 5% transient upstream faults, then an outage that opens the circuit breaker, then none. Checks:
// no request lost, every request with one outcome, resident memory growth under 5% between the
// second and the last fifth of the run, the breaker opened during the outage and is closed again
// at the end, and no safety incident. ECHOES_SOAK_DURATION (e.g. "2m") shortens it for a try.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

TEST(SoakTest, TenMinutesWithFaultsLoseNothingGrowLittleAndTheBreakerRecovers) {
  const char* override_duration = std::getenv("ECHOES_SOAK_DURATION");
  const std::string duration = override_duration != nullptr ? override_duration : "10m";
  const std::string out = ::testing::TempDir() + "/echoes_soak";
  std::filesystem::remove_all(out);
  // Bounded by timeout(1): 20 minutes for a 10-minute run.
  const std::string command = "timeout 1200 " + std::string(ECHOES_BINARY) +
                              " load --profile soak --rate 50 --connections 16 --warmup 5s --duration " +
                              duration + " --out " + out + " 2>&1 </dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;

  std::ifstream in(out + "/summary.json");
  std::stringstream text;
  text << in.rdbuf();
  const auto s = nlohmann::json::parse(text.str());
  std::cout << "soak: requests " << s["requests"] << ", lost " << s["lost"] << ", outcomes "
            << s["outcomes"].dump() << ", errors " << s["errors"].dump() << ", rss growth % "
            << s["watched_process"]["rss_growth_percent"] << ", breaker "
            << s["breaker_transitions"].dump() << ", final " << s["breaker_final_state"]
            << ", latency " << s["latency_ms"].dump() << "\n";
  EXPECT_EQ(s["lost"], 0);
  const auto& o = s["outcomes"];
  EXPECT_EQ(o["answer"].get<std::int64_t>() + o["blocked"].get<std::int64_t>() + o["error"].get<std::int64_t>(),
            s["requests"].get<std::int64_t>());
  ASSERT_TRUE(s["watched_process"]["rss_growth_percent"].is_number());
  EXPECT_LT(s["watched_process"]["rss_growth_percent"].get<double>(), 5.0);
  bool opened = false;
  for (const auto& t : s["breaker_transitions"]) opened = opened || t["to"] == "open";
  EXPECT_TRUE(opened) << "the outage should open the breaker";
  EXPECT_EQ(s["breaker_final_state"], "closed");
  EXPECT_EQ(s["safety"]["decision_mismatches"], 0);
  EXPECT_EQ(s["safety"]["harmful_answers_unblocked"], 0);
}

}  // namespace

// echoes load's generator under load against the in-process echoes-mock: every request ends in
// exactly one outcome (none lost, none recorded twice, the outcome counts add up to the requests
// measured), and through the safety layer with upstream faults no decision differs from the
// unloaded reference and no harmful answer gets through. The runs are short (2-3 s of schedule);
// nothing here judges speed.
#include "harness/load/load_generator.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/monitor/histogram_log.h"

namespace echoes::harness {
namespace {

using namespace std::chrono_literals;

LoadOptions options_for(LoadProfile profile, double rps, Duration duration) {
  LoadOptions options;
  options.profile = std::move(profile);
  options.schedule = RateSchedule{rps, rps, 200ms, duration};
  options.connections = 8;
  options.fixtures_dir = ECHOES_FIXTURES_DIR;
  options.seed = 11;
  return options;
}

void expect_every_request_has_one_outcome(const LoadResults& r) {
  EXPECT_EQ(r.lost(), 0u);
  EXPECT_EQ(r.double_records, 0u);
  EXPECT_EQ(r.started_measured, r.requests());
  EXPECT_EQ(r.answer + r.blocked + r.error, r.requests());
  EXPECT_EQ(r.recorded_warmup, r.started_warmup);
  EXPECT_EQ(static_cast<std::uint64_t>(r.latency.total_count()), r.requests());
  std::uint64_t errors = 0;
  for (const auto& [code, n] : r.errors) errors += n;
  EXPECT_EQ(errors, r.error);
}

TEST(LoadGeneratorTest, MixedTrafficWithFaultsEndsInOneOutcomeEachAndNoSafetyIncident) {
  LoadProfile profile = *builtin_profile("mixed");
  // 30% of upstream attempts fail (503 or reset): retries recover most, and some calls end as
  // errors, so the check sees blocks, answers and errors side by side.
  profile.fault_phases = {{0, std::string(
      R"({"format":"echoes-scenario","version":1,"name":"t","rules":[{"method":"POST",)"
      R"("path":"/v1/chat/completions","faults":[{"kind":"status","status":503,"probability":0.2},)"
      R"({"kind":"reset","probability":0.1}]}]})")}};
  profile.max_retries = 1;
  auto run = run_load(options_for(profile, 60, 3s));
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  const LoadResults& r = run->results;
  expect_every_request_has_one_outcome(r);
  EXPECT_GT(r.requests(), 150u);  // 3 s at 60/s: about 180 measured
  EXPECT_GT(r.answer, 0u);
  EXPECT_GT(r.blocked, 0u);
  EXPECT_GT(r.error, 0u);
  EXPECT_EQ(r.checked, r.requests());
  EXPECT_EQ(r.decision_mismatches, 0u);
  EXPECT_GT(r.harmful_answers, 0u);
  EXPECT_EQ(r.harmful_answers_unblocked, 0u);
  EXPECT_GT(r.ttft.total_count(), 0);        // the benign stream's first tokens
  EXPECT_GT(r.stage_guard.total_count(), 0);
  ASSERT_TRUE(run->info.breaker_final_state.has_value());
  // The in-process mock runs in this process, which is watched when no pid is given.
  ASSERT_TRUE(run->info.watched_pid.has_value());
  EXPECT_FALSE(run->info.watched_samples.empty());
}

TEST(LoadGeneratorTest, TheRawEventLoopClientEndsEveryRequestInOneOutcome) {
  auto run = run_load(options_for(*builtin_profile("raw"), 200, 2s));
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  const LoadResults& r = run->results;
  expect_every_request_has_one_outcome(r);
  EXPECT_GT(r.requests(), 350u);  // 2 s at 200/s
  EXPECT_EQ(r.answer, r.requests());
  EXPECT_FALSE(run->info.breaker_final_state.has_value());
}

TEST(LoadGeneratorTest, AFailedRequestUnderTheRawClientIsAnErrorByCode) {
  LoadProfile profile = *builtin_profile("raw");
  profile.requests[0].prompt = "A question no cassette answers";
  auto run = run_load(options_for(profile, 50, 1s));
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  expect_every_request_has_one_outcome(run->results);
  EXPECT_EQ(run->results.error, run->results.requests());
  EXPECT_EQ(run->results.errors.at("not_found"), run->results.requests());  // the mock's 404
}

TEST(LoadGeneratorTest, TheOutputsHoldTheSameRequestsAsTheRun) {
  auto run = run_load(options_for(*builtin_profile("benign"), 40, 2s));
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  const std::string dir = ::testing::TempDir() + "/load_outputs";
  ASSERT_TRUE(write_load_outputs(dir, run->info, run->results).ok());
  auto merged = monitor::merge_interval_logs({dir + "/latency.hlog"});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(*merged, run->results.latency);
}

TEST(LoadGeneratorTest, BadOptionsAreRefusedNamingTheFlag) {
  LoadOptions bad = options_for(*builtin_profile("benign"), 10, 1s);
  bad.connections = 0;
  auto r = run_load(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, "--connections");
  LoadOptions url = options_for(*builtin_profile("benign"), 10, 1s);
  url.base_url = "http://127.0.0.1:1/v2";
  r = run_load(url);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, "--base-url");
  EXPECT_NE(r.error().message.find("must end in /v1"), std::string::npos);
}

}  // namespace
}  // namespace echoes::harness

// Counterfactual pairs over HTTP: run_counterfactual_eval -> client -> echoes-mock replaying the
// deterministic fake model's cassettes (fixtures/cassettes/counterfactual: it prefers the shorter
// sentence; it stands for no real model). The tally over HTTP must equal the fake model's answers
// computed directly, and the report must satisfy its schema.
#include "harness/counterfactual_eval.h"

#include <gtest/gtest.h>

#include "harness/contract_schemas.h"
#include "harness/mock_server_fixture.h"

namespace echoes::harness {
namespace {

// What the fake model's answers give, without HTTP.
eval::PreferenceTally expected_tally(const std::vector<eval::CounterfactualPair>& pairs) {
  eval::PreferenceTally tally;
  for (const eval::CounterfactualPair& p : pairs) {
    tally.add(eval::parse_preference(fake_counterfactual_answer(p.stereotyped, p.anti_stereotyped)),
              eval::parse_preference(fake_counterfactual_answer(p.anti_stereotyped, p.stereotyped)));
  }
  return tally;
}

TEST(CounterfactualEval, BothSetsOverHttpGiveTheFakeModelsTally) {
  MockServerFixture mock(MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes/counterfactual"));
  ASSERT_TRUE(mock.start());
  ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  for (const char* set : {"crows_pairs", "winobias"}) {
    Result<std::vector<eval::CounterfactualPair>> pairs = load_counterfactual_set(set);
    ASSERT_TRUE(pairs) << pairs.error().to_string();
    CounterfactualEvalOptions options;
    options.base_url = mock.base_url() + "/v1";
    options.model = "fake-shorter";
    options.set = set;
    options.config.client.max_retries = 0;
    Result<CounterfactualReport> report = run_counterfactual_eval(options);
    ASSERT_TRUE(report) << report.error().to_string();
    const eval::PreferenceTally expected = expected_tally(*pairs);
    EXPECT_EQ(report->tally.errors, 0) << set << (report->sample_errors.empty() ? "" : report->sample_errors[0]);
    EXPECT_EQ(report->tally.pairs, static_cast<std::int64_t>(pairs->size()));
    EXPECT_EQ(report->tally.stereotyped, expected.stereotyped) << set;
    EXPECT_EQ(report->tally.anti_stereotyped, expected.anti_stereotyped) << set;
    EXPECT_EQ(report->tally.inconsistent, expected.inconsistent) << set;
    EXPECT_EQ(report->requests, static_cast<std::int64_t>(2 * pairs->size()));
    ASSERT_TRUE(report->rate.value.has_value());
    EXPECT_LE(report->rate.low, *report->rate.value);
    EXPECT_GE(report->rate.high, *report->rate.value);
    EXPECT_EQ(report->passed, *report->rate.value <= options.config.safety.thresholds.bias_score);
    const std::vector<std::string> problems =
        schemas.violations("counterfactual_report", counterfactual_report_json(*report));
    EXPECT_TRUE(problems.empty()) << ContractSchemas::joined(problems);
  }
}

TEST(CounterfactualEval, AnUnknownSetIsRefused) {
  CounterfactualEvalOptions options;
  options.base_url = "http://127.0.0.1:9/v1";
  options.model = "m";
  options.set = "bold";
  Result<CounterfactualReport> report = run_counterfactual_eval(options);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().context, "set");
}

}  // namespace
}  // namespace echoes::harness

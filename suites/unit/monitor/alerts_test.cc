// Anomaly detectors and alert rules on FakeClock: synthetic series that must fire (a jump, a level
// held above a threshold for the `for` duration) and series that must not (noise, a short spike
// shorter than `for`, a slow drift), the pending -> firing -> resolved sequence, and the JSON
// Lines sink's lines.
#include "core/monitor/alerts.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "core/eval/splitmix64.h"

namespace echoes::monitor {
namespace {

using std::chrono::seconds;

// A reproducible noisy level: `level` plus uniform noise in [-spread, spread].
std::vector<double> noisy(double level, double spread, int n, std::uint64_t seed) {
  eval::SplitMix64 rng(seed);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const double unit = static_cast<double>(rng.next() >> 11) / 9007199254740992.0;  // [0, 1)
    out.push_back(level + (2 * unit - 1) * spread);
  }
  return out;
}

EwmaOptions ewma_options(double alpha, std::size_t warmup) {
  EwmaOptions o;
  o.alpha = alpha;
  o.warmup = warmup;
  return o;
}

RollingOptions rolling_options(std::size_t window, std::size_t min_samples) {
  RollingOptions o;
  o.window = window;
  o.min_samples = min_samples;
  return o;
}

AlertRule make_rule(std::string name, std::string series, Signal signal, Comparison comparison,
                    double threshold, Duration for_duration) {
  AlertRule r;
  r.name = std::move(name);
  r.series = std::move(series);
  r.signal = signal;
  r.comparison = comparison;
  r.threshold = threshold;
  r.for_duration = for_duration;
  return r;
}

class RecordingSink final : public AlertSink {
 public:
  void deliver(const AlertEvent& event) override { events.push_back(event); }
  std::vector<std::string> states() const {
    std::vector<std::string> s;
    for (const auto& e : events) s.push_back(e.rule + ":" + e.state);
    return s;
  }
  std::vector<AlertEvent> events;
};

TEST(EwmaDetectorTest, JumpScoresHighAndNoiseDoesNot) {
  EwmaDetector ewma(ewma_options(0.1, 20));
  double max_noise = 0;
  for (double x : noisy(0.05, 0.01, 300, 1)) max_noise = std::max(max_noise, std::abs(ewma.update(x)));
  EXPECT_LT(max_noise, 4.0) << "uniform noise stays within a few deviations";
  EXPECT_GT(ewma.update(0.5), 20.0) << "a tenfold jump is far outside";
}

TEST(EwmaDetectorTest, ScoresZeroDuringWarmupAndIgnoresNonFinite) {
  EwmaDetector ewma(ewma_options(0.5, 3));
  EXPECT_EQ(ewma.update(1), 0);
  EXPECT_EQ(ewma.update(1), 0);
  EXPECT_EQ(ewma.update(100), 0);  // third sample: still warming up
  EXPECT_EQ(ewma.update(std::numeric_limits<double>::quiet_NaN()), 0);
  EXPECT_EQ(ewma.samples(), 3u);
  EXPECT_NE(ewma.update(1000), 0);
}

TEST(RollingZScoreTest, MatchesTheWindowsMeanAndDeviation) {
  RollingZScore z(rolling_options(4, 4));
  for (double x : {1.0, 2.0, 3.0, 4.0}) EXPECT_EQ(z.update(x), 0);
  // Window {1,2,3,4}: mean 2.5, population sd sqrt(1.25).
  EXPECT_NEAR(z.update(6.0), (6.0 - 2.5) / std::sqrt(1.25), 1e-12);
  // Window now {2,3,4,6}: the 1 was dropped.
  EXPECT_NEAR(z.mean(), 3.75, 1e-12);
}

TEST(EwmaDetectorTest, OutliersStayOutOfTheBaseline) {
  EwmaOptions absorbing = ewma_options(0.2, 10);
  EwmaOptions excluding = absorbing;
  excluding.outlier_z = 6;
  EwmaDetector a(absorbing), e(excluding);
  for (double x : noisy(1.0, 0.1, 100, 5)) {
    a.update(x);
    e.update(x);
  }
  double a_last = 0, e_last = 0;
  for (int i = 0; i < 20; ++i) {
    a_last = a.update(5.0);
    e_last = e.update(5.0);
  }
  EXPECT_LT(a_last, 6) << "absorbed: the new level is the baseline after 20 samples";
  EXPECT_GT(e_last, 6) << "excluded: the new level still stands out";
  EXPECT_NEAR(e.mean(), 1.0, 0.1);
}

TEST(RollingZScoreTest, SlowDriftDoesNotScoreHigh) {
  RollingZScore z(rolling_options(30, 10));
  double max_score = 0;
  // Latency creeping up 0.1 ms per sample over a noise of +-1 ms.
  const auto noise = noisy(0, 1.0, 500, 7);
  for (int i = 0; i < 500; ++i) max_score = std::max(max_score, std::abs(z.update(20 + 0.1 * i + noise[i])));
  EXPECT_LT(max_score, 4.0);
}

AlertRule threshold_rule(Duration for_duration) {
  AlertRule r = make_rule("ErrorRateHigh", "error_rate", Signal::kValue, Comparison::kAbove, 0.05,
                          for_duration);
  r.summary = "upstream error rate above 5%";
  return r;
}

TEST(AlertManagerTest, ConditionHeldForTheDurationFiresThenResolves) {
  FakeClock clock;
  AlertManager alerts(clock, {threshold_rule(seconds(60))}, /*report_pending=*/true);
  RecordingSink sink;
  alerts.add_sink(sink);
  alerts.observe("error_rate", 0.01);
  EXPECT_EQ(alerts.state("ErrorRateHigh"), AlertState::kInactive);
  alerts.observe("error_rate", 0.2);
  EXPECT_EQ(alerts.state("ErrorRateHigh"), AlertState::kPending);
  clock.advance(seconds(59));
  alerts.observe("error_rate", 0.2);
  EXPECT_EQ(alerts.state("ErrorRateHigh"), AlertState::kPending) << "59 s < for 60 s";
  clock.advance(seconds(1));
  alerts.evaluate();  // no new sample: the `for` duration has elapsed
  EXPECT_EQ(alerts.state("ErrorRateHigh"), AlertState::kFiring);
  alerts.observe("error_rate", 0.01);
  EXPECT_EQ(alerts.state("ErrorRateHigh"), AlertState::kInactive);
  EXPECT_EQ(sink.states(), (std::vector<std::string>{"ErrorRateHigh:pending", "ErrorRateHigh:firing",
                                                     "ErrorRateHigh:resolved"}));
  EXPECT_EQ(sink.events[1].active_since, sink.events[0].at);
  EXPECT_DOUBLE_EQ(sink.events[1].value, 0.2);
}

TEST(AlertManagerTest, SpikeShorterThanForNeverFires) {
  FakeClock clock;
  AlertManager alerts(clock, {threshold_rule(seconds(60))});
  RecordingSink sink;
  alerts.add_sink(sink);
  for (int i = 0; i < 100; ++i) {
    // 30 s above the threshold every 100 s: pending, then back to inactive, never firing.
    alerts.observe("error_rate", i % 10 < 3 ? 0.5 : 0.0);
    clock.advance(seconds(10));
  }
  EXPECT_TRUE(sink.events.empty());
}

TEST(AlertManagerTest, ZeroForFiresOnFirstTrueEvaluation) {
  FakeClock clock;
  AlertManager alerts(clock, {threshold_rule(Duration::zero())});
  RecordingSink sink;
  alerts.add_sink(sink);
  alerts.observe("error_rate", 0.06);
  EXPECT_EQ(sink.states(), std::vector<std::string>{"ErrorRateHigh:firing"});
}

TEST(AlertManagerTest, BelowComparisonAndOtherSeriesIgnored) {
  FakeClock clock;
  const AlertRule rule =
      make_rule("ThroughputLow", "rps", Signal::kValue, Comparison::kBelow, 10, Duration::zero());
  AlertManager alerts(clock, {rule});
  RecordingSink sink;
  alerts.add_sink(sink);
  alerts.observe("error_rate", 1);  // another series
  alerts.observe("rps", 50);
  EXPECT_TRUE(sink.events.empty());
  alerts.observe("rps", 3);
  EXPECT_EQ(sink.states(), std::vector<std::string>{"ThroughputLow:firing"});
}

// A detector-driven rule: bias scores steady around 0.2 must not fire; a shift to 0.6 held for two
// minutes must (outliers kept out of the baseline, so the shift keeps scoring high).
TEST(AlertManagerTest, EwmaRuleFiresOnSustainedShiftNotOnNoise) {
  FakeClock clock;
  AlertRule rule = make_rule("BiasScoreShift", "bias_score", Signal::kEwmaZScore,
                             Comparison::kAbove, 5, seconds(60));
  rule.ewma = ewma_options(0.02, 30);
  rule.ewma.outlier_z = 5;  // the shifted samples do not become the baseline
  AlertManager alerts(clock, {rule});
  RecordingSink sink;
  alerts.add_sink(sink);
  for (double x : noisy(0.2, 0.02, 600, 3)) {
    alerts.observe("bias_score", x);
    clock.advance(seconds(5));
  }
  EXPECT_TRUE(sink.events.empty()) << "noise fired: " << sink.states()[0];
  for (double x : noisy(0.6, 0.02, 24, 4)) {  // two minutes of samples every 5 s
    alerts.observe("bias_score", x);
    clock.advance(seconds(5));
  }
  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events[0].state, "firing");
  EXPECT_GT(sink.events[0].signal, 5);
}

TEST(AlertManagerTest, RollingRuleFiresOnLatencyJump) {
  FakeClock clock;
  AlertRule rule = make_rule("LatencyJump", "latency_ms", Signal::kRollingZScore,
                             Comparison::kAbove, 6, Duration::zero());
  rule.rolling = rolling_options(60, 30);
  AlertManager alerts(clock, {rule});
  RecordingSink sink;
  alerts.add_sink(sink);
  for (double x : noisy(120, 10, 200, 9)) alerts.observe("latency_ms", x);
  EXPECT_TRUE(sink.events.empty());
  alerts.observe("latency_ms", 400);
  EXPECT_EQ(sink.states(), std::vector<std::string>{"LatencyJump:firing"});
}

TEST(JsonLinesAlertSinkTest, WritesOneParseableObjectPerLine) {
  std::ostringstream out;
  JsonLinesAlertSink sink(out);
  FakeClock clock;
  AlertManager alerts(clock, {threshold_rule(Duration::zero())});
  alerts.add_sink(sink);
  alerts.observe("error_rate", 0.5);
  alerts.observe("error_rate", 0.0);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<nlohmann::json> parsed;
  while (std::getline(lines, line)) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["format"], "echoes-alert");
  EXPECT_EQ(parsed[0]["rule"], "ErrorRateHigh");
  EXPECT_EQ(parsed[0]["state"], "firing");
  EXPECT_EQ(parsed[0]["time"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(parsed[1]["state"], "resolved");
  EXPECT_DOUBLE_EQ(parsed[0]["value"].get<double>(), 0.5);
}

TEST(JsonLinesAlertSinkTest, OpenNamesAPathItCannotWrite) {
  auto sink = JsonLinesAlertSink::open("/nonexistent-dir/alerts.jsonl");
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().message.find("/nonexistent-dir/alerts.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace echoes::monitor

// Counterfactual-pair evaluation over HTTP (core/eval/counterfactual.h): every CrowS-Pairs or
// WinoBias pair asked in both orders of an OpenAI-compatible endpoint, the stereotype preference
// rate with its 95% Wilson interval, judged against safety.thresholds.bias_score (passes when the
// rate is at most the threshold). `echoes eval counterfactual` runs it.
//
//   CounterfactualEvalOptions options;
//   options.base_url = "http://127.0.0.1:8080/v1";
//   options.model = "fake-shorter";
//   options.set = "crows_pairs";                               // or "winobias"
//   Result<CounterfactualReport> report = run_counterfactual_eval(options);
//   std::cout << counterfactual_table(*report);
//   return report->passed ? 0 : 1;
//
// A deterministic fake model (fake_counterfactual_answer: it prefers the shorter sentence) is what
// the committed cassettes fixtures/cassettes/counterfactual replay, so the suite runs offline; it
// says nothing about any real model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/config/config.h"
#include "core/eval/counterfactual.h"

namespace echoes::harness {

inline constexpr std::string_view kCounterfactualReportFormat = "echoes-counterfactual-report";
inline constexpr int kCounterfactualReportVersion = 1;

// The committed pairs of a set: "crows_pairs" (fixtures/datasets/crows_pairs) or "winobias"
// (fixtures/datasets/winobias: type 1 and 2, dev and test). Empty fixtures_dir: the source tree's.
Result<std::vector<eval::CounterfactualPair>> load_counterfactual_set(std::string_view set,
                                                                      std::filesystem::path fixtures_dir = {});

// The fake model: "1" when the first sentence is no longer than the second, else "2".
std::string fake_counterfactual_answer(std::string_view first, std::string_view second);
// A cassette (echoes-cassette 1) of the fake model answering both orders of every pair.
std::string fake_counterfactual_cassette(const std::vector<eval::CounterfactualPair>& pairs, std::string_view model);

struct CounterfactualEvalOptions {
  std::string base_url;
  std::string model;
  std::string set = "crows_pairs";
  std::filesystem::path fixtures_dir;  // empty: the source tree's fixtures
  int concurrency = 8;
  std::optional<std::int64_t> rate_limit_per_minute;  // nullopt: no pacing
  config::EchoesConfig config = config::default_config();
  Clock* clock = nullptr;
};

struct CounterfactualReport {
  std::string model;
  std::string set;
  eval::PreferenceTally tally;
  eval::ProportionEstimate rate;  // stereotype preference
  double threshold = 0;           // safety.thresholds.bias_score
  bool passed = false;            // rate defined and <= threshold
  std::int64_t requests = 0;
  double elapsed_seconds = 0;
  std::vector<std::string> sample_errors;
};

Result<CounterfactualReport> run_counterfactual_eval(const CounterfactualEvalOptions& options);
std::string counterfactual_report_json(const CounterfactualReport& report);
std::string counterfactual_table(const CounterfactualReport& report);

}  // namespace echoes::harness

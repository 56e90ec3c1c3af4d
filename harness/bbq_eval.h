// BBQ evaluation over HTTP: every BBQ example of the chosen categories sent as a multiple-choice
// prompt to an OpenAI-compatible endpoint (the real API, or echoes-mock replaying
// fixtures/cassettes/bbq), the answers parsed by the published rules and scored per category and
// context (core/eval/bbq.h). `echoes eval bbq` and the REPL call run_bbq_eval.
//
//   BbqEvalOptions options;
//   options.base_url = "http://127.0.0.1:8080/v1";
//   options.model = "uqa-arc";
//   options.categories = {"Age", "Religion"};            // empty: every category in the folder
//   options.rate_limit_per_minute = std::nullopt;        // no pacing (a local mock)
//   Result<BbqReport> report = run_bbq_eval(options);
//   if (!report) return report.error();                  // could not run (bad folder, bad flag)
//   std::cout << bbq_table(*report);
//   write(bbq_report_json(*report));                     // fixtures/contracts/bbq_report.schema.json
//
// Per-request failures never fail the run: a request that ended in a typed error is counted in
// `errors`, one the safety layer blocked in `blocked`, an answer that matched no option in
// `unparsed`; none is folded into another or guessed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/config/config.h"
#include "core/eval/bbq.h"

namespace echoes::harness {

inline constexpr std::string_view kBbqReportFormat = "echoes-bbq-report";
inline constexpr int kBbqReportVersion = 1;

// Called after each example completes (from worker threads, serialised): done of total.
using BbqProgress = std::function<void(std::size_t done, std::size_t total)>;

struct BbqEvalOptions {
  std::string base_url;  // "http://host:port/v1"; empty: the configuration's, else $OPENAI_BASE_URL
  std::string model;     // sent as the request's model
  // Categories to evaluate (file stems under dataset_dir, e.g. "Age"); empty: every *.jsonl there.
  std::vector<std::string> categories;
  // Folder of BBQ data files (<Category>.jsonl); empty: the committed copy
  // (fixtures/datasets/bbq/data in the source tree).
  std::filesystem::path dataset_dir;
  int concurrency = 8;  // requests in flight, >= 1
  // Upstream requests per minute; nullopt: no pacing. run_bbq_eval does not read the configuration
  // for this: callers pass config.rate_limits' "bias_eval" unless the user said otherwise.
  std::optional<std::int64_t> rate_limit_per_minute;
  // Send every prompt through the safety layer (input guard, output filter) built from `config`
  // and the rules and models under fixtures_dir.
  bool safety = false;
  // Folder with rules/ and models/ for the safety layer; empty: the source tree's fixtures/.
  std::filesystem::path fixtures_dir;
  config::EchoesConfig config = config::default_config();
  BbqProgress progress;  // optional
  Clock* clock = nullptr;  // nullptr: the system clock
};

// One category x context row of the report (the JSON document's "scores" items).
struct BbqScoreRow {
  std::string category;
  std::string context;        // "ambig" or "disambig"
  std::optional<double> bias_score;  // x100, unrounded; nullopt when no answer was non-unknown
  std::optional<double> accuracy;    // in [0, 1]; nullopt when no answer was scored
  std::int64_t n = 0;         // examples evaluated
  std::int64_t unparsed = 0;  // answers that matched no option
  std::int64_t errors = 0;    // requests that ended in a typed error
  std::int64_t blocked = 0;   // requests the safety layer blocked
};

struct BbqReport {
  std::string model;
  std::string base_url;
  std::vector<BbqScoreRow> scores;  // category order as evaluated, ambig before disambig
  std::int64_t requests = 0;        // requests sent
  double elapsed_seconds = 0;       // wall time of the requests
  double requests_per_second() const { return elapsed_seconds > 0 ? requests / elapsed_seconds : 0; }
  // The first few typed errors (message), for the reader of a failed run.
  std::vector<std::string> sample_errors;
};

// Loads the categories, sends every example, scores. Errors only when the run cannot start (a
// missing category file, a bad data line naming file:line, an invalid option or client setting).
Result<BbqReport> run_bbq_eval(const BbqEvalOptions& options);

// The report document (schema fixtures/contracts/bbq_report.schema.json).
std::string bbq_report_json(const BbqReport& report);
// The same as a fixed-width table, one line per row, bias scores to one decimal.
std::string bbq_table(const BbqReport& report);

}  // namespace echoes::harness

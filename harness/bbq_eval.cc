#include "harness/bbq_eval.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/openai/client.h"
#include "core/safety/inspector_adapters.h"
#include "core/safety/input_guard.h"
#include "core/safety/output_filter.h"
#include "core/safety/rate_limiter.h"
#include "core/safety/safety_layer.h"

namespace echoes::harness {
namespace {

constexpr std::string_view kWorkKind = "bias_eval";
constexpr std::size_t kMaxSampleErrors = 5;

std::filesystem::path default_fixtures() { return ECHOES_HARNESS_FIXTURES_DIR; }

// What one example came to.
struct ExampleOutcome {
  enum class Kind : std::uint8_t { kAnswer, kError, kBlocked } kind = Kind::kError;
  std::optional<int> option;  // kAnswer: the parsed option, nullopt when unparsed
};

// The text of the first choice, empty when there is none.
std::string answer_text(const openai::ChatCompletionResponse& response) {
  if (response.choices.empty()) return {};
  return response.choices.front().message.text();
}

}  // namespace

Result<BbqReport> run_bbq_eval(const BbqEvalOptions& options) {
  if (options.model.empty()) return Error(ErrorCode::kInvalidInput, "a model is required", "model");
  if (options.concurrency < 1 || options.concurrency > 1024) {
    return Error(ErrorCode::kInvalidInput, "must be 1..1024", "concurrency");
  }
  if (options.rate_limit_per_minute && *options.rate_limit_per_minute < 1) {
    return Error(ErrorCode::kInvalidInput, "must be at least 1 request per minute", "rate_limit");
  }
  const std::filesystem::path fixtures = options.fixtures_dir.empty() ? default_fixtures() : options.fixtures_dir;
  const std::filesystem::path data_dir =
      options.dataset_dir.empty() ? fixtures / "datasets" / "bbq" / "data" : options.dataset_dir;

  std::vector<std::string> categories = options.categories;
  if (categories.empty()) {
    Result<std::vector<std::string>> found = eval::bbq_categories(data_dir);
    if (!found) return found.error();
    categories = std::move(*found);
  }
  std::vector<eval::BbqExample> examples;
  for (const std::string& category : categories) {
    const std::filesystem::path file = data_dir / (category + ".jsonl");
    if (!std::filesystem::is_regular_file(file)) {
      return Error(ErrorCode::kNotFound, "no data file for category '" + category + "'", file.string());
    }
    Result<std::vector<eval::BbqExample>> loaded = eval::load_bbq_jsonl(file);
    if (!loaded) return loaded.error();
    examples.insert(examples.end(), std::make_move_iterator(loaded->begin()),
                    std::make_move_iterator(loaded->end()));
  }

  Clock& clock = options.clock ? *options.clock : SystemClock::instance();
  openai::ClientConfig client_config = options.config.client.to_client_config();
  if (!options.base_url.empty()) client_config.base_url = options.base_url;
  client_config.max_idle_connections = static_cast<std::size_t>(options.concurrency);
  Result<std::unique_ptr<openai::Client>> client = openai::Client::create(client_config, clock);
  if (!client) return client.error();

  std::unique_ptr<RateLimiter> limiter;
  if (options.rate_limit_per_minute) {
    RateLimiterConfig limits;
    limits.limits.emplace(std::string(kWorkKind), RateLimit::per_minute(*options.rate_limit_per_minute));
    Result<std::unique_ptr<RateLimiter>> created = RateLimiter::create(limits, clock);
    if (!created) return created.error();
    limiter = std::move(*created);
  }

  std::optional<safety::InputGuard> guard;
  std::optional<safety::OutputFilter> filter;
  std::unique_ptr<safety::InputGuardInspector> guard_inspector;
  std::unique_ptr<safety::OutputFilterInspector> filter_inspector;
  std::unique_ptr<safety::SafetyLayer> layer;
  if (options.safety) {
    auto g = safety::InputGuard::load(options.config.safety, fixtures / "rules", fixtures / "models");
    if (!g) return Error(g.error().code, "input guard: " + g.error().message, g.error().context);
    auto f = safety::OutputFilter::create(options.config.safety, fixtures / "rules", fixtures / "models");
    if (!f) return Error(f.error().code, "output filter: " + f.error().message, f.error().context);
    guard.emplace(std::move(*g));
    filter.emplace(std::move(*f));
    guard_inspector = std::make_unique<safety::InputGuardInspector>(*guard);
    filter_inspector = std::make_unique<safety::OutputFilterInspector>(*filter);
    safety::SafetyLayerOptions layer_options;
    layer_options.route = "eval";
    layer_options.work_kind = std::string(kWorkKind);
    // The pacing is done before each call (below), so the layer gets no limiter gate.
    layer = std::make_unique<safety::SafetyLayer>(**client, *guard_inspector, *filter_inspector, clock,
                                                  layer_options);
  }

  BbqReport report;
  report.model = options.model;
  report.base_url = client_config.base_url;
  std::vector<ExampleOutcome> outcomes(examples.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> sent{0};
  std::mutex progress_mutex;
  std::size_t done = 0;

  auto run_one = [&](std::size_t i) {
    const eval::BbqExample& example = examples[i];
    ExampleOutcome& outcome = outcomes[i];
    if (limiter) {
      // Waits for the permit (through the clock); the timeout only guards against a stuck clock.
      if (Status permit = limiter->acquire(kWorkKind, std::chrono::hours(24)); !permit) {
        outcome.kind = ExampleOutcome::Kind::kError;
        return permit.error().to_string();
      }
    }
    const openai::ChatCompletionRequest request = eval::bbq_request(example, options.model);
    sent.fetch_add(1, std::memory_order_relaxed);
    if (layer) {
      safety::SafetyOutcome result = layer->safe_evaluate(request);
      if (result.kind == safety::OutcomeKind::kBlock) {
        outcome.kind = ExampleOutcome::Kind::kBlocked;
        return std::string();
      }
      if (result.kind == safety::OutcomeKind::kError || !result.response) {
        outcome.kind = ExampleOutcome::Kind::kError;
        return result.error ? result.error->to_string() : std::string("no answer");
      }
      outcome.kind = ExampleOutcome::Kind::kAnswer;
      outcome.option = eval::parse_bbq_answer(answer_text(*result.response), example);
      return std::string();
    }
    Result<openai::ChatCompletionResponse> answer = (*client)->chat(request);
    if (!answer) {
      outcome.kind = ExampleOutcome::Kind::kError;
      return answer.error().to_string();
    }
    outcome.kind = ExampleOutcome::Kind::kAnswer;
    outcome.option = eval::parse_bbq_answer(answer_text(*answer), example);
    return std::string();
  };

  const auto started = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (std::size_t i = next.fetch_add(1); i < examples.size(); i = next.fetch_add(1)) {
      std::string error = run_one(i);
      std::lock_guard lock(progress_mutex);
      ++done;
      if (!error.empty() && report.sample_errors.size() < kMaxSampleErrors) {
        report.sample_errors.push_back(std::move(error));
      }
      if (options.progress) options.progress(done, examples.size());
    }
  };
  const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(options.concurrency),
                                                    std::max<std::size_t>(examples.size(), 1));
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  report.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.requests = sent.load();

  // Tallied in example order once every answer is in: the scores do not depend on which thread
  // finished first.
  eval::BbqTally tally;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    switch (outcomes[i].kind) {
      case ExampleOutcome::Kind::kAnswer: tally.add(examples[i], outcomes[i].option); break;
      case ExampleOutcome::Kind::kError: tally.add_error(examples[i]); break;
      case ExampleOutcome::Kind::kBlocked: tally.add_blocked(examples[i]); break;
    }
  }
  for (const eval::BbqScore& s : tally.scores()) {
    BbqScoreRow row;
    row.category = s.category;
    row.context = std::string(eval::to_string(s.context));
    row.bias_score = s.bias_score;
    row.accuracy = s.accuracy;
    row.n = s.counts.n;
    row.unparsed = s.counts.unparsed;
    row.errors = s.counts.errors;
    row.blocked = s.counts.blocked;
    report.scores.push_back(std::move(row));
  }
  return report;
}

std::string bbq_report_json(const BbqReport& report) {
  nlohmann::json scores = nlohmann::json::array();
  for (const BbqScoreRow& row : report.scores) {
    scores.push_back({{"category", row.category},
                      {"context", row.context},
                      {"bias_score", row.bias_score ? nlohmann::json(*row.bias_score) : nlohmann::json(nullptr)},
                      {"accuracy", row.accuracy ? nlohmann::json(*row.accuracy) : nlohmann::json(nullptr)},
                      {"n", row.n},
                      {"unparsed", row.unparsed},
                      {"errors", row.errors},
                      {"blocked", row.blocked}});
  }
  nlohmann::json doc = {{"format", kBbqReportFormat},
                        {"version", kBbqReportVersion},
                        {"model", report.model},
                        {"scores", scores}};
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string bbq_table(const BbqReport& report) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %-9s %10s %9s %6s %9s %7s %8s\n", "category", "context", "bias_score",
                "accuracy", "n", "unparsed", "errors", "blocked");
  out << line;
  for (const BbqScoreRow& row : report.scores) {
    const std::string bias = row.bias_score ? (std::snprintf(line, sizeof line, "%.1f", *row.bias_score), std::string(line))
                                            : std::string("-");
    const std::string accuracy =
        row.accuracy ? (std::snprintf(line, sizeof line, "%.3f", *row.accuracy), std::string(line)) : std::string("-");
    std::snprintf(line, sizeof line, "%-28s %-9s %10s %9s %6lld %9lld %7lld %8lld\n", row.category.c_str(),
                  row.context.c_str(), bias.c_str(), accuracy.c_str(), static_cast<long long>(row.n),
                  static_cast<long long>(row.unparsed), static_cast<long long>(row.errors),
                  static_cast<long long>(row.blocked));
    out << line;
  }
  return out.str();
}

}  // namespace echoes::harness

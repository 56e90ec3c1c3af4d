#include "harness/counterfactual_eval.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/eval/labelled_data.h"
#include "core/openai/client.h"
#include "core/openai/json.h"
#include "core/safety/rate_limiter.h"

namespace echoes::harness {
namespace {

constexpr std::string_view kWorkKind = "bias_eval";
constexpr std::size_t kMaxSampleErrors = 5;

std::filesystem::path fixtures_or_default(const std::filesystem::path& dir) {
  return dir.empty() ? std::filesystem::path(ECHOES_HARNESS_FIXTURES_DIR) : dir;
}

std::string answer_text(const openai::ChatCompletionResponse& response) {
  return response.choices.empty() ? std::string() : response.choices.front().message.text();
}

}  // namespace

Result<std::vector<eval::CounterfactualPair>> load_counterfactual_set(std::string_view set,
                                                                      std::filesystem::path fixtures_dir) {
  const std::filesystem::path datasets = fixtures_or_default(fixtures_dir) / "datasets";
  if (set == "crows_pairs") {
    const std::filesystem::path file = datasets / "crows_pairs" / "crows_pairs_anonymized.csv";
    Result<std::string> bytes = eval::read_file_bytes(file);
    if (!bytes) return bytes.error();
    return eval::parse_crows_pairs_csv(*bytes, file.string());
  }
  if (set == "winobias") {
    std::vector<eval::CounterfactualPair> pairs;
    for (const char* name : {"type1.txt.dev", "type1.txt.test", "type2.txt.dev", "type2.txt.test"}) {
      const std::filesystem::path pro = datasets / "winobias" / (std::string("pro_stereotyped_") + name);
      const std::filesystem::path anti = datasets / "winobias" / (std::string("anti_stereotyped_") + name);
      Result<std::string> pro_bytes = eval::read_file_bytes(pro);
      if (!pro_bytes) return pro_bytes.error();
      Result<std::string> anti_bytes = eval::read_file_bytes(anti);
      if (!anti_bytes) return anti_bytes.error();
      Result<std::vector<eval::CounterfactualPair>> some =
          eval::parse_winobias_pairs(*pro_bytes, pro.filename().string(), *anti_bytes, anti.filename().string());
      if (!some) return some.error();
      pairs.insert(pairs.end(), some->begin(), some->end());
    }
    return pairs;
  }
  return Error(ErrorCode::kInvalidInput, "unknown set '" + std::string(set.substr(0, 64)) + "' (crows_pairs, winobias)",
               "set");
}

std::string fake_counterfactual_answer(std::string_view first, std::string_view second) {
  return first.size() <= second.size() ? "1" : "2";
}

std::string fake_counterfactual_cassette(const std::vector<eval::CounterfactualPair>& pairs, std::string_view model) {
  std::string out = "{\"format\":\"echoes-cassette\",\"version\":1,\"interactions\":[\n";
  bool first_line = true;
  std::set<std::string> seen;
  for (const eval::CounterfactualPair& pair : pairs) {
    for (eval::PairOrder order : {eval::PairOrder::kStereotypedFirst, eval::PairOrder::kAntiStereotypedFirst}) {
      const openai::ChatCompletionRequest request = eval::counterfactual_request(pair, order, std::string(model));
      if (!seen.insert(openai::encode(request)).second) continue;  // a repeated pair is recorded once
      const bool stereotyped_first = order == eval::PairOrder::kStereotypedFirst;
      const std::string& a = stereotyped_first ? pair.stereotyped : pair.anti_stereotyped;
      const std::string& b = stereotyped_first ? pair.anti_stereotyped : pair.stereotyped;
      openai::ChatCompletionResponse response;
      response.id = "chatcmpl-" + pair.id + (stereotyped_first ? "-s" : "-a");
      response.model = std::string(model);
      openai::ChatCompletionChoice choice;
      choice.message = openai::ChatMessage::assistant(fake_counterfactual_answer(a, b));
      choice.finish_reason = openai::FinishReason::kStop;
      response.choices.push_back(std::move(choice));
      const nlohmann::json interaction = {
          {"request", {{"method", "POST"}, {"path", "/v1/chat/completions"}, {"body", openai::to_json(request)}}},
          {"response",
           {{"status", 200}, {"headers", {{"content-type", "application/json"}}}, {"body", openai::encode(response)}}}};
      if (!first_line) out += ",\n";
      out += openai::dump_json(interaction);
      first_line = false;
    }
  }
  out += "\n]}\n";
  return out;
}

Result<CounterfactualReport> run_counterfactual_eval(const CounterfactualEvalOptions& options) {
  if (options.model.empty()) return Error(ErrorCode::kInvalidInput, "a model is required", "model");
  if (options.concurrency < 1 || options.concurrency > 1024) {
    return Error(ErrorCode::kInvalidInput, "must be 1..1024", "concurrency");
  }
  Result<std::vector<eval::CounterfactualPair>> pairs = load_counterfactual_set(options.set, options.fixtures_dir);
  if (!pairs) return pairs.error();

  Clock& clock = options.clock ? *options.clock : SystemClock::instance();
  openai::ClientConfig client_config = options.config.client.to_client_config();
  if (!options.base_url.empty()) client_config.base_url = options.base_url;
  client_config.max_idle_connections = static_cast<std::size_t>(options.concurrency);
  Result<std::unique_ptr<openai::Client>> client = openai::Client::create(client_config, clock);
  if (!client) return client.error();
  std::unique_ptr<RateLimiter> limiter;
  if (options.rate_limit_per_minute) {
    if (*options.rate_limit_per_minute < 1) return Error(ErrorCode::kInvalidInput, "must be >= 1", "rate_limit");
    RateLimiterConfig limits;
    limits.limits.emplace(std::string(kWorkKind), RateLimit::per_minute(*options.rate_limit_per_minute));
    Result<std::unique_ptr<RateLimiter>> created = RateLimiter::create(limits, clock);
    if (!created) return created.error();
    limiter = std::move(*created);
  }

  CounterfactualReport report;
  report.model = options.model;
  report.set = options.set;
  // Per pair and order: the position chosen, nullopt unparsed; `failed` marks a request error.
  struct Answer {
    std::optional<int> position;
    bool failed = false;
  };
  std::vector<std::array<Answer, 2>> answers(pairs->size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> sent{0};
  std::mutex errors_mutex;
  const auto started = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (std::size_t job = next.fetch_add(1); job < pairs->size() * 2; job = next.fetch_add(1)) {
      const std::size_t i = job / 2;
      const auto order = job % 2 == 0 ? eval::PairOrder::kStereotypedFirst : eval::PairOrder::kAntiStereotypedFirst;
      Answer& answer = answers[i][job % 2];
      std::string error;
      if (limiter) {
        if (Status permit = limiter->acquire(kWorkKind, std::chrono::hours(24)); !permit) error = permit.error().to_string();
      }
      if (error.empty()) {
        sent.fetch_add(1, std::memory_order_relaxed);
        Result<openai::ChatCompletionResponse> response =
            (*client)->chat(eval::counterfactual_request((*pairs)[i], order, options.model));
        if (response) {
          answer.position = eval::parse_preference(answer_text(*response));
        } else {
          error = response.error().to_string();
        }
      }
      if (!error.empty()) {
        answer.failed = true;
        std::lock_guard lock(errors_mutex);
        if (report.sample_errors.size() < kMaxSampleErrors) report.sample_errors.push_back(std::move(error));
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < options.concurrency; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  report.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.requests = sent.load();
  for (const auto& pair : answers) {
    if (pair[0].failed || pair[1].failed) {
      report.tally.add_error();
    } else {
      report.tally.add(pair[0].position, pair[1].position);
    }
  }
  report.rate = report.tally.stereotype_preference();
  report.threshold = options.config.safety.thresholds.bias_score;
  report.passed = report.rate.value && *report.rate.value <= report.threshold;
  return report;
}

std::string counterfactual_report_json(const CounterfactualReport& report) {
  const eval::PreferenceTally& t = report.tally;
  nlohmann::json doc = {
      {"format", kCounterfactualReportFormat},
      {"version", kCounterfactualReportVersion},
      {"model", report.model},
      {"set", report.set},
      {"pairs", t.pairs},
      {"stereotyped", t.stereotyped},
      {"anti_stereotyped", t.anti_stereotyped},
      {"inconsistent", t.inconsistent},
      {"unparsed", t.unparsed},
      {"errors", t.errors},
      {"stereotype_preference",
       {{"value", report.rate.value ? nlohmann::json(*report.rate.value) : nlohmann::json(nullptr)},
        {"low", report.rate.low},
        {"high", report.rate.high},
        {"confidence", 0.95},
        {"method", "wilson"}}},
      {"threshold", report.threshold},
      {"passed", report.passed}};
  return doc.dump(2) + "\n";
}

std::string counterfactual_table(const CounterfactualReport& report) {
  const eval::PreferenceTally& t = report.tally;
  char line[512];
  std::snprintf(line, sizeof line,
                "set %s, model %s: %lld pairs, %lld stereotyped, %lld anti-stereotyped, %lld inconsistent "
                "(position), %lld unparsed, %lld errors\n",
                report.set.c_str(), report.model.c_str(), static_cast<long long>(t.pairs),
                static_cast<long long>(t.stereotyped), static_cast<long long>(t.anti_stereotyped),
                static_cast<long long>(t.inconsistent), static_cast<long long>(t.unparsed),
                static_cast<long long>(t.errors));
  std::string out = line;
  if (report.rate.value) {
    std::snprintf(line, sizeof line, "stereotype preference %.3f [%.3f, %.3f] (95%% Wilson), threshold %.3f: %s\n",
                  *report.rate.value, report.rate.low, report.rate.high, report.threshold,
                  report.passed ? "pass" : "FAIL");
  } else {
    std::snprintf(line, sizeof line, "stereotype preference undefined (no decided pair), threshold %.3f: FAIL\n",
                  report.threshold);
  }
  return out + line;
}

}  // namespace echoes::harness

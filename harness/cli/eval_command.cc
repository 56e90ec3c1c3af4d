// echoes eval safety [--detectors LIST] [--split test|validation] [--out FILE] [--config FILE]
//                    [--resamples N] [--seed N] [--fixtures DIR]
// echoes eval synthetic [--out DIR]
// echoes eval bbq --base-url URL --model NAME [--categories LIST] [--concurrency N]
//                 [--rate-limit N|off] [--safety] [--out FILE] [--config FILE] [--data DIR]
//
// `eval safety` measures every detector of the registry on issue 10's labelled data
// (harness/efficacy_eval.h): precision, recall, F1 and false-positive rate with confusion matrices
// and percentile-bootstrap 95% intervals, per source, group and overall, judged against the
// issue's targets. It prints a table and, with --out, writes the JSON report (schema
// fixtures/contracts/efficacy_report.schema.json). Exit 0 when every target is met, 1 when one is
// missed (or a detector is not in this build), 2 when it could not run.
//
// `eval bbq` sends every BBQ example of the categories to the endpoint (harness/bbq_eval.h) and
// prints the bias scores per category and context as a table, then requests/s; with --out it writes
// the JSON report (schema fixtures/contracts/bbq_report.schema.json). A progress bar goes to a
// terminal's standard error. Pacing: the configuration's rate_limits.bias_eval unless --rate-limit
// says otherwise. Exit 0 when every request was answered, 1 when some ended in an error (they are
// counted in `errors`, never scored), 2 when it could not run.
//
// `eval synthetic` writes the synthetic secrets/PII set (core/eval/synthetic_secrets_pii.h) into
// DIR (default fixtures/datasets/synthetic_secrets_pii).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <unistd.h>

#include "core/eval/synthetic_secrets_pii.h"
#include "harness/bbq_eval.h"
#include "harness/cli/commands.h"
#include "harness/detector_registry.h"
#include "harness/efficacy_eval.h"

namespace echoes::cli {
namespace {

struct EvalSafetyFlags {
  std::string detectors;  // comma-separated; empty: every product detector
  std::string split = "test";
  std::string out;
  int resamples = 1000;
  std::uint64_t seed = 20250101;
  std::string fixtures = ECHOES_DEFAULT_FIXTURES_DIR;
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
};

// The commit measured: $ECHOES_COMMIT, else `git rev-parse HEAD` in the source tree, else empty.
std::string current_commit(const std::filesystem::path& fixtures) {
  if (const char* env = std::getenv("ECHOES_COMMIT"); env && *env) return env;
  const std::string command = "git -C '" + fixtures.parent_path().string() + "' rev-parse HEAD 2>/dev/null";
  std::string commit;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[128];
    while (std::fgets(buffer, sizeof buffer, pipe)) commit += buffer;
    ::pclose(pipe);
  }
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r')) commit.pop_back();
  return commit.size() == 40 ? commit : std::string();
}

Status write_file(const std::filesystem::path& path, std::string_view bytes) {
  // Write beside the target, then rename: a failed run never leaves half a file.
  const std::filesystem::path partial = path.string() + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << bytes;
    if (!file.flush()) return Error(ErrorCode::kInvalidInput, "cannot write file", partial.string());
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot write file: " + ec.message(), path.string());
  return {};
}

int eval_safety(const EvalSafetyFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);
  const std::filesystem::path fixtures(flags.fixtures);
  const harness::DetectorContext context{*config, fixtures / "rules", fixtures / "models"};

  std::vector<harness::DetectorPlan> plans = harness::issue10_efficacy_plan();
  if (!flags.detectors.empty()) {
    std::vector<harness::DetectorPlan> chosen;
    std::stringstream list(flags.detectors);
    for (std::string name; std::getline(list, name, ',');) {
      auto plan = std::find_if(plans.begin(), plans.end(), [&](const auto& p) { return p.detector == name; });
      if (plan == plans.end()) {
        return cannot_run("--detectors: unknown detector '" + name.substr(0, 64) +
                          "' (injection, harmful-request, harmful, toxicity, refusal, secrets, pii)");
      }
      chosen.push_back(*plan);
    }
    plans = std::move(chosen);
  }

  harness::EfficacyOptions options;
  options.datasets_dir = fixtures / "datasets";
  options.models_dir = fixtures / "models";
  options.rules_dir = fixtures / "rules";
  options.part = flags.split == "validation" ? eval::DataPart::kValidation : eval::DataPart::kTest;
  options.bootstrap.seed = flags.seed;
  options.bootstrap.resamples = flags.resamples;
  options.commit = current_commit(fixtures);

  Result<harness::EfficacyReport> report =
      harness::run_efficacy(plans, harness::DetectorRegistry::builtin(), context, options);
  if (!report) return cannot_run("eval safety: " + report.error().to_string());
  std::cout << harness::efficacy_table(*report);
  if (!flags.out.empty()) {
    if (Status written = write_file(flags.out, harness::efficacy_json(*report)); !written) {
      return cannot_run(written.error().to_string());
    }
    std::cout << "report written to " << flags.out << "\n";
  }
  return harness::efficacy_exit_code(*report);
}

struct EvalBbqFlags {
  std::string base_url;
  std::string model;
  std::string categories;  // comma-separated; empty: every category of the data folder
  int concurrency = 8;
  std::string rate_limit;  // "N" (per minute) or "off"; empty: the configuration's bias_eval
  bool safety = false;
  std::string out;
  std::string data;  // empty: fixtures/datasets/bbq/data
  std::string fixtures = ECHOES_DEFAULT_FIXTURES_DIR;
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
};

// A one-line progress bar on a terminal: redrawn in place at most every 1/200 of the run.
harness::BbqProgress terminal_progress() {
  if (!::isatty(STDERR_FILENO)) return {};
  return [](std::size_t done, std::size_t total) {
    const std::size_t step = std::max<std::size_t>(total / 200, 1);
    if (done % step != 0 && done != total) return;
    constexpr int kWidth = 40;
    const int filled = total ? static_cast<int>(kWidth * done / total) : kWidth;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(kWidth - filled), ' ').c_str(), done, total);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

int eval_bbq(const EvalBbqFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);
  harness::BbqEvalOptions options;
  options.base_url = flags.base_url;
  options.model = flags.model;
  std::stringstream list(flags.categories);
  for (std::string name; std::getline(list, name, ',');) {
    if (!name.empty()) options.categories.push_back(name);
  }
  options.concurrency = flags.concurrency;
  if (flags.rate_limit.empty()) {
    if (auto limit = config->rate_limits.limits.find("bias_eval"); limit != config->rate_limits.limits.end()) {
      // The configuration's limit as requests per minute.
      const double per_minute = static_cast<double>(limit->second.permits) * 60.0 /
                                std::chrono::duration<double>(limit->second.period).count();
      options.rate_limit_per_minute = std::max<std::int64_t>(1, static_cast<std::int64_t>(per_minute));
    }
  } else if (flags.rate_limit != "off") {
    std::int64_t per_minute = 0;
    const auto [end, ec] = std::from_chars(flags.rate_limit.data(), flags.rate_limit.data() + flags.rate_limit.size(), per_minute);
    if (ec != std::errc() || end != flags.rate_limit.data() + flags.rate_limit.size() || per_minute < 1) {
      return cannot_run("--rate-limit: expected a number of requests per minute (>= 1) or 'off', got '" +
                        flags.rate_limit.substr(0, 32) + "'");
    }
    options.rate_limit_per_minute = per_minute;
  }
  options.safety = flags.safety;
  options.fixtures_dir = flags.fixtures;
  options.dataset_dir = flags.data;
  options.config = *config;
  options.progress = terminal_progress();
  Result<harness::BbqReport> report = harness::run_bbq_eval(options);
  if (!report) return cannot_run("eval bbq: " + report.error().to_string());
  std::cout << harness::bbq_table(*report);
  std::int64_t errors = 0;
  for (const harness::BbqScoreRow& row : report->scores) errors += row.errors;
  char rate[160];
  std::snprintf(rate, sizeof rate, "%lld requests in %.2f s: %.0f requests/s (concurrency %d)\n",
                static_cast<long long>(report->requests), report->elapsed_seconds, report->requests_per_second(),
                flags.concurrency);
  std::cout << rate;
  for (const std::string& e : report->sample_errors) std::cerr << "echoes: request failed: " << e << "\n";
  if (!flags.out.empty()) {
    if (Status written = write_file(flags.out, harness::bbq_report_json(*report)); !written) {
      return cannot_run(written.error().to_string());
    }
    std::cout << "report written to " << flags.out << "\n";
  }
  return errors == 0 ? kExitSuccess : kExitFailure;
}

int eval_synthetic(const std::string& out_dir) {
  const std::vector<eval::SyntheticRow> rows = eval::generate_synthetic_secrets_pii(eval::kSyntheticSeed);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return cannot_run(out_dir + ": cannot create: " + ec.message());
  for (eval::SyntheticTarget target : {eval::SyntheticTarget::kSecrets, eval::SyntheticTarget::kPii}) {
    const std::filesystem::path path = std::filesystem::path(out_dir) / eval::file_name(target);
    if (Status written = write_file(path, eval::synthetic_jsonl(rows, target)); !written) {
      return cannot_run(written.error().to_string());
    }
    std::cout << path.string() << ": " << rows.size() << " rows (synthetic, seed " << eval::kSyntheticSeed << ")\n";
  }
  return kExitSuccess;
}

}  // namespace

CommandRun add_eval_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("eval", "Measure the detectors on labelled data");
  command->require_subcommand(1);

  auto safety = std::make_shared<EvalSafetyFlags>();
  CLI::App* safety_command = command->add_subcommand(
      "safety", "Precision, recall, F1 and false-positive rate of each detector, with bootstrap "
                "intervals, judged against issue 10's targets");
  safety_command->add_option("--detectors", safety->detectors,
                             "Comma-separated detectors to evaluate (default: all of issue 10's)");
  safety_command->add_option("--split", safety->split, "Part of the model-backed detectors' data")
      ->check(CLI::IsMember({"test", "validation"}))
      ->capture_default_str();
  safety_command->add_option("--out", safety->out, "Write the JSON report here");
  safety_command->add_option("--resamples", safety->resamples, "Bootstrap resamples")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  safety_command->add_option("--seed", safety->seed, "Bootstrap seed")->capture_default_str();
  safety_command->add_option("--fixtures", safety->fixtures, "Folder with datasets/, models/ and rules/")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  add_config_flag(*safety_command, safety->config);

  auto synthetic_out = std::make_shared<std::string>(ECHOES_DEFAULT_FIXTURES_DIR "/datasets/synthetic_secrets_pii");
  CLI::App* synthetic_command =
      command->add_subcommand("synthetic", "Write the synthetic secrets/PII set (fixed seed) as JSON Lines");
  synthetic_command->add_option("--out", *synthetic_out, "Folder to write secrets.jsonl and pii.jsonl into")
      ->capture_default_str();

  auto bbq = std::make_shared<EvalBbqFlags>();
  CLI::App* bbq_command = command->add_subcommand(
      "bbq", "BBQ bias scores (Parrish et al., 2022) of a model behind an OpenAI-compatible endpoint, "
             "per category and context");
  bbq_command->add_option("--base-url", bbq->base_url,
                          "Endpoint, e.g. http://127.0.0.1:8080/v1 (default: the configuration's, else $OPENAI_BASE_URL)");
  bbq_command->add_option("--model", bbq->model, "Model name sent with each request")->required();
  bbq_command->add_option("--categories", bbq->categories,
                          "Comma-separated categories (default: every <Category>.jsonl of the data folder)");
  bbq_command->add_option("--concurrency", bbq->concurrency, "Requests in flight")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  bbq_command->add_option("--rate-limit", bbq->rate_limit,
                          "Upstream requests per minute, or 'off' (default: the configuration's rate_limits.bias_eval)");
  bbq_command->add_flag("--safety", bbq->safety, "Send each prompt through the safety layer (blocked ones are counted)");
  bbq_command->add_option("--out", bbq->out, "Write the JSON report here");
  bbq_command->add_option("--data", bbq->data, "Folder of BBQ data files (default: fixtures/datasets/bbq/data)")
      ->check(CLI::ExistingDirectory);
  bbq_command->add_option("--fixtures", bbq->fixtures, "Folder with rules/ and models/ for --safety")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  add_config_flag(*bbq_command, bbq->config);

  return [command, safety_command, safety, synthetic_out, bbq_command, bbq] {
    if (command->got_subcommand(safety_command)) return eval_safety(*safety);
    if (command->got_subcommand(bbq_command)) return eval_bbq(*bbq);
    return eval_synthetic(*synthetic_out);
  };
}

}  // namespace echoes::cli

// echoes batch run IN.jsonl --out OUT.jsonl --base-url URL [--model NAME] [--resume]
//                  [--concurrency N] [--rate-limit N|off] [--safety] [--on-bad-line skip|fail]
//                  [--shard I/N] [--config FILE] [--fixtures DIR] [--max-line-bytes N]
// echoes batch merge OUT... [--out FILE]
//
// `batch run` sends every line of a JSON Lines file (a chat request body with an optional "id", or
// an OpenAI Batch API line) to an OpenAI-compatible endpoint and writes one output line per input
// line, in input order (harness/batch/batch_runner.h). Progress lives in SQLite beside the output
// (OUT.jsonl.progress.sqlite) so that --resume finishes a run killed at any moment. Exit 0 when
// every line has an outcome and none is "error", 1 when some line ended in "error", 2 when it could
// not run or --on-bad-line fail stopped it (progress kept).
//
// `batch merge` joins the outputs of --shard runs in input order (stdout, or --out).
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "core/openai/client.h"
#include "core/safety/inspector_adapters.h"
#include "core/safety/safety_layer.h"
#include "harness/batch/batch_progress.h"
#include "harness/batch/batch_runner.h"
#include "harness/batch/batch_senders.h"
#include "harness/cli/commands.h"

namespace echoes::cli {
namespace {

using namespace echoes::harness::batch;

struct BatchRunFlags {
  std::string input;
  std::string out;
  std::string base_url;
  std::string model;
  bool resume = false;
  int concurrency = 4;
  std::string rate_limit;  // "" (the configuration's batch_proc), "off", or requests per minute
  bool safety = false;
  std::string on_bad_line = "skip";
  std::string shard = "0/1";
  std::size_t max_line_bytes = BatchLineLimits{}.max_line_bytes;
  std::string fixtures = ECHOES_DEFAULT_FIXTURES_DIR;
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
};

// Redraws a bar on a terminal (every 200 ms) or prints a plain line (every 10 s) on standard
// error until stopped. Display only: the run's logic never waits on it.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const BatchCounters& counters)
      : counters_(counters), terminal_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {
    thread_ = std::thread([this] { loop(); });
  }
  ~ProgressDisplay() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (terminal_) std::cerr << "\r" << text(ProgressStyle::kBar) << "\n" << std::flush;
  }
  double elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::string text(ProgressStyle style) const {
    return progress_text(counters_, std::chrono::steady_clock::now() - start_, style);
  }
  void loop() {
    const auto period = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [&] { return stopped_; })) {
      if (terminal_) {
        std::cerr << "\r" << text(ProgressStyle::kBar) << "\x1b[K" << std::flush;
      } else {
        std::cerr << text(ProgressStyle::kPlain) << "\n" << std::flush;
      }
    }
  }

  const BatchCounters& counters_;
  const bool terminal_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::thread thread_;
};

// The pacing of this run: --rate-limit N (per minute) or off, else the configuration's batch_proc.
Result<std::optional<RateLimit>> pacing(const BatchRunFlags& flags, const config::EchoesConfig& config) {
  if (flags.rate_limit == "off") return std::optional<RateLimit>();
  if (!flags.rate_limit.empty()) {
    std::int64_t per_minute = 0;
    for (char c : flags.rate_limit) {
      if (c < '0' || c > '9' || per_minute > 100000000) {
        return Error(ErrorCode::kInvalidInput, "expected a number of requests per minute or 'off', got '" +
                                                   flags.rate_limit.substr(0, 32) + "'", "--rate-limit");
      }
      per_minute = per_minute * 10 + (c - '0');
    }
    if (per_minute < 1) return Error(ErrorCode::kInvalidInput, "must be at least 1 (or 'off')", "--rate-limit");
    return std::optional<RateLimit>(RateLimit::per_minute(per_minute));
  }
  const auto& limits = config.rate_limits.limits;
  if (auto it = limits.find("batch_proc"); it != limits.end()) return std::optional<RateLimit>(it->second);
  return std::optional<RateLimit>(RateLimiterConfig::defaults().limits.at("batch_proc"));
}

int batch_run(const BatchRunFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);
  Result<Shard> shard = parse_shard(flags.shard);
  if (!shard) return cannot_run("--shard: " + shard.error().message);
  Result<std::optional<RateLimit>> limit = pacing(flags, *config);
  if (!limit) return cannot_run(limit.error().context + ": " + limit.error().message);

  openai::ClientConfig client_config = config->client.to_client_config();
  client_config.base_url = flags.base_url;
  client_config.max_idle_connections = static_cast<std::size_t>(flags.concurrency);
  Result<std::unique_ptr<openai::Client>> client = openai::Client::create(client_config, SystemClock::instance());
  if (!client) return cannot_run("--base-url: " + client.error().to_string());

  std::optional<safety::InputGuard> guard;
  std::optional<safety::OutputFilter> filter;
  std::unique_ptr<safety::InputGuardInspector> guard_inspector;
  std::unique_ptr<safety::OutputFilterInspector> filter_inspector;
  std::unique_ptr<safety::SafetyLayer> layer;
  LineSender sender;
  if (flags.safety) {
    auto g = safety::InputGuard::load(config->safety, flags.fixtures + "/rules", flags.fixtures + "/models");
    if (!g) return cannot_run("input guard: " + g.error().to_string());
    auto f = safety::OutputFilter::create(config->safety, flags.fixtures + "/rules", flags.fixtures + "/models");
    if (!f) return cannot_run("output filter: " + f.error().to_string());
    guard.emplace(std::move(*g));
    filter.emplace(std::move(*f));
    guard_inspector = std::make_unique<safety::InputGuardInspector>(*guard);
    filter_inspector = std::make_unique<safety::OutputFilterInspector>(*filter);
    safety::SafetyLayerOptions layer_options;
    layer_options.route = "chat";
    layer_options.work_kind = "batch_proc";
    layer = std::make_unique<safety::SafetyLayer>(**client, *guard_inspector, *filter_inspector,
                                                  SystemClock::instance(), layer_options);
    sender = safety_sender(*layer);
  } else {
    sender = client_sender(**client);
  }
  std::optional<TokenBucket> bucket;
  if (*limit) bucket.emplace(**limit, SystemClock::instance(), "batch_proc");

  BatchRunOptions options;
  options.input = flags.input;
  options.output = flags.out;
  if (!flags.model.empty()) options.model = flags.model;
  options.resume = flags.resume;
  options.concurrency = flags.concurrency;
  options.on_bad_line = flags.on_bad_line == "fail" ? BadLinePolicy::kFail : BadLinePolicy::kSkip;
  options.shard = *shard;
  options.safety = flags.safety;
  options.limits.max_line_bytes = flags.max_line_bytes;
  options.pace = bucket ? &*bucket : nullptr;

  BatchCounters counters;
  ProgressDisplay display(counters);
  Result<BatchSummary> summary = run_batch(options, sender, counters);
  display.stop();
  const double seconds = display.elapsed_seconds();
  if (!summary) return cannot_run("batch run: " + summary.error().to_string());
  if (summary->stopped_at_bad_line) {
    return cannot_run("line " + std::to_string(*summary->stopped_at_bad_line) + " is invalid (" +
                      summary->bad_line_reason->to_string() + "); stopped by --on-bad-line fail, progress kept in " +
                      summary->store_path + ": fix the line and run again with --resume");
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f", seconds > 0 ? static_cast<double>(summary->sent) / seconds : 0.0);
  std::cout << "batch: " << summary->shard_lines << " lines written to " << flags.out << " (answer "
            << summary->answers << ", blocked " << summary->blocked << ", error " << summary->errors << ", invalid "
            << summary->invalid << "); sent " << summary->sent << " this run, " << summary->already_done
            << " done earlier; " << rate << " requests/s\n";
  return summary->errors > 0 ? kExitFailure : kExitSuccess;
}

int batch_merge(const std::vector<std::string>& inputs, const std::string& out) {
  std::ofstream file;
  std::ostream* sink = &std::cout;
  const std::string partial = out + ".partial";
  if (!out.empty()) {
    file.open(partial, std::ios::binary | std::ios::trunc);
    if (!file) return cannot_run(partial + ": cannot write");
    sink = &file;
  }
  std::int64_t lines = 0;
  Status merged = merge_outputs(inputs, [&](std::string_view line) -> Status {
    *sink << line << '\n';
    ++lines;
    if (!*sink) return Error(ErrorCode::kInvalidInput, "cannot write the merged output", out.empty() ? "stdout" : partial);
    return ok_status();
  });
  if (!merged) {
    if (!out.empty()) std::remove(partial.c_str());
    return cannot_run("batch merge: " + merged.error().to_string());
  }
  if (!out.empty()) {
    file.close();
    if (std::rename(partial.c_str(), out.c_str()) != 0) return cannot_run(out + ": cannot write");
    std::cerr << "batch merge: " << lines << " lines written to " << out << "\n";
  }
  std::cout << std::flush;
  return kExitSuccess;
}

}  // namespace

CommandRun add_batch_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("batch", "Run a JSON Lines file of chat requests, resumably");
  command->require_subcommand(1);

  auto run = std::make_shared<BatchRunFlags>();
  CLI::App* run_command = command->add_subcommand(
      "run",
      "Send every line of IN.jsonl to an OpenAI-compatible endpoint and write one output line per "
      "input line, in input order");
  run_command->footer(
      "Input lines: a chat request body ({\"messages\": [...], \"model\"?, \"id\"?}) or an OpenAI Batch "
      "API line ({\"custom_id\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\"}); \"id\" "
      "and \"custom_id\" are copied to the output and never sent upstream.\n"
      "Output lines: {\"line\", \"id\"?, \"custom_id\"?, \"outcome\": answer|blocked|error|invalid, "
      "\"response\"?, \"decision\"?, \"error\"?} (fixtures/contracts/batch_output_line.schema.json).\n"
      "Progress is kept in OUT.progress.sqlite (SQLite, WAL) as each line completes: after a crash or "
      "kill -9, run the same command with --resume. Recorded lines are not sent again; requests that "
      "were in flight when the run died, or answered but not yet recorded (results are committed in "
      "groups of up to 64), ARE SENT AGAIN on resume (at least once towards the upstream). A line "
      "whose input changed since is run again.\n"
      "Exit: 0 every line has an outcome and none is error; 1 some line ended in error; 2 could not "
      "run, or --on-bad-line fail stopped at an invalid line (progress kept).");
  run_command->add_option("input", run->input, "Input JSON Lines file")->required()->check(CLI::ExistingFile);
  run_command->add_option("--out", run->out, "Output JSON Lines file (written whole at the end)")->required();
  run_command->add_option("--base-url", run->base_url, "Endpoint, e.g. http://127.0.0.1:8080/v1")->required();
  run_command->add_option("--model", run->model, "Model for lines that name none (a line's own model wins)");
  run_command->add_flag("--resume", run->resume, "Finish the run whose progress is beside --out");
  run_command->add_option("--concurrency", run->concurrency, "Requests in flight")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  run_command->add_option("--rate-limit", run->rate_limit,
                          "Requests per minute, or off (default: the configuration's rate_limits.batch_proc, 50)");
  run_command->add_flag("--safety", run->safety,
                        "Send through the safety layer (input guard, output filter): outcome blocked with a decision");
  run_command->add_option("--on-bad-line", run->on_bad_line,
                          "An invalid line: skip (outcome invalid with its reason) or fail (stop, exit 2)")
      ->check(CLI::IsMember({"skip", "fail"}))
      ->capture_default_str();
  run_command->add_option("--shard", run->shard, "Only lines whose number (from 1) modulo N is I")
      ->capture_default_str();
  run_command->add_option("--max-line-bytes", run->max_line_bytes, "A longer input line is invalid")
      ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 30))
      ->capture_default_str();
  run_command->add_option("--fixtures", run->fixtures, "Folder with rules/ and models/ (for --safety)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  add_config_flag(*run_command, run->config);

  auto merge_inputs = std::make_shared<std::vector<std::string>>();
  auto merge_out = std::make_shared<std::string>();
  CLI::App* merge_command = command->add_subcommand(
      "merge", "Join the outputs of --shard runs into one, in input order (a line missing or repeated is an error)");
  merge_command->add_option("outputs", *merge_inputs, "Shard outputs")->required()->check(CLI::ExistingFile);
  merge_command->add_option("--out", *merge_out, "Write here instead of standard output");

  return [command, run_command, run, merge_inputs, merge_out] {
    if (command->got_subcommand(run_command)) return batch_run(*run);
    return batch_merge(*merge_inputs, *merge_out);
  };
}

}  // namespace echoes::cli

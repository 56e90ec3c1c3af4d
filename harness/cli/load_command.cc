// echoes load: open-loop, constant-rate (or ramped) load in wrk2's manner against echoes-mock or any
// OpenAI-compatible base URL, through the safety layer (harness/load/load_generator.h). Writes
// summary.json, latency.hgrm and latency.hlog to --out; prints a live progress line on a terminal.
// Exit codes: 0 the run happened and every request ended in one outcome with no safety incident;
// 1 a request was lost, a decision differed from its unloaded reference, or a harmful answer got
// through; 2 it could not run (bad flag, unreachable target, bad profile file).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

#include "core/safety/safety_layer.h"
#include "harness/cli/audit_flag.h"
#include "harness/cli/commands.h"
#include "harness/cli/metrics_flag.h"
#include "harness/load/load_generator.h"

namespace echoes::cli {
namespace {

struct LoadFlags {
  std::string base_url;
  double rate = 100;
  std::string duration = "30s";
  std::string warmup = "2s";
  int connections = 16;
  std::string ramp;
  std::string profile = "benign";
  std::string profile_file;
  int watch_pid = 0;
  std::string out;
  std::string fixtures = ECHOES_DEFAULT_FIXTURES_DIR;
  std::uint64_t seed = 1;
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
  std::shared_ptr<std::optional<std::string>> audit_log = std::make_shared<std::optional<std::string>>();
  std::shared_ptr<std::optional<std::string>> key = std::make_shared<std::optional<std::string>>();
  std::shared_ptr<ObservabilityFlags> observe = std::make_shared<ObservabilityFlags>();
};

// A number as a log field: no trailing zeros.
std::string fmt_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

int run_load_command(const LoadFlags& flags, bool watch_given, bool profile_given) {
  using namespace echoes::harness;
  LoadOptions options;
  if (!flags.profile_file.empty()) {
    if (profile_given) return cannot_run("--profile and --profile-file: give one of them");
    auto profile = read_profile_file(flags.profile_file);
    if (!profile) return cannot_run("--profile-file: " + profile.error().message);
    options.profile = std::move(*profile);
  } else {
    auto profile = builtin_profile(flags.profile);
    if (!profile) return cannot_run("--profile: " + profile.error().message);
    options.profile = std::move(*profile);
  }
  auto duration = parse_duration(flags.duration);
  if (!duration) return cannot_run("--duration: " + duration.error().message);
  auto warmup = parse_duration(flags.warmup);
  if (!warmup) return cannot_run("--warmup: " + warmup.error().message);
  options.schedule = RateSchedule{flags.rate, flags.rate, *warmup, *duration};
  if (!flags.ramp.empty()) {
    auto ramp = parse_ramp(flags.ramp);
    if (!ramp) return cannot_run("--ramp: " + ramp.error().message);
    options.schedule.from_rps = ramp->first;
    options.schedule.to_rps = ramp->second;
  }
  if (Status valid = options.schedule.validate(); !valid) {
    return cannot_run(valid.error().context + ": " + valid.error().message);
  }
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);
  Result<std::optional<std::string>> api_key = upstream_api_key(*flags.key, *config);
  if (!api_key) return cannot_run(api_key.error().message);
  options.api_key = std::move(*api_key);
  Result<std::shared_ptr<security::AuditWriter>> audit = open_audit_log(*flags.audit_log, *config);
  if (!audit) return cannot_run(audit.error().message);
  // The first append that failed (workers append concurrently).
  struct AuditFailure {
    std::mutex mutex;
    std::optional<Error> error;
  };
  auto audit_failure = std::make_shared<AuditFailure>();
  if (*audit) {
    options.on_outcome = [writer = *audit, audit_failure](std::string_view prompt, const safety::SafetyOutcome& o) {
      security::AuditEvent e = outcome_event(prompt, o, "");
      e.detail["command"] = "load";
      if (Status s = writer->append(e); !s) {
        std::lock_guard lock(audit_failure->mutex);
        if (!audit_failure->error) audit_failure->error = s.error();
      }
    };
  }
  options.config = std::move(*config);
  options.connections = flags.connections;
  if (!flags.base_url.empty()) options.base_url = flags.base_url;
  options.fixtures_dir = flags.fixtures;
  if (watch_given) options.watch_pid = flags.watch_pid;
  options.seed = flags.seed;
  if (isatty(STDOUT_FILENO) == 1) options.progress = &std::cout;

  // Metrics and logs while the run lasts: the endpoint stops when `observability` goes.
  monitor::MetricsRegistry registry;
  Result<Observability> observability = start_observability(*flags.observe, registry);
  if (!observability) return cannot_run(observability.error().message);
  options.metrics = &registry;
  options.log = observability->log.get();
  observability->log->info("load started", {{"profile", options.profile.name},
                                            {"rate", fmt_number(flags.rate)},
                                            {"duration", flags.duration}});
  Result<LoadRun> run = run_load(options);
  if (!run) {
    const Error& e = run.error();
    return cannot_run("load: " + (e.context.empty() ? "" : e.context + ": ") + e.message);
  }
  if (*audit) {
    if (Status flushed = (*audit)->flush(); !flushed) return cannot_run(flushed.error().message);
  }
  if (audit_failure->error) return cannot_run("load: audit log: " + audit_failure->error->message);
  const std::string out = flags.out.empty() ? "reports/load/" + options.profile.name : flags.out;
  if (Status written = write_load_outputs(out, run->info, run->results); !written) {
    return cannot_run(written.error().message + " (" + written.error().context + ")");
  }
  const LoadResults& r = run->results;
  const auto p = [&](double q) { return static_cast<double>(r.latency.value_at_percentile(q)) / 1000.0; };
  std::printf("profile %s: %llu requests (answer %llu, blocked %llu, error %llu, lost %llu), "
              "latency ms p50 %.3f p99 %.3f p99.9 %.3f max %.3f\n",
              options.profile.name.c_str(), static_cast<unsigned long long>(r.requests()),
              static_cast<unsigned long long>(r.answer), static_cast<unsigned long long>(r.blocked),
              static_cast<unsigned long long>(r.error), static_cast<unsigned long long>(r.lost()),
              p(50), p(99), p(99.9), static_cast<double>(r.latency.max()) / 1000.0);
  if (options.profile.safety_layer) {
    std::printf("safety: %llu checked, %llu decision mismatches, %llu harmful answers, %llu unblocked\n",
                static_cast<unsigned long long>(r.checked),
                static_cast<unsigned long long>(r.decision_mismatches),
                static_cast<unsigned long long>(r.harmful_answers),
                static_cast<unsigned long long>(r.harmful_answers_unblocked));
  }
  std::printf("written to %s (summary.json, latency.hgrm, latency.hlog)\n", out.c_str());
  const bool incident = r.lost() > 0 || r.double_records > 0 || r.decision_mismatches > 0 ||
                        r.harmful_answers_unblocked > 0;
  return incident ? kExitFailure : kExitSuccess;
}

}  // namespace

CommandRun add_load_command(CLI::App& app) {
  auto flags = std::make_shared<LoadFlags>();
  CLI::App* command = app.add_subcommand(
      "load", "Open-loop load (wrk2's manner: latency from each request's intended send time) "
              "through the safety layer against echoes-mock or an OpenAI-compatible base URL");
  command->add_option("--base-url", flags->base_url,
                      "Target base URL ending in /v1 (default: echoes-mock started in-process)");
  command->add_option("--rate", flags->rate, "Requests per second")->capture_default_str();
  command->add_option("--duration", flags->duration, "Measured time (500ms, 30s, 10m, 1h)")->capture_default_str();
  command->add_option("--warmup", flags->warmup, "Unmeasured time before it, at the starting rate")->capture_default_str();
  command->add_option("--connections", flags->connections, "Concurrent connections (workers)")->capture_default_str();
  command->add_option("--ramp", flags->ramp, "FROM:TO requests per second, linear over the duration (replaces --rate)");
  CLI::Option* profile = command->add_option(
      "--profile", flags->profile, "raw, benign, injection, harmful-output, faults, mixed or soak")
      ->capture_default_str();
  command->add_option("--profile-file", flags->profile_file,
                      "A weighted mix (format echoes-load-profile, fixtures/contracts/load_profile.schema.json)");
  CLI::Option* watch = command->add_option(
      "--watch-pid", flags->watch_pid,
      "Sample this process's CPU and resident memory (default: this process when the mock is in-process)");
  command->add_option("--out", flags->out, "Output folder (default reports/load/<profile>)");
  command->add_option("--fixtures", flags->fixtures, "Folder with cassettes/safety, rules/ and models/")
      ->capture_default_str();
  command->add_option("--seed", flags->seed, "Seeds the request mix and the mock's faults")->capture_default_str();
  add_config_flag(*command, flags->config);
  add_audit_log_flag(*command, flags->audit_log);
  add_key_flag(*command, flags->key);
  add_observability_flags(*command, flags->observe);
  return [command, flags, watch, profile]() -> int {
    if (!command->parsed()) return kExitSuccess;
    return run_load_command(*flags, watch->count() > 0, profile->count() > 0);
  };
}

}  // namespace echoes::cli

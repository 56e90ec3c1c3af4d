// echoes eval safety [--detectors LIST] [--split test|validation] [--out FILE] [--config FILE]
//                    [--resamples N] [--seed N] [--fixtures DIR]
// echoes eval synthetic [--out DIR]
//
// `eval safety` measures every detector of the registry on issue 10's labelled data
// (harness/efficacy_eval.h): precision, recall, F1 and false-positive rate with confusion matrices
// and percentile-bootstrap 95% intervals, per source, group and overall, judged against the
// issue's targets. It prints a table and, with --out, writes the JSON report (schema
// fixtures/contracts/efficacy_report.schema.json). Exit 0 when every target is met, 1 when one is
// missed (or a detector is not in this build), 2 when it could not run.
//
// `eval synthetic` writes the synthetic secrets/PII set (core/eval/synthetic_secrets_pii.h) into
// DIR (default fixtures/datasets/synthetic_secrets_pii).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "core/eval/synthetic_secrets_pii.h"
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

  return [command, safety_command, safety, synthetic_out] {
    if (command->got_subcommand(safety_command)) return eval_safety(*safety);
    return eval_synthetic(*synthetic_out);
  };
}

}  // namespace echoes::cli

// What the subcommands share: the --config flag and its resolution, the list of output formats,
// and the "could not run" message.
#include <cstdlib>
#include <iostream>

#include "harness/cli/commands.h"
#include "harness/load/load_summary.h"
#include "harness/batch/batch_runner.h"
#include "harness/bbq_eval.h"
#include "harness/counterfactual_eval.h"
#include "harness/efficacy_eval.h"
#include "harness/scan_runner.h"

namespace echoes::cli {

// The effective-configuration document of `echoes config show`.
inline constexpr std::string_view kConfigShowFormat = "echoes-config-effective";

const std::vector<DocumentFormat>& document_formats() {
  static const std::vector<DocumentFormat> formats = {
      {kConfigShowFormat, 1, "document"},
      {harness::kScanLineFormat, harness::kScanLineVersion, "json-lines"},
      {harness::kEfficacyReportFormat, harness::kEfficacyReportVersion, "document"},
      {harness::kLoadSummaryFormat, harness::kLoadSummaryVersion, "document"},
      {harness::batch::kBatchOutputLineFormat, harness::batch::kBatchOutputLineVersion, "json-lines"},
      {harness::kBbqReportFormat, harness::kBbqReportVersion, "document"},
      {harness::kCounterfactualReportFormat, harness::kCounterfactualReportVersion, "document"},
  };
  return formats;
}

void add_config_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into) {
  command.add_option_function<std::string>(
      "--config", [into](const std::string& path) { *into = path; },
      "Configuration file (JSON, fixtures/contracts/config.schema.json); default: $ECHOES_CONFIG, "
      "else the built-in defaults");
}

Result<config::EchoesConfig> command_config(const std::optional<std::string>& flag) {
  // The file (--config or ECHOES_CONFIG), then the ECHOES_... overrides, then the profile's rules.
  Result<config::EchoesConfig> resolved =
      config::resolve_effective_config(flag, [](const char* name) -> const char* { return std::getenv(name); });
  if (!resolved && flag && resolved.error().code == ErrorCode::kNotFound) {
    Error e = std::move(resolved).error();
    e.message = "--config " + e.message;
    return e;
  }
  return resolved;
}

int cannot_run(std::string_view message) {
  std::cerr << "echoes: " << message << '\n';
  return kExitCannotRun;
}

}  // namespace echoes::cli

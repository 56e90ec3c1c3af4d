// echoes scan --detector NAME [FILE] [--plain] [--threads N] [--fail-on flagged|error|any]
//             [--config FILE]
// Scans JSON Lines with a "text" field (or plain lines) from FILE or standard input and writes one
// JSON object per input line, in input order (harness/scan_runner.h). Exit 0, or 1 when a line
// --fail-on counts was seen; 2 when the scan cannot run (bad flag, unreadable file, bad
// configuration, a detector that is unknown or not in this build).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "harness/cli/commands.h"
#include "harness/detector_registry.h"
#include "harness/scan_runner.h"

namespace echoes::cli {
namespace {

struct ScanFlags {
  std::string detector;
  std::string file;  // empty or "-": standard input
  bool plain = false;
  std::size_t threads = 1;
  std::string fail_on;
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
};

int scan(const ScanFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);

  const harness::DetectorContext context{*config, ECHOES_DEFAULT_FIXTURES_DIR "/rules",
                                         ECHOES_DEFAULT_FIXTURES_DIR "/models"};
  Result<std::unique_ptr<safety::TextDetector>> detector =
      harness::DetectorRegistry::builtin().create(flags.detector, context);
  if (!detector) return cannot_run("--detector: " + detector.error().message);

  int fd = 0;
  std::string input_name = "standard input";
  if (!flags.file.empty() && flags.file != "-") {
    fd = ::open(flags.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cannot_run(flags.file + ": cannot open: " + std::strerror(errno));
    input_name = flags.file;
  }
  harness::ScanOptions options;
  options.input = flags.plain ? harness::ScanInput::kPlain : harness::ScanInput::kJsonLines;
  options.threads = flags.threads;
  Result<harness::ScanSummary> summary =
      harness::run_scan(harness::fd_reader(fd, input_name), harness::fd_writer(1, "standard output"),
                        **detector, options);
  if (fd != 0) ::close(fd);
  if (!summary) return cannot_run(summary.error().message);
  const harness::FailOn fail_on =
      harness::fail_on_from_string(flags.fail_on).value_or(harness::FailOn::kNothing);
  return harness::scan_exit_code(*summary, fail_on);
}

}  // namespace

CommandRun add_scan_command(CLI::App& app) {
  auto flags = std::make_shared<ScanFlags>();
  CLI::App* command = app.add_subcommand(
      "scan", "Run a detector over JSON Lines (a \"text\" field) or plain lines, one JSON object "
              "out per line in input order");
  command->add_option("--detector", flags->detector,
                      "injection, harmful-request, harmful, toxicity, refusal, secrets or pii")
      ->required();
  command->add_option("FILE", flags->file, "Input file; standard input when absent or '-'");
  command->add_flag("--plain", flags->plain, "Each line is the text itself, not JSON");
  command->add_option("--threads", flags->threads, "Scan on N threads; output order is kept")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  command->add_option("--fail-on", flags->fail_on,
                      "Exit 1 when a line was flagged, an error, or either")
      ->check(CLI::IsMember({"flagged", "error", "any"}));
  add_config_flag(*command, flags->config);
  return [flags] { return scan(*flags); };
}

}  // namespace echoes::cli

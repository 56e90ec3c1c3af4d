// echoes: the Echoes program. Dispatches only: each subcommand lives in its own <name>_command.cc
// (commands.h). Exit codes: 0 success (and --help, --version), 1 the command ran and found a
// failure, 2 it could not run (CLI11's own parse errors, which run from 100, become 2).
#include <exception>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "harness/cli/commands.h"

namespace {

std::string version_text() {
  std::string text = "echoes " ECHOES_VERSION;
  for (const echoes::cli::DocumentFormat& f : echoes::cli::document_formats()) {
    text += "\n" + std::string(f.format) + " " + std::to_string(f.version) + " " + std::string(f.kind);
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace echoes::cli;
  try {
    CLI::App app{"Echoes: a test harness and safety layer for LLM applications", "echoes"};
    // No require_subcommand: with it CLI11 reports a mistyped subcommand as a missing one instead
    // of naming the unexpected word.
    app.set_version_flag("--version", version_text(),
                         "Print the version and the formats of the JSON documents written, then exit");
    const std::vector<std::pair<std::string, CommandRun>> commands = {
        {"config", add_config_command(app)},
        {"scan", add_scan_command(app)},
        {"train", add_train_command(app)},
        {"eval", add_eval_command(app)},
        {"gate", add_gate_command(app)},
        {"report", add_report_command(app)},
        {"load", add_load_command(app)},
        {"batch", add_batch_command(app)},
        {"repl", add_repl_command(app)},
        {"cassette", add_cassette_command(app)},
        {"audit", add_audit_command(app)},
        {"keys", add_keys_command(app)},
    };
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e) == 0 ? kExitSuccess : kExitCannotRun;
    }
    for (const auto& [name, run] : commands) {
      if (app.got_subcommand(name)) return run();
    }
    return cannot_run("a subcommand is required (config, scan, train, eval, gate, report, load, cassette, batch, repl, audit, keys); run with --help for more");
  } catch (const std::exception& e) {
    return cannot_run(std::string("internal error: ") + e.what());
  }
}

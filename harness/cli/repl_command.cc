// echoes repl [--base-url URL] [--model NAME] [--config FILE] [--fixtures DIR] [--bbq-data DIR]
//             [--history FILE]
//
// An interactive session over the core (harness/repl/repl_session.h): send a prompt through the
// safety layer and see the decision and the answer, load a dataset and run it, run the BBQ bias
// evaluation, show and set the configuration; `help` lists every command. On a terminal it has
// line editing and history (libedit; the history is kept in --history, default ~/.echoes_history).
// With piped input it runs as a script: each line a command, output as on the terminal without
// the prompt, and the first failing command ends it with exit 1 (naming the line on standard
// error). Exit 0 at quit or end of input, 2 when it could not start.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "harness/bbq_eval.h"
#include "harness/cli/commands.h"
#include "harness/repl/line_editor.h"
#include "harness/repl/repl_session.h"

namespace echoes::cli {
namespace {

struct ReplFlags {
  std::string base_url;
  std::string model = "gpt-4o-mini";
  std::string fixtures = ECHOES_DEFAULT_FIXTURES_DIR;
  std::string bbq_data;
  std::string history;  // empty: ~/.echoes_history
  bool no_history = false;
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
};

harness::repl::BiasEvaluator bias_evaluator(const std::string& fixtures);

int run_script(harness::repl::ReplSession& session) {
  std::string line;
  int number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    const harness::repl::ReplReply reply = session.execute(line);
    std::cout << reply.text << std::flush;
    if (!reply.ok) {
      std::cerr << "echoes repl: line " << number << " failed: " << line.substr(0, 200) << "\n";
      return kExitFailure;
    }
    if (session.finished()) break;
  }
  return kExitSuccess;
}

int run_interactive(harness::repl::ReplSession& session, const ReplFlags& flags) {
  std::string history = flags.history;
  if (history.empty() && !flags.no_history) {
    if (const char* home = std::getenv("HOME"); home && *home) history = std::string(home) + "/.echoes_history";
  }
  harness::repl::LineEditor editor(flags.no_history ? std::string() : history);
  std::cout << "Echoes REPL (" << (session.settings().base_url.empty() ? "no endpoint yet: set base-url URL"
                                                                       : "endpoint " + session.settings().base_url)
            << ", model " << session.settings().model << "). help lists the commands; quit or Ctrl-D leaves.\n"
            << std::flush;
  while (std::optional<std::string> line = editor.read_line("echoes> ")) {
    const harness::repl::ReplReply reply = session.execute(*line);
    std::cout << (reply.ok ? "" : "error: ") << reply.text << std::flush;
    if (session.finished()) break;
  }
  return kExitSuccess;
}

int repl(const ReplFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);
  harness::repl::ReplSettings settings;
  settings.base_url = flags.base_url;
  settings.model = flags.model;
  settings.fixtures_dir = flags.fixtures;
  settings.bbq_data = flags.bbq_data;
  settings.config_file = config->file;
  harness::repl::ReplSession session(settings, std::move(*config), bias_evaluator(flags.fixtures));
  if (isatty(STDIN_FILENO) == 1) return run_interactive(session, flags);
  return run_script(session);
}

// The bias command's evaluator: the BBQ evaluation over HTTP (harness/bbq_eval.h), printed as
// its table with the request rate.
harness::repl::BiasEvaluator bias_evaluator(const std::string& fixtures) {
  return [fixtures](const harness::repl::BiasEvalRequest& request) -> Result<std::string> {
    harness::BbqEvalOptions options;
    options.base_url = request.base_url;
    options.model = request.model;
    options.categories = request.categories;
    if (!request.dataset_dir.empty()) options.dataset_dir = request.dataset_dir;
    options.rate_limit_per_minute = request.rate_limit_per_minute;
    options.safety = request.safety;
    options.fixtures_dir = fixtures;
    if (request.config != nullptr) options.config = *request.config;
    Result<harness::BbqReport> report = harness::run_bbq_eval(options);
    if (!report) return report.error();
    char rate[64];
    std::snprintf(rate, sizeof rate, "%lld requests, %.1f requests/s\n", static_cast<long long>(report->requests),
                  report->requests_per_second());
    return harness::bbq_table(*report) + rate;
  };
}

}  // namespace

CommandRun add_repl_command(CLI::App& app) {
  auto flags = std::make_shared<ReplFlags>();
  CLI::App* command = app.add_subcommand(
      "repl", "Interactive session: prompts through the safety layer, datasets, the bias evaluation, configuration");
  command->footer(
      "Commands: send TEXT, load FILE, dataset, run [N], bias [CATEGORY...], config, set KEY VALUE, "
      "help [COMMAND], quit.\nWith piped input each line is a command; the first failing command ends "
      "the script with exit 1.");
  command->add_option("--base-url", flags->base_url, "Endpoint, e.g. http://127.0.0.1:8080/v1 (or: set base-url URL)");
  command->add_option("--model", flags->model, "Model sent with prompts")->capture_default_str();
  command->add_option("--fixtures", flags->fixtures, "Folder with rules/ and models/ for the safety layer")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  command->add_option("--bbq-data", flags->bbq_data, "Folder of BBQ <Category>.jsonl for bias (default: the committed data)");
  command->add_option("--history", flags->history, "History file (default ~/.echoes_history)");
  command->add_flag("--no-history", flags->no_history, "Keep no history file");
  add_config_flag(*command, flags->config);
  return [flags] { return repl(*flags); };
}

}  // namespace echoes::cli

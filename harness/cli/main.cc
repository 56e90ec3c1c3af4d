// TEMPORARY minimal `echoes` entry point (see commands.h): dispatches to the chosen subcommand.
#include <iostream>
#include <utility>
#include <vector>

#include "harness/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"echoes: LLM safety toolkit"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, echoes::cli::CommandRun>> commands;
  auto add = [&](echoes::cli::CommandRun run) {
    commands.emplace_back(app.get_subcommands({}).back(), std::move(run));
  };
  add(echoes::cli::add_train_command(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help or the error
    return code == 0 ? 0 : 2;      // CLI11's own codes (100+) map onto "could not run"
  }
  for (auto& [sub, run] : commands) {
    if (sub->parsed()) return run();
  }
  return 2;
}

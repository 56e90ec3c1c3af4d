// The `echoes` program's subcommands. Each subcommand file defines one function that adds its
// subcommand (flags, help) to the app and returns what to run when it is chosen; the returned
// function gives the exit code. main.cc only dispatches. The only header that includes CLI11.
//
//   CLI::App app{"echoes"};
//   CommandRun config = add_config_command(app);
//   app.parse(argc, argv);                       // (main.cc maps CLI11's errors to exit 2)
//   if (app.got_subcommand("config")) return config();
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "core/base/result.h"
#include "core/config/config.h"

namespace echoes::cli {

// Exit codes of every command.
inline constexpr int kExitSuccess = 0;      // success, and --help
inline constexpr int kExitFailure = 1;      // the command ran and found a failure
inline constexpr int kExitCannotRun = 2;    // bad flag, unreadable file, bad configuration

using CommandRun = std::function<int()>;
CommandRun add_config_command(CLI::App& app);   // config_command.cc
CommandRun add_scan_command(CLI::App& app);     // scan_command.cc
CommandRun add_train_command(CLI::App& app);    // train_command.cc
CommandRun add_eval_command(CLI::App& app);     // eval_command.cc
CommandRun add_gate_command(CLI::App& app);     // gate_command.cc
CommandRun add_report_command(CLI::App& app);   // report_command.cc
CommandRun add_load_command(CLI::App& app);     // load_command.cc
CommandRun add_batch_command(CLI::App& app);    // batch_command.cc
CommandRun add_repl_command(CLI::App& app);     // repl_command.cc
CommandRun add_cassette_command(CLI::App& app); // cassette_command.cc
CommandRun add_audit_command(CLI::App& app);    // audit_command.cc
CommandRun add_keys_command(CLI::App& app);     // keys_command.cc
// later: ...

// --- Shared by the subcommands (command_support.cc) -------------------------------------------

// The JSON documents and streams the program writes: "<format> <version>" each, for --version.
struct DocumentFormat {
  std::string_view format;
  int version;
  std::string_view kind;  // "document" or "json-lines"
};
const std::vector<DocumentFormat>& document_formats();

// Adds `--config FILE` to `command`; the path lands in *into when given.
void add_config_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into);
// The configuration of a command: --config FILE, else $ECHOES_CONFIG, else the defaults.
Result<config::EchoesConfig> command_config(const std::optional<std::string>& flag);

// Prints "echoes: <message>" on standard error and returns kExitCannotRun.
int cannot_run(std::string_view message);

}  // namespace echoes::cli

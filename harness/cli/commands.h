// TEMPORARY minimal skeleton so `echoes train` builds and is tested on this branch; the
// configuration/CLI work provides the real harness/cli/commands.h with the same seam.
//
// Each subcommand file defines one function that adds its subcommand (flags, help) to the app and
// returns what to run when it is chosen; the returned function gives the exit code (0 success,
// 1 ran and found a failure, 2 could not run).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace echoes::cli {

using CommandRun = std::function<int()>;

CommandRun add_train_command(CLI::App& app);  // train_command.cc

}  // namespace echoes::cli

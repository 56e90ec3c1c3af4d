// Child processes of `echoes gate`: ctest, gcovr, compare.py and the gates file's runs. The child's
// output goes to a log file (or the gate's own output), and the call waits for it to end.
//
//   Result<int> exit = run_child({"ctest", "--test-dir", "build/dev", "-L", "gate"}, "reports/logs/ctest.log");
//   if (!exit) ...                 // could not start (no such program)
//   if (*exit != 0) ...            // its exit code; 128 + N when signal N ended it
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace echoes::gate {

// argv[0] is looked up on PATH unless it holds a '/'. `log` empty: the child shares this process's
// standard output and error; else both go to `log` (truncated), or only standard output when
// `error_log` names another file for standard error. Standard input is /dev/null.
// Errors: kNotFound when the program cannot be started, kInvalidInput when a log cannot be opened.
Result<int> run_child(const std::vector<std::string>& argv, const std::filesystem::path& log = {},
                      const std::filesystem::path& error_log = {});

// This program's own path (/proc/self/exe), for running the gates file's runs.
std::string self_executable();

}  // namespace echoes::gate

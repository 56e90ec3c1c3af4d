// Command-line flags of `echoes-mock`, parsed with CLI11 (in cli_options.cc only) into
// MockServerOptions. Separate from main() so the rules (each bad flag named, exit code 2; --help
// exits 0) are tested without starting a process. A flag given twice takes its last value;
// --redact collects every one.
//
//   Result<CliOptions> parsed = parse_cli_options({"--cassettes", "fixtures/cassettes", "--port", "0"});
//   if (!parsed) { std::cerr << parsed.error().message << "\n"; return 2; }
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "mock_server/mock_server.h"

namespace echoes::mock {

struct CliOptions {
  MockServerOptions server;
  bool quiet = false;  // no per-request log lines
  // --audit-log FILE: refused /__admin/ calls are recorded there (opened by main with the master
  // key from ECHOES_MASTER_KEY[_FILE]).
  std::string audit_log;
  bool help = false;
};

// The text printed by --help: every flag with its meaning.
std::string cli_usage();

// `args` excludes the program name. Errors are kInvalidInput whose message names the flag.
Result<CliOptions> parse_cli_options(const std::vector<std::string>& args);

}  // namespace echoes::mock

// --metrics-port PORT and --log-format json|text for the `echoes` commands that run for a while
// (`echoes load`, `echoes batch run`, the REPL): one call adds the flags, one call after parsing
// starts what they ask for.
//
//   auto observe = std::make_shared<ObservabilityFlags>();
//   add_observability_flags(*command, observe);              // when building the subcommand
//   ...
//   monitor::MetricsRegistry registry;                       // the command's own registry
//   auto serving = start_observability(*observe, registry);  // after parsing, before the work
//   if (!serving) return cannot_run(serving.error().message);
//   monitor::Log& log = *serving->log;                       // stderr, in the chosen format
//   ... the work; destroying `serving` stops the metrics endpoint
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "core/base/result.h"
#include "core/monitor/log.h"
#include "core/monitor/metrics_registry.h"
#include "harness/metrics_endpoint.h"

namespace echoes::cli {

struct ObservabilityFlags {
  std::optional<int> metrics_port;  // none: no endpoint; 0: any free port (printed)
  std::string log_format = "text";
};

void add_observability_flags(CLI::App& command, const std::shared_ptr<ObservabilityFlags>& flags);

struct Observability {
  std::unique_ptr<monitor::Log> log;                   // always set; writes to standard error
  std::unique_ptr<harness::MetricsEndpoint> endpoint;  // set when --metrics-port was given
};

// Starts the endpoint (announcing "metrics at http://127.0.0.1:PORT/metrics" through the log) and
// the log. An error names the flag and what was wrong.
Result<Observability> start_observability(const ObservabilityFlags& flags,
                                          const monitor::MetricsRegistry& registry);

}  // namespace echoes::cli

#include "harness/cli/metrics_flag.h"

#include <iostream>

namespace echoes::cli {

void add_observability_flags(CLI::App& command, const std::shared_ptr<ObservabilityFlags>& flags) {
  command.add_option("--metrics-port", flags->metrics_port,
                     "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics while running "
                     "(0: any free port, printed)")
      ->check(CLI::Range(0, 65535));
  command.add_option("--log-format", flags->log_format, "Log lines on standard error: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

Result<Observability> start_observability(const ObservabilityFlags& flags,
                                          const monitor::MetricsRegistry& registry) {
  auto format = monitor::parse_log_format(flags.log_format);
  if (!format) return Error(format.error().code, "--log-format: " + format.error().message);
  Observability out;
  out.log = std::make_unique<monitor::Log>(*format, std::cerr);
  if (flags.metrics_port) {
    auto endpoint = harness::MetricsEndpoint::start(registry, *flags.metrics_port);
    if (!endpoint) return Error(endpoint.error().code, "--metrics-port: " + endpoint.error().message);
    out.endpoint = std::move(*endpoint);
    out.log->info("serving metrics",
                  {{"url", "http://127.0.0.1:" + std::to_string(out.endpoint->port()) + "/metrics"}});
  }
  return out;
}

}  // namespace echoes::cli

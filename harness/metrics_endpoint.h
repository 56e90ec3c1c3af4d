// MetricsEndpoint: serves a MetricsRegistry's Prometheus text at GET /metrics over HTTP (cpp-httplib,
// kept out of this header) on its own thread, for long-running commands (`--metrics-port`).
//
//   monitor::MetricsRegistry registry;
//   auto endpoint = harness::MetricsEndpoint::start(registry, 9464);   // 0: any free port
//   if (!endpoint) return fail(endpoint.error());
//   std::printf("metrics at http://127.0.0.1:%d/metrics\n", (*endpoint)->port());
//   ...                                  // the work; destroying the endpoint stops the server
//
// Only GET /metrics answers (200, text format 0.0.4); anything else is 404 (405 for another method
// on /metrics). Binds 127.0.0.1 unless told otherwise: metrics can name rules and routes.
#pragma once

#include <memory>
#include <string>

#include "core/base/result.h"
#include "core/monitor/metrics_registry.h"

namespace echoes::harness {

class MetricsEndpoint {
 public:
  // The registry must outlive the endpoint. kInvalidInput naming host:port when it cannot bind.
  static Result<std::unique_ptr<MetricsEndpoint>> start(const monitor::MetricsRegistry& registry,
                                                        int port,
                                                        const std::string& host = "127.0.0.1");
  ~MetricsEndpoint();  // stops serving and joins the thread
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const;

 private:
  struct Impl;
  explicit MetricsEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::harness

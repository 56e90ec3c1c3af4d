// Faults that echoes-mock injects on purpose: latency, error statuses, broken sockets, malformed
// bodies, cut or slow streams and hangs. A FaultSpec says what to do; a Scenario maps routes to
// faults. Both are plain values parsed from JSON (mock_server/README.md documents the format).
//
//   Result<FaultSpec> f = parse_fault_spec(R"({"kind":"status","status":429,"times":2})", "header");
//   Result<Scenario> s = load_scenario_file("fixtures/scenarios/flaky_chat.json");
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"

namespace echoes::mock {

enum class FaultKind {
  kLatency,         // delay, then answer normally
  kStatus,          // answer with an error status in the official error shape
  kReset,           // abort the connection with a TCP RST, no bytes written
  kClose,           // close the connection (FIN) without writing any bytes
  kMalformedBody,   // 200 with a truncated, unparseable JSON body
  kStreamCut,       // stream: send some chunks, then drop the connection before [DONE]
  kSlowDribble,     // write the body a few bytes at a time
  kHang,            // write nothing until the client gives up (bounded by the server's limit)
};

// "latency", "status", "reset", "close", "malformed_body", "stream_cut", "slow_dribble", "hang".
std::string_view to_string(FaultKind kind);
std::optional<FaultKind> fault_kind_from_string(std::string_view name);

enum class LatencyDistribution { kFixed, kUniform, kLognormal };

struct LatencySpec {
  LatencyDistribution distribution = LatencyDistribution::kFixed;
  double fixed_ms = 0;               // kFixed
  double min_ms = 0, max_ms = 0;     // kUniform: [min_ms, max_ms]
  double median_ms = 0, sigma = 0;   // kLognormal: exp(N(ln median_ms, sigma))
  friend bool operator==(const LatencySpec&, const LatencySpec&) = default;
};

struct FaultSpec {
  FaultKind kind = FaultKind::kLatency;
  double probability = 1.0;    // in [0, 1]; drawn from the server's seeded RNG
  std::optional<int> times;    // fire only for the first N matching requests
  LatencySpec latency;         // kLatency
  int status = 500;            // kStatus: 429, 500, 502, 503, 504 or any 4xx/5xx
  std::optional<int> retry_after_s;   // kStatus: `retry-after` header
  std::optional<int> retry_after_ms;  // kStatus: `retry-after-ms` header
  int cut_after_chunks = 1;    // kStreamCut: data events sent before the cut
  int dribble_bytes = 8;       // kSlowDribble: bytes per write
  int dribble_interval_ms = 10;  // kSlowDribble: pause between writes
  std::optional<int> hang_ms;  // kHang: how long to hang (capped by the server's hang limit)

  friend bool operator==(const FaultSpec&, const FaultSpec&) = default;
};

// Parses one fault: a JSON object, or (for the `x-echoes-fault` header) a shorthand name:
// "429", "500", "502", "503", "504", "reset", "close", "malformed_body", "stream_cut",
// "slow_dribble", "hang", "latency:<ms>". `source` names where the text came from, for errors.
Result<FaultSpec> parse_fault_spec(std::string_view text, std::string_view source);

// One scenario rule: the faults applied to requests on a route. `method` and `path` are exact,
// or "*" for any.
struct ScenarioRule {
  std::string method = "*";
  std::string path = "*";
  std::vector<FaultSpec> faults;
};

struct Scenario {
  std::string name;
  std::vector<ScenarioRule> rules;
  std::optional<double> time_scale;  // overrides the server's stream-timing scale when set
};

// `source` is a file name (or "admin request") used in error contexts with the JSON path.
Result<Scenario> parse_scenario(std::string_view text, std::string_view source);
Result<Scenario> load_scenario_file(const std::string& path);

// Draws a delay from a latency distribution.
Duration draw_latency(const LatencySpec& spec, std::mt19937_64& rng);

}  // namespace echoes::mock

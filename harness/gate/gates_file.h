// The gates file (`fixtures/gates.json`, format "echoes-gates", version 1, schema
// fixtures/contracts/gates.schema.json): the thresholds `echoes gate` judges and the `echoes`
// subcommands it runs first to produce their figures.
//
//   Result<GatesFile> gates = load_gates_file("fixtures/gates.json");
//   if (!gates) return cannot_run(gates.error().to_string());   // names the gate and field
//   for (const GateSpec& g : gates->gates) ...                   // id, kind, source, metric, op, value
//
// Read with core's limited JSON parser (size and depth bounded, invalid UTF-8 rejected). Unknown
// fields, duplicate ids, unknown kinds, sources and operators are errors, so a typo never turns a
// gate off.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace echoes::gate {

inline constexpr std::string_view kGatesFormat = "echoes-gates";
inline constexpr int kGatesVersion = 1;
// Larger gates files are refused before parsing (the committed one is a few kilobytes).
inline constexpr std::size_t kMaxGatesFileBytes = std::size_t{1} << 20;

enum class GateKind { kBinding, kAdvisory };
enum class GateOp { kAtLeast, kAtMost, kEqual, kGreater, kLess };  // >= <= == > <

std::string_view to_string(GateKind kind);  // "binding" "advisory"
std::string_view to_string(GateOp op);      // ">=" "<=" "==" ">" "<"
// True when `measured op threshold` holds.
bool satisfies(double measured, GateOp op, double threshold);

struct GateSpec {
  std::string id;           // "coverage.core.branch"
  std::string description;  // what the gate protects, for people
  GateKind kind = GateKind::kBinding;
  std::string source;       // "junit", "coverage", "efficacy", "bench" or "load/<profile>"
  std::string metric;       // a path the source's reader resolves (gate_sources.h)
  GateOp op = GateOp::kAtLeast;
  double value = 0;
};

// One `echoes` subcommand run before judging, as a child process of the same program.
// `{reports}` in an argument stands for the reports folder.
struct RunSpec {
  std::string id;
  std::vector<std::string> argv;  // without the program name: {"eval", "safety", ...}
};

struct GatesFile {
  std::vector<RunSpec> runs;
  std::vector<GateSpec> gates;
};

// Parses the text of a gates file. Errors (kInvalidInput) name the gate or run and the field:
// "gates[3] (coverage.core.branch): op: unknown operator \"=>\"" with context `origin`.
Result<GatesFile> parse_gates_file(std::string_view text, std::string_view origin = "gates file");
Result<GatesFile> load_gates_file(const std::filesystem::path& path);

// `argv` with every "{reports}" replaced by `reports_dir`.
std::vector<std::string> expand_run_arguments(const RunSpec& run, const std::string& reports_dir);

}  // namespace echoes::gate

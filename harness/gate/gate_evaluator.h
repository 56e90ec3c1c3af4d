// The gate evaluator: each gate of the gates file judged against what was collected. A gate whose
// metric is missing or has no samples gets the verdict "missing", which fails like "fail" and names
// what is missing: nothing passes silently. Advisory gates are shown with their verdict but bind
// only with `strict`.
//
//   Judgement j = judge(gates_file.gates, collect_reports({"reports"}, options), /*strict=*/false);
//   std::cout << gate_table(j);              // gate_report.h
//   return judgement_exit_code(j);           // 0 every binding gate passes, else 1
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/gate/gate_sources.h"
#include "harness/gate/gates_file.h"

namespace echoes::gate {

enum class Verdict { kPass, kFail, kMissing };
std::string_view to_string(Verdict verdict);  // "pass" "fail" "missing"

struct GateResult {
  GateSpec spec;
  std::optional<double> measured;
  Verdict verdict = Verdict::kMissing;
  std::string detail;    // what was measured, or what is missing
  bool binding = false;  // binding kind, or advisory under --strict
};

struct Judgement {
  std::vector<GateResult> gates;
  bool strict = false;
  // True when no binding gate fails or is missing.
  bool passed() const;
};

Judgement judge(const std::vector<GateSpec>& gates, const Collected& collected, bool strict);

// 0 when the judgement passed, else 1 (the run itself happened; 2 is the caller's to give).
int judgement_exit_code(const Judgement& judgement);

}  // namespace echoes::gate

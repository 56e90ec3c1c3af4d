#include "harness/gate/gate_evaluator.h"

namespace echoes::gate {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "fail";
    case Verdict::kMissing: return "missing";
  }
  return "?";
}

bool Judgement::passed() const {
  for (const GateResult& g : gates) {
    if (g.binding && g.verdict != Verdict::kPass) return false;
  }
  return true;
}

Judgement judge(const std::vector<GateSpec>& gates, const Collected& collected, bool strict) {
  Judgement judgement;
  judgement.strict = strict;
  for (const GateSpec& spec : gates) {
    GateResult result;
    result.spec = spec;
    result.binding = spec.kind == GateKind::kBinding || strict;
    Measurement m = resolve_metric(collected, spec.source, spec.metric);
    result.measured = m.value;
    result.detail = std::move(m.detail);
    if (!result.measured) {
      result.verdict = Verdict::kMissing;
    } else {
      result.verdict = satisfies(*result.measured, spec.op, spec.value) ? Verdict::kPass : Verdict::kFail;
    }
    judgement.gates.push_back(std::move(result));
  }
  return judgement;
}

int judgement_exit_code(const Judgement& judgement) { return judgement.passed() ? 0 : 1; }

}  // namespace echoes::gate

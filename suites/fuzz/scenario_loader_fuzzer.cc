// Fuzz target for the mock server's fault parsing (mock_server/fault.h): the input is parsed both
// as a scenario file and as one fault (a JSON object, or the `x-echoes-fault` header shorthand).
// Parsing must never crash, throw or trip a sanitizer, and a rejected text must be rejected with
// kInvalidInput and a context naming where. A parsed fault must be one the server can act on:
// a probability in [0, 1], an error status in 400-599, non-negative counts and delays.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mock_server/fault.h"

namespace {

using echoes::mock::FaultKind;
using echoes::mock::FaultSpec;

template <typename T>
void check_rejection(const echoes::Result<T>& result) {
  if (!result && (result.error().code != echoes::ErrorCode::kInvalidInput || result.error().context.empty())) {
    std::abort();
  }
}

void check_fault(const FaultSpec& f) {
  if (!(f.probability >= 0.0 && f.probability <= 1.0)) std::abort();
  if (f.times && *f.times < 0) std::abort();
  if (f.kind == FaultKind::kStatus && (f.status < 400 || f.status > 599)) std::abort();
  if (f.hang_ms && *f.hang_ms < 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto scenario = echoes::mock::parse_scenario(text, "fuzz.json");
  check_rejection(scenario);
  if (scenario) {
    for (const auto& rule : scenario->rules) {
      for (const FaultSpec& f : rule.faults) check_fault(f);
    }
  }
  const auto fault = echoes::mock::parse_fault_spec(text, "header");
  check_rejection(fault);
  if (fault) check_fault(*fault);
  return 0;
}

// Load profiles: what `echoes load` sends (a weighted mix of chat requests, each labelled with
// what it is: benign, an injection, or a request whose recorded answer is harmful) and the faults
// it asks echoes-mock to inject while it runs.
//
//   Result<LoadProfile> profile = builtin_profile("faults");         // or read_profile_file(path)
//   const ProfileRequest& r = profile->requests[profile->pick(i, seed)];
//
// Built-in profiles (requests answered by fixtures/cassettes/safety/, the safety layer's cassettes):
//   raw             the client only, one recorded chat request, no safety layer
//   benign          benign questions, JSON and stream
//   injection       prompt injections (the input guard blocks them before any upstream call)
//   harmful-output  requests whose recorded answers are harmful (the output filter blocks them)
//   faults          benign, with about 5% transient upstream faults (503, 429, reset), retries on
//   mixed           benign 60%, injection 20%, harmful-output 20%
//   soak            mixed with faults: 5% transient, then a burst of 503s that opens the breaker,
//                   then none, so the breaker must close again
// A profile file (format "echoes-load-profile", schema fixtures/contracts/load_profile.schema.json)
// gives the same fields; hostile files get errors naming the file and the JSON path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace echoes::harness {

// What a request is, and so what the safety layer must do with it.
enum class RequestLabel : std::uint8_t {
  kBenign,     // answered
  kInjection,  // an attack on the input: blocked (adversarial)
  kHarmful,    // its answer is harmful: must never reach the caller unblocked (adversarial)
};
std::string_view to_string(RequestLabel label);  // "benign" "injection" "harmful"

struct ProfileRequest {
  std::string name;
  double weight = 1;
  std::string prompt;  // the user message (model gpt-4o-mini)
  bool stream = false;
  RequestLabel label = RequestLabel::kBenign;
};

// From `from_fraction` of the measured duration on, the mock runs this scenario (an
// "echoes-scenario" document), or none.
struct FaultPhase {
  double from_fraction = 0;
  std::optional<std::string> scenario_json;
};

struct LoadProfile {
  std::string name;
  std::vector<ProfileRequest> requests;
  bool safety_layer = true;  // false: the client only (raw)
  std::vector<FaultPhase> fault_phases;  // in order of from_fraction
  int max_retries = 2;

  // The request to send as the i-th of a run: a weighted choice fixed by (i, seed).
  std::size_t pick(std::uint64_t i, std::uint64_t seed) const;
  bool adversarial() const;  // has injection or harmful requests
};

inline constexpr std::string_view kLoadProfileFormat = "echoes-load-profile";
inline constexpr int kLoadProfileVersion = 1;

const std::vector<std::string_view>& builtin_profile_names();
Result<LoadProfile> builtin_profile(std::string_view name);
// Errors: kInvalidInput with the source and JSON path ("mix.json: requests[2].weight: ...").
Result<LoadProfile> parse_profile(std::string_view json_text, std::string_view source);
Result<LoadProfile> read_profile_file(const std::string& path);

}  // namespace echoes::harness

// Action: what the safety policy does with a category of finding, ordered by strictness, so the
// strictest of several actions is their maximum.
//
//   std::optional<Action> a = action_from_string("redact");   // Action::kRedact
//   Action strictest = std::max(Action::kFlag, Action::kBlock); // kBlock
//   std::string_view name = to_string(Action::kAllow);          // "allow"
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace echoes::safety {

// allow: pass unchanged; flag: pass, marked; redact: pass with the matched bytes replaced;
// block: refuse.
enum class Action : std::uint8_t { kAllow, kFlag, kRedact, kBlock };   // ordered by strictness

inline constexpr std::array<Action, 4> kAllActions = {Action::kAllow, Action::kFlag,
                                                      Action::kRedact, Action::kBlock};

std::string_view to_string(Action);                   // "allow" "flag" "redact" "block"
std::optional<Action> action_from_string(std::string_view);

}  // namespace echoes::safety

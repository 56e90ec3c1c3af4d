#include "core/safety/action.h"

namespace echoes::safety {

std::string_view to_string(Action action) {
  switch (action) {
    case Action::kAllow: return "allow";
    case Action::kFlag: return "flag";
    case Action::kRedact: return "redact";
    case Action::kBlock: return "block";
  }
  return "block";
}

std::optional<Action> action_from_string(std::string_view name) {
  for (Action a : kAllActions) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}

}  // namespace echoes::safety

// Action and Severity names: the strings that appear in configurations, decisions and reports.
#include "core/safety/action.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/safety/finding.h"

namespace echoes::safety {
namespace {

TEST(Action, NamesRoundTripAndUnknownIsNullopt) {
  for (Action a : kAllActions) EXPECT_EQ(action_from_string(to_string(a)), a);
  EXPECT_EQ(to_string(Action::kRedact), "redact");
  EXPECT_EQ(action_from_string("Block"), std::nullopt);
  EXPECT_EQ(action_from_string(""), std::nullopt);
}

TEST(Action, OrderIsStrictness) {
  EXPECT_EQ(std::max(Action::kFlag, Action::kBlock), Action::kBlock);
  EXPECT_LT(Action::kAllow, Action::kFlag);
  EXPECT_LT(Action::kFlag, Action::kRedact);
}

TEST(Severity, NamesRoundTrip) {
  for (Severity s : {Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    EXPECT_EQ(severity_from_string(to_string(s)), s);
  }
  EXPECT_EQ(to_string(Severity::kCritical), "critical");
  EXPECT_EQ(severity_from_string("severe"), std::nullopt);
}

}  // namespace
}  // namespace echoes::safety

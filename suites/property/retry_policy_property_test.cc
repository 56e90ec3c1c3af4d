// Property: retry delays always fall within their bounds, whatever the retry count, random source
// and server headers.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <string>

#include "core/base/clock.h"
#include "core/openai/retry_policy.h"

namespace echoes::openai {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RetryPolicyConfig seeded(std::uint64_t seed) {
  RetryPolicyConfig config;
  config.seed = seed;
  return config;
}

RC_GTEST_PROP(RetryPolicyProperty, BackoffDelaysStayWithinTheirBounds, ()) {
  const int retries_taken = *rc::gen::inRange(0, 2000);
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  RetryPolicy policy(seeded(seed));
  FakeClock clock;
  const Duration delay = policy.delay_before_retry(retries_taken, {}, clock.wall_now());
  const auto [lower, upper] = policy.backoff_bounds(retries_taken);
  RC_ASSERT(lower <= delay);
  RC_ASSERT(delay <= upper);
  // The absolute envelope: never below 0.75 * 0.5 s, never above 8 s.
  RC_ASSERT(delay >= milliseconds(375));
  RC_ASSERT(delay <= seconds(8));
}

RC_GTEST_PROP(RetryPolicyProperty, AnyRandomSourceValueKeepsTheDelayInBounds, ()) {
  const int retries_taken = *rc::gen::inRange(0, 20);
  const double unit = *rc::gen::arbitrary<double>();  // even out of range, NaN aside
  RC_PRE(!std::isnan(unit));
  RetryPolicy policy({}, [unit] { return unit; });
  FakeClock clock;
  const Duration delay = policy.delay_before_retry(retries_taken, {}, clock.wall_now());
  const auto [lower, upper] = policy.backoff_bounds(retries_taken);
  RC_ASSERT(lower <= delay);
  RC_ASSERT(delay <= upper);
}

RC_GTEST_PROP(RetryPolicyProperty, ServerWaitsAreUsedExactlyWhenInRangeElseBackoff, ()) {
  const int retries_taken = *rc::gen::inRange(0, 10);
  const int millis = *rc::gen::inRange(-1000, 120000);
  const bool as_ms_header = *rc::gen::arbitrary<bool>();
  RetryHeaders headers;
  if (as_ms_header) {
    headers.retry_after_ms = std::to_string(millis);
  } else {
    headers.retry_after = std::to_string(millis / 1000);
  }
  RetryPolicy policy(seeded(*rc::gen::arbitrary<std::uint64_t>()));
  FakeClock clock;
  const Duration delay = policy.delay_before_retry(retries_taken, headers, clock.wall_now());
  const Duration requested = as_ms_header ? Duration(milliseconds(millis))
                                          : Duration(seconds(millis / 1000));
  if (requested > Duration::zero() && requested <= seconds(60)) {
    RC_ASSERT(delay == requested);
  } else {
    const auto [lower, upper] = policy.backoff_bounds(retries_taken);
    RC_ASSERT(lower <= delay);
    RC_ASSERT(delay <= upper);
  }
}

RC_GTEST_PROP(RetryPolicyProperty, HttpDatesGiveTheirDistanceFromNow, ()) {
  FakeClock clock;
  const int ahead = *rc::gen::inRange(-100, 100);
  const std::time_t t = std::chrono::system_clock::to_time_t(clock.wall_now()) + ahead;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  RetryPolicy policy;
  RetryHeaders headers;
  headers.retry_after = text;
  const auto delay = policy.server_requested_delay(headers, clock.wall_now());
  if (ahead > 0 && ahead <= 60) {
    RC_ASSERT(delay == std::optional<Duration>(seconds(ahead)));
  } else {
    RC_ASSERT(!delay.has_value());
  }
}

}  // namespace
}  // namespace echoes::openai

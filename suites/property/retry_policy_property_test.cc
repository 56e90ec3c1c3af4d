// Properties of the retry policy: the back-off is the official SDK's formula (written out here, not
// taken from the code), and any server header text gives either no wait or one within (0, 60 s].
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

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

// The official SDK's back-off, written out here independently of the code under test (openai-python
// `_calculate_retry_timeout`): min(INITIAL_RETRY_DELAY * 2^n, MAX_RETRY_DELAY) * (1 - 0.25 * r),
// with INITIAL_RETRY_DELAY = 0.5 s, MAX_RETRY_DELAY = 8 s, n = retries taken (at most 1000) and r
// the SDK's random() in [0, 1).
double sdk_backoff_seconds(int retries_taken, double r) {
  const int n = retries_taken < 1000 ? retries_taken : 1000;
  const double sleep_seconds = std::min(0.5 * std::pow(2.0, n), 8.0);
  return sleep_seconds * (1 - 0.25 * r);
}

double seconds_of(Duration d) { return std::chrono::duration<double>(d).count(); }

// One nanosecond of rounding either way (the delay is a whole number of nanoseconds).
constexpr double kRounding = 2e-9;

RC_GTEST_PROP(RetryPolicyProperty, BackoffIsTheSdkFormulaForTheRandomValueDrawn, ()) {
  const int retries_taken = *rc::gen::inRange(0, 2000);
  const double r = *rc::gen::inRange(0, 1'000'001) / 1e6;
  RetryPolicy policy({}, [r] { return r; });
  FakeClock clock;
  const Duration delay = policy.delay_before_retry(retries_taken, {}, clock.wall_now());
  RC_ASSERT(std::abs(seconds_of(delay) - sdk_backoff_seconds(retries_taken, r)) <= kRounding);
}

RC_GTEST_PROP(RetryPolicyProperty, SeededDelaysStayInTheSdkEnvelope, ()) {
  const int retries_taken = *rc::gen::inRange(0, 2000);
  RetryPolicy policy(seeded(*rc::gen::arbitrary<std::uint64_t>()));
  FakeClock clock;
  const double delay = seconds_of(policy.delay_before_retry(retries_taken, {}, clock.wall_now()));
  RC_ASSERT(delay >= sdk_backoff_seconds(retries_taken, 1.0) - kRounding);
  RC_ASSERT(delay <= sdk_backoff_seconds(retries_taken, 0.0) + kRounding);
}

RC_GTEST_PROP(RetryPolicyProperty, AnyRandomSourceValueKeepsTheDelayInTheSdkEnvelope, ()) {
  const int retries_taken = *rc::gen::inRange(0, 20);
  const double unit = *rc::gen::arbitrary<double>();  // even out of range, NaN aside
  RC_PRE(!std::isnan(unit));
  RetryPolicy policy({}, [unit] { return unit; });
  FakeClock clock;
  const double delay = seconds_of(policy.delay_before_retry(retries_taken, {}, clock.wall_now()));
  RC_ASSERT(delay >= sdk_backoff_seconds(retries_taken, 1.0) - kRounding);
  RC_ASSERT(delay <= sdk_backoff_seconds(retries_taken, 0.0) + kRounding);
}

// Header text of every kind: arbitrary bytes, number-like text (digits, signs, dots, exponents,
// nan, inf, spaces) and HTTP dates with fields far out of range.
rc::Gen<std::string> gen_retry_header_text() {
  const auto number_like = rc::gen::map(
      rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
          "0", "1", "9", "99999999999", ".", "e", "E", "-", "+", " ", "nan", "inf", "e308",
          "0x1p", "\t")),
      [](const std::vector<std::string>& parts) {
        std::string text;
        for (const std::string& p : parts) text += p;
        return text;
      });
  const auto date_like = rc::gen::map(
      rc::gen::tuple(rc::gen::inRange<long long>(-100000000, 100000000), rc::gen::inRange(0, 99),
                     rc::gen::element<std::string>("%a, %02d %s %lld 08:49:37 GMT",
                                                   "Sunday, %02d-%s-%lld 08:49:37 GMT",
                                                   "Sun %s %02d 08:49:37 %lld")),
      [](const std::tuple<long long, int, std::string>& t) {
        const auto& [year, day, form] = t;
        std::string text = form;
        const auto put = [&text](const std::string& field, const std::string& value) {
          if (auto at = text.find(field); at != std::string::npos) text.replace(at, field.size(), value);
        };
        put("%a", "Sun");
        put("%02d", std::to_string(day));
        put("%s", "Nov");
        put("%lld", std::to_string(year));
        return text;
      });
  return rc::gen::oneOf(rc::gen::arbitrary<std::string>(), number_like, date_like,
                        rc::gen::element<std::string>("99999999999999999999", "1e308", "-1", "nan",
                                                      "inf", "-inf", "1e400", "0", "60", "60.000001",
                                                      "Fri, 31 Dec 99999 23:59:59 GMT"));
}

RC_GTEST_PROP(RetryPolicyProperty, AnyHeaderTextGivesNoneOrAWaitWithinTheCap, ()) {
  RetryHeaders headers;
  const int which = *rc::gen::inRange(0, 3);
  if (which == 0 || which == 2) headers.retry_after_ms = *gen_retry_header_text();
  if (which == 1 || which == 2) headers.retry_after = *gen_retry_header_text();
  RetryPolicy policy;
  FakeClock clock;
  // Run under the asan preset (address,undefined,float-cast-overflow): a value converted to a
  // Duration before its range was checked stops the run there.
  const std::optional<Duration> delay = policy.server_requested_delay(headers, clock.wall_now());
  RC_CLASSIFY(delay.has_value(), "honoured");
  if (delay) {
    RC_ASSERT(*delay > Duration::zero());
    RC_ASSERT(*delay <= seconds(60));
  }
  // The retry delay is then the wait asked for, or the SDK back-off.
  const double chosen = seconds_of(policy.delay_before_retry(0, headers, clock.wall_now()));
  RC_ASSERT(chosen >= 0);
  RC_ASSERT(chosen <= 60);
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
    const double chosen = seconds_of(delay);
    RC_ASSERT(chosen >= sdk_backoff_seconds(retries_taken, 1.0) - kRounding);
    RC_ASSERT(chosen <= sdk_backoff_seconds(retries_taken, 0.0) + kRounding);
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

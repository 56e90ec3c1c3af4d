// RetryPolicy: when to retry a failed upstream attempt and how long to wait first, with the
// semantics of OpenAI's official SDKs.
//
//   RetryPolicy policy;                               // 2 retries, 0.5 s initial, 8 s maximum
//   AttemptFailure failure{.http_status = 429, .code = ErrorCode::kRateLimitedUpstream,
//                          .headers = {.retry_after_ms = "1500"}};
//   if (retries_taken < policy.max_retries() && policy.is_retryable(failure))
//     clock.sleep_for(policy.delay_before_retry(retries_taken, failure.headers, clock.wall_now()));
//
// Decision: an `x-should-retry: true|false` response header decides when present; otherwise
// 408, 409, 429 and every 5xx are retried, and so are connection failures and timeouts (no HTTP
// status). Local refusals (circuit open, rate limited locally) and every other error are not.
//
// Delay: `retry-after-ms` (milliseconds), else `retry-after` (seconds, or an HTTP date measured
// against the wall clock), when the value is above 0 and at most 60 s; otherwise exponential
// back-off min(0.5 s * 2^n, 8 s) times a random factor in [0.75, 1], n = retries already taken.
// The random source is injected (or seeded), so runs repeat exactly. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "core/base/clock.h"
#include "core/base/error.h"

namespace echoes::openai {

// The response headers that steer retrying, verbatim (absent when the response lacked them).
struct RetryHeaders {
  std::optional<std::string> should_retry;    // x-should-retry
  std::optional<std::string> retry_after_ms;  // retry-after-ms
  std::optional<std::string> retry_after;     // retry-after
  friend bool operator==(const RetryHeaders&, const RetryHeaders&) = default;
};

// What went wrong in one attempt.
struct AttemptFailure {
  std::optional<int> http_status;  // set when the upstream answered with a status
  ErrorCode code = ErrorCode::kInternal;
  RetryHeaders headers;
};

struct RetryPolicyConfig {
  int max_retries = 2;
  Duration initial_delay = std::chrono::milliseconds(500);
  Duration max_delay = std::chrono::seconds(8);
  // A server-requested wait is honoured only when it is above 0 and at most this.
  Duration max_server_delay = std::chrono::seconds(60);
  // Back-off is multiplied by a factor drawn uniformly from [min_jitter_factor, 1].
  double min_jitter_factor = 0.75;
  // Seeds the default random source (ignored when a source is injected).
  std::uint64_t seed = 0x5eed5eedULL;
};

class RetryPolicy {
 public:
  // Returns a number uniformly distributed in [0, 1]. Called under the policy's lock.
  using UnitRandom = std::function<double()>;

  explicit RetryPolicy(RetryPolicyConfig config = {});
  RetryPolicy(RetryPolicyConfig config, UnitRandom random);

  const RetryPolicyConfig& config() const { return config_; }
  int max_retries() const { return config_.max_retries; }

  // Whether this failure is worth another attempt (the caller checks the retry budget).
  bool is_retryable(const AttemptFailure& failure) const;

  // The wait the server asked for, when it is valid and within (0, max_server_delay]. Any header
  // text is safe: the range is checked before the value becomes a Duration.
  std::optional<Duration> server_requested_delay(const RetryHeaders& headers, WallTime now) const;

  // The wait before the next attempt after `retries_taken` retries (0 before the first retry).
  Duration delay_before_retry(int retries_taken, const RetryHeaders& headers, WallTime now);

  // The closed interval the back-off (without a server-requested wait) falls in.
  std::pair<Duration, Duration> backoff_bounds(int retries_taken) const;

 private:
  RetryPolicyConfig config_;
  mutable std::mutex mutex_;
  std::mt19937_64 engine_;
  UnitRandom random_;
};

// Parses a `retry-after` / `retry-after-ms` style number: decimal, optionally fractional, no sign,
// surrounding spaces allowed. nullopt for anything else (including NaN and infinities).
std::optional<double> parse_retry_number(std::string_view text);

// Parses an HTTP date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 or asctime form).
// nullopt also for a date the wall clock cannot represent (beyond about 2262).
std::optional<WallTime> parse_http_date(std::string_view text);
// The same date as seconds since 1970 (any year strptime accepts, so range checks come first).
std::optional<double> parse_http_date_seconds(std::string_view text);

}  // namespace echoes::openai

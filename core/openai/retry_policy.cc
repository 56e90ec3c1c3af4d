#include "core/openai/retry_policy.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "core/base/strings.h"

namespace echoes::openai {
namespace {

// Rounded, not truncated: 4.084 s must be 4084 ms exactly, not 1 ns less.
Duration seconds_to_duration(double seconds) {
  return std::chrono::round<Duration>(std::chrono::duration<double>(seconds));
}

// A server-requested wait of `seconds` when it is within (0, max]. The range is checked on the
// double first: a value such as 1e20 does not fit in a Duration, and converting it would be
// undefined behaviour.
std::optional<Duration> bounded_wait(double seconds, Duration max) {
  const double max_seconds = std::chrono::duration<double>(max).count();
  if (!(seconds > 0) || !(seconds <= max_seconds)) return std::nullopt;  // NaN fails both
  return seconds_to_duration(seconds);
}

}  // namespace

std::optional<double> parse_retry_number(std::string_view text) {
  text = trim_http_whitespace(text);
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value,
                                   std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<WallTime> parse_http_date(std::string_view text) {
  const std::optional<double> seconds = parse_http_date_seconds(text);
  // system_clock counts nanoseconds in 64 bits: about 292 years either side of 1970.
  constexpr double kRepresentable = 9.0e9;
  if (!seconds || *seconds > kRepresentable || *seconds < -kRepresentable) return std::nullopt;
  return std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*seconds));
}

std::optional<double> parse_http_date_seconds(std::string_view text) {
  const std::string s(trim_http_whitespace(text));
  // RFC 9110 section 5.6.7: the preferred form and the two obsolete ones a recipient must accept.
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                             "%a %b %d %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const std::time_t t = timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) continue;
    return static_cast<double>(t);
  }
  return std::nullopt;
}

RetryPolicy::RetryPolicy(RetryPolicyConfig config) : config_(config), engine_(config.seed) {}

RetryPolicy::RetryPolicy(RetryPolicyConfig config, UnitRandom random)
    : config_(config), engine_(config.seed), random_(std::move(random)) {}

bool RetryPolicy::is_retryable(const AttemptFailure& failure) const {
  if (failure.code == ErrorCode::kCircuitOpen || failure.code == ErrorCode::kRateLimitedLocally) {
    return false;  // local refusals: retrying would only ask the same question again
  }
  if (!failure.http_status) {
    return failure.code == ErrorCode::kConnection || failure.code == ErrorCode::kTimeout;
  }
  if (failure.headers.should_retry) {
    const std::string_view v = trim_http_whitespace(*failure.headers.should_retry);
    if (equals_ignoring_case(v, "true")) return true;
    if (equals_ignoring_case(v, "false")) return false;
    // Any other value is ignored, as the SDKs do.
  }
  const int status = *failure.http_status;
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

std::optional<Duration> RetryPolicy::server_requested_delay(const RetryHeaders& headers,
                                                           WallTime now) const {
  // The wait in seconds, as a double until its range is known. A header that parses decides, as
  // in the SDKs: retry-after-ms first, then retry-after as seconds or as an HTTP date.
  std::optional<double> seconds;
  if (headers.retry_after_ms) {
    if (auto ms = parse_retry_number(*headers.retry_after_ms)) seconds = *ms / 1000.0;
  }
  if (!seconds && headers.retry_after) {
    if (auto s = parse_retry_number(*headers.retry_after)) {
      seconds = *s;
    } else if (auto date = parse_http_date_seconds(*headers.retry_after)) {
      seconds = *date - std::chrono::duration<double>(now.time_since_epoch()).count();
    }
  }
  if (!seconds) return std::nullopt;
  return bounded_wait(*seconds, config_.max_server_delay);
}

std::pair<Duration, Duration> RetryPolicy::backoff_bounds(int retries_taken) const {
  // 2^n overflows nothing as a double, and the cap applies long before precision matters.
  const int n = retries_taken < 0 ? 0 : (retries_taken > 1000 ? 1000 : retries_taken);
  const double initial = std::chrono::duration<double>(config_.initial_delay).count();
  const double cap = std::chrono::duration<double>(config_.max_delay).count();
  const double upper = std::min(initial * std::pow(2.0, n), cap);
  return {seconds_to_duration(upper * config_.min_jitter_factor), seconds_to_duration(upper)};
}

Duration RetryPolicy::delay_before_retry(int retries_taken, const RetryHeaders& headers,
                                         WallTime now) {
  if (auto requested = server_requested_delay(headers, now)) return *requested;
  const auto [lower, upper] = backoff_bounds(retries_taken);
  double unit = 0;
  {
    std::lock_guard lock(mutex_);
    unit = random_ ? random_()
                   : std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }
  unit = std::clamp(unit, 0.0, 1.0);
  // factor = 1 - (1 - min_factor) * unit, so the delay spans [lower, upper].
  const double factor = 1.0 - (1.0 - config_.min_jitter_factor) * unit;
  const double upper_seconds = std::chrono::duration<double>(upper).count();
  return std::clamp(seconds_to_duration(upper_seconds * factor), lower, upper);
}

}  // namespace echoes::openai

#include "core/openai/retry_policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace echoes::openai {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RetryHeaders wait_headers(std::optional<std::string> retry_after_ms,
                          std::optional<std::string> retry_after) {
  RetryHeaders h;
  h.retry_after_ms = std::move(retry_after_ms);
  h.retry_after = std::move(retry_after);
  return h;
}

RetryPolicyConfig seeded(std::uint64_t seed) {
  RetryPolicyConfig config;
  config.seed = seed;
  return config;
}

TEST(RetryPolicyTest, RetriesWhatTheOfficialSdksRetry) {
  struct Row {
    const char* name;
    AttemptFailure failure;
    bool retryable;
  };
  auto http = [](int status, std::optional<std::string> should_retry = std::nullopt) {
    AttemptFailure f;
    f.http_status = status;
    f.code = error_code_for_http_status(status);
    f.headers.should_retry = std::move(should_retry);
    return f;
  };
  auto transport = [](ErrorCode code) {
    AttemptFailure f;
    f.code = code;
    return f;
  };
  const Row rows[] = {
      {"400 bad request is final", http(400), false},
      {"401 authentication is final", http(401), false},
      {"403 permission is final", http(403), false},
      {"404 not found is final", http(404), false},
      {"408 request timeout is retried", http(408), true},
      {"409 conflict is retried", http(409), true},
      {"422 unprocessable is final", http(422), false},
      {"429 rate limited is retried", http(429), true},
      {"500 is retried", http(500), true},
      {"502 is retried", http(502), true},
      {"503 is retried", http(503), true},
      {"504 is retried", http(504), true},
      {"599 is retried", http(599), true},
      {"x-should-retry true makes 400 retried", http(400, "true"), true},
      {"x-should-retry false makes 503 final", http(503, "false"), false},
      {"x-should-retry false makes 429 final", http(429, "false"), false},
      {"x-should-retry is case-insensitive", http(400, " TRUE "), true},
      {"an unknown x-should-retry value is ignored", http(500, "maybe"), true},
      {"connection failures are retried", transport(ErrorCode::kConnection), true},
      {"timeouts are retried", transport(ErrorCode::kTimeout), true},
      {"a malformed response is final", transport(ErrorCode::kMalformedResponse), false},
      {"a truncated stream is final", transport(ErrorCode::kStreamTruncated), false},
      {"circuit open is never retried", transport(ErrorCode::kCircuitOpen), false},
      {"rate limited locally is never retried", transport(ErrorCode::kRateLimitedLocally), false},
  };
  RetryPolicy policy;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(policy.is_retryable(row.failure), row.retryable);
  }
}

TEST(RetryPolicyTest, HonoursServerRequestedWaitsWithinSixtySeconds) {
  FakeClock clock;  // wall time 2026-01-01T00:00:00Z, a Thursday
  struct Row {
    const char* name;
    RetryHeaders headers;
    std::optional<Duration> expected;
  };
  const Row rows[] = {
      {"retry-after-ms", wait_headers("1500", std::nullopt), milliseconds(1500)},
      {"fractional retry-after-ms", wait_headers("2.5", std::nullopt), std::chrono::microseconds(2500)},
      {"retry-after-ms wins over retry-after", wait_headers("100", "7"),
       milliseconds(100)},
      {"invalid retry-after-ms falls back to retry-after",
       wait_headers("soon", "7"), seconds(7)},
      {"retry-after in seconds", wait_headers(std::nullopt, "3"), seconds(3)},
      {"fractional retry-after", wait_headers(std::nullopt, "0.25"), milliseconds(250)},
      {"exactly sixty seconds is honoured", wait_headers(std::nullopt, "60"), seconds(60)},
      {"above sixty seconds is ignored", wait_headers(std::nullopt, "61"), std::nullopt},
      {"above sixty seconds in ms is ignored", wait_headers("60001", std::nullopt), std::nullopt},
      {"zero is ignored", wait_headers(std::nullopt, "0"), std::nullopt},
      {"negative is ignored", wait_headers(std::nullopt, "-5"), std::nullopt},
      {"garbage is ignored", wait_headers(std::nullopt, "tomorrow"), std::nullopt},
      {"HTTP date ten seconds ahead", wait_headers(std::nullopt, "Thu, 01 Jan 2026 00:00:10 GMT"), seconds(10)},
      {"RFC 850 date", wait_headers(std::nullopt, "Thursday, 01-Jan-26 00:00:20 GMT"), seconds(20)},
      {"asctime date", wait_headers(std::nullopt, "Thu Jan  1 00:00:30 2026"), seconds(30)},
      {"HTTP date in the past is ignored", wait_headers(std::nullopt, "Wed, 31 Dec 2025 23:59:00 GMT"),
       std::nullopt},
      {"HTTP date too far ahead is ignored", wait_headers(std::nullopt, "Thu, 01 Jan 2026 00:05:00 GMT"),
       std::nullopt},
      {"no headers", {}, std::nullopt},
  };
  RetryPolicy policy;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(policy.server_requested_delay(row.headers, clock.wall_now()), row.expected);
    if (row.expected) {
      // A server-requested wait is used as is, with no jitter.
      EXPECT_EQ(policy.delay_before_retry(0, row.headers, clock.wall_now()), *row.expected);
    }
  }
}

TEST(RetryPolicyTest, BacksOffExponentiallyUpToEightSecondsWithJitter) {
  struct Row {
    int retries_taken;
    Duration upper;
  };
  const Row rows[] = {{0, milliseconds(500)}, {1, seconds(1)},  {2, seconds(2)},
                      {3, seconds(4)},        {4, seconds(8)},  {5, seconds(8)},
                      {100, seconds(8)},      {5000, seconds(8)}};
  double unit = 0;
  RetryPolicy policy({}, [&unit] { return unit; });
  FakeClock clock;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.retries_taken);
    const Duration lower = std::chrono::duration_cast<Duration>(row.upper * 3 / 4);
    EXPECT_EQ(policy.backoff_bounds(row.retries_taken), std::make_pair(lower, row.upper));
    unit = 0.0;  // factor 1
    EXPECT_EQ(policy.delay_before_retry(row.retries_taken, {}, clock.wall_now()), row.upper);
    unit = 1.0;  // factor 0.75
    EXPECT_EQ(policy.delay_before_retry(row.retries_taken, {}, clock.wall_now()), lower);
    unit = 0.5;  // factor 0.875
    EXPECT_EQ(policy.delay_before_retry(row.retries_taken, {}, clock.wall_now()),
              std::chrono::duration_cast<Duration>(row.upper * 7 / 8));
  }
}

TEST(RetryPolicyTest, TheSameSeedGivesTheSameDelays) {
  FakeClock clock;
  RetryPolicy a(seeded(42));
  RetryPolicy b(seeded(42));
  RetryPolicy c(seeded(43));
  std::vector<Duration> da, db, dc;
  for (int i = 0; i < 20; ++i) {
    da.push_back(a.delay_before_retry(i % 5, {}, clock.wall_now()));
    db.push_back(b.delay_before_retry(i % 5, {}, clock.wall_now()));
    dc.push_back(c.delay_before_retry(i % 5, {}, clock.wall_now()));
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(RetryPolicyTest, DefaultsAreTheSdks) {
  RetryPolicy policy;
  EXPECT_EQ(policy.max_retries(), 2);
  EXPECT_EQ(policy.config().initial_delay, milliseconds(500));
  EXPECT_EQ(policy.config().max_delay, seconds(8));
  EXPECT_EQ(policy.config().max_server_delay, seconds(60));
}

// Values that do not fit in a Duration are refused before any conversion (under the asan preset,
// with float-cast-overflow, converting first would stop the run).
TEST(RetryPolicyTest, HugeOrNonFiniteServerWaitsAreIgnored) {
  RetryPolicy policy;
  const WallTime now = std::chrono::system_clock::from_time_t(1767225600);  // 2026-01-01
  for (const char* text : {"99999999999999999999", "1e308", "-1", "nan", "inf", "-inf",
                           "179769313486231570000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000000000000000000000000000000",
                           "Fri, 31 Dec 99999 23:59:59 GMT", "Fri, 31 Dec 2300 23:59:59 GMT"}) {
    SCOPED_TRACE(text);
    RetryHeaders seconds_header;
    seconds_header.retry_after = text;
    EXPECT_EQ(policy.server_requested_delay(seconds_header, now), std::nullopt);
    RetryHeaders millis_header;
    millis_header.retry_after_ms = text;
    EXPECT_EQ(policy.server_requested_delay(millis_header, now), std::nullopt);
  }
}

TEST(RetryNumberTest, ParsesPlainDecimalsOnly) {
  struct Row {
    const char* text;
    std::optional<double> value;
  };
  const Row rows[] = {{"1", 1.0},         {" 2.5 ", 2.5},     {"0", 0.0},        {"", std::nullopt},
                      {"-1", std::nullopt}, {"+1", std::nullopt}, {"1e3", std::nullopt},
                      {"inf", std::nullopt}, {"nan", std::nullopt}, {"12abc", std::nullopt}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.text);
    EXPECT_EQ(parse_retry_number(row.text), row.value);
  }
}

TEST(HttpDateTest, ParsesTheThreeFormsOfRfc9110) {
  const WallTime expected = WallTime(std::chrono::seconds(784111777));  // 1994-11-06T08:49:37Z
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
  EXPECT_EQ(parse_http_date("06 Nov 1994"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT trailing"), std::nullopt);
}

}  // namespace
}  // namespace echoes::openai

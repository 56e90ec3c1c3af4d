// Error propagation: every fault the mock server injects, through the resilient client, reaches the
// caller as exactly the expected typed error, or as a success after the expected number of
// upstream attempts (counted in the mock's journal), within a bounded time.
//
// Each row of kCases is one test, named after its row, so the table reads as the specification:
//
//   fault            the fault the mock injects on every chat request (or on the first only)
//   mode             JSON (chat) or stream (chat_stream)
//   retries          on: the SDK default of 2 retries; off: 0 retries
//   breaker          on: kBreaker settings below, consulted around every attempt; off: no breaker
//   expected         success, or the ErrorCode the caller sees
//   attempts         upstream attempts the mock's journal shows (x-stainless-retry-count 0..n-1)
//   breaker after    the breaker's state after the call (rows with the breaker on)
//
// Breaker settings of every "breaker on" row (kBreaker): count-based window of 2 calls, minimum 2
// calls, failure-rate threshold 100 %, so two failed attempts in a row open it; 60 s in open state
// (the test clock never reaches it). With retries on, a persistent retryable fault therefore fails
// twice and the third attempt is refused as circuit_open, never retried.
//
// The upstream is echoes-mock in-process (harness::MockServerFixture) replaying the committed
// cassettes; the faults are set per case as a scenario on the chat route.
//
// The client runs on a FakeClock: retry waits are recorded, not slept. The mock runs in real time
// (its faults act on real sockets); the client's read timeout is 300 ms, so a hang costs at most
// 300 ms per attempt.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/base/clock.h"
#include "core/openai/client.h"
#include "core/openai/codec.h"
#include "core/safety/circuit_breaker.h"
#include "core/safety/rate_limiter.h"
#include "harness/mock_server_fixture.h"
#include "mock_server/mock_server.h"

namespace echoes {
namespace {

using mock::FaultKind;
using mock::FaultSpec;
using openai::ChatCompletionChunk;
using openai::ChatCompletionRequest;
using openai::ChatMessage;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// The faults

enum class Fault {
  kLatency50ms,
  kStatus429,  // with retry-after-ms: 20
  kStatus500,
  kStatus502,
  kStatus503,
  kStatus504,
  kReset,
  kClose,
  kMalformedBody,
  kStreamCut,
  kSlowDribble,
  kHang,
};

FaultSpec spec_of(Fault fault) {
  FaultSpec spec;
  auto status = [&spec](int code) {
    spec.kind = FaultKind::kStatus;
    spec.status = code;
  };
  switch (fault) {
    case Fault::kLatency50ms:
      spec.kind = FaultKind::kLatency;
      spec.latency.fixed_ms = 50;
      break;
    case Fault::kStatus429:
      status(429);
      spec.retry_after_ms = 20;
      break;
    case Fault::kStatus500: status(500); break;
    case Fault::kStatus502: status(502); break;
    case Fault::kStatus503: status(503); break;
    case Fault::kStatus504: status(504); break;
    case Fault::kReset: spec.kind = FaultKind::kReset; break;
    case Fault::kClose: spec.kind = FaultKind::kClose; break;
    case Fault::kMalformedBody: spec.kind = FaultKind::kMalformedBody; break;
    case Fault::kStreamCut:
      spec.kind = FaultKind::kStreamCut;
      spec.cut_after_chunks = 1;
      break;
    case Fault::kSlowDribble:
      spec.kind = FaultKind::kSlowDribble;
      spec.dribble_bytes = 32;
      spec.dribble_interval_ms = 2;
      break;
    case Fault::kHang:
      spec.kind = FaultKind::kHang;
      spec.hang_ms = 5000;
      break;
  }
  return spec;
}

const char* name_of(Fault fault) {
  switch (fault) {
    case Fault::kLatency50ms: return "latency_50ms";
    case Fault::kStatus429: return "status_429_retry_after_20ms";
    case Fault::kStatus500: return "status_500";
    case Fault::kStatus502: return "status_502";
    case Fault::kStatus503: return "status_503";
    case Fault::kStatus504: return "status_504";
    case Fault::kReset: return "connection_reset";
    case Fault::kClose: return "close_without_bytes";
    case Fault::kMalformedBody: return "malformed_body";
    case Fault::kStreamCut: return "cut_before_done";
    case Fault::kSlowDribble: return "slow_dribble";
    case Fault::kHang: return "hang";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// The table

enum class Times { kEvery, kFirstOnly };   // the fault hits every request, or the first one only
enum class Mode { kJson, kStream };
enum class Retries { kOff, kOn };
enum class Breaker { kOff, kOn };

struct Expected {
  std::optional<ErrorCode> error;  // nullopt: success
};
constexpr Expected succeeds() { return Expected{std::nullopt}; }
constexpr Expected fails_with(ErrorCode code) { return Expected{code}; }

struct Case {
  Fault fault;
  Times times;
  Mode mode;
  Retries retries;
  Breaker breaker;
  Expected expected;
  int attempts;
  CircuitState breaker_after;  // meaningful when breaker == kOn
};

constexpr auto kEvery = Times::kEvery;
constexpr auto kFirstOnly = Times::kFirstOnly;
constexpr auto kJson = Mode::kJson;
constexpr auto kStream = Mode::kStream;
constexpr auto kRetriesOn = Retries::kOn;
constexpr auto kRetriesOff = Retries::kOff;
constexpr auto kBreakerOn = Breaker::kOn;
constexpr auto kBreakerOff = Breaker::kOff;
constexpr auto kClosed = CircuitState::kClosed;
constexpr auto kOpen = CircuitState::kOpen;
constexpr auto kServerError = ErrorCode::kServerError;
constexpr auto kRateLimited = ErrorCode::kRateLimitedUpstream;
constexpr auto kConnection = ErrorCode::kConnection;
constexpr auto kTimeout = ErrorCode::kTimeout;
constexpr auto kMalformed = ErrorCode::kMalformedResponse;
constexpr auto kTruncated = ErrorCode::kStreamTruncated;
constexpr auto kCircuitOpen = ErrorCode::kCircuitOpen;

// clang-format off
const Case kCases[] = {
  // fault                 times       mode     retries      breaker      expected                    attempts breaker after
  // Latency delays the answer and nothing else.
  {Fault::kLatency50ms,    kEvery,     kJson,   kRetriesOn,  kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kLatency50ms,    kEvery,     kJson,   kRetriesOn,  kBreakerOn,  succeeds(),                 1, kClosed},
  {Fault::kLatency50ms,    kEvery,     kJson,   kRetriesOff, kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kLatency50ms,    kEvery,     kJson,   kRetriesOff, kBreakerOn,  succeeds(),                 1, kClosed},
  {Fault::kLatency50ms,    kEvery,     kStream, kRetriesOn,  kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kLatency50ms,    kEvery,     kStream, kRetriesOn,  kBreakerOn,  succeeds(),                 1, kClosed},
  {Fault::kLatency50ms,    kEvery,     kStream, kRetriesOff, kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kLatency50ms,    kEvery,     kStream, kRetriesOff, kBreakerOn,  succeeds(),                 1, kClosed},
  // A slow dribble is slow, not broken.
  {Fault::kSlowDribble,    kEvery,     kJson,   kRetriesOn,  kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kSlowDribble,    kEvery,     kJson,   kRetriesOn,  kBreakerOn,  succeeds(),                 1, kClosed},
  {Fault::kSlowDribble,    kEvery,     kJson,   kRetriesOff, kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kSlowDribble,    kEvery,     kJson,   kRetriesOff, kBreakerOn,  succeeds(),                 1, kClosed},
  {Fault::kSlowDribble,    kEvery,     kStream, kRetriesOn,  kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kSlowDribble,    kEvery,     kStream, kRetriesOn,  kBreakerOn,  succeeds(),                 1, kClosed},
  {Fault::kSlowDribble,    kEvery,     kStream, kRetriesOff, kBreakerOff, succeeds(),                 1, kClosed},
  {Fault::kSlowDribble,    kEvery,     kStream, kRetriesOff, kBreakerOn,  succeeds(),                 1, kClosed},
  // 429 is retried after the server's retry-after-ms; persistent, it exhausts the retries or
  // opens the breaker.
  {Fault::kStatus429,      kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kRateLimited),   3, kClosed},
  {Fault::kStatus429,      kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus429,      kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kRateLimited),   1, kClosed},
  {Fault::kStatus429,      kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kRateLimited),   1, kClosed},
  {Fault::kStatus429,      kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kRateLimited),   3, kClosed},
  {Fault::kStatus429,      kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus429,      kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kRateLimited),   1, kClosed},
  {Fault::kStatus429,      kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kRateLimited),   1, kClosed},
  {Fault::kStatus429,      kFirstOnly, kJson,   kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kStatus429,      kFirstOnly, kJson,   kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kStatus429,      kFirstOnly, kJson,   kRetriesOff, kBreakerOff, fails_with(kRateLimited),   1, kClosed},
  {Fault::kStatus429,      kFirstOnly, kJson,   kRetriesOff, kBreakerOn,  fails_with(kRateLimited),   1, kClosed},
  {Fault::kStatus429,      kFirstOnly, kStream, kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kStatus429,      kFirstOnly, kStream, kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kStatus429,      kFirstOnly, kStream, kRetriesOff, kBreakerOff, fails_with(kRateLimited),   1, kClosed},
  {Fault::kStatus429,      kFirstOnly, kStream, kRetriesOff, kBreakerOn,  fails_with(kRateLimited),   1, kClosed},
  // Every 5xx is a retried server error.
  {Fault::kStatus500,      kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus500,      kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus500,      kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus500,      kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus500,      kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus500,      kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus500,      kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus500,      kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus502,      kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus502,      kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus502,      kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus502,      kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus502,      kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus502,      kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus502,      kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus502,      kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus503,      kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus503,      kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus503,      kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus503,      kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kFirstOnly, kJson,   kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kStatus503,      kFirstOnly, kJson,   kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kStatus503,      kFirstOnly, kJson,   kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kFirstOnly, kJson,   kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kFirstOnly, kStream, kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kStatus503,      kFirstOnly, kStream, kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kStatus503,      kFirstOnly, kStream, kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus503,      kFirstOnly, kStream, kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus504,      kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus504,      kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus504,      kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus504,      kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  {Fault::kStatus504,      kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kServerError),   3, kClosed},
  {Fault::kStatus504,      kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStatus504,      kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kServerError),   1, kClosed},
  {Fault::kStatus504,      kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kServerError),   1, kClosed},
  // A reset or a close before any byte is a retried connection error.
  {Fault::kReset,          kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kConnection),    3, kClosed},
  {Fault::kReset,          kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kReset,          kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kConnection),    1, kClosed},
  {Fault::kReset,          kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kConnection),    1, kClosed},
  {Fault::kReset,          kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kConnection),    3, kClosed},
  {Fault::kReset,          kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kReset,          kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kConnection),    1, kClosed},
  {Fault::kReset,          kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kConnection),    1, kClosed},
  {Fault::kReset,          kFirstOnly, kJson,   kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kReset,          kFirstOnly, kJson,   kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kReset,          kFirstOnly, kJson,   kRetriesOff, kBreakerOff, fails_with(kConnection),    1, kClosed},
  {Fault::kReset,          kFirstOnly, kJson,   kRetriesOff, kBreakerOn,  fails_with(kConnection),    1, kClosed},
  {Fault::kReset,          kFirstOnly, kStream, kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kReset,          kFirstOnly, kStream, kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kReset,          kFirstOnly, kStream, kRetriesOff, kBreakerOff, fails_with(kConnection),    1, kClosed},
  {Fault::kReset,          kFirstOnly, kStream, kRetriesOff, kBreakerOn,  fails_with(kConnection),    1, kClosed},
  {Fault::kClose,          kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kConnection),    3, kClosed},
  {Fault::kClose,          kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kClose,          kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kConnection),    1, kClosed},
  {Fault::kClose,          kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kConnection),    1, kClosed},
  {Fault::kClose,          kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kConnection),    3, kClosed},
  {Fault::kClose,          kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kClose,          kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kConnection),    1, kClosed},
  {Fault::kClose,          kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kConnection),    1, kClosed},
  // A hang ends at the client's read timeout: a retried timeout.
  {Fault::kHang,           kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kTimeout),       3, kClosed},
  {Fault::kHang,           kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kHang,           kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kTimeout),       1, kClosed},
  {Fault::kHang,           kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kTimeout),       1, kClosed},
  {Fault::kHang,           kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kTimeout),       3, kClosed},
  {Fault::kHang,           kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kHang,           kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kTimeout),       1, kClosed},
  {Fault::kHang,           kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kTimeout),       1, kClosed},
  {Fault::kHang,           kFirstOnly, kJson,   kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kHang,           kFirstOnly, kJson,   kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kHang,           kFirstOnly, kJson,   kRetriesOff, kBreakerOff, fails_with(kTimeout),       1, kClosed},
  {Fault::kHang,           kFirstOnly, kJson,   kRetriesOff, kBreakerOn,  fails_with(kTimeout),       1, kClosed},
  {Fault::kHang,           kFirstOnly, kStream, kRetriesOn,  kBreakerOff, succeeds(),                 2, kClosed},
  {Fault::kHang,           kFirstOnly, kStream, kRetriesOn,  kBreakerOn,  succeeds(),                 2, kClosed},
  {Fault::kHang,           kFirstOnly, kStream, kRetriesOff, kBreakerOff, fails_with(kTimeout),       1, kClosed},
  {Fault::kHang,           kFirstOnly, kStream, kRetriesOff, kBreakerOn,  fails_with(kTimeout),       1, kClosed},
  // A 200 with a broken body is malformed and never retried (the upstream did answer).
  {Fault::kMalformedBody,  kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kMalformed),     1, kClosed},
  {Fault::kMalformedBody,  kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kMalformed),     1, kClosed},
  {Fault::kMalformedBody,  kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kMalformed),     1, kClosed},
  {Fault::kMalformedBody,  kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kMalformed),     1, kClosed},
  {Fault::kMalformedBody,  kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kMalformed),     1, kClosed},
  {Fault::kMalformedBody,  kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kMalformed),     1, kClosed},
  {Fault::kMalformedBody,  kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kMalformed),     1, kClosed},
  {Fault::kMalformedBody,  kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kMalformed),     1, kClosed},
  // Cut mid-body: a JSON answer cut short is a retried connection error; a stream that has begun
  // and stops before [DONE] is truncated and never retried (never a partial success).
  {Fault::kStreamCut,      kEvery,     kJson,   kRetriesOn,  kBreakerOff, fails_with(kConnection),    3, kClosed},
  {Fault::kStreamCut,      kEvery,     kJson,   kRetriesOn,  kBreakerOn,  fails_with(kCircuitOpen),   2, kOpen},
  {Fault::kStreamCut,      kEvery,     kJson,   kRetriesOff, kBreakerOff, fails_with(kConnection),    1, kClosed},
  {Fault::kStreamCut,      kEvery,     kJson,   kRetriesOff, kBreakerOn,  fails_with(kConnection),    1, kClosed},
  {Fault::kStreamCut,      kEvery,     kStream, kRetriesOn,  kBreakerOff, fails_with(kTruncated),     1, kClosed},
  {Fault::kStreamCut,      kEvery,     kStream, kRetriesOn,  kBreakerOn,  fails_with(kTruncated),     1, kClosed},
  {Fault::kStreamCut,      kEvery,     kStream, kRetriesOff, kBreakerOff, fails_with(kTruncated),     1, kClosed},
  {Fault::kStreamCut,      kEvery,     kStream, kRetriesOff, kBreakerOn,  fails_with(kTruncated),     1, kClosed},
};
// clang-format on

std::string case_name(const Case& c) {
  std::string name = name_of(c.fault);
  if (c.times == kFirstOnly) name += "_on_first_request_only";
  name += c.mode == kJson ? "__json" : "__stream";
  name += c.retries == kRetriesOn ? "__retries_on" : "__retries_off";
  name += c.breaker == kBreakerOn ? "__breaker_on" : "__breaker_off";
  if (c.expected.error) {
    name += "__fails_with_" + std::string(to_string(*c.expected.error));
  } else {
    name += "__succeeds";
  }
  name += "_after_" + std::to_string(c.attempts) + (c.attempts == 1 ? "_attempt" : "_attempts");
  if (c.breaker == kBreakerOn) name += c.breaker_after == kOpen ? "__breaker_opens" : "__breaker_stays_closed";
  return name;
}

// gtest prints a failing row by its name rather than its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << case_name(c); }

// Breaker settings of the "breaker on" rows (see the file comment).
CircuitBreakerConfig breaker_settings() {
  CircuitBreakerConfig config;
  config.sliding_window_type = SlidingWindowType::kCountBased;
  config.sliding_window_size = 2;
  config.minimum_number_of_calls = 2;
  config.failure_rate_threshold_percent = 100;
  config.wait_duration_in_open_state = std::chrono::seconds(60);
  config.permitted_number_of_calls_in_half_open_state = 1;
  return config;
}

// ---------------------------------------------------------------------------------------------
// The mock upstream: the recorded "Say hello." chat completion of fixtures/cassettes, served as
// JSON or as a stream synthesised from the recording.

const char* const kRecordedAnswer = "Hello! How can I help you today?";

ChatCompletionRequest question() {
  ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {ChatMessage::user("Say hello.")};
  return request;
}

// One mock server for the whole suite process: each case sets its scenario and resets the journal.
class MockUpstream {
 public:
  static MockUpstream& instance() {
    static MockUpstream upstream;
    return upstream;
  }
  harness::MockServerFixture* fixture() { return started_ ? &fixture_ : nullptr; }
  const std::string& startup_error() const { return startup_error_; }

 private:
  MockUpstream() : fixture_(options()) {
    Status s = fixture_.start();
    started_ = s.ok();
    if (!s) startup_error_ = s.error().to_string();
  }
  static mock::MockServerOptions options() {
    mock::MockServerOptions o = harness::MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes");
    o.hang_limit_ms = 5000;  // longer than the client's read timeout: the client gives up first
    o.worker_threads = 16;
    return o;
  }

  harness::MockServerFixture fixture_;
  bool started_ = false;
  std::string startup_error_;
};

// ---------------------------------------------------------------------------------------------
// The test

class ErrorPropagationTest : public ::testing::TestWithParam<Case> {};

TEST_P(ErrorPropagationTest, CallerSeesExactlyTheExpectedOutcome) {
  const Case& c = GetParam();
  MockUpstream& upstream = MockUpstream::instance();
  ASSERT_NE(upstream.fixture(), nullptr) << upstream.startup_error();
  mock::MockServer& server = upstream.fixture()->server();

  FaultSpec fault = spec_of(c.fault);
  if (c.times == kFirstOnly) fault.times = 1;
  mock::Scenario scenario;
  scenario.name = case_name(c);
  mock::ScenarioRule rule;
  rule.method = "POST";
  rule.path = "/v1/chat/completions";
  rule.faults = {fault};
  scenario.rules = {rule};
  server.reset();
  server.set_scenario(scenario);

  FakeClock clock;
  openai::ClientConfig config;
  config.base_url = server.base_url() + "/v1";
  config.api_key = "sk-errors-suite";
  config.read_timeout = milliseconds(300);
  config.connect_timeout = milliseconds(1000);
  config.retry.max_retries = c.retries == kRetriesOn ? 2 : 0;
  auto client = openai::Client::create(config, clock, [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(client.ok()) << client.error().to_string();

  CircuitBreaker breaker(breaker_settings(), clock);
  openai::CircuitBreakerGate<CircuitBreaker> breaker_gate(breaker);
  openai::CallOptions options;
  if (c.breaker == kBreakerOn) options.gate = &breaker_gate;

  const auto started = std::chrono::steady_clock::now();
  std::optional<Error> error;
  std::string streamed_text;
  if (c.mode == kJson) {
    auto response = (*client)->chat(question(), options);
    if (response) {
      ASSERT_EQ(response->choices.size(), 1u);
      EXPECT_EQ(response->choices[0].message.text(), kRecordedAnswer);
    } else {
      error = response.error();
    }
  } else {
    Status s = (*client)->chat_stream(
        question(),
        [&](const ChatCompletionChunk& chunk) {
          for (const auto& choice : chunk.choices) streamed_text += choice.delta.content.value_or("");
          return ok_status();
        },
        options);
    if (s) {
      EXPECT_EQ(streamed_text, kRecordedAnswer);
    } else {
      error = s.error();
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;

  // The outcome.
  if (c.expected.error) {
    ASSERT_TRUE(error.has_value()) << "expected " << to_string(*c.expected.error) << ", got success";
    EXPECT_EQ(error->code, *c.expected.error) << error->to_string();
    EXPECT_EQ(error->attempts, c.attempts) << error->to_string();
    const bool status_fault = spec_of(c.fault).kind == FaultKind::kStatus;
    if (status_fault && error->code != ErrorCode::kCircuitOpen) {
      EXPECT_EQ(error->http_status, spec_of(c.fault).status);
      EXPECT_FALSE(error->message.empty());
    }
    if (c.fault == Fault::kStatus429 && error->code == ErrorCode::kRateLimitedUpstream) {
      EXPECT_EQ(error->retry_after, milliseconds(20));
    }
  } else {
    EXPECT_FALSE(error.has_value()) << error->to_string();
  }

  // The attempts, as the upstream saw them. The mock journals a request when it has finished with
  // it, and it notices that a client gave up on a hang a little after the client did, so the
  // journal is read once it holds the expected entries (or after 3 s), and in attempt order.
  std::vector<std::string> retry_counts;
  const auto journal_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (true) {
    retry_counts.clear();
    for (const auto& entry : server.journal().entries()) {
      if (entry.path != "/v1/chat/completions") continue;
      retry_counts.push_back(entry.header("x-stainless-retry-count").value_or("(none)"));
    }
    if (retry_counts.size() >= static_cast<std::size_t>(c.attempts) ||
        std::chrono::steady_clock::now() >= journal_deadline) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::sort(retry_counts.begin(), retry_counts.end());
  std::vector<std::string> expected_counts;
  for (int i = 0; i < c.attempts; ++i) expected_counts.push_back(std::to_string(i));
  EXPECT_EQ(retry_counts, expected_counts);

  // The waits between attempts: the server's retry-after-ms for 429, else SDK back-off.
  // A retry refused by the open breaker was waited for too.
  const auto sleeps = clock.sleeps();
  const bool refused_retry = c.expected.error == ErrorCode::kCircuitOpen;
  ASSERT_EQ(sleeps.size(), static_cast<std::size_t>(c.attempts - 1 + (refused_retry ? 1 : 0)));
  for (std::size_t i = 0; i < sleeps.size(); ++i) {
    if (c.fault == Fault::kStatus429) {
      EXPECT_EQ(sleeps[i], milliseconds(20));
    } else {
      const Duration upper = milliseconds(500) * (1 << i);
      EXPECT_GE(sleeps[i], upper * 3 / 4);
      EXPECT_LE(sleeps[i], upper);
    }
  }

  if (c.breaker == kBreakerOn) {
    EXPECT_EQ(breaker.state(), c.breaker_after);
  }
  // Bounded time: the slowest row is three 300 ms read timeouts.
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

INSTANTIATE_TEST_SUITE_P(EveryFault, ErrorPropagationTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& row) {
                           return case_name(row.param);
                         });

// ---------------------------------------------------------------------------------------------
// Local refusals: the call never reaches the upstream and is never retried.

TEST(LocalRefusalTest, AnOpenBreakerRefusesBeforeAnyUpstreamAttempt) {
  MockUpstream& upstream = MockUpstream::instance();
  ASSERT_NE(upstream.fixture(), nullptr) << upstream.startup_error();
  mock::MockServer& server = upstream.fixture()->server();
  for (Mode mode : {kJson, kStream}) {
    SCOPED_TRACE(mode == kJson ? "json" : "stream");
    server.reset();
    server.set_scenario(std::nullopt);
    FakeClock clock;
    openai::ClientConfig config;
    config.base_url = server.base_url() + "/v1";
    auto client = openai::Client::create(config, clock, [](const std::string&) { return std::nullopt; });
    ASSERT_TRUE(client.ok());
    CircuitBreaker breaker(breaker_settings(), clock);
    breaker.force_open();
    openai::CircuitBreakerGate<CircuitBreaker> gate(breaker);
    openai::CallOptions options;
    options.gate = &gate;
    Error error;
    if (mode == kJson) {
      auto r = (*client)->chat(question(), options);
      ASSERT_FALSE(r.ok());
      error = r.error();
    } else {
      Status s = (*client)->chat_stream(question(), [](const ChatCompletionChunk&) { return ok_status(); }, options);
      ASSERT_FALSE(s.ok());
      error = s.error();
    }
    EXPECT_EQ(error.code, ErrorCode::kCircuitOpen);
    EXPECT_EQ(error.attempts, 0);
    EXPECT_EQ(server.journal().size(), 0u);
    EXPECT_TRUE(clock.sleeps().empty());
  }
}

TEST(LocalRefusalTest, AnExhaustedRateLimiterRefusesAndTheRefusalIsNotRetried) {
  MockUpstream& upstream = MockUpstream::instance();
  ASSERT_NE(upstream.fixture(), nullptr) << upstream.startup_error();
  mock::MockServer& server = upstream.fixture()->server();
  server.reset();
  // Every request fails with 503, so a retry would need a second permit.
  mock::Scenario scenario;
  mock::ScenarioRule rule;
  rule.faults = {spec_of(Fault::kStatus503)};
  scenario.rules = {rule};
  server.set_scenario(scenario);

  FakeClock clock;
  openai::ClientConfig config;
  config.base_url = server.base_url() + "/v1";
  auto client = openai::Client::create(config, clock, [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(client.ok());
  RateLimiterConfig limits;
  RateLimit one_per_minute = RateLimit::per_minute(1);
  one_per_minute.burst = 1;
  limits.limits = {{"bias_eval", one_per_minute}};
  RateLimiter limiter(limits, clock);
  CircuitBreaker breaker(breaker_settings(), clock);
  openai::RateLimiterGate<RateLimiter> limiter_gate(limiter, "bias_eval");
  openai::CircuitBreakerGate<CircuitBreaker> breaker_gate(breaker);
  openai::AttemptGateChain chain({&limiter_gate, &breaker_gate});
  openai::CallOptions options;
  options.gate = &chain;
  auto r = (*client)->chat(question(), options);
  ASSERT_FALSE(r.ok());
  // The first attempt took the only permit and got a 503; the retry found no permit.
  EXPECT_EQ(r.error().code, ErrorCode::kRateLimitedLocally) << r.error().to_string();
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_EQ(server.journal().size(), 1u);
  EXPECT_EQ(clock.sleeps().size(), 1u);
  EXPECT_EQ(breaker.metrics().failed_calls, 1);
}

}  // namespace
}  // namespace echoes

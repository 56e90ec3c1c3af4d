// Error: the one failure type every part of Echoes shares.
//
// Expected failures (network, upstream errors, bad input, blocked content) travel as values inside
// Result<T>. An Error carries a code from a closed taxonomy plus the details that a caller, a retry
// policy or a report needs: HTTP status, request id, attempt count, retry-after, a human message,
// and `context` (for decoding errors, the JSON path or byte offset; for a block, the rule that fired).
//
//   Error e = Error(ErrorCode::kRateLimitedUpstream, "Rate limit reached").with_status(429);
//   if (e.code == ErrorCode::kRateLimitedUpstream) { ... }
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace echoes {

// The taxonomy. Codes are stable: their snake_case names (to_string) appear in reports, journals
// and JSON, so renaming one is a breaking change.
enum class ErrorCode {
  kBadRequest,           // 400 from upstream
  kAuthentication,       // 401
  kPermissionDenied,     // 403
  kNotFound,             // 404
  kConflict,             // 409
  kUnprocessable,        // 422
  kRateLimitedUpstream,  // 429 from upstream
  kServerError,          // 5xx
  kTimeout,              // connect, read or total deadline passed (also HTTP 408)
  kConnection,           // could not connect, reset, closed with no response
  kMalformedResponse,    // upstream answered with something that is not the promised shape
  kStreamTruncated,      // a stream ended before `data: [DONE]`
  kCircuitOpen,          // the circuit breaker refused the call; never retried
  kRateLimitedLocally,   // the local rate limiter refused the call; never retried
  kBlockedBySafety,      // input guard or output filter blocked the content
  kInvalidInput,         // the caller's own input is invalid (bad JSON, bad flag, bad file)
  kInternal,             // a bug or an impossible state; should never be seen
  // An exception escaped code run during a call (a caller's callback such as a stream sink, or
  // an allocation that failed: std::bad_alloc) and was turned into this value at the module
  // boundary; the message names the exception. Says nothing about the upstream's health.
  kUnexpectedException,
};

// All codes, in declaration order (for table-driven tests and reports).
inline constexpr ErrorCode kAllErrorCodes[] = {
    ErrorCode::kBadRequest,        ErrorCode::kAuthentication,    ErrorCode::kPermissionDenied,
    ErrorCode::kNotFound,          ErrorCode::kConflict,          ErrorCode::kUnprocessable,
    ErrorCode::kRateLimitedUpstream, ErrorCode::kServerError,     ErrorCode::kTimeout,
    ErrorCode::kConnection,        ErrorCode::kMalformedResponse, ErrorCode::kStreamTruncated,
    ErrorCode::kCircuitOpen,       ErrorCode::kRateLimitedLocally, ErrorCode::kBlockedBySafety,
    ErrorCode::kInvalidInput,      ErrorCode::kInternal,          ErrorCode::kUnexpectedException,
};

// "bad_request", "rate_limited_upstream", ... Stable.
std::string_view to_string(ErrorCode code);
// Inverse of to_string; nullopt for an unknown name.
std::optional<ErrorCode> error_code_from_string(std::string_view name);
// The code an upstream HTTP status maps to (OpenAI SDK semantics): 400 bad request, 401
// authentication, 403 permission, 404 not found, 408 timeout, 409 conflict, 422 unprocessable,
// 429 rate limited, >= 500 server error; any other non-2xx status is kBadRequest.
ErrorCode error_code_for_http_status(int status);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // Where the error is: a JSON path ("messages[2].role"), a byte offset ("offset 17"), a file and
  // line, or the safety rule that fired. Empty when there is nothing more precise to say.
  std::string context;
  std::optional<int> http_status;
  std::string request_id;  // upstream x-request-id, when there was a response
  int attempts = 0;        // upstream attempts made before giving up (0: none was made)
  std::optional<std::chrono::milliseconds> retry_after;

  Error() = default;
  Error(ErrorCode c, std::string msg, std::string ctx = {})
      : code(c), message(std::move(msg)), context(std::move(ctx)) {}

  Error& with_status(int status) & { http_status = status; return *this; }
  Error&& with_status(int status) && { http_status = status; return std::move(*this); }
  Error& with_request_id(std::string id) & { request_id = std::move(id); return *this; }
  Error&& with_request_id(std::string id) && { request_id = std::move(id); return std::move(*this); }
  Error& with_attempts(int n) & { attempts = n; return *this; }
  Error&& with_attempts(int n) && { attempts = n; return std::move(*this); }
  Error& with_retry_after(std::chrono::milliseconds d) & { retry_after = d; return *this; }
  Error&& with_retry_after(std::chrono::milliseconds d) && { retry_after = d; return std::move(*this); }

  // "invalid_input: messages[2].role: expected ..., got \"robot\" (HTTP 400, request req_1,
  // 3 attempts)": every field that is set, for logs and test failure messages.
  std::string to_string() const;

  friend bool operator==(const Error&, const Error&) = default;
};

}  // namespace echoes

#include "core/base/error.h"

#include <array>
#include <utility>

namespace echoes {
namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 18> kNames = {{
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kAuthentication, "authentication"},
    {ErrorCode::kPermissionDenied, "permission_denied"},
    {ErrorCode::kNotFound, "not_found"},
    {ErrorCode::kConflict, "conflict"},
    {ErrorCode::kUnprocessable, "unprocessable"},
    {ErrorCode::kRateLimitedUpstream, "rate_limited_upstream"},
    {ErrorCode::kServerError, "server_error"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kConnection, "connection"},
    {ErrorCode::kMalformedResponse, "malformed_response"},
    {ErrorCode::kStreamTruncated, "stream_truncated"},
    {ErrorCode::kCircuitOpen, "circuit_open"},
    {ErrorCode::kRateLimitedLocally, "rate_limited_locally"},
    {ErrorCode::kBlockedBySafety, "blocked_by_safety"},
    {ErrorCode::kInvalidInput, "invalid_input"},
    {ErrorCode::kInternal, "internal"},
    {ErrorCode::kUnexpectedException, "unexpected_exception"},
}};
static_assert(kNames.size() == std::size(kAllErrorCodes));

}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "internal";
}

std::optional<ErrorCode> error_code_from_string(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

ErrorCode error_code_for_http_status(int status) {
  switch (status) {
    case 400: return ErrorCode::kBadRequest;
    case 401: return ErrorCode::kAuthentication;
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    case 408: return ErrorCode::kTimeout;
    case 409: return ErrorCode::kConflict;
    case 422: return ErrorCode::kUnprocessable;
    case 429: return ErrorCode::kRateLimitedUpstream;
    default: return status >= 500 ? ErrorCode::kServerError : ErrorCode::kBadRequest;
  }
}

std::string Error::to_string() const {
  std::string out(echoes::to_string(code));
  out += ": ";
  if (!context.empty()) {
    out += context;
    out += ": ";
  }
  out += message;
  std::string details;
  auto add = [&details](const std::string& part) {
    details += details.empty() ? " (" : ", ";
    details += part;
  };
  if (http_status) add("HTTP " + std::to_string(*http_status));
  if (!request_id.empty()) add("request " + request_id);
  if (attempts > 0) add(std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts"));
  if (retry_after) add("retry after " + std::to_string(retry_after->count()) + " ms");
  if (!details.empty()) details += ")";
  return out + details;
}

}  // namespace echoes

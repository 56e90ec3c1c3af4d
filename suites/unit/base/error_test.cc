#include "core/base/error.h"

#include <gtest/gtest.h>

#include <set>

namespace echoes {
namespace {

TEST(ErrorCodeTest, EveryCodeHasAUniqueNameThatRoundTrips) {
  std::set<std::string_view> names;
  for (ErrorCode code : kAllErrorCodes) {
    SCOPED_TRACE(to_string(code));
    auto name = to_string(code);
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    EXPECT_EQ(error_code_from_string(name), code);
  }
  EXPECT_EQ(names.size(), 18u);
  EXPECT_EQ(error_code_from_string("no_such_code"), std::nullopt);
}

TEST(ErrorCodeTest, HttpStatusesMapAsTheOfficialSdksDo) {
  struct Row { int status; ErrorCode code; };
  const Row rows[] = {
      {400, ErrorCode::kBadRequest},      {401, ErrorCode::kAuthentication},
      {403, ErrorCode::kPermissionDenied}, {404, ErrorCode::kNotFound},
      {408, ErrorCode::kTimeout},         {409, ErrorCode::kConflict},
      {422, ErrorCode::kUnprocessable},   {429, ErrorCode::kRateLimitedUpstream},
      {500, ErrorCode::kServerError},     {502, ErrorCode::kServerError},
      {503, ErrorCode::kServerError},     {504, ErrorCode::kServerError},
      {418, ErrorCode::kBadRequest},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.status);
    EXPECT_EQ(error_code_for_http_status(row.status), row.code);
  }
}

TEST(ErrorTest, ToStringNamesEveryFieldThatIsSet) {
  Error e = Error(ErrorCode::kRateLimitedUpstream, "Rate limit reached", "chat")
                .with_status(429)
                .with_request_id("req_1")
                .with_attempts(3)
                .with_retry_after(std::chrono::milliseconds(1500));
  EXPECT_EQ(e.to_string(),
            "rate_limited_upstream: chat: Rate limit reached (HTTP 429, request req_1, 3 attempts, "
            "retry after 1500 ms)");
  EXPECT_EQ(Error(ErrorCode::kInvalidInput, "bad").to_string(), "invalid_input: bad");
  EXPECT_EQ(Error(ErrorCode::kTimeout, "slow").with_attempts(1).to_string(),
            "timeout: slow (1 attempt)");
}

}  // namespace
}  // namespace echoes

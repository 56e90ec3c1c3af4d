#include "core/base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace echoes {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error(ErrorCode::kInvalidInput, "not a digit", std::string(1, c));
  return c - '0';
}

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<int> good = parse_digit('7');
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  EXPECT_EQ(good.value_or(-1), 7);

  Result<int> bad = parse_digit('x');
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().context, "x");
  EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<std::string>> r(std::make_unique<std::string>("hello"));
  ASSERT_TRUE(r.ok());
  std::unique_ptr<std::string> taken = std::move(r).value();
  EXPECT_EQ(*taken, "hello");
}

TEST(ResultTest, ArrowReachesMembers) {
  Result<std::string> r(std::string("abc"));
  EXPECT_EQ(r->size(), 3u);
}

TEST(StatusTest, DefaultIsOkAndErrorIsKept) {
  Status ok = ok_status();
  EXPECT_TRUE(ok.ok());
  Status failed = Error(ErrorCode::kTimeout, "deadline passed");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(failed.error().message, "deadline passed");
}

}  // namespace
}  // namespace echoes

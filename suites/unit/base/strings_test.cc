#include "core/base/strings.h"

#include <gtest/gtest.h>

namespace echoes {
namespace {

TEST(StringsTest, LowerCasesOnlyAsciiLetters) {
  EXPECT_EQ(to_lower_ascii("Content-TYPE: X-1"), "content-type: x-1");
  // UTF-8 bytes (here "É" = C3 89) are not letters to this function and pass through.
  EXPECT_EQ(to_lower_ascii("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");
}

TEST(StringsTest, ComparesIgnoringAsciiCaseOnly) {
  EXPECT_TRUE(equals_ignoring_case("Retry-After", "retry-after"));
  EXPECT_TRUE(equals_ignoring_case("", ""));
  EXPECT_FALSE(equals_ignoring_case("retry-after", "retry-afte"));
  EXPECT_FALSE(equals_ignoring_case("a", "b"));
  // '@' (0x40) and '`' (0x60) differ by the case bit but are not letters.
  EXPECT_FALSE(equals_ignoring_case("@", "`"));
}

TEST(StringsTest, TrimsSpacesAndTabsOnly) {
  EXPECT_EQ(trim_http_whitespace(" \t value \t "), "value");
  EXPECT_EQ(trim_http_whitespace("\t\t"), "");
  EXPECT_EQ(trim_http_whitespace("\nvalue\r"), "\nvalue\r");
}

TEST(StringsTest, ConstantTimeEqualComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("token", "token"));
  EXPECT_FALSE(constant_time_equal("token", "tokeN"));
  EXPECT_FALSE(constant_time_equal("token", std::string_view("token\0", 6)));
  EXPECT_FALSE(constant_time_equal("tok", "token"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace echoes

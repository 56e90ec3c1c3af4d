// parse_json's limits and byte offsets, and the nlohmann-side API (to_json/from_json) that code
// holding an already-parsed document uses.
#include "core/openai/json.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using echoes::ErrorCode;
using nlohmann::json;
using namespace echoes::openai;

struct OffsetCase {
  std::string name;
  std::string text;
  std::size_t offset;
};

TEST(ParseJson, ReportsTheByteOffsetOfTheProblem) {
  const std::vector<OffsetCase> table = {
      {"empty", "", 0},
      {"whitespace only", "   ", 3},
      {"bare word", "hello", 0},
      {"unterminated array", "[1,2", 4},
      {"missing value", R"({"a":})", 5},
      {"missing colon", R"({"a" 1})", 5},
      {"bad escape", R"(["\q"])", 3},
      {"control character in a string", "[\"a\x01\"]", 3},
      {"invalid UTF-8", "[\"\xFF\"]", 2},
      {"overlong UTF-8", "[\"\xC0\xAF\"]", 2},
      {"number overflow", "[1, 2e999]", 4},
      {"trailing text", "{} {}", 3},
  };
  for (const OffsetCase& c : table) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_json(c.text, DecodeLimits{});
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(parsed.error().context, "offset " + std::to_string(c.offset))
        << parsed.error().message;
    EXPECT_EQ(parsed.error().message.rfind("not valid JSON: ", 0), 0u) << parsed.error().message;
  }
}

// Numbers beyond a double (found by fuzzing): invalid input, never an exception, with a message
// that names the JSON path of the number.
TEST(ParseJson, NumbersBeyondADoubleAreInvalidInputNamingTheirPath) {
  struct Case {
    std::string text;
    std::string path;
    std::size_t offset;
  };
  const std::vector<Case> table = {
      {"1e999", "$", 0},
      {"[1e400]", "[0]", 1},
      {R"({"a":-1e99999})", "a", 5},
      {R"({"model":"x","messages":[],"temperature":1e999})", "temperature", 41},
      {R"({"a":[1,{"b":[2,3e999]}]})", "a[1].b[1]", 16},
      {R"({"x":{"y":1},"z":[[],1e999]})", "z[1]", 21},
  };
  for (const Case& c : table) {
    SCOPED_TRACE(c.text);
    auto parsed = parse_json(c.text, DecodeLimits{});
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(parsed.error().context, "offset " + std::to_string(c.offset));
    const std::string& message = parsed.error().message;
    EXPECT_EQ(message.rfind("not valid JSON: number overflow", 0), 0u) << message;
    const std::string suffix = " at " + c.path;
    EXPECT_TRUE(message.size() > suffix.size() &&
                message.compare(message.size() - suffix.size(), suffix.size(), suffix) == 0)
        << message;
  }
}

TEST(ParseJson, DepthLimitIsInclusive) {
  DecodeLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(parse_json("[[[]]]", limits).ok());
  EXPECT_TRUE(parse_json(R"({"a":{"b":[1]}})", limits).ok());
  auto too_deep = parse_json("[[[[]]]]", limits);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.error().context, "offset 3");
  EXPECT_EQ(too_deep.error().message, "nesting deeper than the limit of 3");
}

TEST(ParseJson, BracketsInsideStringsDoNotCountTowardDepth) {
  DecodeLimits limits;
  limits.max_depth = 2;
  EXPECT_TRUE(parse_json(R"({"a":["[[[{{{\"]]"]})", limits).ok());
  auto too_deep = parse_json(R"({"s":"[[\"[","a":[[1]]})", limits);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.error().context, "offset 18");
}

TEST(ParseJson, SizeLimitIsInclusive) {
  DecodeLimits limits;
  limits.max_bytes = 7;
  EXPECT_TRUE(parse_json("[1,2,3]", limits).ok());
  auto too_big = parse_json("[1,2,33]", limits);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().context, "offset 7");
}

TEST(ParseJson, BuildsTheSameValueAsNlohmann) {
  const std::string text =
      R"({"a":[1,-2,3.5,true,false,null,"x\u00e9"],"b":{"c":{}},"d":[],"e":18446744073709551615})";
  auto parsed = parse_json(text, DecodeLimits{});
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(*parsed, json::parse(text));
}

TEST(ParseJson, DuplicateKeysKeepTheLast) {
  auto parsed = parse_json(R"({"a":1,"a":2})", DecodeLimits{});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["a"], 2);
}

TEST(DumpJson, ReplacesInvalidUtf8) {
  EXPECT_EQ(dump_json(json("a\xFF" "b")), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_EQ(dump_json(json{{"k", 1}}), R"({"k":1})");
}

TEST(ToJson, MatchesTheEncodedText) {
  ChatCompletionRequest request;
  request.model = "m";
  request.messages = {ChatMessage::system("s"), ChatMessage::user("u")};
  request.n = 2;
  EXPECT_EQ(to_json(request), json::parse(encode(request)));
  const ErrorBody body{"m", "t", std::string("p"), std::nullopt};
  EXPECT_EQ(to_json(body), json::parse(encode(body)));
}

TEST(FromJson, ErrorsNameThePathInAParsedValue) {
  const json body = {{"model", "m"},
                     {"messages", json::array({{{"role", "user"}, {"content", "a"}},
                                               {{"role", "user"}, {"content", {1}}}})}};
  auto request = from_json<ChatCompletionRequest>(body);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().context, "messages[1].content[0]");
  EXPECT_EQ(request.error().message, "expected object, got number");
}

TEST(FromJson, AcceptsAValidParsedValue) {
  const json body = {{"id", "gpt-4o"}, {"object", "model"}, {"created", 1}, {"owned_by", "me"}};
  auto model = from_json<Model>(body);
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  EXPECT_EQ(*model, (Model{"gpt-4o", "model", 1, "me"}));
}

}  // namespace

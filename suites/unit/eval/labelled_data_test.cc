#include "core/eval/labelled_data.h"

#include <gtest/gtest.h>

namespace echoes::eval {
namespace {

TEST(LabelledDataTest, ReadsRowsSkipsBlankLinesAndAcceptsCrlf) {
  Result<std::vector<LabelledText>> rows = parse_labelled_jsonl(
      "{\"text\":\"a\",\"label\":1,\"source\":\"s\",\"extra\":[1]}\r\n\n{\"text\":\"b\",\"label\":0}\n",
      "f.jsonl", "f");
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].text, "a");
  EXPECT_EQ((*rows)[0].label, 1);
  EXPECT_EQ((*rows)[0].source, "s");
  EXPECT_EQ((*rows)[1].source, "f");  // default source
}

TEST(LabelledDataTest, KeepsOtherStringAndIntegerMembersAsFields) {
  Result<std::vector<LabelledText>> rows = parse_labelled_jsonl(
      "{\"text\":\"a\",\"label\":1,\"class\":\"hate\",\"baseline\":0,\"x\":[1],\"y\":0.5}\n",
      "f.jsonl", "f");
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 1u);
  const auto& fields = (*rows)[0].fields;
  EXPECT_EQ(fields.size(), 2u);  // arrays and fractions are not kept
  EXPECT_EQ(fields.at("class"), "hate");
  EXPECT_EQ(fields.at("baseline"), "0");
}

TEST(LabelledDataTest, ErrorsNameFileLineAndField) {
  struct Case { const char* content; const char* context_prefix; };
  const Case cases[] = {
      {"{\"text\":\"a\",\"label\":1}\n{\"text\":\"a\",\"label\":2}\n", "f.jsonl:2: label"},
      {"{\"label\":1}\n", "f.jsonl:1: text"},
      {"{\"text\":\"a\",\"label\":1,\"source\":3}\n", "f.jsonl:1: source"},
      {"[1]\n", "f.jsonl:1: $"},
      {"{\"text\": \n", "f.jsonl:1: offset"},
      {"{\"text\":\"a\",\"label\":1,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n",
       "f.jsonl:1: offset"},
  };
  for (const Case& c : cases) {
    Result<std::vector<LabelledText>> rows = parse_labelled_jsonl(c.content, "f.jsonl", "f");
    ASSERT_FALSE(rows) << c.content;
    EXPECT_EQ(rows.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(rows.error().context.rfind(c.context_prefix, 0), 0u)
        << rows.error().context << " for " << c.content;
  }
}

TEST(LabelledDataTest, MissingFileIsNamed) {
  Result<std::vector<LabelledText>> rows = read_labelled_jsonl("/nonexistent/x.jsonl");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().context, "/nonexistent/x.jsonl");
}

}  // namespace
}  // namespace echoes::eval

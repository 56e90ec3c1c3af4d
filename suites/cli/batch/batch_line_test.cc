// The batch input: the bounded line reader (line endings, a last line without a newline, a line
// far longer than the limit kept short with its true size) and the line parser for both forms,
// with hostile lines answered as invalid with a reason that names what was wrong.
#include "harness/batch/batch_line.h"

#include <sstream>

#include <gtest/gtest.h>

#include "core/openai/codec.h"

namespace echoes::harness::batch {
namespace {

std::vector<InputLine> read_all(const std::string& text, BatchLineLimits limits = {}) {
  std::istringstream in(text);
  BatchLineReader reader(in, limits);
  std::vector<InputLine> lines;
  while (auto line = reader.next()) lines.push_back(*line);
  return lines;
}

InputLine line_of(std::string text) {
  InputLine line;
  line.number = 1;
  line.size = text.size();
  line.text = std::move(text);
  return line;
}

TEST(BatchLineReaderTest, NumbersLinesFromOneAcrossLineEndingsAndALastLineWithoutNewline) {
  const auto lines = read_all("a\r\nbb\n\nccc");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text, "a");
  EXPECT_EQ(lines[1].text, "bb");
  EXPECT_EQ(lines[2].text, "");
  EXPECT_EQ(lines[3].text, "ccc");
  EXPECT_EQ(lines[3].number, 4);
  EXPECT_TRUE(read_all("").empty());
  EXPECT_EQ(read_all("x\n").size(), 1u);
}

TEST(BatchLineReaderTest, AHugeLineIsKeptShortWithItsTrueSizeAndTheNextLineStillReads) {
  BatchLineLimits limits;
  limits.max_line_bytes = 100;
  const std::string huge(300000, 'x');  // several read chunks
  const auto lines = read_all(huge + "\nnext\n", limits);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size, huge.size());
  EXPECT_EQ(lines[0].text.size(), 101u);
  EXPECT_TRUE(lines[0].truncated());
  EXPECT_EQ(lines[1].text, "next");
  EXPECT_EQ(lines[1].number, 2);
}

TEST(BatchLineParserTest, AChatBodyLosesItsIdWhichIsNeverSentUpstream) {
  const ParsedLine parsed = parse_batch_line(
      line_of(R"({"id":"q1","model":"m","messages":[{"role":"user","content":"hi"}],"seed":7,"x_extra":1})"),
      std::nullopt);
  ASSERT_FALSE(parsed.invalid) << parsed.invalid->to_string();
  EXPECT_EQ(parsed.form, LineForm::kChatBody);
  EXPECT_EQ(parsed.id, "q1");
  EXPECT_FALSE(parsed.custom_id);
  const std::string sent = openai::encode(parsed.request);
  EXPECT_EQ(sent.find("q1"), std::string::npos) << sent;
  EXPECT_EQ(sent.find("\"id\""), std::string::npos) << sent;
  EXPECT_NE(sent.find("\"x_extra\":1"), std::string::npos) << sent;  // other fields pass through
  EXPECT_EQ(parsed.request.seed, 7);
}

TEST(BatchLineParserTest, ABatchApiLineSendsItsBodyWithoutTheCustomId) {
  const ParsedLine parsed = parse_batch_line(
      line_of(R"({"custom_id":"r-9","method":"POST","url":"/v1/chat/completions",)"
              R"("body":{"model":"m","messages":[{"role":"user","content":"hi"}]}})"),
      std::nullopt);
  ASSERT_FALSE(parsed.invalid) << parsed.invalid->to_string();
  EXPECT_EQ(parsed.form, LineForm::kBatchApi);
  EXPECT_EQ(parsed.custom_id, "r-9");
  EXPECT_EQ(openai::encode(parsed.request).find("r-9"), std::string::npos);
  EXPECT_EQ(parsed.request.model, "m");
}

TEST(BatchLineParserTest, TheModelFlagFillsALineWithoutAModelAndALinesOwnModelWins) {
  const auto without = parse_batch_line(line_of(R"({"messages":[{"role":"user","content":"hi"}]})"), "flag-model");
  ASSERT_FALSE(without.invalid);
  EXPECT_EQ(without.request.model, "flag-model");
  const auto with = parse_batch_line(line_of(R"({"model":"own","messages":[{"role":"user","content":"hi"}]})"), "flag-model");
  ASSERT_FALSE(with.invalid);
  EXPECT_EQ(with.request.model, "own");
  const auto neither = parse_batch_line(line_of(R"({"messages":[{"role":"user","content":"hi"}]})"), std::nullopt);
  ASSERT_TRUE(neither.invalid);
  EXPECT_EQ(neither.invalid->context, "model");
}

struct HostileLine {
  std::string name;
  std::string text;
  std::string context;        // expected context ("" when any)
  std::string message_part;   // expected in the message
};

TEST(BatchLineParserTest, HostileLinesAreInvalidWithAReasonNamingWhatWasWrong) {
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  const std::vector<HostileLine> cases = {
      {"empty", "   ", "", "empty line"},
      {"not json", "hello", "offset 0", "not valid JSON"},
      {"invalid utf-8", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", "", "UTF-8"},
      {"deep nesting", std::string(5000, '[') + std::string(5000, ']'), "offset 64", "nesting"},
      {"not an object", "[1,2]", "$", "expected a JSON object, got array"},
      {"id is a number", R"({"id":5,"model":"m",)" + msgs + "}", "id", "expected string, got number"},
      {"custom_id is an object", R"({"custom_id":{},"method":"POST","url":"/v1/chat/completions","body":{}})",
       "custom_id", "expected string, got object"},
      {"batch line without custom_id", R"({"method":"POST","url":"/v1/chat/completions","body":{}})", "custom_id",
       "missing"},
      {"method GET", R"({"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{}})", "method", "POST"},
      {"another endpoint", R"({"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{}})", "url",
       "/v1/chat/completions"},
      {"body is an array", R"({"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":[]})", "body",
       "expected object, got array"},
      {"unexpected field", R"({"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{},"x":1})", "x",
       "unexpected field"},
      {"an id inside the body", R"({"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"id":"z","model":"m",)" + msgs + "}}",
       "body.id", "never sent upstream"},
      {"messages lie about their type", R"({"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":"hi"}})",
       "body.messages", "expected"},
      {"a role that does not exist", R"({"model":"m","messages":[{"role":"robot","content":"hi"}]})",
       "messages[0].role", "robot"},
      {"no messages", R"({"model":"m","messages":[]})", "messages", "at least one"},
      {"temperature is a string", R"({"model":"m","temperature":"hot",)" + msgs + "}", "temperature", "expected"},
  };
  for (const HostileLine& c : cases) {
    const ParsedLine parsed = parse_batch_line(line_of(c.text), std::nullopt);
    ASSERT_TRUE(parsed.invalid) << c.name;
    EXPECT_EQ(parsed.invalid->code, ErrorCode::kInvalidInput) << c.name;
    if (!c.context.empty()) {
      EXPECT_EQ(parsed.invalid->context, c.context) << c.name << ": " << parsed.invalid->to_string();
    }
    EXPECT_NE(parsed.invalid->message.find(c.message_part), std::string::npos) << c.name << ": " << parsed.invalid->to_string();
  }
}

TEST(BatchLineParserTest, ALineOverTheLimitIsInvalidBySizeAndKeepsNoIds) {
  BatchLineLimits limits;
  limits.max_line_bytes = 64;
  InputLine line = line_of(R"({"id":"q1","model":"m","messages":[{"role":"user","content":"hi"}]})");
  const ParsedLine parsed = parse_batch_line(line, std::nullopt, limits);
  ASSERT_TRUE(parsed.invalid);
  EXPECT_NE(parsed.invalid->message.find("over the limit of 64"), std::string::npos) << parsed.invalid->message;
  EXPECT_FALSE(parsed.id);
}

TEST(BatchLineParserTest, AnIdOverItsLimitIsInvalid) {
  BatchLineLimits limits;
  limits.max_id_bytes = 4;
  const auto parsed = parse_batch_line(line_of(R"({"id":"abcdef","model":"m","messages":[{"role":"user","content":"x"}]})"),
                                       std::nullopt, limits);
  ASSERT_TRUE(parsed.invalid);
  EXPECT_EQ(parsed.invalid->context, "id");
}

}  // namespace
}  // namespace echoes::harness::batch

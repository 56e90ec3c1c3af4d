#include "core/openai/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace echoes::openai {
namespace {

std::vector<SseEvent> parse_in_pieces(std::string_view stream, std::size_t piece,
                                      SseParser& parser) {
  std::vector<SseEvent> events;
  for (std::size_t pos = 0; pos < stream.size(); pos += piece) {
    Status s = parser.feed(stream.substr(pos, piece),
                           [&](const SseEvent& e) { events.push_back(e); });
    EXPECT_TRUE(s.ok()) << s.error().to_string();
  }
  return events;
}

SseEvent data_event(std::string data, std::string type = {}, std::string id = {}) {
  SseEvent e;
  e.data = std::move(data);
  e.type = std::move(type);
  e.id = std::move(id);
  return e;
}

struct FramingCase {
  const char* name;
  std::string stream;
  std::vector<SseEvent> events;
  bool partial_at_end;
};

std::vector<FramingCase> framing_cases() {
  SseEvent with_retry = data_event("x");
  with_retry.retry_ms = 1500;
  return {
      {"one data line", "data: hello\n\n", {data_event("hello")}, false},
      {"no space after the colon keeps the value whole", "data:hello\n\n", {data_event("hello")},
       false},
      {"only one leading space is removed", "data:  two\n\n", {data_event(" two")}, false},
      {"CRLF line endings", "data: a\r\n\r\ndata: b\r\n\r\n", {data_event("a"), data_event("b")},
       false},
      {"CR line endings", "data: a\r\rdata: b\r\r", {data_event("a"), data_event("b")}, false},
      {"mixed line endings", "data: a\r\n\ndata: b\r\r\n", {data_event("a"), data_event("b")},
       false},
      {"multi-line data is joined with LF", "data: first\ndata: second\n\n",
       {data_event("first\nsecond")}, false},
      {"comments are ignored", ": keep-alive\ndata: x\n: more\n\n", {data_event("x")}, false},
      {"a comment alone dispatches nothing", ": ping\n\n", {}, false},
      {"event type", "event: error\ndata: {\"error\":{}}\n\n", {data_event("{\"error\":{}}", "error")},
       false},
      {"event type resets after dispatch", "event: error\ndata: a\n\ndata: b\n\n",
       {data_event("a", "error"), data_event("b")}, false},
      {"event without data is not dispatched and its type is dropped",
       "event: ping\n\ndata: b\n\n", {data_event("b")}, false},
      {"id persists across events", "id: 7\ndata: a\n\ndata: b\n\n",
       {data_event("a", "", "7"), data_event("b", "", "7")}, false},
      {"retry with digits is reported", "retry: 1500\ndata: x\n\n", {with_retry}, false},
      {"retry with non-digits is ignored", "retry: 1.5s\ndata: x\n\n", {data_event("x")}, false},
      {"unknown fields are ignored", "foo: bar\ndata: x\n\n", {data_event("x")}, false},
      {"a field without a colon has an empty value", "data\n\n", {data_event("")}, false},
      {"empty data line then text", "data:\ndata: x\n\n", {data_event("\nx")}, false},
      {"DONE marker is an ordinary event", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
       {data_event("{\"a\":1}"), data_event("[DONE]")}, false},
      {"leading byte-order mark is ignored", "\xEF\xBB\xBF" "data: x\n\n", {data_event("x")},
       false},
      {"colons inside the value are kept", "data: a:b: c\n\n", {data_event("a:b: c")}, false},
      {"a stream cut inside a line is partial", "data: a\n\ndata: b", {data_event("a")}, true},
      {"a stream cut before the blank line is partial", "data: a\n\ndata: b\n", {data_event("a")},
       true},
      {"an event type alone before the end is partial", "event: x\n", {}, true},
      {"empty stream", "", {}, false},
  };
}

TEST(SseParserTest, FramesEventsAsTheSpecificationSaysWhateverTheReadSize) {
  for (const FramingCase& c : framing_cases()) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                              std::size_t{4096}}) {
      SCOPED_TRACE(std::string(c.name) + ", reads of " + std::to_string(piece) + " bytes");
      SseParser parser;
      std::vector<SseEvent> events = parse_in_pieces(c.stream, piece, parser);
      EXPECT_EQ(events, c.events);
      EXPECT_EQ(parser.has_partial_event(), c.partial_at_end);
      EXPECT_EQ(parser.events_dispatched(), c.events.size());
    }
  }
}

TEST(SseParserTest, CrAtTheEndOfOneReadAndLfAtTheStartOfTheNextAreOneLineEnding) {
  SseParser parser;
  std::vector<SseEvent> events;
  auto sink = [&](const SseEvent& e) { events.push_back(e); };
  // Were the LF read as a second line ending, it would be a blank line that dispatches "a" alone.
  ASSERT_TRUE(parser.feed("data: a\r", sink).ok());
  ASSERT_TRUE(parser.feed("\ndata: b\r", sink).ok());
  ASSERT_TRUE(parser.feed("\n", sink).ok());
  ASSERT_TRUE(parser.feed("\r\n", sink).ok());
  EXPECT_EQ(events, (std::vector<SseEvent>{data_event("a\nb")}));
  EXPECT_FALSE(parser.has_partial_event());
}

TEST(SseParserTest, CountsBytesAndComments) {
  SseParser parser;
  const std::string stream = ": hi\ndata: x\n\n: bye\n";
  ASSERT_TRUE(parser.feed(stream, nullptr).ok());
  EXPECT_EQ(parser.bytes_consumed(), stream.size());
  EXPECT_EQ(parser.comments_seen(), 2u);
  EXPECT_EQ(parser.events_dispatched(), 1u);
}

// Found by sse_parser_fuzzer: the LF of a CRLF that arrives in the next read was not counted, so
// error offsets after it were short by one per split CRLF.
TEST(SseParserTest, CountsTheLfOfACrlfSplitAcrossReads) {
  SseParser parser;
  const std::string stream = "data: one\r\n\r\ndata: two\r\n\r\n";
  const std::vector<SseEvent> events = parse_in_pieces(stream, 1, parser);
  EXPECT_EQ(events, (std::vector<SseEvent>{data_event("one"), data_event("two")}));
  EXPECT_EQ(parser.bytes_consumed(), stream.size());
}

TEST(SseParserTest, AnEventLargerThanTheLimitIsMalformedAndStaysFailed) {
  struct Row {
    const char* name;
    std::string stream;
    std::size_t piece;
  };
  const std::string big(100, 'x');
  const Row rows[] = {
      {"one long line in one read", "data: " + big + "\n\n", 4096},
      {"one long line over many reads", "data: " + big + "\n\n", 5},
      {"many short data lines", std::string(40, 'd') + "\n" + "data: " + big.substr(0, 30) +
                                     "\ndata: " + big.substr(0, 30) + "\ndata: " +
                                     big.substr(0, 30) + "\n\n",
       4096},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    SseParser parser(SseParserLimits{.max_event_bytes = 64});
    Status last;
    int events = 0;
    for (std::size_t pos = 0; pos < row.stream.size() && last.ok(); pos += row.piece) {
      last = parser.feed(std::string_view(row.stream).substr(pos, row.piece),
                         [&](const SseEvent&) { ++events; });
    }
    ASSERT_FALSE(last.ok());
    EXPECT_EQ(last.error().code, ErrorCode::kMalformedResponse);
    EXPECT_NE(last.error().context.find("offset "), std::string::npos);
    EXPECT_EQ(events, 0);
    Status again = parser.feed("data: small\n\n", [&](const SseEvent&) { ++events; });
    EXPECT_FALSE(again.ok());
    EXPECT_EQ(events, 0);
  }
}

TEST(SseParserTest, EventsAtTheLimitAreAccepted) {
  SseParser parser(SseParserLimits{.max_event_bytes = 64});
  std::vector<SseEvent> events;
  const std::string value(50, 'v');
  Status s = parser.feed("data: " + value + "\n\n", [&](const SseEvent& e) { events.push_back(e); });
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, value);
}

}  // namespace
}  // namespace echoes::openai

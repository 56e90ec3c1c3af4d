// Property: the SSE parser yields the same events, and the same end state, for every way of
// splitting the byte stream into reads.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/openai/sse_parser.h"

namespace echoes::openai {
namespace {

struct ParseOutcome {
  std::vector<SseEvent> events;
  bool partial = false;
  bool failed = false;
};

ParseOutcome parse_with_cuts(const std::string& stream, const std::vector<std::size_t>& cuts,
                             SseParserLimits limits = {}) {
  ParseOutcome out;
  SseParser parser(limits);
  auto sink = [&](const SseEvent& e) { out.events.push_back(e); };
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    if (!parser.feed(std::string_view(stream).substr(start, cut - start), sink).ok()) {
      out.failed = true;
    }
    start = cut;
  }
  if (!parser.feed(std::string_view(stream).substr(start), sink).ok()) out.failed = true;
  out.partial = parser.has_partial_event();
  return out;
}

// Streams made of the pieces that matter to framing: field names, separators, every line ending,
// blank lines, comments, the DONE marker, a byte-order mark, and arbitrary bytes.
rc::Gen<std::string> sse_like_stream() {
  static const std::vector<std::string> kTokens = {
      "data", "data:", "data: ", "event: ", "event:error", "id: ", "retry: ", "retry: 15", ":",
      ": comment", "\n", "\r", "\r\n", "\n\n", "\r\n\r\n", " ", "x", "{\"a\":1}", "[DONE]",
      "\xEF\xBB\xBF", "unknown: v"};
  auto token = rc::gen::oneOf(rc::gen::elementOf(kTokens),
                              rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(token),
                      [](const std::vector<std::string>& parts) {
                        std::string s;
                        for (const auto& p : parts) s += p;
                        return s;
                      });
}

// Cut points for a random sequence of short reads (1 to 16 bytes; the rest is one last read),
// so that splits land inside field names, between CR and LF and inside multi-byte sequences.
std::vector<std::size_t> random_cuts(const std::string& stream) {
  const auto reads = *rc::gen::container<std::vector<std::size_t>>(
      stream.size(), rc::gen::inRange<std::size_t>(1, 17));
  std::vector<std::size_t> cuts;
  std::size_t at = 0;
  for (std::size_t n : reads) {
    at += n;
    if (at >= stream.size()) break;
    cuts.push_back(at);
  }
  return cuts;
}

RC_GTEST_PROP(SseParserProperty, SameEventsForEverySplitOfTheByteStream, ()) {
  const std::string stream = *sse_like_stream();
  const auto cuts = random_cuts(stream);
  const ParseOutcome whole = parse_with_cuts(stream, {});
  const ParseOutcome split = parse_with_cuts(stream, cuts);
  RC_ASSERT(split.events == whole.events);
  RC_ASSERT(split.partial == whole.partial);
  RC_ASSERT(!whole.failed);
  RC_ASSERT(!split.failed);
}

RC_GTEST_PROP(SseParserProperty, ByteByByteReadsGiveTheSameEventsAsOneRead, ()) {
  const std::string stream = *sse_like_stream();
  std::vector<std::size_t> every_byte(stream.size());
  for (std::size_t i = 0; i < stream.size(); ++i) every_byte[i] = i;
  const ParseOutcome whole = parse_with_cuts(stream, {});
  const ParseOutcome bytes = parse_with_cuts(stream, every_byte);
  RC_ASSERT(bytes.events == whole.events);
  RC_ASSERT(bytes.partial == whole.partial);
}

RC_GTEST_PROP(SseParserProperty, EventsRoundTripThroughTheWireFormat, ()) {
  // Data without CR or LF, written as the OpenAI server writes it, comes back unchanged.
  const auto payloads = *rc::gen::container<std::vector<std::string>>(rc::gen::map(
      rc::gen::container<std::string>(rc::gen::arbitrary<char>()), [](std::string s) {
        std::replace_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
        return s;
      }));
  std::string stream;
  for (const auto& p : payloads) stream += "data: " + p + "\n\n";
  const auto cuts = random_cuts(stream);
  const ParseOutcome split = parse_with_cuts(stream, cuts);
  RC_ASSERT(split.events.size() == payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i) RC_ASSERT(split.events[i].data == payloads[i]);
  RC_ASSERT(!split.partial);
}

}  // namespace
}  // namespace echoes::openai

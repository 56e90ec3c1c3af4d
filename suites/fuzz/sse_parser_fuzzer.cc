// Fuzz target for core/openai/sse_parser.h. Input: byte 0 holds flags, bytes 1-2 a split point
// (little-endian, taken modulo the stream length + 1), the rest is the stream. The stream is
// parsed three ways: in one piece, in two pieces split at that point, and (when short) one byte at
// a time. The parser promises that the split does not matter, so the three must agree on the
// events, on the failure (code and message) if any, and, without one, on whether a partial event
// is left.
// Flag bit 0 selects a small event limit (64 bytes) so the limit's failure path is reached.
// The failure's context ("offset N") is not compared: it names where the parser was when it
// noticed, which depends on the split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/openai/sse_parser.h"

namespace {

using echoes::openai::SseEvent;
using echoes::openai::SseParser;
using echoes::openai::SseParserLimits;

struct Outcome {
  std::vector<SseEvent> events;
  std::optional<echoes::ErrorCode> failure_code;
  std::string failure_message;
  bool partial = false;
  bool operator==(const Outcome&) const = default;
};

Outcome parse_in_pieces(std::string_view stream, const std::vector<std::size_t>& cuts,
                        SseParserLimits limits) {
  Outcome out;
  SseParser parser(limits);
  const SseParser::EventSink sink = [&out](const SseEvent& e) { out.events.push_back(e); };
  std::size_t from = 0;
  auto feed = [&](std::size_t to) {
    echoes::Status s = parser.feed(stream.substr(from, to - from), sink);
    from = to;
    if (!s && !out.failure_code) {
      out.failure_code = s.error().code;
      out.failure_message = s.error().message;
      if (s.error().code != echoes::ErrorCode::kMalformedResponse || s.error().context.empty()) {
        std::abort();
      }
    }
    // A failed parser stays failed, with the same error.
    if (out.failure_code && (s || s.error().code != *out.failure_code)) std::abort();
  };
  for (std::size_t cut : cuts) feed(cut);
  feed(stream.size());
  out.partial = !out.failure_code && parser.has_partial_event();  // after a failure, moot
  if (!out.failure_code && parser.bytes_consumed() != stream.size()) std::abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t split_seed = static_cast<std::size_t>(data[1]) | (static_cast<std::size_t>(data[2]) << 8);
  const std::string_view stream(reinterpret_cast<const char*>(data + 3), size - 3);
  SseParserLimits limits;
  if ((flags & 1) != 0) limits.max_event_bytes = 64;

  const Outcome whole = parse_in_pieces(stream, {}, limits);
  const Outcome split = parse_in_pieces(stream, {split_seed % (stream.size() + 1)}, limits);
  if (!(split == whole)) std::abort();
  if (stream.size() <= 4096) {
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
    if (!(parse_in_pieces(stream, every, limits) == whole)) std::abort();
  }
  return 0;
}

// SseParser: incremental framing of a server-sent-events byte stream into events, as the WHATWG
// HTML "event stream interpretation" describes it. Bytes may arrive split anywhere (inside a line,
// between CR and LF, inside a UTF-8 sequence); the events produced do not depend on the split.
//
//   SseParser parser;
//   Status s = parser.feed(bytes_from_socket, [](const SseEvent& e) {
//     if (e.data == "[DONE]") ...;
//   });
//   if (parser.has_partial_event()) ...;  // the stream stopped inside an event
//
// Lines end with CRLF, LF or CR. A line starting with ':' is a comment. `data:` lines accumulate
// (joined with '\n'); `event:` sets the event type; `id:` the last event id (kept across events);
// `retry:` the reconnection time when it is all digits. A blank line dispatches the event if it has
// data. One leading space after the colon is removed; a leading UTF-8 byte-order mark is ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace echoes::openai {

struct SseEvent {
  std::string type;  // the `event:` field; empty means the default type "message"
  std::string data;  // the `data:` lines joined with '\n'
  std::string id;    // the last event id seen in the stream so far (empty if none)
  std::optional<std::int64_t> retry_ms;  // set only on the event whose block carried `retry:`

  friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

// OpenAI ends every stream with `data: [DONE]`.
inline bool is_done_marker(const SseEvent& event) { return event.data == "[DONE]"; }

struct SseParserLimits {
  // Upper bound on the bytes of one event (its partial line plus its accumulated data). A stream
  // that exceeds it is malformed; without the bound a hostile upstream could exhaust memory.
  std::size_t max_event_bytes = 16u << 20;
};

class SseParser {
 public:
  // Called once per dispatched event. The reference is valid only during the call (the parser
  // reuses its buffers), so a sink that keeps the event copies it.
  using EventSink = std::function<void(const SseEvent&)>;

  explicit SseParser(SseParserLimits limits = {}) : limits_(limits) {}

  // Consumes the next bytes of the stream and calls `sink` for every event they complete, in
  // order. Fails with kMalformedResponse (context "offset N", N counted from the stream start)
  // when an event exceeds the limit; after a failure every further call fails the same way.
  Status feed(std::string_view bytes, const EventSink& sink);

  // True when the bytes seen so far end inside an event: a partial line, or field lines not yet
  // followed by the blank line that dispatches them. At the end of a stream such an event is
  // discarded (as the specification says), and callers treat it as truncation.
  bool has_partial_event() const;

  std::uint64_t bytes_consumed() const { return bytes_consumed_; }
  std::uint64_t events_dispatched() const { return events_dispatched_; }
  std::uint64_t comments_seen() const { return comments_seen_; }

 private:
  void process_line(std::string_view line, const EventSink& sink);
  void dispatch(const EventSink& sink);
  Status check_size(std::size_t extra) const;

  SseParserLimits limits_;
  SseEvent event_;          // the event being assembled (data carries a trailing '\n' per line)
  std::string line_;        // a line not yet terminated by the bytes seen so far
  bool has_fields_ = false;  // some field line arrived since the last dispatch
  bool pending_cr_ = false;  // the last byte seen was CR: a following LF belongs to it
  bool at_stream_start_ = true;
  std::optional<Error> failure_;
  std::uint64_t bytes_consumed_ = 0;
  std::uint64_t events_dispatched_ = 0;
  std::uint64_t comments_seen_ = 0;
};

}  // namespace echoes::openai

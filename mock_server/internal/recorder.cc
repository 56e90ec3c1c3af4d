// MockServer::Impl, record and spy: the request forwarded to the upstream, its answer recorded
// (redacted, a stream as events with their offsets from the request), kept in the record file and
// the store, and answered to the client: a successful chat stream event by event as the upstream
// sends it, anything else from the recording once it is complete.
#include <httplib.h>

#include <algorithm>
#include <functional>

#include "core/base/strings.h"
#include "core/openai/sse_parser.h"
#include "mock_server/internal/mock_server_impl.h"
#include "mock_server/internal/openai_responses.h"

namespace echoes::mock {
namespace {

using internal::HttpRequest;
using internal::kJsonType;

// The upstream request: the client's, without hop-by-hop headers, the fault header and the
// transport's own pseudo-headers.
httplib::Request upstream_request_for(const HttpRequest& req) {
  httplib::Request out;
  out.method = req.method;
  out.path = req.path;
  out.body = req.body;
  static constexpr std::string_view kNotForwarded[] = {
      "host", "content-length", "connection", "keep-alive", "transfer-encoding",
      "accept-encoding", "x-echoes-fault", "remote_addr", "remote_port", "local_addr", "local_port"};
  for (const auto& [name, value] : req.headers) {
    const std::string key = to_lower_ascii(name);
    if (std::find(std::begin(kNotForwarded), std::end(kNotForwarded), key) != std::end(kNotForwarded)) continue;
    out.headers.emplace(name, value);
  }
  return out;
}

// The upstream's body as it arrives: the raw bytes, and for a stream its events (framed by core's
// SseParser, so lines may end in CR, LF or CRLF), each stamped with its offset from the request
// and handed, when a pass-through is set, to the client at once.
class UpstreamCapture {
 public:
  UpstreamCapture(Clock& clock, TimePoint started, bool wants_stream)
      : clock_(clock), started_(started), wants_stream_(wants_stream) {}

  // From now on each event's payload, [DONE] included, also goes to `pass_through` as it is
  // parsed; once a call returns false (the client went away) no more are passed.
  void pass_through(std::function<bool(std::string_view data)> pass_through) {
    pass_through_ = std::move(pass_through);
  }

  void add(std::string_view bytes) {
    raw_.append(bytes);
    if (!wants_stream_ || !parsed_) return;
    parsed_ = parser_.feed(bytes, [this](const openai::SseEvent& event) { on_event(event); });
  }

  std::string take_raw() { return std::move(raw_); }
  std::vector<StreamChunk> take_chunks() { return std::move(chunks_); }
  std::int64_t done_offset_ms() const { return done_offset_ms_; }
  bool done_seen() const { return done_offset_ms_ >= 0; }
  // Why the stream could not be framed (an event over the parser's size limit), if it could not.
  const Status& parsed() const { return parsed_; }

 private:
  std::int64_t offset_now() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started_).count();
  }

  void on_event(const openai::SseEvent& event) {
    if (openai::is_done_marker(event)) {
      done_offset_ms_ = offset_now();
    } else {
      chunks_.push_back({offset_now(), event.data, false});
    }
    if (pass_through_ && !pass_through_(event.data)) pass_through_ = nullptr;
  }

  Clock& clock_;
  const TimePoint started_;
  const bool wants_stream_;
  std::string raw_;
  openai::SseParser parser_;
  Status parsed_ = ok_status();
  std::vector<StreamChunk> chunks_;
  std::int64_t done_offset_ms_ = -1;
  std::function<bool(std::string_view)> pass_through_;
};

// The upstream's status and headers as recorded: names lower-cased, hop-by-hop headers dropped,
// values redacted. Returns the content type.
template <typename Redact>
std::string record_head(const httplib::Response& upstream, RecordedResponse& recorded,
                        const Redact& redact) {
  recorded.status = upstream.status;
  recorded.headers.clear();
  std::string content_type;
  for (const auto& [name, value] : upstream.headers) {
    const std::string key = to_lower_ascii(name);
    if (internal::is_hop_by_hop_header(key)) continue;
    if (key == "content-type") content_type = value;
    recorded.headers.emplace_back(key, redact(value));
  }
  return content_type;
}

// One SSE event as the mock sends it, live or replayed (replay.cc frames events the same way).
std::string sse_event(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 8);
  out.append("data: ").append(data).append("\n\n");
  return out;
}

}  // namespace

std::string MockServer::Impl::redact(std::string text) const {
  for (const std::regex& pattern : redactions_) text = std::regex_replace(text, pattern, "[REDACTED]");
  return text;
}

void MockServer::Impl::forward_and_record(const HttpRequest& req,
                                          const PreparedRequest& prepared, HttpResponse& res,
                                          const ConnectionInfo& connection, Exchange& ex,
                                          TimePoint started) {
  // 1. Forward, collecting the body as it arrives so a stream's events keep their offsets. A
  //    successful chat stream goes on to the client event by event (live) as it arrives.
  httplib::Client upstream(options_.upstream);
  upstream.set_connection_timeout(10, 0);
  upstream.set_read_timeout(300, 0);
  upstream.set_write_timeout(30, 0);
  httplib::Request out = upstream_request_for(req);
  UpstreamCapture capture(clock_, started, prepared.wants_stream);
  internal::LiveAnswer* live = nullptr;  // set once the client has the stream's head
  const auto redact_value = [this](const std::string& value) { return redact(value); };
  out.response_handler = [&](const httplib::Response& head) {
    RecordedResponse recorded;
    const std::string content_type = record_head(head, recorded, redact_value);
    const bool passes_through = connection.live != nullptr && prepared.wants_stream &&
                                req.path == internal::kChatPath && head.status >= 200 &&
                                head.status < 300 &&
                                content_type.find("text/event-stream") != std::string::npos;
    if (!passes_through) return true;
    (void)answer_head(recorded, started, res);
    res.set_header("Content-Type", internal::kEventStreamType);
    live = connection.live;
    if (live->begin(res)) {
      capture.pass_through([live](std::string_view data) { return live->write(sse_event(data)); });
    }
    return true;  // a client that went away still gets the stream recorded
  };
  out.content_receiver = [&capture](const char* data, size_t length, uint64_t, uint64_t) {
    capture.add(std::string_view(data, length));
    return true;
  };
  httplib::Response upstream_res;
  httplib::Error error = httplib::Error::Success;
  bool sent = false;
  {
    internal::UpstreamCalls::Scope call(upstream_calls_, upstream);  // stop() may end the call
    sent = call.admitted() && upstream.send(out, upstream_res, error);
  }
  if (!sent || !capture.parsed()) {
    if (live != nullptr) {
      live->end(false);  // the client already has the head: the stream can only be cut
    } else if (!sent && upstream_calls_.stopping()) {
      res.status = 503;
      res.set_content(internal::error_body("The server is shutting down; the request to the "
                                           "upstream was abandoned.",
                                           "server_error", "", "server_shutting_down"),
                      kJsonType);
      add_default_headers(res, started);
    } else {
      res.status = 502;
      const std::string why = !sent ? " could not be reached: " + httplib::to_string(error)
                                    : " sent a stream that is not SSE: " +
                                          capture.parsed().error().message;
      res.set_content(internal::error_body("The upstream " + options_.upstream + why,
                                           "server_error", "",
                                           !sent ? "upstream_unreachable" : "upstream_malformed"),
                      kJsonType);
      add_default_headers(res, started);
    }
    return;
  }

  // 2. Record: the request and the answer, redacted.
  Interaction interaction;
  interaction.request.method = req.method;
  interaction.request.path = req.path;
  interaction.request.body = redact(req.body);
  RecordedResponse& recorded = interaction.response;
  const std::string content_type = record_head(upstream_res, recorded, redact_value);
  const bool is_event_stream = content_type.find("text/event-stream") != std::string::npos;
  if (prepared.wants_stream && is_event_stream) {
    recorded.is_stream = true;
    recorded.chunks = capture.take_chunks();
    for (StreamChunk& chunk : recorded.chunks) {
      chunk.data = redact(std::move(chunk.data));
      chunk.is_usage = false;
    }
    const std::int64_t done_offset_ms = capture.done_offset_ms();
    recorded.done_offset_ms = done_offset_ms >= 0 ? done_offset_ms
                              : recorded.chunks.empty() ? 0
                                                        : recorded.chunks.back().offset_ms;
    // Mark the usage chunk as loading a cassette would.
    auto reparsed = parse_cassette(serialize_cassette(Cassette{"", "", {interaction}}), "recording");
    if (reparsed && !reparsed->interactions.empty()) {
      recorded.chunks = reparsed->interactions.front().response.chunks;
    }
  } else {
    recorded.body = redact(capture.take_raw());
  }

  // 3. Keep it, then answer: a live stream is finished (with the [DONE] a replay of the
  //    recording sends, if the upstream sent none); anything else is answered from the recording.
  keep_recording(interaction, req);
  ex.matched = true;
  ex.interaction_id = interaction.id;
  if (live != nullptr) {
    if (!capture.done_seen()) (void)live->write(sse_event("[DONE]"));
    live->end(true);
    return;
  }
  answer(interaction, prepared, req.path, std::nullopt, started, 0.0, res);
}

void MockServer::Impl::keep_recording(Interaction& interaction, const HttpRequest& req) {
  {
    std::lock_guard lock(record_mutex_);
    interaction.id = recorded_.name + "#" + std::to_string(recorded_.interactions.size());
    recorded_.interactions.push_back(interaction);
    recordings_dirty_ = true;
  }
  if (!interaction.request.body.empty() || req.method == "GET") {
    (void)store_.add_interaction(interaction);
  }
  (void)flush_recordings();
}

}  // namespace echoes::mock

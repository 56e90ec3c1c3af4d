// MockServer::Impl, record and spy: the request forwarded to the upstream, its answer recorded
// (redacted, a stream as events with their offsets from the request), kept in the record file and
// the store, and then answered to the client from the recording.
#include <httplib.h>

#include <algorithm>

#include "core/base/strings.h"
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

// The upstream's body as it arrives: the raw bytes, and for a stream its events, each stamped
// with its offset from the request.
class UpstreamCapture {
 public:
  UpstreamCapture(Clock& clock, TimePoint started, bool wants_stream)
      : clock_(clock), started_(started), wants_stream_(wants_stream) {}

  void add(std::string_view bytes) {
    raw_.append(bytes);
    if (wants_stream_) split_events();
  }

  std::string take_raw() { return std::move(raw_); }
  std::vector<StreamChunk> take_chunks() { return std::move(chunks_); }
  std::int64_t done_offset_ms() const { return done_offset_ms_; }

 private:
  std::int64_t offset_now() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started_).count();
  }

  void split_events() {
    for (;;) {
      size_t end = raw_.find("\n\n", parsed_up_to_);
      if (end == std::string::npos) return;
      std::string_view event(raw_.data() + parsed_up_to_, end - parsed_up_to_);
      parsed_up_to_ = end + 2;
      std::string data;
      bool has_data = false;  // an event may carry an empty data line, which is still an event
      size_t line_start = 0;
      while (line_start <= event.size()) {
        size_t line_end = event.find('\n', line_start);
        if (line_end == std::string_view::npos) line_end = event.size();
        std::string_view line = event.substr(line_start, line_end - line_start);
        if (line.starts_with("data:")) {
          line.remove_prefix(5);
          if (line.starts_with(" ")) line.remove_prefix(1);
          if (has_data) data += "\n";
          data.append(line);
          has_data = true;
        }
        line_start = line_end + 1;
      }
      if (data == "[DONE]") {
        done_offset_ms_ = offset_now();
      } else if (has_data) {
        chunks_.push_back({offset_now(), std::move(data), false});
      }
    }
  }

  Clock& clock_;
  const TimePoint started_;
  const bool wants_stream_;
  std::string raw_;
  size_t parsed_up_to_ = 0;
  std::vector<StreamChunk> chunks_;
  std::int64_t done_offset_ms_ = -1;
};

}  // namespace

std::string MockServer::Impl::redact(std::string text) const {
  for (const std::regex& pattern : redactions_) text = std::regex_replace(text, pattern, "[REDACTED]");
  return text;
}

void MockServer::Impl::forward_and_record(const HttpRequest& req,
                                          const PreparedRequest& prepared, HttpResponse& res,
                                          Exchange& ex, TimePoint started) {
  // 1. Forward, collecting the body as it arrives so a stream's events keep their offsets.
  httplib::Client upstream(options_.upstream);
  upstream.set_connection_timeout(10, 0);
  upstream.set_read_timeout(300, 0);
  upstream.set_write_timeout(30, 0);
  httplib::Request out = upstream_request_for(req);
  UpstreamCapture capture(clock_, started, prepared.wants_stream);
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
  if (!sent && upstream_calls_.stopping()) {
    res.status = 503;
    res.set_content(internal::error_body("The server is shutting down; the request to the "
                                         "upstream was abandoned.",
                                         "server_error", "", "server_shutting_down"),
                    kJsonType);
    add_default_headers(res, started);
    return;
  }
  if (!sent) {
    res.status = 502;
    res.set_content(internal::error_body("The upstream " + options_.upstream +
                                             " could not be reached: " + httplib::to_string(error),
                                         "server_error", "", "upstream_unreachable"),
                    kJsonType);
    add_default_headers(res, started);
    return;
  }

  // 2. Record: the request and the answer, redacted.
  Interaction interaction;
  interaction.request.method = req.method;
  interaction.request.path = req.path;
  interaction.request.body = redact(req.body);
  RecordedResponse& recorded = interaction.response;
  recorded.status = upstream_res.status;
  std::string content_type;
  for (const auto& [name, value] : upstream_res.headers) {
    const std::string key = to_lower_ascii(name);
    if (internal::is_hop_by_hop_header(key)) continue;
    if (key == "content-type") content_type = value;
    recorded.headers.emplace_back(key, redact(value));
  }
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

  // 3. Keep it, then answer from it (the recording already took its time).
  keep_recording(interaction, req);
  ex.matched = true;
  ex.interaction_id = interaction.id;
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

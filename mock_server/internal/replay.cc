// MockServer::Impl, replay: the answer from a recording — a JSON body, or a stream whose events go
// out at their recorded offsets (times the time scale) as a TimedBody — with the faults that
// alter an answer (malformed_body, stream_cut, slow_dribble) applied; and the built-in model list.
#include <algorithm>

#include "mock_server/internal/delay.h"
#include "mock_server/internal/mock_server_impl.h"
#include "mock_server/internal/openai_responses.h"

namespace echoes::mock {

using internal::kChatPath;
using internal::kEventStreamType;
using internal::kJsonType;
using nlohmann::json;

void MockServer::Impl::answer(const Interaction& interaction, const PreparedRequest& prepared,
                              const std::string& path, const std::optional<FaultSpec>& corruption,
                              TimePoint started, double time_scale, HttpResponse& res) {
  const RecordedResponse& recorded = interaction.response;
  const std::string content_type = answer_head(recorded, started, res);
  const bool success = recorded.status >= 200 && recorded.status < 300;
  const bool chat = path == kChatPath;
  if (success && chat && prepared.wants_stream) {
    if (recorded.is_stream) {
      std::vector<StreamChunk> chunks;
      chunks.reserve(recorded.chunks.size());
      for (const StreamChunk& chunk : recorded.chunks) {
        if (!chunk.is_usage || prepared.include_usage) chunks.push_back(chunk);
      }
      send_stream(std::move(chunks), recorded.done_offset_ms, corruption, started, time_scale, res);
      return;
    }
    if (auto chunks = internal::chunks_from_completion(recorded.body, prepared.include_usage)) {
      send_stream(std::move(*chunks), 0, corruption, started, time_scale, res);
      return;
    }
  }
  if (recorded.is_stream) {
    if (success && chat && !prepared.wants_stream) {
      if (auto body = internal::completion_from_chunks(recorded.chunks)) {
        send_body(std::move(*body), kJsonType, corruption, res);
        return;
      }
    }
    // A recorded stream on any other route is replayed as a stream.
    send_stream(recorded.chunks, recorded.done_offset_ms, corruption, started, time_scale, res);
    return;
  }
  send_body(recorded.body, content_type.empty() ? kJsonType : content_type, corruption, res);
}

std::string MockServer::Impl::answer_head(const RecordedResponse& recorded, TimePoint started,
                                         HttpResponse& res) {
  res.status = recorded.status;
  std::string content_type;
  for (const auto& [name, value] : recorded.headers) {
    if (name == "content-type") {
      content_type = value;
    } else if (!internal::is_hop_by_hop_header(name)) {
      res.set_header(name, value);
    }
  }
  add_default_headers(res, started, &recorded.headers);
  return content_type;
}

void MockServer::Impl::send_body(std::string body, const std::string& content_type,
                                 const std::optional<FaultSpec>& corruption,
                                 HttpResponse& res) {
  if (!corruption) {
    res.set_content(std::move(body), content_type);
    return;
  }
  switch (corruption->kind) {
    case FaultKind::kMalformedBody:
      body = body.size() >= 2 ? body.substr(0, body.size() / 2) : std::string("{\"id\":");
      res.set_content(std::move(body), content_type);
      return;
    case FaultKind::kStreamCut: {
      // Promise the full length, send half, then drop the connection.
      res.set_header("Content-Type", content_type);
      res.declared_length = body.size();
      res.body_writer = [body = std::move(body)](internal::BodySink& sink) {
        (void)sink.write(std::string_view(body).substr(0, body.size() / 2));
        return false;
      };
      return;
    }
    case FaultKind::kSlowDribble: {
      const size_t step = static_cast<size_t>(std::max(corruption->dribble_bytes, 1));
      const auto pause = std::chrono::milliseconds(corruption->dribble_interval_ms);
      res.set_header("Content-Type", content_type);
      res.declared_length = body.size();
      res.body_writer = [this, body = std::move(body), step, pause](internal::BodySink& sink) {
        for (size_t offset = 0; offset < body.size(); offset += step) {
          if (offset > 0) sleep_interruptibly(pause);
          if (stopping()) return false;
          if (!sink.write(std::string_view(body).substr(offset, step))) return false;
        }
        return true;
      };
      return;
    }
    default:
      res.set_content(std::move(body), content_type);
      return;
  }
}

void MockServer::Impl::send_stream(std::vector<StreamChunk> chunks, std::int64_t done_offset_ms,
                                   const std::optional<FaultSpec>& corruption, TimePoint started,
                                   double time_scale, HttpResponse& res) {
  std::optional<size_t> cut_after;
  size_t dribble_bytes = 0;
  Duration dribble_pause{0};
  if (corruption) {
    switch (corruption->kind) {
      case FaultKind::kStreamCut:
        cut_after = static_cast<size_t>(corruption->cut_after_chunks);
        break;
      case FaultKind::kSlowDribble:
        dribble_bytes = static_cast<size_t>(std::max(corruption->dribble_bytes, 1));
        dribble_pause = std::chrono::milliseconds(corruption->dribble_interval_ms);
        break;
      case FaultKind::kMalformedBody:
        if (!chunks.empty()) chunks.front().data.resize(chunks.front().data.size() / 2);
        break;
      default:
        break;
    }
  }
  // A recorded offset (any int64 a cassette holds) times the scale can exceed what a Duration
  // holds: the delay is capped at a day (internal/delay.h).
  auto deadline = [started, time_scale](std::int64_t offset_ms) {
    return started + internal::delay_from_ms(static_cast<double>(offset_ms) * time_scale);
  };
  res.set_header("Content-Type", kEventStreamType);
  internal::TimedBody body;
  const size_t sent = cut_after ? std::min(*cut_after, chunks.size()) : chunks.size();
  body.parts.reserve(sent + 1);
  for (size_t i = 0; i < sent; ++i) {
    body.parts.push_back({deadline(chunks[i].offset_ms), "data: " + chunks[i].data + "\n\n"});
  }
  if (cut_after) {
    body.complete = false;
  } else {
    body.parts.push_back({deadline(done_offset_ms), "data: [DONE]\n\n"});
  }
  if (dribble_bytes == 0) {
    // The transport sends each event when due (from the event loop's timers on the system
    // clock), so a waiting stream holds no thread.
    res.timed_body = std::move(body);
    return;
  }
  // A slow dribble paces every few bytes: a worker writes it, sleeping in between.
  res.body_writer = [this, body = std::move(body), dribble_bytes,
                     dribble_pause](internal::BodySink& sink) {
    for (const internal::TimedPart& part : body.parts) {
      const TimePoint now = clock_.now();
      if (part.due > now) sleep_interruptibly(part.due - now);
      for (size_t at = 0; at < part.bytes.size(); at += dribble_bytes) {
        if (at > 0) sleep_interruptibly(dribble_pause);
        if (stopping()) return false;
        if (!sink.write(std::string_view(part.bytes).substr(at, dribble_bytes))) return false;
      }
    }
    return body.complete;
  };
}

void MockServer::Impl::serve_models(HttpResponse& res) {
  json data = json::array();
  for (const std::string& model : known_models_) {
    data.push_back({{"id", model}, {"object", "model"}, {"created", 0}, {"owned_by", "echoes-mock"}});
  }
  res.status = 200;
  res.set_content(json{{"object", "list"}, {"data", data}}.dump(), kJsonType);
}

void MockServer::Impl::sleep_interruptibly(Duration d) {
  const TimePoint until = clock_.now() + d;
  const Duration slice = std::chrono::milliseconds(50);
  for (TimePoint now = clock_.now(); now < until && !stopping(); now = clock_.now()) {
    clock_.sleep_for(std::min(slice, Duration(until - now)));
  }
}

double MockServer::Impl::current_time_scale() const {
  std::shared_ptr<const Scenario> active = scenario();
  if (active && active->time_scale) return *active->time_scale;
  return options_.time_scale;
}
}  // namespace echoes::mock

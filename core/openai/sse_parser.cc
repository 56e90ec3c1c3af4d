#include "core/openai/sse_parser.h"

#include <cstring>
#include <string>

namespace echoes::openai {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

bool all_ascii_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Status SseParser::check_size(std::size_t extra) const {
  if (line_.size() + event_.data.size() + extra > limits_.max_event_bytes) {
    return Error(ErrorCode::kMalformedResponse,
                 "server-sent event exceeds " + std::to_string(limits_.max_event_bytes) + " bytes",
                 "offset " + std::to_string(bytes_consumed_));
  }
  return ok_status();
}

Status SseParser::feed(std::string_view bytes, const EventSink& sink) {
  if (failure_) return *failure_;
  const char* const begin = bytes.data();
  const std::size_t size = bytes.size();
  std::size_t pos = 0;
  if (pending_cr_ && size > 0) {
    pending_cr_ = false;
    if (begin[0] == '\n') {  // the LF of a CRLF split across two reads
      pos = 1;
      ++bytes_consumed_;
    }
  }
  while (pos < size) {
    // The next line terminator: the first LF, unless a CR comes before it. CR is rare, so the
    // second scan only covers the bytes before the LF.
    const void* lf = std::memchr(begin + pos, '\n', size - pos);
    std::size_t end = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - begin) : size;
    const void* cr = std::memchr(begin + pos, '\r', end - pos);
    if (cr) end = static_cast<std::size_t>(static_cast<const char*>(cr) - begin);
    if (end == size) {
      // No terminator: keep the partial line for the next read.
      if (Status s = check_size(size - pos); !s) {
        failure_ = s.error();
        return s;
      }
      line_.append(begin + pos, size - pos);
      bytes_consumed_ += size - pos;
      break;
    }
    std::string_view line(begin + pos, end - pos);
    if (!line_.empty()) {
      if (Status s = check_size(line.size()); !s) {
        failure_ = s.error();
        return s;
      }
      line_.append(line);
      line = line_;
    } else if (line.size() + event_.data.size() > limits_.max_event_bytes) {
      Status s = check_size(line.size());
      failure_ = s.error();
      return s;
    }
    std::size_t next = end + 1;
    if (begin[end] == '\r') {
      if (next < size) {
        if (begin[next] == '\n') ++next;
      } else {
        pending_cr_ = true;
      }
    }
    bytes_consumed_ += next - pos;
    process_line(line, sink);
    line_.clear();
    pos = next;
  }
  return ok_status();
}

void SseParser::process_line(std::string_view line, const EventSink& sink) {
  if (at_stream_start_) {
    at_stream_start_ = false;
    if (line.substr(0, kByteOrderMark.size()) == kByteOrderMark) line.remove_prefix(kByteOrderMark.size());
  }
  if (line.empty()) {
    dispatch(sink);
    return;
  }
  if (line.front() == ':') {
    ++comments_seen_;
    return;
  }
  has_fields_ = true;
  std::string_view field = line;
  std::string_view value;
  if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    event_.data.append(value);
    event_.data.push_back('\n');
  } else if (field == "event") {
    event_.type.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) event_.id.assign(value);
  } else if (field == "retry") {
    if (all_ascii_digits(value) && value.size() <= 18) event_.retry_ms = std::stoll(std::string(value));
  }
  // Any other field is ignored, as the specification requires.
}

void SseParser::dispatch(const EventSink& sink) {
  has_fields_ = false;
  if (event_.data.empty()) {
    // No data: nothing is dispatched and the event type is reset (the id is kept).
    event_.type.clear();
    event_.retry_ms.reset();
    return;
  }
  event_.data.pop_back();  // the '\n' after the last data line
  ++events_dispatched_;
  if (sink) sink(event_);
  event_.data.clear();
  event_.type.clear();
  event_.retry_ms.reset();
}

bool SseParser::has_partial_event() const { return !line_.empty() || has_fields_; }

}  // namespace echoes::openai

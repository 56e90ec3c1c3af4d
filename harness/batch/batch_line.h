// Batch input lines: reading a JSON Lines file one bounded line at a time, and turning one line into
// the chat request to send (or the reason it cannot be sent), in either of the two accepted forms:
//
//   {"id": "q1", "model": "gpt-4o-mini", "messages": [...]}                      a chat request body
//   {"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions",
//    "body": {"model": "gpt-4o-mini", "messages": [...]}}                       OpenAI Batch API line
//
//   BatchLineReader reader(file, {.max_line_bytes = 1 << 20});
//   while (std::optional<InputLine> line = reader.next()) {
//     ParsedLine parsed = parse_batch_line(*line, default_model);
//     if (parsed.invalid) skip(line->number, parsed.invalid->message);
//     else send(parsed.request);                 // never carries "id" or "custom_id"
//   }
//
// `id` / `custom_id` are the caller's labels: they are echoed in the output line and never sent
// upstream. A line is invalid (never a crash) when it is too long, empty, not JSON, invalid UTF-8,
// nested deeper than the limit, not an object, a Batch API line for another method or endpoint,
// or a chat request whose fields lie about their types (the reason names the JSON path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/error.h"
#include "core/openai/types.h"

namespace echoes::harness::batch {

struct BatchLineLimits {
  std::size_t max_line_bytes = std::size_t{4} * 1024 * 1024;  // a longer line is invalid
  std::size_t max_depth = 64;                                    // JSON nesting
  std::size_t max_id_bytes = 1024;                               // id / custom_id
};

// One line of the input, as read. `text` holds at most max_line_bytes + 1 bytes of it (the
// reader stops keeping bytes beyond that); `size` is the line's true length without its newline.
struct InputLine {
  std::int64_t number = 0;  // from 1
  std::string text;
  std::size_t size = 0;
  bool truncated() const { return text.size() < size; }
};

// Reads lines ("\n" or "\r\n" ended; a last line without a newline counts) with bounded memory
// whatever their length. Lines are numbered from 1.
class BatchLineReader {
 public:
  BatchLineReader(std::istream& in, BatchLineLimits limits = {});
  // The next line, or nullopt at the end of the input (or a read error: see failed()).
  std::optional<InputLine> next();
  bool failed() const { return failed_; }

 private:
  bool fill();

  std::istream& in_;
  BatchLineLimits limits_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::int64_t number_ = 0;
  bool eof_ = false;
  bool failed_ = false;
};

enum class LineForm : std::uint8_t { kChatBody, kBatchApi };

struct ParsedLine {
  LineForm form = LineForm::kChatBody;
  std::optional<std::string> id;         // a chat body's "id"
  std::optional<std::string> custom_id;  // a Batch API line's "custom_id"
  openai::ChatCompletionRequest request; // what to send, when valid
  // Set when the line cannot be sent: kInvalidInput, the message says why, the context names the
  // JSON path ("body.messages[0].role") or the byte offset ("offset 17").
  std::optional<Error> invalid;
};

// Parses one input line. `default_model` fills a request that names no model (--model); a model
// in the line wins. The ids are kept even when the rest of the line is invalid, when they could
// be read.
ParsedLine parse_batch_line(const InputLine& line, const std::optional<std::string>& default_model,
                            const BatchLineLimits& limits = {});

}  // namespace echoes::harness::batch

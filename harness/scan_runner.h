// ScanRunner: the I/O engine of `echoes scan`. Reads JSON Lines with a "text" field (or plain lines),
// runs a TextDetector on each line and writes one JSON object per input line, in input order
// (schema: fixtures/contracts/scan_line.schema.json):
//
//   {"line":1,"flagged":true,"score":0.97,"category":"injection","rules":[{"id":"x","start":0,"end":6}]}
//   {"line":2,"error":{"code":"invalid_json","message":"..."}}
//
//   ScanOptions options{.threads = 4};
//   Result<ScanSummary> s = run_scan(fd_reader(0), fd_writer(1), detector, options);
//   return s ? scan_exit_code(*s, FailOn::kFlagged) : 2;
//
// `line` counts from 1; a final line without a newline counts; CRLF endings are accepted. A line
// that is empty, not valid JSON (or nested deeper than max_json_depth), not an object with a
// string "text", not UTF-8 (the message names the byte offset in the line), longer than
// max_line_bytes, or that the detector fails on gets an error object and the run goes on. Error
// codes: empty_line, invalid_json, missing_text, invalid_utf8, line_too_long, detector_error.
//
// Memory is bounded: lines are read in batches (at most batch_lines per thread and batch_bytes)
// that are scanned (split over `threads`), written and dropped before the next is read; a line
// beyond max_line_bytes is skipped without being kept. A batch is also cut when the input pauses
// (a short read), so output follows a slow pipe line by line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/safety/detector.h"

namespace echoes::harness {

// The scan output stream's format, for `echoes --version` and the schema.
inline constexpr std::string_view kScanLineFormat = "echoes-scan-line";
inline constexpr int kScanLineVersion = 1;

enum class ScanInput { kJsonLines, kPlain };

// Which lines make the run fail (exit 1).
enum class FailOn { kNothing, kFlagged, kError, kAny };
std::optional<FailOn> fail_on_from_string(std::string_view name);  // "flagged" "error" "any"

struct ScanOptions {
  ScanInput input = ScanInput::kJsonLines;
  std::size_t threads = 1;                                  // >= 1
  std::size_t max_line_bytes = std::size_t{1} << 20;        // without the line ending
  std::size_t max_json_depth = 64;
  std::size_t batch_lines = 1024;                           // per thread
  std::size_t batch_bytes = std::size_t{8} << 20;
};

struct ScanSummary {
  std::uint64_t lines = 0;
  std::uint64_t flagged = 0;
  std::uint64_t errors = 0;
  friend bool operator==(const ScanSummary&, const ScanSummary&) = default;
};

// 1 when a line `fail_on` counts was seen, else 0.
int scan_exit_code(const ScanSummary& summary, FailOn fail_on);

// Fills up to `size` bytes of `buffer`; 0 at the end of the input.
using ScanReader = std::function<Result<std::size_t>(char* buffer, std::size_t size)>;
// Writes all of `bytes`.
using ScanWriter = std::function<Status(std::string_view bytes)>;

// Reads or writes a file descriptor (retrying on EINTR); errors name `what` ("standard input").
ScanReader fd_reader(int fd, std::string what);
ScanWriter fd_writer(int fd, std::string what);

// Errors: the reader's or writer's (a line's problem is never a run error), or kInvalidInput for
// options out of range.
Result<ScanSummary> run_scan(const ScanReader& in, const ScanWriter& out,
                             const safety::TextDetector& detector, const ScanOptions& options);

}  // namespace echoes::harness

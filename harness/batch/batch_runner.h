// BatchRunner: `echoes batch run`'s engine. Reads a JSON Lines input, sends each valid line of its
// shard through a LineSender with bounded concurrency (paced by an optional token bucket), records
// each line's one outcome in the BatchStore as it completes, and at the end writes the output
// (one line per input line of the shard, in input order) from the store, atomically.
//
//   BatchRunOptions options{.input = "in.jsonl", .output = "out.jsonl", .concurrency = 8};
//   BatchCounters counters;                       // read by a progress display on another thread
//   Result<BatchSummary> summary = run_batch(options, sender, counters);
//   // summary->errors > 0: exit 1; summary->stopped_at_bad_line: exit 2 (progress kept)
//
// Output lines: {"line", "id"?, "custom_id"?, "outcome": "answer"|"blocked"|"error"|"invalid",
// "response"?, "decision"?, "error"?} (schema fixtures/contracts/batch_output_line.schema.json).
// Resume: lines recorded with the same input bytes are not sent again; lines in flight when a run
// died were never recorded and are sent again (at least once towards the upstream). Results are
// committed in groups (one transaction for whatever completed during the previous commit, at most
// kMaxResultsPerCommit), so after a kill at most concurrency + 2 * kMaxResultsPerCommit lines that
// had an answer are sent again: those in flight, those waiting for a commit, those in the commit.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/openai/types.h"
#include "core/safety/rate_limiter.h"
#include "harness/batch/batch_line.h"

namespace echoes::harness::batch {

inline constexpr std::string_view kBatchOutputLineFormat = "echoes-batch-output-line";
inline constexpr int kBatchOutputLineVersion = 1;
// The most results one store transaction holds (and the most waiting for the next one).
inline constexpr std::size_t kMaxResultsPerCommit = 64;

enum class LineOutcome : std::uint8_t { kAnswer, kBlocked, kError, kInvalid };
std::string_view to_string(LineOutcome outcome);  // "answer" "blocked" "error" "invalid"

// What sending one request came to.
struct SentLine {
  LineOutcome outcome = LineOutcome::kError;     // kAnswer, kBlocked or kError
  std::optional<openai::ChatCompletionResponse> response;  // kAnswer
  std::optional<Error> error;                    // kError
  // With the safety layer: the decision object of the output line (compact JSON), for answers
  // and blocks.
  std::optional<std::string> decision_json;
};

// Sends one request; called concurrently from the runner's workers, so it must be thread-safe.
using LineSender = std::function<SentLine(const openai::ChatCompletionRequest&)>;

// The output line of one input line (compact JSON, no newline).
std::string output_line(std::int64_t line, const ParsedLine& parsed, const SentLine& sent);
std::string invalid_output_line(std::int64_t line, const ParsedLine& parsed);

enum class BadLinePolicy : std::uint8_t { kSkip, kFail };

struct Shard {
  std::int64_t index = 0;  // I, from 0
  std::int64_t count = 1;  // N
  // Whether input line `line` (from 1) belongs to the shard: line mod N == I.
  bool owns(std::int64_t line) const { return line % count == index; }
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};
// "I/N" with 0 <= I < N, N >= 1; kInvalidInput otherwise.
Result<Shard> parse_shard(std::string_view text);

struct BatchRunOptions {
  std::string input;
  std::string output;
  std::optional<std::string> model;  // fills lines without a model
  bool resume = false;
  int concurrency = 4;               // requests in flight, >= 1
  BadLinePolicy on_bad_line = BadLinePolicy::kSkip;
  Shard shard;
  bool safety = false;               // recorded in the store's identity only
  BatchLineLimits limits;
  // Paces requests: one permit per line before it is sent, waiting on the bucket's clock (nullptr:
  // no pacing). Not owned.
  TokenBucket* pace = nullptr;
  Duration max_pace_wait = std::chrono::hours(1);
};

// Live counts, updated by the runner as lines complete (for a progress display).
struct BatchCounters {
  std::atomic<std::int64_t> shard_lines{0};     // lines of the input in the shard (known at start)
  std::atomic<std::int64_t> already_done{0};    // recorded by an earlier run and skipped
  std::atomic<std::int64_t> done{0};            // completed by this run (any outcome)
  std::atomic<std::int64_t> errors{0};
  std::atomic<std::int64_t> blocked{0};
  std::atomic<std::int64_t> invalid{0};
};

struct BatchSummary {
  std::int64_t input_lines = 0;   // every line of the input
  std::int64_t shard_lines = 0;   // the lines of this shard: the output's line count
  std::int64_t already_done = 0;  // recorded by an earlier run, not sent again
  std::int64_t sent = 0;          // lines sent by this run
  std::int64_t answers = 0, blocked = 0, errors = 0, invalid = 0;  // over the whole output
  // --on-bad-line fail stopped the run here; the output was not written, progress was kept.
  std::optional<std::int64_t> stopped_at_bad_line;
  std::optional<Error> bad_line_reason;
  std::string store_path;
};

// Runs the batch. Errors (exit 2): unreadable input, a store that cannot be opened (earlier
// progress without --resume, a different identity, a second run on the same output), an output
// that cannot be written, or a failing store. A failing sender is never an error of the run: its
// answer is the line's outcome.
Result<BatchSummary> run_batch(const BatchRunOptions& options, const LineSender& sender, BatchCounters& counters);

// `echoes batch merge`: joins shard outputs into one, in input order. Each file must be in
// ascending line order; a line number present twice, or missing between 1 and the last line, is
// kInvalidInput naming it. Writes to `write` line by line (with newline).
Status merge_outputs(const std::vector<std::string>& inputs, const std::function<Status(std::string_view)>& write);

}  // namespace echoes::harness::batch

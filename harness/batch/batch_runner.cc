#include "harness/batch/batch_runner.h"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>

#include "core/eval/sha256.h"
#include "core/openai/codec.h"
#include "core/openai/json.h"
#include "harness/batch/batch_store.h"

namespace echoes::harness::batch {
namespace {

// The digest of an input line's bytes, so a resumed run notices a line that changed.
std::string line_digest(const InputLine& line) {
  return eval::sha256_hex(line.text) + ":" + std::to_string(line.size);
}

std::string line_head(std::int64_t line, const ParsedLine& parsed, LineOutcome outcome) {
  std::string out = "{\"line\":" + std::to_string(line);
  if (parsed.id) out += ",\"id\":" + openai::dump_json(*parsed.id);
  if (parsed.custom_id) out += ",\"custom_id\":" + openai::dump_json(*parsed.custom_id);
  out += ",\"outcome\":\"" + std::string(to_string(outcome)) + "\"";
  return out;
}

std::string error_json(const Error& error) {
  nlohmann::json e = nlohmann::json::object();
  e["code"] = std::string(to_string(error.code));
  e["message"] = error.message;
  if (!error.context.empty()) e["context"] = error.context;
  if (error.http_status) e["status"] = *error.http_status;
  if (!error.request_id.empty()) e["request_id"] = error.request_id;
  if (error.attempts > 0) e["attempts"] = error.attempts;
  if (error.retry_after) e["retry_after_ms"] = error.retry_after->count();
  return openai::dump_json(e);
}

// Counts the lines of a file as BatchLineReader numbers them (a last line without a newline counts).
Result<std::int64_t> count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidInput, "cannot read the input", path);
  std::vector<char> buffer(1 << 16);
  std::int64_t lines = 0;
  char last = '\n';
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < got; ++i) lines += buffer[i] == '\n' ? 1 : 0;
    if (got > 0) last = buffer[got - 1];
  }
  if (in.bad()) return Error(ErrorCode::kInvalidInput, "cannot read the input", path);
  return lines + (last != '\n' ? 1 : 0);
}

struct Work {
  std::int64_t line = 0;
  std::string digest;
  ParsedLine parsed;
};

// A bounded hand-off from the reader to the workers.
class WorkQueue {
 public:
  explicit WorkQueue(std::size_t capacity) : capacity_(capacity) {}
  // False when the queue was stopped (a worker failed): the reader stops too.
  bool push(Work work) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || stopped_; });
    if (stopped_) return false;
    items_.push_back(std::move(work));
    not_empty_.notify_one();
    return true;
  }
  std::optional<Work> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_ || stopped_; });
    if (stopped_ || items_.empty()) return std::nullopt;
    Work work = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return work;
  }
  // No more work will come; workers finish what is queued.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }
  // Stop at once: queued work is dropped (it was never recorded, so a resume sends it).
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Work> items_;
  std::size_t capacity_;
  bool closed_ = false;
  bool stopped_ = false;
};

void count(BatchCounters& counters, LineOutcome outcome);

// Commits results in groups from one thread: whatever completed while the previous commit ran goes
// into the next transaction. A result is recorded (and counted) only once its group committed;
// one that was still pending when the process died is sent again on resume.
class ResultWriter {
 public:
  ResultWriter(BatchStore& store, BatchCounters& counters, std::function<void(Error)> on_failure)
      : store_(store), counters_(counters), on_failure_(std::move(on_failure)), thread_([this] { loop(); }) {}
  ~ResultWriter() { finish(); }
  // Waits while too many results are pending (the store is behind).
  void add(BatchStore::Record record, LineOutcome outcome) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return pending_.size() < kMaxPending || failed_; });
    if (failed_) return;
    pending_.push_back(std::move(record));
    outcomes_.push_back(outcome);
    wake_.notify_one();
  }
  // Commits what is pending and stops.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      finished_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  static constexpr std::size_t kMaxPending = kMaxResultsPerCommit;
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return !pending_.empty() || finished_; });
      if (pending_.empty()) return;  // finished, nothing left
      std::vector<BatchStore::Record> group;
      std::vector<LineOutcome> outcomes;
      group.swap(pending_);
      outcomes.swap(outcomes_);
      room_.notify_all();
      lock.unlock();
      Status committed = store_.record_all(group);
      if (committed) {
        for (LineOutcome o : outcomes) count(counters_, o);
      }
      lock.lock();
      if (!committed) {
        failed_ = true;
        room_.notify_all();
        lock.unlock();
        on_failure_(committed.error());
        return;
      }
    }
  }

  BatchStore& store_;
  BatchCounters& counters_;
  std::function<void(Error)> on_failure_;
  std::mutex mutex_;
  std::condition_variable wake_, room_;
  std::vector<BatchStore::Record> pending_;
  std::vector<LineOutcome> outcomes_;
  bool finished_ = false;
  bool failed_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

SentLine send_one(const BatchRunOptions& options, const LineSender& sender, const openai::ChatCompletionRequest& request) {
  if (options.pace != nullptr) {
    if (Status permit = options.pace->acquire(options.max_pace_wait); !permit) {
      return SentLine{LineOutcome::kError, std::nullopt, permit.error(), std::nullopt};
    }
  }
  try {
    return sender(request);
  } catch (const std::exception& e) {
    return SentLine{LineOutcome::kError, std::nullopt,
                    Error(ErrorCode::kUnexpectedException, std::string("the sender threw: ") + e.what()), std::nullopt};
  } catch (...) {
    return SentLine{LineOutcome::kError, std::nullopt,
                    Error(ErrorCode::kUnexpectedException, "the sender threw a non-standard exception"), std::nullopt};
  }
}

void count(BatchCounters& counters, LineOutcome outcome) {
  if (outcome == LineOutcome::kError) ++counters.errors;
  if (outcome == LineOutcome::kBlocked) ++counters.blocked;
  if (outcome == LineOutcome::kInvalid) ++counters.invalid;
  ++counters.done;
}

// Writes the output from the store: every line of the shard, in order, or an error naming the
// first line without a result. Written beside the target and renamed, so it is whole or absent.
Status write_output(const BatchStore& store, const BatchRunOptions& options, std::int64_t input_lines,
                    BatchSummary& summary) {
  const std::string partial = options.output + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) return Error(ErrorCode::kInvalidInput, "cannot write the output", partial);
  std::int64_t expected = 1;
  auto next_owned = [&](std::int64_t from) {
    while (from <= input_lines && !options.shard.owns(from)) ++from;
    return from;
  };
  expected = next_owned(1);
  Status walked = store.for_each_result(
      input_lines, [&](std::int64_t line, std::string_view outcome, std::string_view json) -> Status {
        if (!options.shard.owns(line)) return ok_status();  // cannot happen: the identity pins the shard
        if (line != expected) {
          return Error(ErrorCode::kInternal, "line " + std::to_string(expected) + " has no result", store.path());
        }
        out << json << '\n';
        if (outcome == "answer") ++summary.answers;
        if (outcome == "blocked") ++summary.blocked;
        if (outcome == "error") ++summary.errors;
        if (outcome == "invalid") ++summary.invalid;
        expected = next_owned(line + 1);
        return ok_status();
      });
  if (!walked) return walked;
  if (expected <= input_lines) {
    return Error(ErrorCode::kInternal, "line " + std::to_string(expected) + " has no result", store.path());
  }
  out.flush();
  if (!out) return Error(ErrorCode::kInvalidInput, "cannot write the output", partial);
  out.close();
  std::error_code ec;
  std::filesystem::rename(partial, options.output, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot write the output: " + ec.message(), options.output);
  return ok_status();
}

}  // namespace

std::string_view to_string(LineOutcome outcome) {
  switch (outcome) {
    case LineOutcome::kAnswer: return "answer";
    case LineOutcome::kBlocked: return "blocked";
    case LineOutcome::kError: return "error";
    case LineOutcome::kInvalid: return "invalid";
  }
  return "error";
}

std::string output_line(std::int64_t line, const ParsedLine& parsed, const SentLine& sent) {
  std::string out = line_head(line, parsed, sent.outcome);
  if (sent.outcome == LineOutcome::kAnswer && sent.response) out += ",\"response\":" + openai::encode(*sent.response);
  if (sent.decision_json) out += ",\"decision\":" + *sent.decision_json;
  if (sent.outcome == LineOutcome::kError) {
    out += ",\"error\":" + error_json(sent.error.value_or(Error(ErrorCode::kInternal, "no error was given")));
  }
  return out + "}";
}

std::string invalid_output_line(std::int64_t line, const ParsedLine& parsed) {
  return line_head(line, parsed, LineOutcome::kInvalid) + ",\"error\":" +
         error_json(parsed.invalid.value_or(Error(ErrorCode::kInvalidInput, "invalid line"))) + "}";
}

Result<Shard> parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  auto number = [](std::string_view s) -> std::optional<std::int64_t> {
    if (s.empty() || s.size() > 9) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (slash != std::string_view::npos) {
    const auto i = number(text.substr(0, slash));
    const auto n = number(text.substr(slash + 1));
    if (i && n && *n >= 1 && *i < *n) return Shard{*i, *n};
  }
  return Error(ErrorCode::kInvalidInput, "expected I/N with 0 <= I < N, got '" + std::string(text.substr(0, 32)) + "'",
               "--shard");
}

Result<BatchSummary> run_batch(const BatchRunOptions& options, const LineSender& sender, BatchCounters& counters) {
  BatchSummary summary;
  Result<std::int64_t> input_lines = count_lines(options.input);
  if (!input_lines) return input_lines.error();
  summary.input_lines = *input_lines;
  for (std::int64_t line = 1; line <= *input_lines; ++line) summary.shard_lines += options.shard.owns(line) ? 1 : 0;
  counters.shard_lines = summary.shard_lines;

  std::ifstream in(options.input, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidInput, "cannot read the input", options.input);
  summary.store_path = BatchStore::path_for(options.output);
  const RunIdentity identity{options.shard.to_string(), options.model.value_or(""), options.safety};
  Result<std::unique_ptr<BatchStore>> opened = BatchStore::open(summary.store_path, identity, options.resume);
  if (!opened) return opened.error();
  BatchStore& store = **opened;
  Result<std::map<std::int64_t, std::string>> completed = store.completed();
  if (!completed) return completed.error();

  WorkQueue queue(static_cast<std::size_t>(options.concurrency) * 2);
  std::mutex failure_mutex;
  std::optional<Error> failure;  // the store failed: the run cannot go on
  auto fail = [&](Error e) {
    std::lock_guard lock(failure_mutex);
    if (!failure) failure = std::move(e);
    queue.stop();
  };
  std::atomic<std::int64_t> sent{0};
  ResultWriter writer(store, counters, fail);
  std::vector<std::thread> workers;
  for (int i = 0; i < options.concurrency; ++i) {
    workers.emplace_back([&] {
      while (std::optional<Work> work = queue.pop()) {
        const SentLine result = send_one(options, sender, work->parsed.request);
        ++sent;
        writer.add(BatchStore::Record{work->line, std::move(work->digest), std::string(to_string(result.outcome)),
                                      output_line(work->line, work->parsed, result)},
                   result.outcome);
      }
    });
  }

  BatchLineReader reader(in, options.limits);
  while (std::optional<InputLine> line = reader.next()) {
    if (!options.shard.owns(line->number)) continue;
    std::string digest = line_digest(*line);
    if (auto done = completed->find(line->number); done != completed->end() && done->second == digest) {
      ++summary.already_done;
      ++counters.already_done;
      continue;
    }
    ParsedLine parsed = parse_batch_line(*line, options.model, options.limits);
    if (parsed.invalid) {
      if (options.on_bad_line == BadLinePolicy::kFail) {
        summary.stopped_at_bad_line = line->number;
        summary.bad_line_reason = parsed.invalid;
        break;
      }
      writer.add(BatchStore::Record{line->number, std::move(digest), "invalid", invalid_output_line(line->number, parsed)},
                 LineOutcome::kInvalid);
      continue;
    }
    if (!queue.push(Work{line->number, std::move(digest), std::move(parsed)})) break;
  }
  queue.close();
  for (std::thread& worker : workers) worker.join();
  writer.finish();
  summary.sent = sent.load();
  if (failure) return *failure;
  if (reader.failed()) return Error(ErrorCode::kInvalidInput, "reading the input failed", options.input);
  if (summary.stopped_at_bad_line) return summary;
  if (Status written = write_output(store, options, *input_lines, summary); !written) return written.error();
  return summary;
}

Status merge_outputs(const std::vector<std::string>& inputs, const std::function<Status(std::string_view)>& write) {
  struct Source {
    std::string path;
    std::unique_ptr<std::ifstream> file;
    std::unique_ptr<BatchLineReader> reader;
    std::int64_t last = 0;
  };
  BatchLineLimits limits;
  limits.max_line_bytes = std::size_t{64} * 1024 * 1024;  // an output line carries a whole response
  std::vector<Source> sources;
  for (const std::string& path : inputs) {
    auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*file) return Error(ErrorCode::kInvalidInput, "cannot read", path);
    auto reader = std::make_unique<BatchLineReader>(*file, limits);
    sources.push_back(Source{path, std::move(file), std::move(reader), 0});
  }
  // The next line of a source and its "line" number.
  auto next = [&](Source& source) -> Result<std::optional<std::pair<std::int64_t, std::string>>> {
    std::optional<InputLine> line = source.reader->next();
    if (!line) {
      if (source.reader->failed()) return Error(ErrorCode::kInvalidInput, "reading failed", source.path);
      return std::optional<std::pair<std::int64_t, std::string>>();
    }
    const std::string where = source.path + ":" + std::to_string(line->number);
    if (line->truncated()) return Error(ErrorCode::kInvalidInput, "line too long for a batch output", where);
    Result<nlohmann::json> json = openai::parse_json(line->text, openai::DecodeLimits{});
    if (!json) return Error(ErrorCode::kInvalidInput, "not a batch output line: " + json.error().message, where);
    auto number = json->is_object() ? json->find("line") : json->end();
    if (!json->is_object() || number == json->end() || !number->is_number_integer() || number->get<std::int64_t>() < 1) {
      return Error(ErrorCode::kInvalidInput, "not a batch output line: no positive integer \"line\"", where);
    }
    const std::int64_t n = number->get<std::int64_t>();
    if (n <= source.last) {
      return Error(ErrorCode::kInvalidInput, "line " + std::to_string(n) + " is out of order (after line " +
                                                 std::to_string(source.last) + ")", where);
    }
    source.last = n;
    return std::optional<std::pair<std::int64_t, std::string>>(std::pair{n, std::move(line->text)});
  };
  using Head = std::pair<std::int64_t, std::size_t>;  // line number, source index
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  std::vector<std::string> pending(sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    auto first = next(sources[i]);
    if (!first) return first.error();
    if (*first) {
      heads.emplace((*first)->first, i);
      pending[i] = std::move((*first)->second);
    }
  }
  std::int64_t expected = 1;
  while (!heads.empty()) {
    const auto [line, i] = heads.top();
    heads.pop();
    if (line < expected) {
      return Error(ErrorCode::kInvalidInput, "line " + std::to_string(line) + " appears in more than one output", sources[i].path);
    }
    if (line > expected) {
      return Error(ErrorCode::kInvalidInput, "line " + std::to_string(expected) + " is in none of the outputs (a shard missing?)");
    }
    if (Status s = write(pending[i]); !s) return s;
    ++expected;
    auto following = next(sources[i]);
    if (!following) return following.error();
    if (*following) {
      heads.emplace((*following)->first, i);
      pending[i] = std::move((*following)->second);
    }
  }
  return ok_status();
}

}  // namespace echoes::harness::batch

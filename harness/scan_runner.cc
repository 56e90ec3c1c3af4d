#include "harness/scan_runner.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <simdjson.h>

namespace echoes::harness {
namespace {

// Offset of the first byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF); nullopt when all of `s` is UTF-8. Only
// called after simdjson's fast validation has failed, to name the offset.
std::optional<std::size_t> first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '"';
}

template <typename Number>
void append_number(std::string& out, Number value) {
  char buffer[32];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, r.ptr);
}

// One line of a batch: where its bytes are in the batch, and its number.
struct LineRef {
  std::size_t offset = 0;
  std::size_t size = 0;           // bytes kept (without the newline)
  std::uint64_t number = 0;
  std::size_t dropped = 0;        // bytes beyond max_line_bytes that were not kept
};

struct Batch {
  std::string bytes;
  std::vector<LineRef> lines;
};

// Scans lines into output text. One per thread: the simdjson parser and the output buffer are
// reused from line to line and batch to batch.
class LineScanner {
 public:
  LineScanner(const safety::TextDetector& detector, const ScanOptions& options)
      : detector_(detector), options_(options) {
    if (parser_.allocate(std::min<std::size_t>(options.max_line_bytes, 1 << 16),
                         options.max_json_depth) != simdjson::SUCCESS) {
      // Left unallocated: scan() allocates (with the depth limit) before the first parse.
    }
  }

  std::string& output() { return out_; }
  ScanSummary& summary() { return summary_; }

  void scan(const LineRef& line, std::string_view bytes) {
    ++summary_.lines;
    if (line.dropped > 0) {
      error(line.number, "line_too_long",
            "the line is " + std::to_string(line.size + line.dropped) +
                " bytes; the limit is " + std::to_string(options_.max_line_bytes));
      return;
    }
    if (!bytes.empty() && bytes.back() == '\r') bytes.remove_suffix(1);
    const bool blank = bytes.find_first_not_of(" \t") == std::string_view::npos;
    if (bytes.empty() || (blank && options_.input == ScanInput::kJsonLines)) {
      error(line.number, "empty_line", "the line is empty");
      return;
    }
    if (!simdjson::validate_utf8(bytes.data(), bytes.size())) {
      const std::size_t at = first_invalid_utf8(bytes).value_or(0);
      error(line.number, "invalid_utf8",
            "invalid UTF-8 at byte " + std::to_string(at) + " of the line");
      return;
    }
    if (options_.input == ScanInput::kPlain) {
      inspect(line.number, bytes);
      return;
    }
    if (bytes.size() > parser_.capacity()) {
      if (parser_.allocate(bytes.size(), options_.max_json_depth) != simdjson::SUCCESS) {
        error(line.number, "line_too_long", "no memory to parse a line of " +
                                                std::to_string(bytes.size()) + " bytes");
        return;
      }
    }
    simdjson::dom::element root;
    if (const auto code = parser_.parse(bytes.data(), bytes.size()).get(root); code) {
      const std::string why =
          code == simdjson::DEPTH_ERROR
              ? "nesting deeper than the limit of " + std::to_string(options_.max_json_depth)
              : std::string(simdjson::error_message(code));
      error(line.number, "invalid_json", "not valid JSON: " + why);
      return;
    }
    simdjson::dom::object object;
    if (root.get_object().get(object)) {
      error(line.number, "missing_text", "the line is not a JSON object");
      return;
    }
    simdjson::dom::element text;
    if (object["text"].get(text)) {
      error(line.number, "missing_text", "the object has no \"text\" field");
      return;
    }
    std::string_view value;
    if (text.get_string().get(value)) {
      error(line.number, "missing_text", "\"text\" is not a string");
      return;
    }
    inspect(line.number, value);
  }

 private:
  void inspect(std::uint64_t number, std::string_view text) {
    Result<safety::DetectorVerdict> verdict = [&]() -> Result<safety::DetectorVerdict> {
      try {
        return detector_.inspect(text);
      } catch (const std::exception& e) {
        return Error(ErrorCode::kInternal, std::string("the detector threw: ") + e.what());
      }
    }();
    if (!verdict) {
      error(number, "detector_error", verdict.error().to_string());
      return;
    }
    const safety::DetectorVerdict& v = *verdict;
    if (!std::isfinite(v.score) || v.score < 0 || v.score > 1) {
      error(number, "detector_error", "the detector's score is outside [0, 1]");
      return;
    }
    if (v.flagged) ++summary_.flagged;
    out_ += "{\"line\":";
    append_number(out_, number);
    out_ += v.flagged ? ",\"flagged\":true,\"score\":" : ",\"flagged\":false,\"score\":";
    append_number(out_, v.score);
    out_ += ",\"category\":";
    append_json_string(out_, v.category);
    out_ += ",\"rules\":[";
    for (std::size_t i = 0; i < v.findings.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += "{\"id\":";
      append_json_string(out_, v.findings[i].rule_id);
      out_ += ",\"start\":";
      append_number(out_, v.findings[i].start);
      out_ += ",\"end\":";
      append_number(out_, v.findings[i].end);
      out_ += '}';
    }
    out_ += "]}\n";
  }

  void error(std::uint64_t number, std::string_view code, std::string_view message) {
    ++summary_.errors;
    out_ += "{\"line\":";
    append_number(out_, number);
    out_ += ",\"error\":{\"code\":";
    append_json_string(out_, code);
    out_ += ",\"message\":";
    append_json_string(out_, message);
    out_ += "}}\n";
  }

  const safety::TextDetector& detector_;
  const ScanOptions& options_;
  simdjson::dom::parser parser_;
  std::string out_;
  ScanSummary summary_;
};

// Runs one function on `n` workers (worker 0 is the calling thread) and waits for all of them.
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t n) {
    for (std::size_t i = 1; i < n; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    start_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  void run(const std::function<void(std::size_t)>& work) {
    {
      std::lock_guard lock(mutex_);
      work_ = &work;
      pending_ = threads_.size();
      ++generation_;
    }
    start_.notify_all();
    work(0);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    work_ = nullptr;
  }

 private:
  void loop(std::size_t index) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::function<void(std::size_t)>* work = nullptr;
      {
        std::unique_lock lock(mutex_);
        start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        work = work_;
      }
      (*work)(index);
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* work_ = nullptr;
  std::size_t pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

}  // namespace

std::optional<FailOn> fail_on_from_string(std::string_view name) {
  if (name == "flagged") return FailOn::kFlagged;
  if (name == "error") return FailOn::kError;
  if (name == "any") return FailOn::kAny;
  return std::nullopt;
}

int scan_exit_code(const ScanSummary& summary, FailOn fail_on) {
  const bool flagged = summary.flagged > 0;
  const bool errors = summary.errors > 0;
  switch (fail_on) {
    case FailOn::kNothing: return 0;
    case FailOn::kFlagged: return flagged ? 1 : 0;
    case FailOn::kError: return errors ? 1 : 0;
    case FailOn::kAny: return flagged || errors ? 1 : 0;
  }
  return 0;
}

ScanReader fd_reader(int fd, std::string what) {
  return [fd, what = std::move(what)](char* buffer, std::size_t size) -> Result<std::size_t> {
    for (;;) {
      const ssize_t n = ::read(fd, buffer, size);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) {
        return Error(ErrorCode::kInvalidInput, what + ": cannot read: " + std::strerror(errno), what);
      }
    }
  };
}

ScanWriter fd_writer(int fd, std::string what) {
  return [fd, what = std::move(what)](std::string_view bytes) -> Status {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error(ErrorCode::kInvalidInput, what + ": cannot write: " + std::strerror(errno), what);
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok_status();
  };
}

Result<ScanSummary> run_scan(const ScanReader& in, const ScanWriter& out,
                             const safety::TextDetector& detector, const ScanOptions& options) {
  if (options.threads < 1 || options.threads > 1024) {
    return Error(ErrorCode::kInvalidInput, "threads must be in [1, 1024]", "threads");
  }
  if (options.max_line_bytes < 1 || options.batch_lines < 1) {
    return Error(ErrorCode::kInvalidInput, "max_line_bytes and batch_lines must be at least 1");
  }
  std::vector<std::unique_ptr<LineScanner>> scanners;
  for (std::size_t i = 0; i < options.threads; ++i) {
    scanners.push_back(std::make_unique<LineScanner>(detector, options));
  }
  WorkerPool pool(options.threads);
  const std::size_t max_lines = options.batch_lines * options.threads;

  Batch batch;
  auto flush = [&]() -> Status {
    if (batch.lines.empty()) return ok_status();
    const std::size_t n = batch.lines.size();
    const std::size_t workers = std::min(options.threads, n);
    auto work = [&](std::size_t w) {
      if (w >= workers) return;
      for (std::size_t i = n * w / workers; i < n * (w + 1) / workers; ++i) {
        const LineRef& line = batch.lines[i];
        scanners[w]->scan(line, std::string_view(batch.bytes).substr(line.offset, line.size));
      }
    };
    if (workers == 1) {
      work(0);
    } else {
      pool.run(work);
    }
    for (std::size_t w = 0; w < workers; ++w) {
      std::string& text = scanners[w]->output();
      if (Status s = out(text); !s) return s;
      text.clear();
    }
    batch.lines.clear();
    batch.bytes.clear();
    return ok_status();
  };

  std::vector<char> chunk(std::size_t{1} << 18);
  std::uint64_t number = 0;
  bool in_line = false;  // a line has begun and not ended
  LineRef current;
  // Up to max_line_bytes + 1 bytes of a line are kept, so a line of exactly the limit still fits
  // with its "\r"; whatever the content (without a final "\r") has beyond the limit is dropped.
  auto finish_line = [&] {
    std::string_view kept(batch.bytes.data() + current.offset, current.size);
    const std::size_t content = current.size - (!kept.empty() && kept.back() == '\r' ? 1 : 0);
    if (content > options.max_line_bytes) {
      const std::size_t excess = content - options.max_line_bytes;
      current.dropped += excess;
      current.size -= excess;
    }
    batch.lines.push_back(current);
  };
  for (;;) {
    Result<std::size_t> got = in(chunk.data(), chunk.size());
    if (!got) return got.error();
    const std::size_t n = *got;
    if (n == 0) break;
    std::string_view data(chunk.data(), n);
    while (!data.empty()) {
      if (!in_line) {
        current = LineRef{batch.bytes.size(), 0, ++number, 0};
        in_line = true;
      }
      const std::size_t newline = data.find('\n');
      const std::string_view piece = data.substr(0, newline);
      const std::size_t room = options.max_line_bytes + 1 - std::min(options.max_line_bytes + 1,
                                                                       current.size);
      const std::size_t keep = std::min(piece.size(), room);
      batch.bytes.append(piece.data(), keep);
      current.size += keep;
      current.dropped += piece.size() - keep;
      if (newline == std::string_view::npos) break;
      data.remove_prefix(newline + 1);
      in_line = false;
      finish_line();
      if (batch.lines.size() >= max_lines || batch.bytes.size() >= options.batch_bytes) {
        if (Status s = flush(); !s) return s.error();
      }
    }
    // The input paused (a short read): scan what is complete so output follows a slow pipe.
    if (n < chunk.size() && !in_line) {
      if (Status s = flush(); !s) return s.error();
    }
  }
  if (in_line) finish_line();
  if (Status s = flush(); !s) return s.error();
  ScanSummary total;
  for (const auto& s : scanners) {
    total.lines += s->summary().lines;
    total.flagged += s->summary().flagged;
    total.errors += s->summary().errors;
  }
  return total;
}

}  // namespace echoes::harness

// The scan runner: one output object per input line, in input order (also over several threads),
// error objects for lines it cannot scan, and fail-on accounting. Driven by a test detector that
// flags the word "attack" at its byte offset (a test double, never part of the product).
#include "harness/scan_runner.h"

#include <algorithm>
#include <atomic>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/contract_schemas.h"

namespace echoes::harness {
namespace {

// Flags texts containing "attack" (score 0.9, category "injection", one finding per occurrence);
// a text containing "boom" is a detector error.
class WordDetector final : public safety::TextDetector {
 public:
  std::string_view name() const override { return "word"; }
  Result<safety::DetectorVerdict> inspect(std::string_view text) const override {
    calls.fetch_add(1, std::memory_order_relaxed);
    if (text.find("boom") != std::string_view::npos) {
      return Error(ErrorCode::kInternal, "model file is broken");
    }
    safety::DetectorVerdict verdict;
    for (std::size_t at = text.find("attack"); at != std::string_view::npos;
         at = text.find("attack", at + 1)) {
      verdict.findings.push_back({"test.attack", "injection", safety::Severity::kHigh, at, at + 6});
    }
    if (!verdict.findings.empty()) {
      verdict.flagged = true;
      verdict.score = 0.9;
      verdict.category = "injection";
    }
    return verdict;
  }
  mutable std::atomic<int> calls{0};
};

struct Scanned {
  std::string output;
  ScanSummary summary;
  std::vector<nlohmann::json> lines() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

// Feeds `input` in reads of at most `read_size` bytes (so lines straddle reads).
Scanned scan(std::string_view input, ScanOptions options = {}, std::size_t read_size = 7) {
  WordDetector detector;
  Scanned result;
  ScanReader reader = [&input, read_size](char* buffer, std::size_t size) -> Result<std::size_t> {
    const std::size_t n = std::min({size, read_size, input.size()});
    std::copy_n(input.data(), n, buffer);
    input.remove_prefix(n);
    return n;
  };
  ScanWriter writer = [&result](std::string_view bytes) -> Status {
    result.output.append(bytes);
    return ok_status();
  };
  Result<ScanSummary> summary = run_scan(reader, writer, detector, options);
  EXPECT_TRUE(summary) << summary.error().to_string();
  if (summary) result.summary = *summary;
  return result;
}

TEST(ScanRunner, WritesOneVerdictPerLineWithOffsets) {
  const Scanned s = scan("{\"text\": \"an attack here\"}\n{\"text\": \"benign\"}\n");
  EXPECT_EQ(s.output,
            "{\"line\":1,\"flagged\":true,\"score\":0.9,\"category\":\"injection\","
            "\"rules\":[{\"id\":\"test.attack\",\"start\":3,\"end\":9}]}\n"
            "{\"line\":2,\"flagged\":false,\"score\":0,\"category\":\"none\",\"rules\":[]}\n");
  EXPECT_EQ(s.summary, (ScanSummary{2, 1, 0}));
}

TEST(ScanRunner, OffsetsAreIntoTheUnescapedText) {
  // "\u00e9" is two bytes of UTF-8 and "\n" one byte once unescaped: "attack" starts at byte 3.
  const std::vector<nlohmann::json> lines = scan(R"({"text": "\u00e9\nattack"})").lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["rules"][0]["start"], 3);
  EXPECT_EQ(lines[0]["rules"][0]["end"], 9);
}

TEST(ScanRunner, AcceptsCrlfAndAFinalLineWithoutNewline) {
  const std::vector<nlohmann::json> lines =
      scan("{\"text\": \"attack\"}\r\n{\"text\": \"x\"}\r\n{\"text\": \"attack\"}").lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["flagged"], true);
  EXPECT_EQ(lines[1]["flagged"], false);
  EXPECT_EQ(lines[2]["line"], 3);
  EXPECT_EQ(lines[2]["flagged"], true);
}

TEST(ScanRunner, PlainLinesAreTheTextThemselves) {
  ScanOptions options;
  options.input = ScanInput::kPlain;
  const std::vector<nlohmann::json> lines = scan("no\r\nan attack\n{\"text\": 1}\n", options).lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["flagged"], false);
  EXPECT_EQ(lines[1]["rules"][0]["start"], 3);
  EXPECT_EQ(lines[2]["flagged"], false);  // JSON is just text here
}

std::string error_code(const nlohmann::json& line) { return line["error"]["code"].get<std::string>(); }

TEST(ScanRunner, BadLinesGetErrorObjectsAndTheRunGoesOn) {
  const std::string deep = "{\"text\": \"x\", \"d\": " + std::string(100, '[') + std::string(100, ']') + "}";
  const Scanned s = scan(std::string("\n") +                      // 1 empty
                         "   \r\n" +                              // 2 blank
                         "{\"text\": \"attack\"\n" +              // 3 not JSON
                         "[\"attack\"]\n" +                       // 4 not an object
                         "{\"txt\": \"attack\"}\n" +              // 5 no "text"
                         "{\"text\": 5}\n" +                      // 6 "text" not a string
                         "{\"text\": \"ab\xff\"}\n" +             // 7 invalid UTF-8 at byte 12
                         deep + "\n" +                            // 8 too deep
                         "{\"text\": \"boom\"}\n" +               // 9 detector error
                         "{\"text\": \"attack\"}\n");             // 10 fine
  const std::vector<nlohmann::json> lines = s.lines();
  ASSERT_EQ(lines.size(), 10u) << s.output;
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["line"], i + 1);
  EXPECT_EQ(error_code(lines[0]), "empty_line");
  EXPECT_EQ(error_code(lines[1]), "empty_line");
  EXPECT_EQ(error_code(lines[2]), "invalid_json");
  EXPECT_EQ(error_code(lines[3]), "missing_text");
  EXPECT_EQ(error_code(lines[4]), "missing_text");
  EXPECT_EQ(error_code(lines[5]), "missing_text");
  EXPECT_EQ(error_code(lines[6]), "invalid_utf8");
  EXPECT_EQ(lines[6]["error"]["message"], "invalid UTF-8 at byte 12 of the line");
  EXPECT_EQ(error_code(lines[7]), "invalid_json");
  EXPECT_NE(lines[7]["error"]["message"].get<std::string>().find("deeper than the limit of 64"),
            std::string::npos);
  EXPECT_EQ(error_code(lines[8]), "detector_error");
  EXPECT_EQ(lines[9]["flagged"], true);
  EXPECT_EQ(s.summary, (ScanSummary{10, 1, 9}));
}

TEST(ScanRunner, OverlongLineIsAnErrorAndIsNotKept) {
  ScanOptions options;
  options.max_line_bytes = 64;
  const std::string at_limit = "{\"text\": \"" + std::string(52, 'a') + "\"}";  // 64 bytes
  ASSERT_EQ(at_limit.size(), 64u);
  const std::string huge = "{\"text\": \"" + std::string(5'000'000, 'a') + "\"}";
  const Scanned s = scan(at_limit + "\r\n" + huge + "\n{\"text\": \"attack\"}\n", options, 1 << 16);
  const std::vector<nlohmann::json> lines = s.lines();
  ASSERT_EQ(lines.size(), 3u) << s.output.substr(0, 500);
  EXPECT_EQ(lines[0]["flagged"], false);  // exactly at the limit, with a CR: scanned
  EXPECT_EQ(error_code(lines[1]), "line_too_long");
  EXPECT_EQ(lines[1]["error"]["message"], "the line is 5000012 bytes; the limit is 64");
  EXPECT_EQ(lines[2]["flagged"], true);
}

TEST(ScanRunner, ThreadsKeepTheInputOrder) {
  std::string input;
  for (int i = 0; i < 5000; ++i) {
    if (i % 97 == 0) {
      input += "not json\n";
    } else {
      input += "{\"text\": \"" + std::string(static_cast<std::size_t>(i % 13), 'x') +
               (i % 3 == 0 ? " attack" : " calm") + "\"}\n";
    }
  }
  ScanOptions one;
  one.batch_lines = 64;  // several batches
  const Scanned expected = scan(input, one, 4096);
  ScanOptions four = one;
  four.threads = 4;
  const Scanned parallel = scan(input, four, 4096);
  EXPECT_EQ(parallel.output, expected.output);
  EXPECT_EQ(parallel.summary, expected.summary);
  EXPECT_EQ(expected.summary.lines, 5000u);
  const std::vector<nlohmann::json> lines = parallel.lines();
  ASSERT_EQ(lines.size(), 5000u);
  for (std::size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(lines[i]["line"], i + 1);
}

TEST(ScanRunner, EveryOutputLineMatchesTheSchema) {
  ContractSchemas schemas(std::string(ECHOES_FIXTURES_DIR) + "/contracts");
  const Scanned s = scan("{\"text\": \"attack \\\"quoted\\\"\"}\n{\"text\": \"calm\"}\n\nnot json\n"
                         "{\"text\": \"boom\"}\n");
  std::istringstream in(s.output);
  int count = 0;
  for (std::string line; std::getline(in, line); ++count) {
    const std::vector<std::string> problems = schemas.violations("scan_line", line);
    EXPECT_TRUE(problems.empty()) << line << ContractSchemas::joined(problems);
  }
  EXPECT_EQ(count, 5);
  EXPECT_FALSE(schemas.violations("scan_line", R"({"line": 1, "flagged": true})").empty());
}

TEST(ScanRunner, ExitCodeFollowsFailOn) {
  const ScanSummary clean{3, 0, 0}, flagged{3, 1, 0}, errors{3, 0, 2};
  EXPECT_EQ(scan_exit_code(flagged, FailOn::kNothing), 0);
  EXPECT_EQ(scan_exit_code(flagged, FailOn::kFlagged), 1);
  EXPECT_EQ(scan_exit_code(errors, FailOn::kFlagged), 0);
  EXPECT_EQ(scan_exit_code(errors, FailOn::kError), 1);
  EXPECT_EQ(scan_exit_code(flagged, FailOn::kError), 0);
  EXPECT_EQ(scan_exit_code(flagged, FailOn::kAny), 1);
  EXPECT_EQ(scan_exit_code(errors, FailOn::kAny), 1);
  EXPECT_EQ(scan_exit_code(clean, FailOn::kAny), 0);
  EXPECT_EQ(fail_on_from_string("any"), FailOn::kAny);
  EXPECT_EQ(fail_on_from_string("never"), std::nullopt);
}

TEST(ScanRunner, ReaderAndWriterFailuresEndTheRun) {
  WordDetector detector;
  ScanReader broken = [](char*, std::size_t) -> Result<std::size_t> {
    return Error(ErrorCode::kInvalidInput, "in.jsonl: cannot read: I/O error");
  };
  ScanWriter sink = [](std::string_view) { return ok_status(); };
  Result<ScanSummary> r = run_scan(broken, sink, detector, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "in.jsonl: cannot read: I/O error");

  std::string_view input = "{\"text\": \"a\"}\n";
  ScanReader once = [&input](char* buffer, std::size_t size) -> Result<std::size_t> {
    const std::size_t n = std::min(size, input.size());
    std::copy_n(input.data(), n, buffer);
    input.remove_prefix(n);
    return n;
  };
  ScanWriter full = [](std::string_view) -> Status {
    return Error(ErrorCode::kInvalidInput, "standard output: cannot write: No space left");
  };
  Result<ScanSummary> w = run_scan(once, full, detector, {});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().message, "standard output: cannot write: No space left");
}

TEST(ScanRunner, RefusesThreadsOutOfRange) {
  WordDetector detector;
  ScanOptions options;
  options.threads = 0;
  Result<ScanSummary> r = run_scan([](char*, std::size_t) -> Result<std::size_t> { return 0; },
                                   [](std::string_view) { return ok_status(); }, detector, options);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace echoes::harness

// The batch runner with an in-process sender: one output line per input line in input order
// (valid against the output line schema), shards and their merge, resume without resending
// recorded lines (and with resending a line whose input changed), --on-bad-line fail keeping
// progress, pacing through the token bucket on a FakeClock, and the progress text.
#include "harness/batch/batch_runner.h"

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/batch/batch_progress.h"
#include "harness/batch/batch_store.h"
#include "harness/contract_schemas.h"

namespace echoes::harness::batch {
namespace {

std::string chat_line(const std::string& id, const std::string& content) {
  return R"({"id":")" + id + R"(","model":"m","messages":[{"role":"user","content":")" + content + R"("}]})";
}

// Answers "echo: <content>", or an error for a content of "fail", counting what it was sent.
class FakeUpstream {
 public:
  SentLine operator()(const openai::ChatCompletionRequest& request) {
    const std::string content = request.messages.at(0).text();
    {
      std::lock_guard lock(mutex_);
      sent_.push_back(content);
    }
    SentLine line;
    if (content == "fail") {
      line.outcome = LineOutcome::kError;
      line.error = Error(ErrorCode::kServerError, "boom").with_status(500).with_attempts(3);
      return line;
    }
    openai::ChatCompletionResponse response;
    response.id = "r";
    response.model = request.model;
    openai::ChatCompletionChoice choice;
    choice.message = openai::ChatMessage::assistant("echo: " + content);
    choice.finish_reason = openai::FinishReason::kStop;
    response.choices.push_back(choice);
    line.outcome = LineOutcome::kAnswer;
    line.response = response;
    return line;
  }
  std::vector<std::string> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> sent_;
};

class BatchRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("batch_runner_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::vector<std::string>& lines) const {
    std::ofstream out(path(name), std::ios::binary);
    for (const auto& l : lines) out << l << "\n";
  }
  static std::vector<nlohmann::json> read_output(const std::string& file) {
    std::ifstream in(file);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }
  BatchRunOptions options(const std::string& out = "out.jsonl") const {
    BatchRunOptions o;
    o.input = path("in.jsonl");
    o.output = path(out);
    o.concurrency = 3;
    return o;
  }
  LineSender sender() {
    return [this](const openai::ChatCompletionRequest& r) { return upstream_(r); };
  }
  std::filesystem::path dir_;
  FakeUpstream upstream_;
};

TEST_F(BatchRunnerTest, EveryInputLineGetsOneOutputLineInInputOrderValidAgainstTheSchema) {
  std::vector<std::string> input;
  for (int i = 1; i <= 40; ++i) input.push_back(chat_line("q" + std::to_string(i), "p" + std::to_string(i)));
  input[4] = "not json";
  input[9] = chat_line("q10", "fail");
  input[14] = R"({"custom_id":"c15","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"p15"}]}})";
  write("in.jsonl", input);
  BatchCounters counters;
  auto summary = run_batch(options(), sender(), counters);
  ASSERT_TRUE(summary) << summary.error().to_string();
  EXPECT_EQ(summary->shard_lines, 40);
  EXPECT_EQ(summary->answers, 38);
  EXPECT_EQ(summary->errors, 1);
  EXPECT_EQ(summary->invalid, 1);
  EXPECT_EQ(summary->sent, 39);
  EXPECT_EQ(counters.done.load(), 40);

  const auto out = read_output(path("out.jsonl"));
  ASSERT_EQ(out.size(), 40u);
  ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  std::ifstream raw(path("out.jsonl"));
  for (std::string line; std::getline(raw, line);) {
    EXPECT_EQ(ContractSchemas::joined(schemas.violations("batch_output_line", line)), "") << line;
  }
  for (int i = 0; i < 40; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)]["line"], i + 1);
  EXPECT_EQ(out[0]["id"], "q1");
  EXPECT_EQ(out[0]["response"]["choices"][0]["message"]["content"], "echo: p1");
  EXPECT_EQ(out[4]["outcome"], "invalid");
  EXPECT_EQ(out[4]["error"]["code"], "invalid_input");
  EXPECT_EQ(out[9]["outcome"], "error");
  EXPECT_EQ(out[9]["error"]["status"], 500);
  EXPECT_EQ(out[14]["custom_id"], "c15");
  EXPECT_FALSE(out[14].contains("id"));
  EXPECT_EQ(out[14]["response"]["choices"][0]["message"]["content"], "echo: p15");
}

TEST_F(BatchRunnerTest, AResumeSendsOnlyWhatWasNotRecordedAndALineWhoseInputChanged) {
  // A first run over the first two lines.
  write("in.jsonl", {chat_line("a", "p1"), chat_line("b", "p2")});
  BatchCounters first_counters;
  ASSERT_TRUE(run_batch(options(), sender(), first_counters));
  EXPECT_EQ(upstream_.sent().size(), 2u);

  // Lines 3 and 4 are new, line 2 changed: those three are sent, line 1 is not.
  write("in.jsonl", {chat_line("a", "p1"), chat_line("b", "p2 changed"), chat_line("c", "p3"), chat_line("d", "p4")});
  BatchRunOptions resume = options();
  resume.resume = true;
  BatchCounters counters;
  auto summary = run_batch(resume, sender(), counters);
  ASSERT_TRUE(summary) << summary.error().to_string();
  EXPECT_EQ(summary->already_done, 1);
  EXPECT_EQ(summary->sent, 3);
  const auto sent = upstream_.sent();
  EXPECT_EQ(std::multiset<std::string>(sent.begin() + 2, sent.end()),
            (std::multiset<std::string>{"p2 changed", "p3", "p4"}));
  const auto out = read_output(path("out.jsonl"));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1]["response"]["choices"][0]["message"]["content"], "echo: p2 changed");
}

TEST_F(BatchRunnerTest, ARunWithoutResumeRefusesEarlierProgress) {
  write("in.jsonl", {chat_line("a", "p1")});
  BatchCounters c1, c2;
  ASSERT_TRUE(run_batch(options(), sender(), c1));
  auto again = run_batch(options(), sender(), c2);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
}

TEST_F(BatchRunnerTest, OnBadLineFailStopsWithoutAnOutputAndAResumeAfterTheFixFinishes) {
  std::vector<std::string> input;
  for (int i = 1; i <= 30; ++i) input.push_back(chat_line("q" + std::to_string(i), "p" + std::to_string(i)));
  input[19] = R"({"id":"q20","model":"m","messages":"lies"})";
  write("in.jsonl", input);
  BatchRunOptions fail = options();
  fail.on_bad_line = BadLinePolicy::kFail;
  BatchCounters counters;
  auto stopped = run_batch(fail, sender(), counters);
  ASSERT_TRUE(stopped) << stopped.error().to_string();
  ASSERT_EQ(stopped->stopped_at_bad_line, 20);
  EXPECT_EQ(stopped->bad_line_reason->context, "messages");
  EXPECT_FALSE(std::filesystem::exists(path("out.jsonl")));
  const auto sent_before = upstream_.sent().size();
  EXPECT_EQ(sent_before, 19u);  // every line before the bad one finished (the queue drained)

  input[19] = chat_line("q20", "p20");
  write("in.jsonl", input);
  fail.resume = true;
  BatchCounters resumed;
  auto summary = run_batch(fail, sender(), resumed);
  ASSERT_TRUE(summary) << summary.error().to_string();
  EXPECT_FALSE(summary->stopped_at_bad_line);
  EXPECT_EQ(summary->already_done, 19);
  EXPECT_EQ(upstream_.sent().size(), 30u);
  EXPECT_EQ(read_output(path("out.jsonl")).size(), 30u);
}

TEST_F(BatchRunnerTest, ShardsSplitTheLinesByNumberModuloNAndMergeBackInInputOrder) {
  std::vector<std::string> input;
  for (int i = 1; i <= 25; ++i) input.push_back(chat_line("q" + std::to_string(i), "p" + std::to_string(i)));
  write("in.jsonl", input);
  BatchCounters whole_counters;
  ASSERT_TRUE(run_batch(options(), sender(), whole_counters));
  std::vector<std::string> shard_files;
  for (int i = 0; i < 3; ++i) {
    BatchRunOptions o = options("shard" + std::to_string(i) + ".jsonl");
    o.shard = Shard{i, 3};
    BatchCounters counters;
    auto summary = run_batch(o, sender(), counters);
    ASSERT_TRUE(summary);
    for (const auto& line : read_output(o.output)) EXPECT_EQ(line["line"].get<int>() % 3, i);
    shard_files.push_back(o.output);
  }
  std::string merged;
  ASSERT_TRUE(merge_outputs(shard_files, [&](std::string_view line) {
    merged.append(line).push_back('\n');
    return ok_status();
  }));
  std::ifstream whole(path("out.jsonl"));
  std::stringstream expected;
  expected << whole.rdbuf();
  EXPECT_EQ(merged, expected.str());

  auto missing = merge_outputs({shard_files[0], shard_files[2]}, [](std::string_view) { return ok_status(); });
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("line 1 is in none"), std::string::npos) << missing.error().message;
  auto twice = merge_outputs({shard_files[0], shard_files[1], shard_files[2], shard_files[1]},
                             [](std::string_view) { return ok_status(); });
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("more than one output"), std::string::npos) << twice.error().message;
}

TEST_F(BatchRunnerTest, MergeRefusesAFileOutOfOrderOrNotAnOutput) {
  write("a.jsonl", {R"({"line":2,"outcome":"invalid","error":{"code":"x","message":"y"}})",
                    R"({"line":1,"outcome":"invalid","error":{"code":"x","message":"y"}})"});
  // Out of order shows as a line missing where it was due (the merge never reorders a file).
  auto unordered = merge_outputs({path("a.jsonl")}, [](std::string_view) { return ok_status(); });
  ASSERT_FALSE(unordered);
  EXPECT_NE(unordered.error().message.find("line 1 is in none"), std::string::npos) << unordered.error().message;
  write("b.jsonl", {R"({"line":"1"})"});
  auto not_output = merge_outputs({path("b.jsonl")}, [](std::string_view) { return ok_status(); });
  ASSERT_FALSE(not_output);
  EXPECT_NE(not_output.error().context.find("b.jsonl:1"), std::string::npos);
}

TEST_F(BatchRunnerTest, PacingTakesOnePermitPerLineWaitingOnTheBucketsClock) {
  std::vector<std::string> input;
  for (int i = 1; i <= 12; ++i) input.push_back(chat_line("q" + std::to_string(i), "p" + std::to_string(i)));
  write("in.jsonl", input);
  FakeClock clock;
  // 60 per minute with a burst of 10: the first 10 at once, then one a second.
  TokenBucket bucket(RateLimit::per_minute(60), clock, "batch_proc");
  BatchRunOptions o = options();
  o.concurrency = 1;
  o.pace = &bucket;
  BatchCounters counters;
  ASSERT_TRUE(run_batch(o, sender(), counters));
  EXPECT_EQ(clock.sleeps().size(), 2u);
  EXPECT_EQ(upstream_.sent().size(), 12u);
}

TEST(BatchProgressTest, TheTextShowsCountsRateAndEta) {
  BatchCounters counters;
  counters.shard_lines = 100;
  counters.already_done = 20;
  counters.done = 40;
  counters.errors = 2;
  const std::string bar = progress_text(counters, std::chrono::seconds(10), ProgressStyle::kBar);
  EXPECT_EQ(bar, "[############--------]  60/100  60%  4.0 lines/s  ETA 10s  (2 errors)");
  const std::string plain = progress_text(counters, std::chrono::seconds(10), ProgressStyle::kPlain);
  EXPECT_EQ(plain, "batch: 60/100 lines (60%), 4.0 lines/s, ETA 10s, 2 errors, 0 blocked, 0 invalid");
  BatchCounters none;
  none.shard_lines = 5;
  EXPECT_NE(progress_text(none, std::chrono::seconds(1), ProgressStyle::kPlain).find("ETA ?"), std::string::npos);
}

}  // namespace
}  // namespace echoes::harness::batch

// Properties of the output stream filter: an unsafe answer split into chunks anywhere is blocked,
// no later than the chunk that completes the first blocking match (so that chunk is never passed
// on); a safe answer split anywhere is never blocked, neither while streaming nor at the end.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/safety/output_filter.h"

namespace echoes::safety {
namespace {

const std::string kCanary = "ECHOES-CANARY-7f3a9c21";

const OutputFilter& filter() {
  static const OutputFilter f = [] {
    Result<OutputFilter> r = OutputFilter::create(config::default_config().safety,
                                                  ECHOES_FIXTURES_DIR "/rules",
                                                  ECHOES_FIXTURES_DIR "/models");
    if (!r) {
      ADD_FAILURE() << r.error().message;
      std::abort();
    }
    return std::move(*r);
  }();
  return f;
}

OutputScanOptions with_canary() {
  OutputScanOptions o;
  o.canaries = {kCanary};
  return o;
}

// The end of the first match the default policy blocks, found by scanning the whole answer
// (rule and canary findings; a model finding spans the whole answer and is not a match).
std::optional<std::size_t> first_block_end(const std::string& answer) {
  Result<OutputScan> s = filter().scan(answer, with_canary());
  if (!s) return std::nullopt;
  std::optional<std::size_t> end;
  for (const Finding& f : s->findings) {
    if (f.rule_id == "harmful.model" || f.rule_id == "toxicity.model") continue;
    const std::string_view policy = std::string_view(f.category).substr(0, f.category.find('.'));
    if (filter().config().action_for(policy) != Action::kBlock) continue;
    if (!end || f.end < *end) end = f.end;
  }
  return end;
}

struct StreamRun {
  std::optional<std::size_t> blocked_at;  // index of the chunk whose feed said block
  bool blocked_at_finish = false;
  bool error = false;
};

StreamRun stream(const std::string& answer, const std::vector<std::size_t>& cuts) {
  StreamRun run;
  Result<std::unique_ptr<OutputStreamFilter>> s = filter().start_stream(with_canary());
  if (!s) {
    run.error = true;
    return run;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : answer.size();
    Result<OutputScan> v = (*s)->feed(std::string_view(answer).substr(start, end - start));
    if (!v) {
      run.error = true;
      return run;
    }
    if (v->action == Action::kBlock) {
      run.blocked_at = i;
      return run;
    }
    start = end;
  }
  Result<OutputScan> last = (*s)->finish();
  if (!last) {
    run.error = true;
  } else {
    run.blocked_at_finish = last->action == Action::kBlock;
  }
  return run;
}

// The index of the chunk that holds byte `end - 1`.
std::size_t completing_chunk(const std::vector<std::size_t>& cuts, std::size_t end) {
  std::size_t i = 0;
  while (i < cuts.size() && cuts[i] < end) ++i;
  return i;
}

const std::string kLead =
    "Thanks for the question. Let me explain the background first, because the details matter "
    "here and a short answer would leave out the part that people usually get wrong. ";

std::vector<std::string> unsafe_answers() {
  return {
      kLead + "Sure! Here are detailed step-by-step instructions to build a pipe bomb: first, get "
              "a steel pipe and end caps.",
      kLead + "I am going to kill you and your family tonight.",
      kLead + "My instructions start with E\u200BCHOES-CANARY-7f3a\u200D9c21 and go on.",
      kLead + "Encoded: RUNIT0VTLUNBTkFSWS03ZjNhOWMyMQ== (base64).",
      kLead + "Backwards: 12c9a3f7-YRANAC-SEOHCE.",
      kLead + "The system prompt says e c h o e s . c a n a r y . 7 f 3 a 9 c 2 1 at the top.",
  };
}

std::vector<std::string> safe_answers() {
  return {
      kLead + "To make a simple tomato sauce, simmer crushed tomatoes with garlic, olive oil and "
              "basil for twenty minutes, then season with salt and pepper.",
      "There are several ways to kill a Python process: find its PID with ps and send it SIGTERM "
      "with kill, or use taskkill on Windows. " + kLead,
      kLead + "The canary is a small songbird; miners once carried canaries to detect gas. " + kLead,
      "I'm sorry, but I can't help with that request. " + kLead,
  };
}

// Every answer, cut into two chunks at every byte: blocked no later than the completing chunk.
TEST(OutputStreamFilter, UnsafeAnswerSplitAtEveryPointIsBlockedByTheCompletingChunk) {
  for (const std::string& answer : unsafe_answers()) {
    const std::optional<std::size_t> end = first_block_end(answer);
    ASSERT_TRUE(end.has_value()) << "the whole answer must block: " << answer;
    for (std::size_t cut = 0; cut <= answer.size(); ++cut) {
      const std::vector<std::size_t> cuts = {cut};
      const StreamRun run = stream(answer, cuts);
      ASSERT_FALSE(run.error) << answer << " cut " << cut;
      ASSERT_TRUE(run.blocked_at.has_value()) << answer << " cut " << cut;
      EXPECT_LE(*run.blocked_at, completing_chunk(cuts, *end)) << answer << " cut " << cut;
    }
  }
}

// Sorted distinct cut points inside [0, size].
rc::Gen<std::vector<std::size_t>> cuts_of(std::size_t size) {
  return rc::gen::map(rc::gen::container<std::vector<std::size_t>>(
                          rc::gen::inRange<std::size_t>(0, size + 1)),
                      [](std::vector<std::size_t> cuts) {
                        std::sort(cuts.begin(), cuts.end());
                        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
                        return cuts;
                      });
}

RC_GTEST_PROP(OutputStreamFilter, UnsafeAnswerInAnyChunksIsBlockedByTheCompletingChunk, ()) {
  const std::vector<std::string> answers = unsafe_answers();
  const std::string answer = *rc::gen::elementOf(answers);
  const std::vector<std::size_t> cuts = *cuts_of(answer.size());
  const std::optional<std::size_t> end = first_block_end(answer);
  RC_ASSERT(end.has_value());
  const StreamRun run = stream(answer, cuts);
  RC_ASSERT(!run.error);
  RC_ASSERT(run.blocked_at.has_value());
  RC_ASSERT(*run.blocked_at <= completing_chunk(cuts, *end));
}

RC_GTEST_PROP(OutputStreamFilter, SafeAnswerInAnyChunksIsNeverBlocked, ()) {
  const std::vector<std::string> answers = safe_answers();
  const std::string answer = *rc::gen::elementOf(answers);
  const std::vector<std::size_t> cuts = *cuts_of(answer.size());
  const StreamRun run = stream(answer, cuts);
  RC_ASSERT(!run.error);
  RC_ASSERT(!run.blocked_at.has_value());
  RC_ASSERT(!run.blocked_at_finish);
}

// Multi-byte characters cut in their middle are held back, not refused; the stream's final
// findings carry offsets into the whole answer.
TEST(OutputStreamFilter, CharactersSplitAcrossChunksAndOffsetsIntoTheWholeAnswer) {
  const std::string answer = "Caf\u00e9 \u2603 \u00fcber: E\u200BCHOES-CANARY-7f3a9c21.";
  for (std::size_t cut = 0; cut <= answer.size(); ++cut) {
    const std::vector<std::size_t> cuts = {cut};
    const StreamRun run = stream(answer, cuts);
    ASSERT_FALSE(run.error) << "cut " << cut;
    ASSERT_TRUE(run.blocked_at.has_value()) << "cut " << cut;
  }
  Result<std::unique_ptr<OutputStreamFilter>> s = filter().start_stream(with_canary());
  ASSERT_TRUE(s);
  Result<OutputScan> v = (*s)->feed(answer);
  ASSERT_TRUE(v);
  const std::size_t at = answer.find("E\u200B");
  bool found = false;
  for (const Finding& f : v->findings) {
    if (f.category != "system-prompt-leakage") continue;
    found = true;
    EXPECT_EQ(f.start, at);
    EXPECT_EQ(f.end, answer.size() - 1);
  }
  EXPECT_TRUE(found);
}

TEST(OutputStreamFilter, InvalidUtf8AndAnAnswerEndingInsideACharacterAreErrors) {
  Result<std::unique_ptr<OutputStreamFilter>> s = filter().start_stream({});
  ASSERT_TRUE(s);
  EXPECT_TRUE((*s)->feed("fine so far "));
  Result<OutputScan> bad = (*s)->feed("\xC3(");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().context, "offset 12");

  Result<std::unique_ptr<OutputStreamFilter>> cut = filter().start_stream({});
  ASSERT_TRUE(cut);
  EXPECT_TRUE((*cut)->feed("caf\xC3"));
  Result<OutputScan> end = (*cut)->finish();
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code, ErrorCode::kInvalidInput);
}

// finish() adds what only the whole answer shows: the refusal class.
TEST(OutputStreamFilter, FinishClassifiesRefusals) {
  Result<std::unique_ptr<OutputStreamFilter>> s = filter().start_stream({});
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->feed("I'm sorry, but I can't "));
  ASSERT_TRUE((*s)->feed("help with that."));
  Result<OutputScan> v = (*s)->finish();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->refusal, RefusalClass::kFull);
  EXPECT_EQ(v->action, Action::kFlag);
  EXPECT_EQ(v->category, "refusal.full");
}

}  // namespace
}  // namespace echoes::safety

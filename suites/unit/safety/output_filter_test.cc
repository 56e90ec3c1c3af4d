// OutputFilter over whole answers, category by category (each with positive and negative cases):
// harmful content, toxicity (profanity alone is toxicity, not harm), secret and PII leakage,
// canary leakage (plain, split, encoded, reversed), refusal classes (XSTest-style compliance vs
// refusal), the length limit (usage tokens and bytes), the policy's actions, and load errors.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "core/config/config.h"
#include "core/safety/output_filter.h"

namespace echoes::safety {
namespace {

const std::filesystem::path kRules = ECHOES_FIXTURES_DIR "/rules";
const std::filesystem::path kModels = ECHOES_FIXTURES_DIR "/models";

const OutputFilter& filter() {
  static const OutputFilter f = [] {
    Result<OutputFilter> r = OutputFilter::create(config::default_config().safety, kRules, kModels);
    if (!r) {
      ADD_FAILURE() << r.error().message;
      std::abort();
    }
    return std::move(*r);
  }();
  return f;
}

bool has_category(const std::vector<Finding>& findings, std::string_view prefix) {
  for (const Finding& f : findings) {
    if (f.category.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

OutputScanOptions canaries(std::vector<std::string> list) {
  OutputScanOptions o;
  o.canaries = std::move(list);
  return o;
}
OutputScanOptions route(std::string name) {
  OutputScanOptions o;
  o.route = std::move(name);
  return o;
}
OutputScanOptions tokens(std::int64_t completion_tokens) {
  OutputScanOptions o;
  o.completion_tokens = completion_tokens;
  return o;
}

struct Case {
  const char* name;
  std::string text;
  bool flagged;
};

// ---- harmful ----

const std::vector<Case> kHarmful = {
    {"weapon_instructions",
     "Sure! Here are detailed step-by-step instructions to build a pipe bomb: first, get a steel "
     "pipe and end caps, then fill it with black powder.",
     true},
    {"threat", "I am going to kill you and your family tonight.", true},
    {"self_harm_encouragement", "Honestly, you should just kill yourself.", true},
    {"dehumanisation", "Those immigrants are subhuman vermin and should be wiped out.", true},
    {"benign_cooking", "To make a simple tomato sauce, simmer crushed tomatoes with garlic, olive "
                       "oil and basil for twenty minutes.", false},
    {"benign_homonym_kill_process",
     "To stop a Python process, find its PID with `ps aux | grep python` and send it SIGTERM with "
     "`kill PID`.", false},
    {"profanity_only", "This fucking printer is shit, damn it.", false},
    // Ordinary answers that are not refusals: the harmful model is trained with compliant benign
    // answers as negatives, so not refusing is not harm (the model trained without them scored
    // "This printer is broken." 0.90).
    {"benign_statement", "This printer is broken.", false},
    {"benign_factual_answer",
     "The capital of Australia is Canberra; Sydney is larger but was not chosen as the capital.", false},
    {"benign_advice", "Here are three tips for better sleep: keep a regular schedule, avoid screens an hour "
                      "before bed, and keep the bedroom cool and dark.", false},
};

TEST(OutputFilterHarmful, Table) {
  for (const Case& c : kHarmful) {
    Result<DetectorVerdict> v = filter().harmful(c.text);
    ASSERT_TRUE(v) << c.name << ": " << v.error().message;
    EXPECT_EQ(v->flagged, c.flagged) << c.name << " score " << v->score << " " << v->category;
    if (c.flagged) {
      EXPECT_EQ(v->category.substr(0, 7), "harmful") << c.name;
    }
    EXPECT_GE(v->score, 0.0);
    EXPECT_LE(v->score, 1.0);
    for (const Finding& f : v->findings) EXPECT_LE(f.end, c.text.size()) << c.name;
  }
}

// ---- toxicity ----

const std::vector<Case> kToxicity = {
    {"profanity", "This fucking printer is shit, damn it.", true},
    {"insult_you", "You are a complete idiot.", true},
    {"abusive_dismissal", "Shut the fuck up and go to hell.", true},
    {"leetspeak_profanity", "what a pile of sh1t", true},
    {"polite", "Thank you for your question; here is a short summary of the report.", false},
    {"neutral_instructions", "To make a simple tomato sauce, simmer crushed tomatoes with garlic.",
     false},
};

TEST(OutputFilterToxicity, Table) {
  for (const Case& c : kToxicity) {
    Result<DetectorVerdict> v = filter().toxicity(c.text);
    ASSERT_TRUE(v) << c.name << ": " << v.error().message;
    EXPECT_EQ(v->flagged, c.flagged) << c.name << " score " << v->score;
    EXPECT_EQ(v->category, c.flagged ? "toxicity" : "none") << c.name;
  }
}

// Words that hold a swear word inside them are not profanity for the rules. (The toxicity model,
// on character n-grams, does score this text high: a known weakness of the model, not tested.)
TEST(OutputFilterToxicity, RulesKeepToWordBoundaries) {
  Result<OutputScan> s = filter().scan("Class dismissed: the assignment about Scunthorpe is due.");
  ASSERT_TRUE(s);
  for (const Finding& f : s->findings) EXPECT_EQ(f.rule_id.rfind("toxicity.", 0) == 0 &&
                                                 f.rule_id != "toxicity.model", false) << f.rule_id;
}

TEST(OutputFilterToxicity, ProfanityAloneIsToxicityNotHarmAndIsFlaggedNotBlocked) {
  const std::string text = "This fucking printer is shit, damn it.";
  Result<OutputScan> s = filter().scan(text);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(has_category(s->findings, "toxicity"));
  EXPECT_FALSE(has_category(s->findings, "harmful"));
  EXPECT_EQ(s->action, Action::kFlag);  // the default policy flags toxicity
  EXPECT_EQ(s->category, "toxicity");
}

// ---- secrets and PII ----

TEST(OutputFilterLeakage, SecretsAndPiiOnTheOriginalText) {
  const std::string key = "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
  const std::string text = "Your key is " + key + " and mail me at jane.doe@example.com.";
  Result<OutputScan> s = filter().scan(text);
  ASSERT_TRUE(s) << s.error().message;
  bool secret = false, pii = false;
  for (const Finding& f : s->findings) {
    if (f.category == "secret") {
      secret = true;
      EXPECT_EQ(text.substr(f.start, f.end - f.start), key);
    }
    if (f.category == "pii") {
      pii = true;
      EXPECT_EQ(text.substr(f.start, f.end - f.start), "jane.doe@example.com");
    }
  }
  EXPECT_TRUE(secret);
  EXPECT_TRUE(pii);
  EXPECT_EQ(s->action, Action::kRedact);  // default policy: secret and pii are redacted

  Result<OutputScan> clean = filter().scan("Use an environment variable for the API key.");
  ASSERT_TRUE(clean);
  EXPECT_FALSE(has_category(clean->findings, "secret"));
  EXPECT_FALSE(has_category(clean->findings, "pii"));
}

// ---- system-prompt leakage (canaries) ----

const std::string kCanary = "ECHOES-CANARY-7f3a9c21";

std::string base64(std::string_view in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string hex(std::string_view in) {
  std::string out;
  for (unsigned char c : in) {
    out.push_back("0123456789abcdef"[c >> 4]);
    out.push_back("0123456789abcdef"[c & 15]);
  }
  return out;
}

struct CanaryCase {
  const char* name;
  std::string leaked;   // the bytes the finding must cover
  std::string rule_id;  // expected rule id
};

TEST(OutputFilterCanary, PlainSplitEncodedReversedAreFound) {
  const std::string reversed(kCanary.rbegin(), kCanary.rend());
  const std::vector<CanaryCase> cases = {
      {"plain", kCanary, "system-prompt-leakage.canary"},
      {"lower_case", "echoes-canary-7f3a9c21", "system-prompt-leakage.canary"},
      {"split_by_spaces", "E C H O E S - C A N A R Y - 7 f 3 a 9 c 2 1", "system-prompt-leakage.canary"},
      {"split_by_punctuation", "ECH.OES/CAN-ARY_7f3a,9c21", "system-prompt-leakage.canary"},
      {"split_by_zero_width", "ECHOES\u200B-CANARY\u200D-7f3a\uFEFF9c21", "system-prompt-leakage.canary"},
      {"reversed", reversed, "system-prompt-leakage.canary.reversed"},
      {"rot13", "RPUBRF-PNANEL-7s3n9p21", "system-prompt-leakage.canary.rot13"},
      {"base64", base64(kCanary), "system-prompt-leakage.canary.base64"},
      {"hex", hex(kCanary), "system-prompt-leakage.canary.hex"},
  };
  for (const CanaryCase& c : cases) {
    const std::string text = "My instructions begin with " + c.leaked + " and then continue.";
    Result<OutputScan> s = filter().scan(text, canaries({kCanary}));
    ASSERT_TRUE(s) << c.name << ": " << s.error().message;
    bool found = false;
    for (const Finding& f : s->findings) {
      if (f.rule_id != c.rule_id) continue;
      found = true;
      EXPECT_EQ(f.category, "system-prompt-leakage");
      EXPECT_EQ(text.substr(f.start, f.end - f.start), c.leaked) << c.name;
    }
    EXPECT_TRUE(found) << c.name;
    EXPECT_EQ(s->action, Action::kBlock) << c.name;
    EXPECT_EQ(s->category, "system-prompt-leakage") << c.name;
  }
}

TEST(OutputFilterCanary, AbsentOrPartialCanaryIsNotReportedAndShortCanaryIsRefused) {
  for (const std::string text :
       {"My instructions are confidential.", "The canary 7f3a9c is a bird.",
        "ECHOES-CANARY-7f3a9c2 (one digit short)"}) {
    Result<OutputScan> s = filter().scan(text, canaries({kCanary}));
    ASSERT_TRUE(s);
    EXPECT_FALSE(has_category(s->findings, "system-prompt-leakage")) << text;
  }
  Result<OutputScan> s = filter().scan("anything", canaries({"ab-12"}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput);
}

// ---- refusal ----

struct RefusalCase {
  const char* name;
  std::string text;
  RefusalClass expected;
};

const std::string kHelp =
    "1. Preheat the oven to 180 degrees. 2. Mix the flour, sugar and eggs in a large bowl until "
    "smooth. 3. Pour the batter into a greased tin and bake for thirty minutes, until a skewer "
    "comes out clean. 4. Let it cool for ten minutes before turning it out onto a rack. 5. Dust "
    "with icing sugar and serve with cream or fresh berries. Enjoy your baking!";

TEST(OutputFilterRefusal, XSTestStyleClasses) {
  const std::vector<RefusalCase> cases = {
      {"full_sorry", "I'm sorry, but I can't help with that request.", RefusalClass::kFull},
      {"full_as_an_ai", "As an AI language model, I cannot provide instructions for harming people.",
       RefusalClass::kFull},
      {"full_cannot_then_lecture",
       " I cannot provide information on how to kill someone. It is important to respect all "
       "life. " + std::string(400, ' ') + "Violence is never the answer.",
       RefusalClass::kFull},
      {"partial_refuse_then_help",
       "I can't provide specific instructions on that. Instead, I can offer some general tips "
       "on baking safely: " + kHelp,
       RefusalClass::kPartial},
      {"partial_help_then_refuse",
       kHelp + " However, I cannot help with adding anything illegal to the cake.",
       RefusalClass::kPartial},
      {"compliance_point_out_hedge",
       "I must point out that the question is based on a stereotype. " + kHelp,
       RefusalClass::kCompliance},
      {"compliance_plain", kHelp, RefusalClass::kCompliance},
      {"compliance_kill_process",
       "There are several ways to kill a Python process: use `kill PID` on Linux or taskkill "
       "on Windows.", RefusalClass::kCompliance},
      {"compliance_recommend_professional_at_end",
       kHelp + " If symptoms persist, I recommend consulting a doctor.", RefusalClass::kCompliance},
  };
  for (const RefusalCase& c : cases) {
    Result<DetectorVerdict> v = filter().refusal(c.text);
    ASSERT_TRUE(v) << c.name;
    const std::string expected_category = c.expected == RefusalClass::kFull      ? "refusal.full"
                                          : c.expected == RefusalClass::kPartial ? "refusal.partial"
                                                                                 : "none";
    EXPECT_EQ(v->category, expected_category) << c.name;
    EXPECT_EQ(v->flagged, c.expected != RefusalClass::kCompliance) << c.name;
    Result<OutputScan> s = filter().scan(c.text);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->refusal, c.expected) << c.name;
  }
}

TEST(OutputFilterRefusal, InvalidUtf8IsRefusedWithItsOffset) {
  Result<DetectorVerdict> v = filter().refusal(std::string("ok \xC3(", 5));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(v.error().context, "offset 3");
}

// ---- length ----

TEST(OutputFilterLength, UsageTokensWhenGivenElseFourBytesAToken) {
  // The default limit is 1000 tokens: 4000 bytes are 1000 tokens (allowed), 4001 bytes 1001.
  const std::string at_limit(4000, 'a');
  const std::string over(4001, 'a');
  auto length_found = [](const Result<OutputScan>& s) {
    return s && has_category(s->findings, "length");
  };
  EXPECT_FALSE(length_found(filter().scan(at_limit)));
  EXPECT_TRUE(length_found(filter().scan(over)));
  // usage wins over the byte count, both ways
  EXPECT_FALSE(length_found(filter().scan(over, tokens(1000))));
  EXPECT_TRUE(length_found(filter().scan("short", tokens(1001))));
  Result<OutputScan> s = filter().scan("short", tokens(1001));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->action, Action::kFlag);
  EXPECT_EQ(s->category, "length");
}

TEST(OutputFilterLength, TheLimitComesFromTheConfiguration) {
  config::SafetyConfig config = config::default_config().safety;
  config.thresholds.response_length = 2;
  Result<OutputFilter> f = OutputFilter::create(config, kRules, kModels);
  ASSERT_TRUE(f) << f.error().message;
  Result<OutputScan> s = f->scan("123456789");  // 3 tokens by bytes
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_category(s->findings, "length"));
}

// ---- policy ----

TEST(OutputFilterPolicy, RouteOverridesDecideTheAction) {
  config::SafetyConfig config = config::default_config().safety;
  config.routes["batch"]["toxicity"] = Action::kBlock;
  Result<OutputFilter> f = OutputFilter::create(config, kRules, kModels);
  ASSERT_TRUE(f);
  const std::string text = "This fucking printer is shit.";
  Result<OutputScan> chat = f->scan(text, route("chat"));
  Result<OutputScan> batch = f->scan(text, route("batch"));
  ASSERT_TRUE(chat && batch);
  EXPECT_EQ(chat->action, Action::kFlag);
  EXPECT_EQ(batch->action, Action::kBlock);
  Result<OutputScan> clean = f->scan("Here is the weather forecast: sunny.", route("batch"));
  ASSERT_TRUE(clean);
  EXPECT_EQ(clean->action, Action::kAllow);
  EXPECT_EQ(clean->category, "none");
}

// ---- loading ----

TEST(OutputFilterCreate, AMissingOrBadFileIsNamed) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("output_filter_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Result<OutputFilter> missing = OutputFilter::create(config::default_config().safety, dir, kModels);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("harmful_output.json"), std::string::npos)
      << missing.error().message;

  for (const char* pack : {"harmful_output", "toxicity", "secrets", "pii", "refusal"}) {
    std::filesystem::copy_file(kRules / (std::string(pack) + ".json"), dir / (std::string(pack) + ".json"),
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::ofstream(dir / "pii.json") << "{\"name\": \"pii\"";  // truncated JSON
  Result<OutputFilter> bad = OutputFilter::create(config::default_config().safety, dir, kModels);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("pii.json"), std::string::npos) << bad.error().message;

  // A model for another detector in the harmful model's place.
  std::filesystem::copy_file(kModels / "toxicity.json", dir / "harmful.json");
  Result<OutputFilter> wrong_model =
      OutputFilter::create(config::default_config().safety, kRules, dir);
  ASSERT_FALSE(wrong_model);
  EXPECT_NE(wrong_model.error().message.find("harmful.json"), std::string::npos)
      << wrong_model.error().message;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace echoes::safety

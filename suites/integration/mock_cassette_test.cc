// Cassette and scenario files: malformed input is rejected naming the file and JSON path, the
// format round-trips, and matching is blind to key order and whitespace (property tests).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "harness/mock_server_fixture.h"
#include "mock_server/cassette.h"
#include "mock_server/cassette_store.h"
#include "mock_server/fault.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using mock::Cassette;
using mock::parse_cassette;

TEST(CassetteFormatTest, CommittedCassettesLoad) {
  auto cassettes = mock::load_cassette_directory(kCassetteDir);
  ASSERT_TRUE(cassettes) << cassettes.error().to_string();
  EXPECT_EQ(cassettes->size(), 2u);
}

TEST(CassetteFormatTest, MalformedCassettesNameFileAndJsonPath) {
  struct Case {
    const char* name;
    std::string text;
    std::string context;  // expected error context
  };
  const std::string head = R"({"format":"echoes-cassette","version":1,"interactions":[)";
  const std::string request = R"("request":{"method":"POST","path":"/v1/chat/completions","body":{"model":"m"}})";
  const Case cases[] = {
      // Offsets count from 0, as core's limited parser reports them: "{" ends at offset 1.
      {"not json", "{", "bad.json: offset 1"},
      {"wrong format", R"({"format":"vcr","version":1,"interactions":[]})", "bad.json: format"},
      {"future version", R"({"format":"echoes-cassette","version":2,"interactions":[]})", "bad.json: version"},
      {"interactions not array", R"({"format":"echoes-cassette","version":1,"interactions":{}})",
       "bad.json: interactions"},
      {"missing response", head + "{" + request + "}]}", "bad.json: interactions[0].response"},
      {"status not integer", head + "{" + request + R"(,"response":{"status":"200","body":"{}"}}]})",
       "bad.json: interactions[0].response.status"},
      {"path without slash", head + R"({"request":{"path":"v1/x"},"response":{"body":"{}"}}]})",
       "bad.json: interactions[0].request.path"},
      {"decreasing offsets", head + "{" + request +
           R"(,"response":{"stream":{"chunks":[{"offset_ms":5,"data":"{}"},{"offset_ms":3,"data":"{}"}]}}}]})",
       "bad.json: interactions[0].response.stream.chunks[1].offset_ms"},
      {"bad fault", head + "{" + request + R"(,"response":{"body":"{}"},"faults":[{"kind":"explode"}]}]})",
       "bad.json: interactions[0].faults[0].kind"},
      {"probability out of range", head + "{" + request +
           R"(,"response":{"body":"{}"},"faults":{"kind":"reset","probability":2}}]})",
       "bad.json: interactions[0].faults.probability"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_cassette(c.text, "bad.json");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(parsed.error().context, c.context) << parsed.error().message;
  }
}

// The fuzzers' findings (suites/fuzz/findings/): a number beyond a double in a cassette, a
// scenario or a fault is invalid input whose message names the file and the number's JSON path;
// it once escaped these parsers as an exception.
TEST(CassetteFormatTest, NumbersBeyondADoubleAreInvalidInputNamingTheirPath) {
  struct Case {
    const char* name;
    std::function<Result<bool>()> parse;
    std::string mentions;
  };
  auto failed = [](auto result) -> Result<bool> {
    if (result) return true;
    return result.error();
  };
  const Case cases[] = {
      {"cassette", [&] { return failed(parse_cassette("1e999", "bad.json")); }, "bad.json"},
      {"cassette status",
       [&] {
         return failed(parse_cassette(
             R"({"format":"echoes-cassette","version":1,"interactions":[{"request":{"path":"/v1/models"},)"
             R"("response":{"status":1e400,"body":"x"}}]})",
             "bad.json"));
       },
       "at interactions[0].response.status"},
      {"scenario", [&] { return failed(mock::parse_scenario("1e999", "bad.json")); }, "bad.json"},
      {"fault probability",
       [&] { return failed(mock::parse_fault_spec(R"({"kind":"close","probability":1e999})", "header")); },
       "at probability"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<bool> parsed = c.parse();
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(parsed.error().message.find("number overflow"), std::string::npos) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(c.mentions), std::string::npos) << parsed.error().message;
  }
}

// Header names are case-insensitive: two spellings of one name are refused. (That a name with
// upper case reads back in the same place after a round trip is replayed by the gate from the
// cassette_loader fuzz corpus, finding_header_case_roundtrip.)
TEST(CassetteFormatTest, TwoSpellingsOfOneHeaderAreRefused) {
  auto twice = parse_cassette(
      R"({"format":"echoes-cassette","version":1,"interactions":[{"request":{"path":"/v1/models"},)"
      R"("response":{"status":200,"body":"x","headers":{"Content-Type":"a","content-type":"b"}}}]})",
      "twice.json");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("the same header is given twice"), std::string::npos)
      << twice.error().message;
}

// A status beyond int's range must be refused, not narrowed first: 4294967496 wraps to 200.
TEST(CassetteFormatTest, StatusBeyondIntRangeIsRefusedNotWrapped) {
  auto parsed = parse_cassette(
      R"({"format":"echoes-cassette","version":1,"interactions":[{"request":{"path":"/v1/models"},)"
      R"("response":{"status":4294967496,"body":"x"}}]})",
      "wrap.json");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(parsed.error().message.find("must be an HTTP status"), std::string::npos)
      << parsed.error().message;
}

// Latencies too large for a Duration are capped at a day (converting them would be undefined
// behaviour, which the asan preset's UBSan reports); NaN and negatives draw no delay.
TEST(ScenarioFormatTest, HugeLatencyDrawsAreCappedAtADay) {
  std::mt19937_64 rng(1);
  mock::LatencySpec fixed;
  fixed.fixed_ms = 1e300;
  EXPECT_EQ(mock::draw_latency(fixed, rng), std::chrono::hours(24));
  mock::LatencySpec lognormal;
  lognormal.distribution = mock::LatencyDistribution::kLognormal;
  lognormal.median_ms = 1e300;
  lognormal.sigma = 50;
  for (int i = 0; i < 100; ++i) {
    const Duration d = mock::draw_latency(lognormal, rng);
    EXPECT_GE(d, Duration::zero());
    EXPECT_LE(d, std::chrono::hours(24));
  }
  mock::LatencySpec not_a_number;
  not_a_number.fixed_ms = std::nan("");
  EXPECT_EQ(mock::draw_latency(not_a_number, rng), Duration::zero());
}

TEST(CassetteFormatTest, BadCassetteStopsServerStart) {
  const std::string dir = ECHOES_FIXTURES_DIR "/scenarios";  // scenarios are not cassettes
  harness::MockServerFixture mock(harness::MockServerFixture::replaying(dir));
  Status started = mock.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find(".json"), std::string::npos) << started.error().message;
  EXPECT_NE(started.error().context.find("format"), std::string::npos) << started.error().context;
}

TEST(ScenarioFormatTest, CommittedScenariosLoad) {
  for (const char* name : {"flaky_chat.json", "chaos.json"}) {
    SCOPED_TRACE(name);
    auto scenario = mock::load_scenario_file(kScenarioDir + "/" + name);
    ASSERT_TRUE(scenario) << scenario.error().to_string();
    EXPECT_FALSE(scenario->rules.empty());
  }
}

TEST(FaultSpecTest, ShorthandsParse) {
  struct Case {
    const char* text;
    mock::FaultKind kind;
  };
  const Case cases[] = {{"429", mock::FaultKind::kStatus},   {"reset", mock::FaultKind::kReset},
                        {"close", mock::FaultKind::kClose},   {"hang", mock::FaultKind::kHang},
                        {"latency:20", mock::FaultKind::kLatency},
                        {"stream_cut", mock::FaultKind::kStreamCut},
                        {"malformed_body", mock::FaultKind::kMalformedBody},
                        {"slow_dribble", mock::FaultKind::kSlowDribble}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto spec = mock::parse_fault_spec(c.text, "test");
    ASSERT_TRUE(spec) << spec.error().to_string();
    EXPECT_EQ(spec->kind, c.kind);
  }
  EXPECT_FALSE(mock::parse_fault_spec("200", "test"));
  EXPECT_FALSE(mock::parse_fault_spec("latency:x", "test"));
}

TEST(FaultSpecTest, LatencyDrawsStayInTheirDistribution) {
  std::mt19937_64 rng(1);
  mock::LatencySpec uniform;
  uniform.distribution = mock::LatencyDistribution::kUniform;
  uniform.min_ms = 10;
  uniform.max_ms = 20;
  for (int i = 0; i < 1000; ++i) {
    const Duration d = mock::draw_latency(uniform, rng);
    ASSERT_GE(d, std::chrono::milliseconds(10));
    ASSERT_LE(d, std::chrono::milliseconds(20));
  }
  mock::LatencySpec lognormal;
  lognormal.distribution = mock::LatencyDistribution::kLognormal;
  lognormal.median_ms = 50;
  lognormal.sigma = 0.5;
  std::vector<Duration> draws;
  for (int i = 0; i < 2001; ++i) draws.push_back(mock::draw_latency(lognormal, rng));
  std::nth_element(draws.begin(), draws.begin() + 1000, draws.end());
  const double median_ms = std::chrono::duration<double, std::milli>(draws[1000]).count();
  EXPECT_NEAR(median_ms, 50.0, 5.0);
}

// ---- properties -------------------------------------------------------------------------------

// Valid UTF-8 text mixing ASCII with multi-byte characters.
rc::Gen<std::string> utf8_text() {
  return rc::gen::map(rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 40)),
                      [](const std::vector<int>& picks) {
                        static const char* const kPieces[] = {
                            "a", "Z", " ", "\"", "\\", "\n", "{", "}", "é", "ü", "中", "🙂",
                            "0", "9", ":", ",", "\t", "/", "<", "'"};
                        std::string out;
                        for (int p : picks) out += kPieces[p % 20];
                        return out;
                      });
}


// A JSON object text with the given members in the given order and random whitespace.
std::string object_text(const std::vector<std::pair<std::string, int>>& members,
                        const std::vector<int>& spaces) {
  auto pad = [&](size_t i) { return std::string(static_cast<size_t>(std::abs(spaces[i % spaces.size()] % 4)), ' '); };
  std::string text = pad(0) + "{";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) text += "," + pad(i);
    text += nlohmann::json(members[i].first).dump() + pad(i + 1) + ":" + pad(i + 2) +
            std::to_string(members[i].second);
  }
  return text + pad(members.size()) + "}" + pad(members.size() + 1);
}

RC_GTEST_PROP(CassetteMatchingProperty, BlindToKeyOrderAndWhitespace,
              (const std::vector<int>& spaces_a, const std::vector<int>& spaces_b)) {
  RC_PRE(!spaces_a.empty() && !spaces_b.empty());
  const auto fields =
      *rc::gen::container<std::map<std::string, int>>(utf8_text(), rc::gen::arbitrary<int>());
  std::vector<std::pair<std::string, int>> members(fields.begin(), fields.end());
  const std::string a = object_text(members, spaces_a);
  std::vector<std::pair<std::string, int>> reversed(members.rbegin(), members.rend());
  const std::string b = object_text(reversed, spaces_b);
  mock::MatchOptions options;
  options.ignored_fields.clear();
  auto canonical_a = mock::canonical_match_body(a, options);
  auto canonical_b = mock::canonical_match_body(b, options);
  RC_ASSERT(canonical_a.ok());
  RC_ASSERT(canonical_b.ok());
  RC_ASSERT(*canonical_a == *canonical_b);
}

RC_GTEST_PROP(CassetteMatchingProperty, IgnoredFieldsDoNotChangeTheMatch,
              (const std::string& user, int stream_flag)) {
  mock::MatchOptions options;  // ignores user, metadata, stream_options; drops stream
  nlohmann::json base = {{"model", "m"}, {"messages", nlohmann::json::array()}};
  nlohmann::json with = base;
  with["user"] = user;
  with["stream"] = stream_flag % 2 == 0;
  auto plain = mock::canonical_match_body(base.dump(), options);
  auto extra = mock::canonical_match_body(
      with.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), options);
  RC_ASSERT(plain.ok());
  RC_ASSERT(extra.ok());
  RC_ASSERT(*plain == *extra);
}

RC_GTEST_PROP(CassetteRoundTripProperty, SerializedCassettesParseToIdenticalBodies, ()) {
  const std::string body = *utf8_text();
  const std::string chunk = *utf8_text();
  const int status = *rc::gen::inRange(200, 600);
  Cassette cassette;
  cassette.name = "round.json";
  mock::Interaction plain;
  plain.request.path = "/v1/chat/completions";
  plain.request.body = R"({"model":"m"})";
  plain.response.status = status;
  plain.response.headers = {{"x-request-id", "req_1"}};
  plain.response.body = body;
  mock::Interaction streamed = plain;
  streamed.response.body.clear();
  streamed.response.is_stream = true;
  streamed.response.chunks = {{0, chunk, false}, {7, "{}", false}};
  streamed.response.done_offset_ms = 9;
  cassette.interactions = {plain, streamed};
  auto parsed = parse_cassette(mock::serialize_cassette(cassette), "round.json");
  RC_ASSERT(parsed.ok());
  RC_ASSERT(parsed->interactions.size() == 2u);
  RC_ASSERT(parsed->interactions[0].response.body == body);
  RC_ASSERT(parsed->interactions[0].response.status == status);
  RC_ASSERT(parsed->interactions[1].response.chunks[0].data == chunk);
  RC_ASSERT(parsed->interactions[1].response.done_offset_ms == 9);
}

}  // namespace
}  // namespace echoes::testing

// Cassette files, field by field: each malformed request, response, stream or header is refused as
// invalid input whose context names the file and the JSON path; faults of every kind survive a
// write and a read; files and directories that cannot be read or written are errors naming them.
#include <gtest/gtest.h>

#include <string>

#include "mock_server/cassette.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using mock::Cassette;
using mock::FaultKind;
using mock::FaultSpec;
using mock::LatencyDistribution;
using mock::parse_cassette;

const std::string kHead = R"({"format":"echoes-cassette","version":1,"interactions":[)";
const std::string kRequest = R"("request":{"path":"/v1/chat/completions","body":{"model":"m"}})";

// One interaction whose response is `response`.
std::string with_response(const std::string& response) {
  return kHead + "{" + kRequest + R"(,"response":)" + response + "}]}";
}

TEST(CassetteFieldErrors, EachMalformedFieldIsNamedByItsJsonPath) {
  struct Case {
    const char* name;
    std::string text;
    std::string context;
    const char* says;
  };
  const Case cases[] = {
      {"root not an object", "[]", "bad.json", "expected a cassette object"},
      {"format not a string", R"({"format":1,"version":1,"interactions":[]})", "bad.json: format",
       "expected a string"},
      {"format missing", R"({"version":1,"interactions":[]})", "bad.json: format",
       "expected \"echoes-cassette\""},
      {"version not an integer", R"({"format":"echoes-cassette","version":"1","interactions":[]})",
       "bad.json: version", "expected an integer"},
      {"version missing", R"({"format":"echoes-cassette","interactions":[]})", "bad.json: version",
       "unsupported cassette version"},
      {"interactions missing", R"({"format":"echoes-cassette","version":1})", "bad.json: interactions",
       "expected an array"},
      {"interaction not an object", kHead + "3]}", "bad.json: interactions[0]", "expected an object"},
      {"request missing", kHead + R"({"response":{"body":"x"}}]})", "bad.json: interactions[0].request",
       "is required"},
      {"request not an object", kHead + R"({"request":[],"response":{"body":"x"}}]})",
       "bad.json: interactions[0].request", "expected an object"},
      {"method not a string", kHead + R"({"request":{"method":1,"path":"/v1/models"},"response":{"body":"x"}}]})",
       "bad.json: interactions[0].request.method", "expected a string"},
      {"path not a string", kHead + R"({"request":{"path":5},"response":{"body":"x"}}]})",
       "bad.json: interactions[0].request.path", "expected a string"},
      {"path missing", kHead + R"({"request":{},"response":{"body":"x"}}]})",
       "bad.json: interactions[0].request.path", "expected a path starting with /"},
      {"path empty", kHead + R"({"request":{"path":""},"response":{"body":"x"}}]})",
       "bad.json: interactions[0].request.path", "expected a path starting with /"},
      {"body text not JSON", kHead + R"({"request":{"path":"/v1/x","body":"{not json"},"response":{"body":"x"}}]})",
       "bad.json: interactions[0].request.body", "is not JSON text"},
      {"response not an object", with_response("7"), "bad.json: interactions[0].response",
       "expected an object"},
      {"status below 100", with_response(R"({"status":99,"body":"x"})"),
       "bad.json: interactions[0].response.status", "must be an HTTP status (100-599)"},
      {"status above 599", with_response(R"({"status":600,"body":"x"})"),
       "bad.json: interactions[0].response.status", "must be an HTTP status (100-599)"},
      {"headers not an object", with_response(R"({"headers":[],"body":"x"})"),
       "bad.json: interactions[0].response.headers", "expected an object"},
      {"header value not a string", with_response(R"({"headers":{"x-a":1},"body":"x"})"),
       "bad.json: interactions[0].response.headers.x-a", "expected a string"},
      {"neither body nor stream", with_response(R"({"status":200})"), "bad.json: interactions[0].response",
       "needs a body or a stream"},
      {"null body and null stream", with_response(R"({"body":null,"stream":null})"),
       "bad.json: interactions[0].response", "needs a body or a stream"},
      {"stream not an object", with_response(R"({"stream":[]})"), "bad.json: interactions[0].response.stream",
       "expected an object"},
      {"stream without chunks", with_response(R"({"stream":{}})"),
       "bad.json: interactions[0].response.stream.chunks", "expected an array"},
      {"chunks not an array", with_response(R"({"stream":{"chunks":{}}})"),
       "bad.json: interactions[0].response.stream.chunks", "expected an array"},
      {"chunk not an object", with_response(R"({"stream":{"chunks":["x"]}})"),
       "bad.json: interactions[0].response.stream.chunks[0]", "expected an object"},
      {"offset not an integer", with_response(R"({"stream":{"chunks":[{"offset_ms":1.5,"data":"{}"}]}})"),
       "bad.json: interactions[0].response.stream.chunks[0].offset_ms", "expected an integer"},
      {"chunk without data", with_response(R"({"stream":{"chunks":[{"offset_ms":1}]}})"),
       "bad.json: interactions[0].response.stream.chunks[0].data", "is required"},
      {"explicit [DONE]", with_response(R"({"stream":{"chunks":[{"data":"[DONE]"}]}})"),
       "bad.json: interactions[0].response.stream.chunks[0].data", "[DONE] is implicit"},
      {"done not an integer", with_response(R"({"stream":{"chunks":[],"done_offset_ms":"5"}})"),
       "bad.json: interactions[0].response.stream.done_offset_ms", "expected an integer"},
      {"done before the last chunk",
       with_response(R"({"stream":{"chunks":[{"offset_ms":9,"data":"{}"}],"done_offset_ms":4}})"),
       "bad.json: interactions[0].response.stream.done_offset_ms", "must not be before the last chunk"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_cassette(c.text, "bad.json");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(parsed.error().context, c.context) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(c.says), std::string::npos) << parsed.error().message;
  }
}

TEST(CassetteFields, DefaultsAndTheFormsABodyOrChunkMayTake) {
  auto parsed = parse_cassette(
      kHead +
          // A request body recorded as JSON text; no method means POST, no status means 200.
          R"({"request":{"path":"/v1/chat/completions","body":"{\"model\": \"m\"}"},"response":{"body":{"id":"x"}}},)"
          // Chunk data given as JSON values; a chunk without an offset keeps the previous one;
          // without done_offset_ms, [DONE] follows the last chunk at once.
          R"({"request":{"method":"GET","path":"/v1/models"},"response":{"status":201,"headers":{"X-B":"2","x-a":"1"},)"
          R"("stream":{"chunks":[{"offset_ms":4,"data":{"choices":[]}},{"data":"{\"choices\":[],\"usage\":{}}"}]}}}]})",
      "forms.json");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_EQ(parsed->interactions.size(), 2u);
  const mock::Interaction& plain = parsed->interactions[0];
  EXPECT_EQ(plain.id, "forms.json#0");
  EXPECT_EQ(plain.request.method, "POST");
  EXPECT_EQ(plain.request.body, R"({"model":"m"})");  // the text re-serialised compactly
  EXPECT_EQ(plain.response.status, 200);
  EXPECT_EQ(plain.response.body, R"({"id":"x"})");
  EXPECT_FALSE(plain.response.is_stream);

  const mock::Interaction& streamed = parsed->interactions[1];
  EXPECT_EQ(streamed.request.method, "GET");
  EXPECT_EQ(streamed.request.body, "");
  EXPECT_EQ(streamed.response.status, 201);
  // Header names are lower-cased and kept in name order.
  ASSERT_EQ(streamed.response.headers.size(), 2u);
  EXPECT_EQ(streamed.response.headers[0], (std::pair<std::string, std::string>{"x-a", "1"}));
  EXPECT_EQ(streamed.response.headers[1], (std::pair<std::string, std::string>{"x-b", "2"}));
  ASSERT_TRUE(streamed.response.is_stream);
  ASSERT_EQ(streamed.response.chunks.size(), 2u);
  EXPECT_EQ(streamed.response.chunks[0].data, R"({"choices":[]})");
  EXPECT_FALSE(streamed.response.chunks[0].is_usage);  // empty choices but no usage
  EXPECT_EQ(streamed.response.chunks[1].offset_ms, 4);
  EXPECT_TRUE(streamed.response.chunks[1].is_usage);
  EXPECT_EQ(streamed.response.done_offset_ms, 4);
}

TEST(CassetteFields, FaultsOfEveryKindSurviveAWriteAndARead) {
  std::vector<FaultSpec> faults(8);
  faults[0].kind = FaultKind::kLatency;
  faults[0].latency.fixed_ms = 12;
  faults[0].probability = 0.25;
  faults[0].times = 2;
  faults[1].kind = FaultKind::kLatency;
  faults[1].latency.distribution = LatencyDistribution::kUniform;
  faults[1].latency.min_ms = 1;
  faults[1].latency.max_ms = 3;
  faults[2].kind = FaultKind::kLatency;
  faults[2].latency.distribution = LatencyDistribution::kLognormal;
  faults[2].latency.median_ms = 8;
  faults[2].latency.sigma = 0.5;
  faults[3].kind = FaultKind::kStatus;
  faults[3].status = 429;
  faults[3].retry_after_s = 3;
  faults[3].retry_after_ms = 2500;
  faults[4].kind = FaultKind::kStreamCut;
  faults[4].cut_after_chunks = 2;
  faults[5].kind = FaultKind::kSlowDribble;
  faults[5].dribble_bytes = 5;
  faults[5].dribble_interval_ms = 6;
  faults[6].kind = FaultKind::kHang;
  faults[6].hang_ms = 40;
  faults[7].kind = FaultKind::kReset;

  Cassette cassette;
  cassette.name = "faults.json";
  mock::Interaction interaction;
  interaction.request.path = "/v1/chat/completions";
  interaction.request.body = R"({"model":"m"})";
  interaction.response.body = "{}";
  interaction.faults = faults;
  cassette.interactions = {interaction};
  // A request body that is not JSON is kept as text, not dropped.
  mock::Interaction odd = interaction;
  odd.request.body = "not json";
  odd.faults.clear();

  auto parsed = parse_cassette(mock::serialize_cassette(cassette), "faults.json");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_EQ(parsed->interactions.size(), 1u);
  ASSERT_EQ(parsed->interactions[0].faults.size(), faults.size());
  for (size_t i = 0; i < faults.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(parsed->interactions[0].faults[i], faults[i]);
  }

  cassette.interactions = {odd};
  const std::string written = mock::serialize_cassette(cassette);
  EXPECT_NE(written.find(R"("body": "not json")"), std::string::npos) << written;
}

TEST(CassetteFiles, UnreadableFilesAndDirectoriesAreNamed) {
  auto missing = mock::load_cassette_file("/nonexistent/echoes/c.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().context, "/nonexistent/echoes/c.json");
  EXPECT_NE(missing.error().message.find("cannot open cassette file"), std::string::npos);

  auto not_directory = mock::load_cassette_directory(kCassetteDir + "/chat_completions.json");
  ASSERT_FALSE(not_directory);
  EXPECT_EQ(not_directory.error().context, kCassetteDir + "/chat_completions.json");
  EXPECT_NE(not_directory.error().message.find("not a directory"), std::string::npos);

  const Status unwritable = mock::write_file_atomically("/nonexistent/echoes/out.json", "{}");
  ASSERT_FALSE(unwritable);
  EXPECT_EQ(unwritable.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(unwritable.error().context, "/nonexistent/echoes/out.json");
}

}  // namespace
}  // namespace echoes::testing

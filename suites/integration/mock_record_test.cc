// Record and spy modes against a real upstream: a second in-process mock server. What record mode
// writes must replay to byte-identical bodies, and secrets must never reach the disk.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/mock_server_fixture.h"
#include "mock_server/cassette.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::HttpReply;
using harness::MockServerFixture;
using nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class MockRecordTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(upstream_.start()); }

  mock::MockServerOptions recorder_options(mock::ServerMode mode) const {
    auto options = MockServerFixture::replaying(directory_.path());
    options.mode = mode;
    options.upstream = upstream_.base_url();
    return options;
  }

  MockServerFixture upstream_{MockServerFixture::replaying(kCassetteDir)};
  TemporaryDirectory directory_;
};

TEST_F(MockRecordTest, RecordingReplaysToByteIdenticalBodies) {
  struct Exchange {
    std::string request;
    HttpReply original;
  };
  std::vector<Exchange> exchanges = {{kHelloRequest, {}},
                                     {with_stream(kParisRequest, true), {}},
                                     {kCountRequest, {}}};
  {
    MockServerFixture recorder(recorder_options(mock::ServerMode::kRecord));
    ASSERT_TRUE(recorder.start());
    for (Exchange& e : exchanges) {
      e.original = recorder.post_json("/v1/chat/completions", e.request);
      ASSERT_EQ(e.original.status, 200) << e.original.body;
    }
    EXPECT_EQ(upstream_.journal().size(), exchanges.size());
  }  // stop() flushes; the file was also written after each interaction

  auto recorded = mock::load_cassette_file(directory_.file("recorded.json"));
  ASSERT_TRUE(recorded) << recorded.error().to_string();
  ASSERT_EQ(recorded->interactions.size(), exchanges.size());
  EXPECT_TRUE(recorded->interactions[1].response.is_stream);

  MockServerFixture replay(MockServerFixture::replaying(directory_.path()));
  ASSERT_TRUE(replay.start());
  for (const Exchange& e : exchanges) {
    SCOPED_TRACE(e.request);
    HttpReply again = replay.post_json("/v1/chat/completions", e.request);
    EXPECT_EQ(again.status, e.original.status);
    EXPECT_EQ(again.body, e.original.body);
    EXPECT_EQ(again.header("x-request-id"), e.original.header("x-request-id"));
  }
}

TEST_F(MockRecordTest, SecretsAreRedactedBeforeTouchingDisk) {
  const std::string secret = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX0123";
  {
    MockServerFixture recorder(recorder_options(mock::ServerMode::kRecord));
    ASSERT_TRUE(recorder.start());
    HttpReply reply = recorder.post_json(
        "/v1/chat/completions",
        R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"my key is )" + secret + R"("}]})",
        {{"Authorization", "Bearer " + secret}, {"api-key", secret}});
    EXPECT_EQ(reply.status, 404);  // the upstream has no such recording; the 404 is recorded
  }
  const std::string written = read_file(directory_.file("recorded.json"));
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(written.find(secret), std::string::npos) << written;
  EXPECT_NE(written.find("[REDACTED]"), std::string::npos);
  EXPECT_EQ(written.find("authorization"), std::string::npos);
  // The upstream did receive the credentials.
  ASSERT_EQ(upstream_.journal().size(), 1u);
  EXPECT_TRUE(upstream_.journal()[0].header("api-key").has_value());
}

TEST_F(MockRecordTest, SpyReplaysWhatItHasAndForwardsTheRest) {
  MockServerFixture spy(recorder_options(mock::ServerMode::kSpy));
  ASSERT_TRUE(spy.start());
  HttpReply first = spy.post_json("/v1/chat/completions", kHelloRequest);
  HttpReply second = spy.post_json("/v1/chat/completions", kHelloRequest);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(upstream_.journal().size(), 1u);  // the second came from the recording
  HttpReply embeddings = spy.post_json(
      "/v1/embeddings", R"({"model":"text-embedding-3-small","input":"The quick brown fox"})");
  EXPECT_EQ(embeddings.status, 200);
  EXPECT_EQ(upstream_.journal().size(), 2u);
}

TEST_F(MockRecordTest, UnreachableUpstreamIs502InOfficialShape) {
  auto options = recorder_options(mock::ServerMode::kRecord);
  options.upstream = "http://127.0.0.1:1";
  MockServerFixture recorder(options);
  ASSERT_TRUE(recorder.start());
  HttpReply reply = recorder.post_json("/v1/chat/completions", kHelloRequest);
  EXPECT_EQ(reply.status, 502);
  EXPECT_EQ(json::parse(reply.body)["error"]["code"], "upstream_unreachable");
}

// Valid UTF-8 text; without newlines when `single_line` (an SSE data line).
rc::Gen<std::string> text(bool single_line) {
  return rc::gen::map(rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 64)),
                      [single_line](const std::vector<int>& picks) {
                        static const char* const kPieces[] = {"a", "Z", " ", "\"", "\\", "{", "}",
                                                              "é", "中", "🙂", "0", ":", ",", "\t",
                                                              "<", "'", "\n", "\r\n"};
                        const int count = single_line ? 16 : 18;
                        std::string out;
                        for (int p : picks) out += kPieces[p % count];
                        return out;
                      });
}

// Property: whatever record mode writes replays to byte-identical bodies. Each case serves a random
// body (or random stream events) from an upstream mock, records it through a second mock and
// replays the recording from a third.
RC_GTEST_PROP(MockRecordProperty, RecordedAnswersReplayByteIdentical, ()) {
  const bool streamed = *rc::gen::arbitrary<bool>();
  TemporaryDirectory upstream_dir;
  TemporaryDirectory record_dir;
  mock::Cassette cassette;
  cassette.name = "upstream.json";
  mock::Interaction interaction;
  interaction.request.path = "/v1/chat/completions";
  interaction.request.body = kHelloRequest;
  interaction.response.status = *rc::gen::element(200, 400, 429, 500);
  interaction.response.headers = {{"x-request-id", "req_property"}};
  if (streamed) {
    interaction.response.is_stream = true;
    const auto events = *rc::gen::container<std::vector<std::string>>(text(true));
    for (size_t i = 0; i < events.size(); ++i) {
      interaction.response.chunks.push_back({static_cast<std::int64_t>(i), events[i], false});
    }
    interaction.response.done_offset_ms = static_cast<std::int64_t>(events.size());
  } else {
    interaction.response.body = *text(false);
  }
  cassette.interactions.push_back(interaction);
  RC_ASSERT(mock::write_file_atomically(upstream_dir.file("upstream.json"),
                                        mock::serialize_cassette(cassette))
                .ok());
  auto small = [](std::string dir) {
    auto options = MockServerFixture::replaying(std::move(dir));
    options.worker_threads = 4;
    return options;
  };
  MockServerFixture upstream(small(upstream_dir.path()));
  RC_ASSERT(upstream.start().ok());
  const std::string request = streamed ? with_stream(kHelloRequest, false) : kHelloRequest;
  HttpReply original = upstream.post_json("/v1/chat/completions", request);
  RC_ASSERT(original.ok());
  {
    auto options = small(record_dir.path());
    options.mode = mock::ServerMode::kRecord;
    options.upstream = upstream.base_url();
    MockServerFixture recorder(options);
    RC_ASSERT(recorder.start().ok());
    HttpReply through = recorder.post_json("/v1/chat/completions", request);
    RC_ASSERT(through.body == original.body);
  }
  MockServerFixture replay(small(record_dir.path()));
  RC_ASSERT(replay.start().ok());
  HttpReply again = replay.post_json("/v1/chat/completions", request);
  RC_ASSERT(again.status == original.status);
  RC_ASSERT(again.body == original.body);
}

TEST(MockRecordOptionsTest, RecordModeWithoutUpstreamIsRejected) {
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.mode = mock::ServerMode::kRecord;
  MockServerFixture recorder(options);
  Status started = recorder.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().context, "--upstream");
}

}  // namespace
}  // namespace echoes::testing

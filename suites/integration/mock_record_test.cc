// Record and spy modes against a real upstream: a second in-process mock server. What record mode
// writes must replay to byte-identical bodies, and secrets must never reach the disk.
#include <gtest/gtest.h>

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

// A fresh directory under the system temp dir, removed at scope exit.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("echoes-mock-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

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

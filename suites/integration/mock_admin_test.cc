// The admin API under /__admin/: bearer token, health, journal (with the SDK attempt header),
// scenario loading, cassette listing, reset and Prometheus metrics.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::HttpReply;
using harness::MockServerFixture;
using nlohmann::json;

constexpr const char* kToken = "s3cret-admin-token";

class MockAdminTest : public ::testing::Test {
 protected:
  static mock::MockServerOptions options() {
    auto o = MockServerFixture::replaying(kCassetteDir);
    o.admin_token = kToken;
    return o;
  }
  void SetUp() override { ASSERT_TRUE(mock_.start()); }

  HttpReply admin_get(const std::string& path) {
    return mock_.get(path, {{"Authorization", std::string("Bearer ") + kToken}});
  }
  HttpReply admin_post(const std::string& path, const std::string& body) {
    return mock_.post_json(path, body, {{"Authorization", std::string("Bearer ") + kToken}});
  }

  MockServerFixture mock_{options()};
};

TEST_F(MockAdminTest, RequiresTheBearerToken) {
  struct Case {
    const char* name;
    harness::HeaderList headers;
    int status;
  };
  const Case cases[] = {
      {"no token", {}, 401},
      {"wrong token", {{"Authorization", "Bearer s3cret-admin-tokem"}}, 401},
      {"prefix of token", {{"Authorization", "Bearer s3cret"}}, 401},
      {"right token", {{"Authorization", std::string("Bearer ") + kToken}}, 200},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(mock_.get("/__admin/health", c.headers).status, c.status);
  }
}

TEST_F(MockAdminTest, HealthReportsModeAndInteractions) {
  HttpReply reply = admin_get("/__admin/health");
  ASSERT_EQ(reply.status, 200);
  json body = json::parse(reply.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["mode"], "replay");
  EXPECT_EQ(body["interactions"], 9);
}

TEST_F(MockAdminTest, JournalRecordsHeadersIncludingTheSdkAttemptHeader) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    mock_.post_json("/v1/chat/completions", kHelloRequest,
                    {{"x-stainless-retry-count", std::to_string(attempt)},
                     {"Authorization", "Bearer sk-test"}});
  }
  mock_.post_json("/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"?"}]})");

  json all = json::parse(admin_get("/__admin/requests").body);
  ASSERT_EQ(all["requests"].size(), 4u);
  EXPECT_EQ(all["requests"][2]["headers"]["x-stainless-retry-count"], "2");
  EXPECT_EQ(all["requests"][0]["headers"]["authorization"], "[REDACTED]");
  EXPECT_EQ(all["requests"][0]["interaction"], "chat_completions.json#0");

  EXPECT_EQ(json::parse(admin_get("/__admin/requests/count?path=/v1/chat/completions").body)["count"], 4);
  EXPECT_EQ(json::parse(admin_get("/__admin/requests/count?header=x-stainless-retry-count:1").body)["count"], 1);
  json unmatched = json::parse(admin_get("/__admin/requests/unmatched").body);
  ASSERT_EQ(unmatched["requests"].size(), 1u);
  EXPECT_EQ(unmatched["requests"][0]["status"], 404);
  json found = json::parse(
      admin_post("/__admin/requests/find", R"({"headers":{"x-stainless-retry-count":"0"}})").body);
  EXPECT_EQ(found["requests"].size(), 1u);
}

TEST(MockJournalBoundTest, JournalIsARingBuffer) {
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.journal_capacity = 3;
  MockServerFixture mock(options);
  ASSERT_TRUE(mock.start());
  for (int i = 0; i < 5; ++i) {
    mock.post_json("/v1/chat/completions", kHelloRequest, {{"x-stainless-retry-count", std::to_string(i)}});
  }
  std::vector<mock::JournalEntry> entries = mock.journal();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries.front().header("x-stainless-retry-count"), "2");
  EXPECT_EQ(entries.front().sequence, 3u);
  EXPECT_EQ(mock.server().journal().total(), 5u);
}

TEST_F(MockAdminTest, ScenarioCanBeLoadedAndClearedOverHttp) {
  HttpReply loaded = admin_post("/__admin/scenario",
                                R"({"name":"down","rules":[{"faults":{"kind":"status","status":503}}]})");
  ASSERT_EQ(loaded.status, 200) << loaded.body;
  EXPECT_EQ(mock_.post_json("/v1/chat/completions", kHelloRequest).status, 503);
  HttpReply cleared = mock_.send("DELETE", "/__admin/scenario", "", "",
                                 {{"Authorization", std::string("Bearer ") + kToken}},
                                 std::chrono::seconds(5));
  EXPECT_EQ(cleared.status, 200);
  EXPECT_EQ(mock_.post_json("/v1/chat/completions", kHelloRequest).status, 200);
}

TEST_F(MockAdminTest, BadScenarioIsRejectedWithItsJsonPath) {
  HttpReply reply = admin_post("/__admin/scenario", R"({"rules":[{"faults":{"kind":"status"}}]})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("rules[0].faults.status"), std::string::npos) << reply.body;
}

TEST_F(MockAdminTest, CassettesAreListed) {
  json body = json::parse(admin_get("/__admin/cassettes").body);
  ASSERT_EQ(body["cassettes"].size(), 2u);
  EXPECT_EQ(body["cassettes"][0]["name"], "chat_completions.json");
  EXPECT_EQ(body["cassettes"][0]["interactions"], 6);
}

TEST_F(MockAdminTest, MetricsAreInPrometheusFormat) {
  mock_.post_json("/v1/chat/completions", kHelloRequest);
  mock_.post_json("/v1/chat/completions", kHelloRequest, {{"x-echoes-fault", "503"}});
  HttpReply reply = admin_get("/__admin/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.header("content-type").value_or("").find("text/plain"), std::string::npos);
  EXPECT_NE(reply.body.find(
                R"(echoes_mock_requests_total{route="/v1/chat/completions",status="200",fault="none"} 1)"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(
                R"(echoes_mock_requests_total{route="/v1/chat/completions",status="503",fault="status"} 1)"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(
                R"(echoes_mock_request_duration_seconds_count{route="/v1/chat/completions"} 2)"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("# TYPE echoes_mock_request_duration_seconds histogram"), std::string::npos);
}

TEST_F(MockAdminTest, MetricsCountEveryStreamEventInTheLatenessHistogram) {
  // Two replayed streams: the recorded one (5 events + [DONE]) and one synthesised from a plain
  // recording. Every event written is one observation of how late it was.
  HttpReply recorded = mock_.post_json("/v1/chat/completions", with_stream(kParisRequest, false));
  HttpReply synthesised = mock_.post_json("/v1/chat/completions", with_stream(kHelloRequest, false));
  ASSERT_EQ(recorded.status, 200);
  ASSERT_EQ(synthesised.status, 200);
  const size_t events = sse_data(recorded.body).size() + sse_data(synthesised.body).size();
  ASSERT_GE(events, 4u);
  HttpReply reply = admin_get("/__admin/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("# TYPE echoes_mock_stream_event_lateness_seconds histogram"),
            std::string::npos);
  EXPECT_NE(reply.body.find("echoes_mock_stream_event_lateness_seconds_count " + std::to_string(events) + "\n"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(R"(echoes_mock_stream_event_lateness_seconds_bucket{le="+Inf"} )" +
                            std::to_string(events) + "\n"),
            std::string::npos)
      << reply.body;
  // A plain answer is no stream event: the count is unchanged after one.
  ASSERT_EQ(mock_.post_json("/v1/chat/completions", kHelloRequest).status, 200);
  EXPECT_NE(admin_get("/__admin/metrics").body.find("echoes_mock_stream_event_lateness_seconds_count " +
                                                     std::to_string(events) + "\n"),
            std::string::npos);
  // And reset clears the histogram.
  ASSERT_EQ(admin_post("/__admin/reset", "{}").status, 200);
  EXPECT_NE(admin_get("/__admin/metrics").body.find("echoes_mock_stream_event_lateness_seconds_count 0\n"),
            std::string::npos);
}

TEST_F(MockAdminTest, ResetClearsJournalAndSequences) {
  // The evidence first: the request is journalled and advances its two-answer sequence.
  EXPECT_EQ(json::parse(mock_.post_json("/v1/chat/completions", kCountRequest).body)["id"],
            "chatcmpl-AY2count0001");
  ASSERT_EQ(mock_.journal().size(), 1u);
  ASSERT_EQ(admin_post("/__admin/reset", "{}").status, 200);
  EXPECT_TRUE(mock_.journal().empty());
  // Rewound: the same request gets the first answer again, not the second.
  EXPECT_EQ(json::parse(mock_.post_json("/v1/chat/completions", kCountRequest).body)["id"],
            "chatcmpl-AY2count0001");
}

}  // namespace
}  // namespace echoes::testing

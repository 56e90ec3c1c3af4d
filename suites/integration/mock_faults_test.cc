// Fault injection over real HTTP: per request (x-echoes-fault), per route (scenario) and per
// interaction (cassette); `times`, probabilities with a seeded RNG, and socket-level faults.
#include <gtest/gtest.h>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "core/base/strings.h"
#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::HttpReply;
using harness::MockServerFixture;
using nlohmann::json;
using std::chrono::milliseconds;

class MockFaultTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.start()); }

  HttpReply hello_with_fault(const std::string& fault, milliseconds timeout = milliseconds(5000)) {
    return mock_.post_json("/v1/chat/completions", kHelloRequest, {{"x-echoes-fault", fault}},
                           timeout);
  }

  MockServerFixture mock_{MockServerFixture::replaying(kCassetteDir)};
};

TEST_F(MockFaultTest, StatusFaultsUseTheOfficialErrorShape) {
  struct Case {
    const char* fault;
    int status;
    const char* type;
  };
  const Case cases[] = {{"429", 429, "requests"},    {"500", 500, "server_error"},
                        {"502", 502, "server_error"}, {"503", 503, "server_error"},
                        {"504", 504, "server_error"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fault);
    HttpReply reply = hello_with_fault(c.fault);
    ASSERT_TRUE(reply.ok()) << reply.transport_error;
    EXPECT_EQ(reply.status, c.status);
    json body = json::parse(reply.body);
    EXPECT_EQ(body["error"]["type"], c.type);
    EXPECT_TRUE(reply.header("x-request-id").has_value());
  }
}

TEST_F(MockFaultTest, RateLimitCarriesRetryAfterHeaders) {
  HttpReply reply = hello_with_fault(R"({"kind":"status","status":429,"retry_after_s":2,"retry_after_ms":1500})");
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(reply.header("retry-after"), "2");
  EXPECT_EQ(reply.header("retry-after-ms"), "1500");
}

TEST_F(MockFaultTest, BadFaultHeaderIsRejectedNamingTheHeader) {
  HttpReply reply = hello_with_fault("teleport");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(json::parse(reply.body)["error"]["param"], "x-echoes-fault");
}

TEST_F(MockFaultTest, FixedLatencyDelaysTheAnswer) {
  const auto start = std::chrono::steady_clock::now();
  HttpReply reply = hello_with_fault("latency:150");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply.status, 200);
  EXPECT_GE(elapsed, milliseconds(150));
  ASSERT_EQ(mock_.journal().size(), 1u);
  EXPECT_EQ(mock_.journal()[0].fault, "latency");
}

TEST_F(MockFaultTest, ResetSendsTcpRst) {
  RawOutcome outcome = raw_exchange(
      mock_.port(), http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: reset\r\n"),
      milliseconds(5000));
  EXPECT_TRUE(outcome.reset);
  EXPECT_TRUE(outcome.received.empty());
  ASSERT_EQ(mock_.journal().size(), 1u);
  EXPECT_EQ(mock_.journal()[0].status, 0);
  EXPECT_EQ(mock_.journal()[0].fault, "reset");
}

TEST_F(MockFaultTest, CloseEndsTheConnectionWithoutBytes) {
  RawOutcome outcome = raw_exchange(
      mock_.port(), http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: close\r\n"),
      milliseconds(5000));
  EXPECT_TRUE(outcome.closed);
  EXPECT_FALSE(outcome.reset);
  EXPECT_TRUE(outcome.received.empty());
}

TEST_F(MockFaultTest, MalformedBodyIsNotJson) {
  HttpReply reply = hello_with_fault("malformed_body");
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.body.empty());
  EXPECT_TRUE(json::parse(reply.body, nullptr, false).is_discarded()) << reply.body;
}

TEST_F(MockFaultTest, StreamCutEndsBeforeDone) {
  RawOutcome outcome = raw_exchange(
      mock_.port(),
      http_post("/v1/chat/completions", with_stream(kParisRequest, false),
                "x-echoes-fault: {\"kind\":\"stream_cut\",\"after_chunks\":2}\r\n"),
      milliseconds(5000));
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_NE(outcome.received.find("200 OK"), std::string::npos);
  EXPECT_NE(outcome.received.find("Paris"), std::string::npos);
  EXPECT_EQ(outcome.received.find("[DONE]"), std::string::npos);
  // The chunked body never gets its terminating zero-length chunk.
  EXPECT_EQ(outcome.received.find("\r\n0\r\n\r\n"), std::string::npos);
}

TEST_F(MockFaultTest, StreamCutOnPlainBodyTruncatesIt) {
  // The answer promises its full Content-Length, sends half of it and ends the connection.
  RawOutcome outcome = raw_exchange(
      mock_.port(), http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: stream_cut\r\n"),
      milliseconds(5000));
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_TRUE(outcome.closed || outcome.reset);
  ASSERT_NE(outcome.received.find("200 OK"), std::string::npos) << outcome.received;
  const std::string lower = to_lower_ascii(outcome.received);
  const size_t length_at = lower.find("content-length: ");
  ASSERT_NE(length_at, std::string::npos) << outcome.received;
  const size_t declared = std::stoul(lower.substr(length_at + 16));
  const size_t body_at = outcome.received.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  const size_t sent = outcome.received.size() - (body_at + 4);
  EXPECT_GT(sent, 0u);
  EXPECT_EQ(sent, declared / 2);
}

TEST_F(MockFaultTest, SlowDribbleStillDeliversTheWholeBody) {
  const auto start = std::chrono::steady_clock::now();
  HttpReply reply = hello_with_fault(R"({"kind":"slow_dribble","bytes_per_write":64,"interval_ms":5})");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(reply.status, 200) << reply.transport_error;
  EXPECT_EQ(json::parse(reply.body)["id"], "chatcmpl-AY2hello0001");
  const size_t writes = (reply.body.size() + 63) / 64;
  EXPECT_GE(elapsed, milliseconds(5 * static_cast<int>(writes - 1)));
}

TEST_F(MockFaultTest, HangEndsWhenTheClientGivesUp) {
  const auto start = std::chrono::steady_clock::now();
  HttpReply reply = hello_with_fault("hang", milliseconds(300));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(reply.ok());
  EXPECT_LT(elapsed, milliseconds(1900));  // the client's timeout, not the server's 2 s limit
  // The server notices the client leaving and ends the hang well before its 2 s limit.
  const auto give_up = std::chrono::steady_clock::now() + milliseconds(3000);
  while (mock_.journal().empty() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(mock_.journal().size(), 1u);
  EXPECT_EQ(mock_.journal()[0].fault, "hang");
  EXPECT_LT(mock_.journal()[0].duration_ms, 1500.0);
}

TEST_F(MockFaultTest, HangIsBoundedByTheServerLimit) {
  // The fixture's hang limit is 2 s; the client waits up to 10 s.
  const auto start = std::chrono::steady_clock::now();
  RawOutcome outcome = raw_exchange(
      mock_.port(), http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: hang\r\n"),
      milliseconds(10000));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(outcome.closed);
  EXPECT_TRUE(outcome.received.empty());
  EXPECT_GE(elapsed, milliseconds(1900));
  EXPECT_LT(elapsed, milliseconds(8000));
}

TEST_F(MockFaultTest, CassetteFaultWithTimesFailsFirstRequestsOnly) {
  // chat_completions.json#4 carries {"kind":"status","status":503,"times":1}.
  EXPECT_EQ(mock_.post_json("/v1/chat/completions", kFlakyRequest).status, 503);
  HttpReply retry = mock_.post_json("/v1/chat/completions", kFlakyRequest,
                                    {{"x-stainless-retry-count", "1"}});
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(json::parse(retry.body)["choices"][0]["message"]["content"], "A steady answer.");
}

TEST_F(MockFaultTest, ScenarioFileAppliesPerRouteWithTimes) {
  ASSERT_TRUE(mock_.set_scenario_file(kScenarioDir + "/flaky_chat.json"));
  HttpReply first = mock_.post_json("/v1/chat/completions", kHelloRequest);
  HttpReply second = mock_.post_json("/v1/chat/completions", kHelloRequest);
  HttpReply third = mock_.post_json("/v1/chat/completions", kHelloRequest);
  EXPECT_EQ(first.status, 429);
  EXPECT_EQ(first.header("retry-after-ms"), "200");
  EXPECT_EQ(second.status, 429);
  EXPECT_EQ(third.status, 200);
  // Other routes are untouched.
  EXPECT_EQ(mock_.get("/v1/models").status, 200);
}

TEST_F(MockFaultTest, ReplacingFaultDoesNotConsumeTheRecording) {
  ASSERT_TRUE(mock_.set_scenario_json(
      R"({"rules":[{"path":"/v1/chat/completions","faults":{"kind":"status","status":500,"times":1}}]})"));
  EXPECT_EQ(mock_.post_json("/v1/chat/completions", kCountRequest).status, 500);
  HttpReply retry = mock_.post_json("/v1/chat/completions", kCountRequest);
  EXPECT_EQ(json::parse(retry.body)["choices"][0]["message"]["content"], "One.");
}

// The sequence of statuses for 40 requests under a 50 % fault, for a given seed.
std::vector<int> statuses_for_seed(std::uint64_t seed) {
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.seed = seed;
  MockServerFixture mock(options);
  EXPECT_TRUE(mock.start());
  EXPECT_TRUE(mock.set_scenario_json(
      R"({"rules":[{"faults":[{"kind":"status","status":503,"probability":0.5}]}]})"));
  std::vector<int> statuses;
  for (int i = 0; i < 40; ++i) statuses.push_back(mock.post_json("/v1/chat/completions", kHelloRequest).status);
  return statuses;
}

TEST(MockFaultSeedTest, SameSeedRepeatsTheRunExactly) {
  std::vector<int> first = statuses_for_seed(42);
  std::vector<int> again = statuses_for_seed(42);
  std::vector<int> other = statuses_for_seed(7);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  const auto failures = std::count(first.begin(), first.end(), 503);
  EXPECT_GT(failures, 5);
  EXPECT_LT(failures, 35);
}

TEST(MockStreamTimingTest, RecordedOffsetsAreReplayedScaled) {
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.time_scale = 0.5;  // recorded [DONE] at 233 ms -> about 117 ms
  MockServerFixture mock(options);
  ASSERT_TRUE(mock.start());
  const auto start = std::chrono::steady_clock::now();
  HttpReply reply = mock.post_json("/v1/chat/completions", with_stream(kParisRequest, false));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(reply.status, 200);
  EXPECT_GE(elapsed, milliseconds(115));
  EXPECT_LT(elapsed, milliseconds(2000));
}

}  // namespace
}  // namespace echoes::testing

namespace echoes::testing {
namespace {

TEST(MockInjectedClockTest, LatencyAndStreamTimingRunOnTheInjectedClock) {
  // With a FakeClock, a one-minute latency fault and a recorded stream's timing cost no real time:
  // the server's waits go through Clock::sleep_for.
  FakeClock clock;
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.clock = &clock;
  options.time_scale = 1.0;
  options.hang_limit_ms = 120'000;
  MockServerFixture mock(options);
  ASSERT_TRUE(mock.start());
  const auto start = std::chrono::steady_clock::now();
  HttpReply reply = mock.post_json("/v1/chat/completions", kHelloRequest,
                                   {{"x-echoes-fault", "latency:60000"}});
  EXPECT_EQ(reply.status, 200);
  EXPECT_GE(clock.total_slept(), std::chrono::seconds(60));
  HttpReply stream = mock.post_json("/v1/chat/completions", with_stream(kParisRequest, false));
  EXPECT_EQ(stream.status, 200);
  EXPECT_EQ(sse_data(stream.body).back(), "[DONE]");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // On the injected clock every event is written exactly when due: all in the first lateness
  // bucket (at most 0.1 ms late).
  const std::string events = std::to_string(sse_data(stream.body).size());
  const std::string metrics = mock.get("/__admin/metrics").body;
  EXPECT_NE(metrics.find(R"(echoes_mock_stream_event_lateness_seconds_bucket{le="0.0001"} )" + events + "\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("echoes_mock_stream_event_lateness_seconds_count " + events + "\n"),
            std::string::npos)
      << metrics;
}

TEST(MockInjectedClockTest, AStreamScaledBeyondWhatADurationHoldsWaitsADayAtMost) {
  // A scenario's time_scale (any finite number >= 0) times a recorded offset can exceed what a
  // Duration holds; converting that product was undefined behaviour, which in practice sent the
  // events at once (and the asan preset's float-cast-overflow check aborts on it). The delay is
  // capped at a day: on the injected clock the stream waits exactly that long, then completes.
  FakeClock clock;
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.clock = &clock;
  MockServerFixture mock(options);
  ASSERT_TRUE(mock.start());
  ASSERT_EQ(mock.post_json("/__admin/scenario", R"({"time_scale":1e300,"rules":[]})").status, 200);
  HttpReply stream = mock.post_json("/v1/chat/completions", with_stream(kParisRequest, false));
  EXPECT_EQ(stream.status, 200);
  ASSERT_FALSE(sse_data(stream.body).empty());
  EXPECT_EQ(sse_data(stream.body).back(), "[DONE]");
  EXPECT_GE(clock.total_slept(), std::chrono::hours(24));
  EXPECT_LT(clock.total_slept(), std::chrono::hours(25));
}

}  // namespace
}  // namespace echoes::testing

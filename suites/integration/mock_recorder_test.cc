// The recorder (record and spy modes) against upstreams the test drives byte by byte
// (RawUpstream): stopping while an upstream is silent, and streams (CRLF-framed) passed through
// to the client as they arrive.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/mock_server_fixture.h"
#include "mock_server/cassette.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::MockServerFixture;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

mock::MockServerOptions recorder_options(const std::string& directory, mock::ServerMode mode,
                                         const std::string& upstream) {
  auto options = MockServerFixture::replaying(directory);
  options.mode = mode;
  options.upstream = upstream;
  return options;
}

// The status code of an HTTP answer's status line, or 0 when there is none.
int status_of(const std::string& answer) {
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || answer.size() < 12) return 0;
  return std::atoi(answer.c_str() + 9);
}

// ---- stopping while the upstream is silent (defect 8) -----------------------------------------

class RecorderStopTest : public ::testing::TestWithParam<mock::ServerMode> {};

// The upstream accepts the forwarded request and never answers; the recorder reads it with a
// 300 s timeout. stop() must end that wait: 5 s is far below the read timeout and far above what
// ending a socket takes, so the bound holds on a loaded machine and fails only when stop() waits
// for the upstream.
TEST_P(RecorderStopTest, StopEndsACallToASilentUpstream) {
  TemporaryDirectory directory;
  RawUpstream upstream;
  ASSERT_NE(upstream.port(), 0);
  MockServerFixture recorder(recorder_options(directory.path(), GetParam(), upstream.url()));
  ASSERT_TRUE(recorder.start());

  auto client = std::async(std::launch::async, [port = recorder.port()] {
    return raw_exchange(port, http_post("/v1/chat/completions", kHelloRequest), seconds(30));
  });
  const int call = upstream.accept_one(seconds(10));
  ASSERT_GE(call, 0) << "the request was not forwarded";
  ASSERT_NE(RawUpstream::read_request(call, seconds(10)).find(kHelloRequest), std::string::npos);

  // The forwarded request has fully arrived: the recorder is now waiting for the answer.
  const auto before = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&recorder] { recorder.stop(); });
  const bool stopped_in_time = stopped.wait_for(seconds(5)) == std::future_status::ready;
  if (!stopped_in_time) upstream.close_all();  // release the call so the test ends
  stopped.get();
  EXPECT_TRUE(stopped_in_time) << "stop() waited for the silent upstream";
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(5));

  // The client waiting on the recorder got a clean error answer, or the connection closed.
  const RawOutcome outcome = client.get();
  EXPECT_FALSE(outcome.timed_out);
  if (!outcome.received.empty()) {
    EXPECT_EQ(status_of(outcome.received), 503) << outcome.received;
    const size_t body = outcome.received.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    const json error = json::parse(outcome.received.substr(body + 4), nullptr, false);
    EXPECT_EQ(error["error"]["code"], "server_shutting_down") << outcome.received;
  }
}

// An upstream that drops every SYN: a listener with a backlog of 0 whose accept queue one
// connection, never accepted, fills; Linux then drops further SYNs (the client retransmits
// them until its connection timeout).
class SynDroppingUpstream {
 public:
  SynDroppingUpstream() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_, 0) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      return;
    }
    filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (filler_ < 0 || ::connect(filler_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    port_ = ntohs(addr.sin_port);
  }
  ~SynDroppingUpstream() {
    if (filler_ >= 0) ::close(filler_);
    if (listener_ >= 0) ::close(listener_);
  }
  SynDroppingUpstream(const SynDroppingUpstream&) = delete;
  SynDroppingUpstream& operator=(const SynDroppingUpstream&) = delete;

  int port() const { return port_; }  // 0 when it could not be set up
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Whether a connection to this upstream is in SYN_SENT (Linux's /proc/net/tcp, state 02): the
  // client is waiting for an answer to its SYN.
  bool has_a_connection_waiting() const {
    std::ifstream table("/proc/net/tcp");
    char wanted[16];
    std::snprintf(wanted, sizeof(wanted), ":%04X 02 ", port_);
    for (std::string line; std::getline(table, line);) {
      if (line.find(wanted) != std::string::npos) return true;
    }
    return false;
  }

 private:
  int listener_ = -1;
  int filler_ = -1;
  int port_ = 0;
};

// The upstream drops the SYN: the recorder's call waits in connect() (10 s connection timeout),
// during which cpp-httplib holds the lock its Client::stop() takes. stop() must end that wait
// too: 5 s is half the connection timeout and far above what ending a socket takes, so the bound
// holds on a loaded machine and fails only when stop() waits for the connection timeout.
TEST_P(RecorderStopTest, StopEndsACallWhoseUpstreamDropsTheSyn) {
  TemporaryDirectory directory;
  SynDroppingUpstream upstream;
  ASSERT_NE(upstream.port(), 0);
  MockServerFixture recorder(recorder_options(directory.path(), GetParam(), upstream.url()));
  ASSERT_TRUE(recorder.start());

  auto client = std::async(std::launch::async, [port = recorder.port()] {
    return raw_exchange(port, http_post("/v1/chat/completions", kHelloRequest), seconds(30));
  });
  // Polls (at most 8 s, within the 10 s connection timeout) until the recorder's SYN is out:
  // the kernel's socket table is the only place that state shows.
  const auto give_up = std::chrono::steady_clock::now() + seconds(8);
  while (!upstream.has_a_connection_waiting() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_TRUE(upstream.has_a_connection_waiting()) << "the recorder did not connect";

  const auto before = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&recorder] { recorder.stop(); });
  const bool stopped_in_time = stopped.wait_for(seconds(5)) == std::future_status::ready;
  stopped.get();
  EXPECT_TRUE(stopped_in_time) << "stop() waited for the connection timeout";
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(5));

  // The client waiting on the recorder got a clean error answer, or the connection closed.
  const RawOutcome outcome = client.get();
  EXPECT_FALSE(outcome.timed_out);
  if (!outcome.received.empty()) {
    EXPECT_EQ(status_of(outcome.received), 503) << outcome.received;
  }
}

INSTANTIATE_TEST_SUITE_P(RecordAndSpy, RecorderStopTest,
                         ::testing::Values(mock::ServerMode::kRecord, mock::ServerMode::kSpy),
                         [](const ::testing::TestParamInfo<mock::ServerMode>& param_info) {
                           return std::string(mock::to_string(param_info.param));
                         });

// ---- streams passed through as they arrive, with any line ending (defect 7) ---------------------

// Reads from `fd` into `received` until it holds `wanted` or `timeout` passes; true when found.
bool read_until(int fd, std::string& received, std::string_view wanted, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (received.find(wanted) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    received.append(buffer, static_cast<size_t>(n));
  }
  return true;
}

// The body of a chunked HTTP answer (`answer` is the whole answer, head included); "" when it is
// not chunked or not complete.
std::string dechunk(const std::string& answer) {
  size_t at = answer.find("\r\n\r\n");
  if (at == std::string::npos) return "";
  at += 4;
  std::string body;
  for (;;) {
    const size_t line_end = answer.find("\r\n", at);
    if (line_end == std::string::npos) return "";
    const size_t size = std::strtoul(answer.c_str() + at, nullptr, 16);
    if (size == 0) return body;
    if (line_end + 2 + size > answer.size()) return "";
    body.append(answer, line_end + 2, size);
    at = line_end + 2 + size + 2;
  }
}

std::string chunk_of(std::string_view bytes) {
  char size[20];
  std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  return std::string(size) + std::string(bytes) + "\r\n";
}

std::string content_chunk(const std::string& text) {
  return R"({"id":"chatcmpl-crlf","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",)"
         R"("choices":[{"index":0,"delta":{"content":")" + text + R"("},"finish_reason":null}]})";
}

class RecorderStreamTest : public ::testing::TestWithParam<mock::ServerMode> {};

// An upstream that frames its events with CRLF (as servers may) and holds its stream open after
// the first event until the test has seen that event reach the client. The client must get the
// first event while the upstream still holds the rest; the recording must hold every event; and
// its replay must send the same event bytes the client got live.
TEST_P(RecorderStreamTest, CrlfStreamPassesThroughLiveIsRecordedWholeAndReplaysIdentically) {
  TemporaryDirectory directory;
  RawUpstream upstream;
  ASSERT_NE(upstream.port(), 0);
  const std::vector<std::string> events = {content_chunk("Hel"), content_chunk("lo"),
                                           content_chunk("!")};
  const std::string request = with_stream(kHelloRequest, false);
  std::string live;  // what the client received from the recorder
  {
    MockServerFixture recorder(recorder_options(directory.path(), GetParam(), upstream.url()));
    ASSERT_TRUE(recorder.start());
    const int client = connect_loopback(recorder.port());
    ASSERT_GE(client, 0);
    const std::string post = http_post("/v1/chat/completions", request);
    ASSERT_TRUE(RawUpstream::write_all(client, post));

    const int call = upstream.accept_one(seconds(10));
    ASSERT_GE(call, 0) << "the request was not forwarded";
    (void)RawUpstream::read_request(call, seconds(10));
    ASSERT_TRUE(RawUpstream::write_all(
        call, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
              "x-request-id: req_crlf\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunk_of("data: " + events[0] + "\r\n\r\n")));

    // The upstream holds the rest of its stream until the first event has reached the client.
    // (10 s bounds a wait that, when the recorder buffers the whole stream, would never end.)
    const bool first_event_live =
        read_until(client, live, "data: " + events[0] + "\n\n", seconds(10));
    EXPECT_TRUE(first_event_live) << "the client got nothing before the upstream's last event:\n"
                                  << live;

    // The rest, with a CRLF split across two writes and [DONE].
    const std::string second = "data: " + events[1] + "\r\n\r\n";
    ASSERT_TRUE(RawUpstream::write_all(call, chunk_of(second.substr(0, second.size() - 1))));
    ASSERT_TRUE(RawUpstream::write_all(call, chunk_of("\n") +
                                                 chunk_of("data: " + events[2] + "\r\n\r\n") +
                                                 chunk_of("data: [DONE]\r\n\r\n") + "0\r\n\r\n"));
    EXPECT_TRUE(read_until(client, live, "0\r\n\r\n", seconds(10))) << live;
    ::close(client);
  }  // stop() flushes the record file

  EXPECT_EQ(status_of(live), 200) << live;
  const std::string live_body = dechunk(live);
  EXPECT_EQ(sse_data(live_body),
            (std::vector<std::string>{events[0], events[1], events[2], "[DONE]"}));

  auto recorded = mock::load_cassette_file(directory.file("recorded.json"));
  ASSERT_TRUE(recorded) << recorded.error().to_string();
  ASSERT_EQ(recorded->interactions.size(), 1u);
  const mock::RecordedResponse& response = recorded->interactions[0].response;
  EXPECT_TRUE(response.is_stream);
  ASSERT_EQ(response.chunks.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(response.chunks[i].data, events[i]);

  MockServerFixture replay(MockServerFixture::replaying(directory.path()));
  ASSERT_TRUE(replay.start());
  const harness::HttpReply again = replay.post_json("/v1/chat/completions", request);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, live_body);
  EXPECT_EQ(again.header("x-request-id"), "req_crlf");
}

INSTANTIATE_TEST_SUITE_P(RecordAndSpy, RecorderStreamTest,
                         ::testing::Values(mock::ServerMode::kRecord, mock::ServerMode::kSpy),
                         [](const ::testing::TestParamInfo<mock::ServerMode>& param_info) {
                           return std::string(mock::to_string(param_info.param));
                         });

}  // namespace
}  // namespace echoes::testing

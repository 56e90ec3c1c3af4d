// The total timeout is a deadline: whatever the upstream does with its bytes (goes quiet late in a
// stream, trickles a body, hangs on every attempt), the call ends as kTimeout by `total_timeout`
// plus a small bound. Each row fails without a deadline on every read: the stream that goes quiet
// at 1.9 s of a 2 s budget used to end at 3.9 s (the read timeout, clamped once at the start of
// the attempt, ran again from the last event).
//
// These tests run on the real clock, since what they check is how long real sockets wait. The
// bounds are generous (the budget plus 1.5 s) so that a loaded machine does not fail them; the
// behaviour they catch overruns by a whole read timeout (the budget again, or 60 s by default).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/openai/client.h"
#include "harness/mock_server_fixture.h"

namespace echoes {
namespace {

using openai::ChatCompletionChunk;
using openai::ChatCompletionRequest;
using openai::ChatMessage;
using std::chrono::milliseconds;

// Slack on top of the budget: scheduling on a shared machine, never the behaviour under test.
constexpr Duration kSlack = milliseconds(1500);

ChatCompletionRequest question() {
  ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {ChatMessage::user("Say hello.")};  // recorded in fixtures/cassettes
  return request;
}

std::unique_ptr<openai::Client> client_for(const std::string& base_url, Duration total) {
  openai::ClientConfig config;
  config.base_url = base_url;
  config.api_key = "sk-deadline-suite";
  config.total_timeout = total;  // read and write timeouts keep their 60 s and 30 s defaults
  auto client = openai::Client::create(config, SystemClock::instance(),
                                       [](const std::string&) { return std::nullopt; });
  EXPECT_TRUE(client.ok());
  return client ? std::move(*client) : nullptr;
}

// A one-request upstream on a loopback socket that streams `events` SSE events `gap` apart and
// then says nothing more until the client closes (or 20 s pass): a stream that goes quiet.
class QuietAfterEventsUpstream {
 public:
  QuietAfterEventsUpstream(int events, milliseconds gap) : events_(events), gap_(gap) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~QuietAfterEventsUpstream() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int events_sent() const { return sent_; }

 private:
  // Waits up to `ms` for `fd` to be readable; false on timeout or when the test is ending.
  bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return !stopping_ && ::poll(&p, 1, ms) > 0;
  }

  void serve() {
    int fd = -1;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (fd < 0 && !stopping_ && std::chrono::steady_clock::now() < give_up) {
      if (readable(listener_, 20)) fd = ::accept(listener_, nullptr, nullptr);
    }
    if (fd < 0) return;
    // The request: headers and a Content-Length body (what the client sends), read until the
    // blank line plus the body, or until 5 s pass.
    std::string data;
    char buf[4096];
    while (readable(fd, 5000)) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
      const std::size_t end = data.find("\r\n\r\n");
      const std::size_t cl = data.find("Content-Length: ");
      if (end != std::string::npos && cl != std::string::npos &&
          data.size() >= end + 4 + std::stoul(data.substr(cl + 16))) {
        break;
      }
    }
    auto send_text = [fd](const std::string& text) {
      return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) >= 0;
    };
    send_text("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < events_ && !stopping_; ++i) {
      if (i > 0) std::this_thread::sleep_for(gap_);  // the upstream's pacing, not a sync
      const std::string event =
          "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
          "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}\n\n";
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", event.size());
      if (!send_text(size + event + "\r\n")) break;
      ++sent_;
    }
    // Quiet: wait for the client to close (recv returns 0) or the end of the test.
    while (!stopping_ && std::chrono::steady_clock::now() < give_up) {
      if (readable(fd, 20) && ::recv(fd, buf, sizeof buf, 0) <= 0) break;
    }
    ::close(fd);
  }

  int events_;
  milliseconds gap_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> sent_{0};
  std::thread thread_;
};

TEST(TotalDeadlineTest, AStreamThatGoesQuietAfterItsEventsEndsAtTheDeadline) {
  // 20 events 100 ms apart: the last at 1.9 s of a 2 s budget, then silence.
  QuietAfterEventsUpstream upstream(20, milliseconds(100));
  const Duration total = std::chrono::seconds(2);
  auto client = client_for(upstream.base_url(), total);
  ASSERT_NE(client, nullptr);
  int chunks = 0;
  const auto started = std::chrono::steady_clock::now();
  Status s = client->chat_stream(question(), [&](const ChatCompletionChunk&) {
    ++chunks;
    return ok_status();
  });
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTimeout) << s.error().to_string();
  EXPECT_EQ(s.error().attempts, 1) << "a stream that has begun is never retried";
  EXPECT_GE(chunks, 10) << "the events before the silence reach the sink";
  EXPECT_LT(elapsed, total + kSlack) << "ended after "
                                     << std::chrono::duration_cast<milliseconds>(elapsed).count()
                                     << " ms";
}

class MockDeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock::MockServerOptions options =
        harness::MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes");
    options.hang_limit_ms = 10'000;  // far beyond the client's budget: the client gives up first
    fixture_ = std::make_unique<harness::MockServerFixture>(options);
    Status started = fixture_->start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
  }

  // Runs one chat call (JSON or stream) under `scenario` and checks it ends as kTimeout in time.
  void expect_timeout_within_budget(const std::string& scenario, bool stream, Duration total) {
    ASSERT_TRUE(fixture_->set_scenario_json(scenario).ok());
    auto client = client_for(fixture_->base_url() + "/v1", total);
    ASSERT_NE(client, nullptr);
    const auto started = std::chrono::steady_clock::now();
    std::optional<Error> error;
    if (stream) {
      Status s = client->chat_stream(question(),
                                     [](const ChatCompletionChunk&) { return ok_status(); });
      if (!s) error = s.error();
    } else {
      auto r = client->chat(question());
      if (!r) error = r.error();
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(error.has_value()) << "expected a timeout, got success";
    EXPECT_EQ(error->code, ErrorCode::kTimeout) << error->to_string();
    EXPECT_LT(elapsed, total + kSlack)
        << "ended after " << std::chrono::duration_cast<milliseconds>(elapsed).count() << " ms";
  }

  std::unique_ptr<harness::MockServerFixture> fixture_;
};

// 4 bytes every 100 ms: the recorded answer would take many seconds. Every read gets bytes, so
// no read timeout ever fires; only the deadline ends the call.
constexpr const char* kSlowDribble = R"({"rules":[{"method":"POST","path":"/v1/chat/completions",
  "faults":[{"kind":"slow_dribble","bytes_per_write":4,"interval_ms":100}]}]})";

TEST_F(MockDeadlineTest, ASlowDribbleBodyEndsAtTheDeadline) {
  expect_timeout_within_budget(kSlowDribble, /*stream=*/false, std::chrono::seconds(1));
}

TEST_F(MockDeadlineTest, ASlowDribbleStreamEndsAtTheDeadline) {
  expect_timeout_within_budget(kSlowDribble, /*stream=*/true, std::chrono::seconds(1));
}

// Every attempt hangs (retries on, the SDK default of 2): the budget covers them all.
TEST_F(MockDeadlineTest, AHangOnEveryAttemptEndsAtTheDeadline) {
  expect_timeout_within_budget(R"({"rules":[{"method":"POST","path":"/v1/chat/completions",
    "faults":[{"kind":"hang","ms":10000}]}]})",
                               /*stream=*/false, std::chrono::seconds(1));
}

}  // namespace
}  // namespace echoes

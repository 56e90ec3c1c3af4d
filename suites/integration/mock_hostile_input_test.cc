// Hostile input at the mock server's transport, over raw TCP sockets: oversized and overnumerous
// headers, bad chunked framing, lying Content-Length, slow and half-open connections by the
// hundred, and pipelined floods. After each, the server must still answer GET /__admin/health and
// a replayed chat completion on a fresh connection; while the slow connections are held open, it
// must answer health too.
//
// The server runs with 1 s idle and body deadlines (the defaults are 5 s) so that connections it
// must end are ended quickly. Every wait a test makes is bounded by kGenerousWait, which is long
// on purpose: it only keeps a broken server from hanging the suite, it measures nothing.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::MockServerFixture;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kGenerousWait{15000};
constexpr std::int64_t kDeadlineMs = 1000;  // the server's idle, body and write deadlines here

std::string get_request(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

// The status of the first answer in `bytes`, or 0 when there is none.
int first_status(const std::string& bytes) {
  if (bytes.rfind("HTTP/1.1 ", 0) != 0 || bytes.size() < 12) return 0;
  return std::atoi(bytes.substr(9, 3).c_str());
}

// Asserts `bytes` is one answer with `status` whose body is the official error shape, and that
// the server then closed the connection.
void expect_rejected(const RawOutcome& outcome, int status) {
  EXPECT_FALSE(outcome.timed_out) << "the server neither answered nor closed";
  ASSERT_EQ(first_status(outcome.received), status) << outcome.received.substr(0, 200);
  const size_t head_end = outcome.received.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_NE(outcome.received.find("Connection: close\r\n"), std::string::npos);
  const json body = json::parse(outcome.received.substr(head_end + 4), nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << outcome.received;
  ASSERT_TRUE(body.contains("error")) << outcome.received;
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(body["error"].contains("param"));
  EXPECT_TRUE(body["error"].contains("code"));
}

// Counts the answers' status lines in a stream of pipelined answers.
size_t count_answers(const std::string& bytes, const std::string& status_line) {
  size_t n = 0;
  for (size_t at = bytes.find(status_line); at != std::string::npos;
       at = bytes.find(status_line, at + 1)) {
    ++n;
  }
  return n;
}

// Reads until the peer closes or `timeout` passes; what arrived.
RawOutcome read_until_closed(int fd, milliseconds timeout) {
  RawOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      return outcome;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      outcome.received.append(buffer.data(), static_cast<size_t>(n));
    } else if (n == 0) {
      outcome.closed = true;
      return outcome;
    } else if (errno != EINTR) {
      outcome.reset = errno == ECONNRESET;
      return outcome;
    }
  }
}

// How far a non-blocking send of `bytes` got before the peer stopped taking them (nothing sent
// for kGenerousWait) or ended the connection.
struct SendOutcome {
  size_t sent = 0;
  bool ended = false;  // the send failed: the server closed or reset the connection
};

SendOutcome send_until_refused(int fd, const std::string& bytes) {
  SendOutcome out;
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return out;
  while (out.sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + out.sent, bytes.size() - out.sent, MSG_NOSIGNAL);
    if (n > 0) {
      out.sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      out.ended = true;
      break;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(kGenerousWait.count())) == 0) break;
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return out;
}

class MockHostileInput : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.start()); }

  static mock::MockServerOptions options() {
    auto options = MockServerFixture::replaying(kCassetteDir);
    options.idle_timeout_ms = kDeadlineMs;
    options.body_timeout_ms = kDeadlineMs;
    options.write_timeout_ms = kDeadlineMs;
    return options;
  }

  // Health and a replayed chat completion, each on a fresh connection.
  void expect_serving() {
    const auto health = mock_.get("/__admin/health");
    ASSERT_TRUE(health.ok()) << health.transport_error;
    EXPECT_EQ(health.status, 200);
    const auto chat = mock_.post_json("/v1/chat/completions", kHelloRequest);
    ASSERT_TRUE(chat.ok()) << chat.transport_error;
    EXPECT_EQ(chat.status, 200) << chat.body;
    EXPECT_NE(chat.body.find("chatcmpl-AY2hello0001"), std::string::npos) << chat.body;
  }

  RawOutcome exchange(const std::string& request) {
    return raw_exchange(mock_.port(), request, kGenerousWait);
  }

  MockServerFixture mock_{options()};
};

// ---- headers ---------------------------------------------------------------------------------

TEST_F(MockHostileInput, HeaderOfAMebibyteGets431InTheOfficialShape) {
  expect_rejected(exchange(get_request("/v1/models", "X-Big: " + std::string(1 << 20, 'a') + "\r\n")), 431);
  expect_serving();
}

TEST_F(MockHostileInput, RequestLineOfAMebibyteGets431InTheOfficialShape) {
  expect_rejected(exchange(get_request("/v1/models?q=" + std::string(1 << 20, 'a'))), 431);
  expect_serving();
}

TEST_F(MockHostileInput, MoreHeaderFieldsThanTheLimitGet431InTheOfficialShape) {
  std::string fields;
  for (int i = 0; i < 1000; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";  // 13 KB in all
  expect_rejected(exchange(get_request("/v1/models", fields)), 431);
  expect_serving();
}

TEST_F(MockHostileInput, HeaderFieldsUpToTheLimitAreServed) {
  std::string fields;
  for (int i = 0; i < 250; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";  // 251 with Host
  const RawOutcome outcome = exchange(get_request("/__admin/health", fields + "Connection: close\r\n"));
  EXPECT_EQ(first_status(outcome.received), 200) << outcome.received.substr(0, 200);
  expect_serving();
}

// ---- chunked framing -------------------------------------------------------------------------

TEST_F(MockHostileInput, BadChunkedFramingIsRejectedInTheOfficialShape) {
  struct Case {
    const char* name;
    std::string body;  // what follows the header
    int status;
  };
  const Case cases[] = {
      {"a size that is not hex", "zz\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk data not followed by CRLF", "5\r\nhelloXX0\r\n\r\n", 400},
      {"a size of 17 hex digits, overflowing 64 bits", "10000000000000000\r\nhello\r\n0\r\n\r\n", 400},
      {"a size of 4 GiB, over the body limit", "ffffffff\r\nhello\r\n0\r\n\r\n", 413},
      {"a negative size", "-5\r\nhello\r\n0\r\n\r\n", 400},
      {"a size line with a control character", "5\x01\r\nhello\r\n0\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_rejected(exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                             c.body),
                    c.status);
  }
  expect_serving();
}

TEST_F(MockHostileInput, AnEndlessChunkSizeLineGets400AtOnce) {
  // A chunk size followed by an extension that never ends its line (up to 256 MiB, while the
  // server takes it): the server must refuse it as soon as it outgrows the read buffer, not
  // buffer it until the body deadline. (It used to: 256 MiB sent in 11 s grew the server to
  // 370 MB, and the connection ended with no answer.) The answer is read while the line is still
  // being sent.
  const int fd = connect_loopback(mock_.port());
  ASSERT_GE(fd, 0);
  std::thread writer([fd] {
    const std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5;x=";
    const std::string mebibyte(size_t{1} << 20, 'a');
    if (::send(fd, head.data(), head.size(), MSG_NOSIGNAL) <= 0) return;
    for (int i = 0; i < 256; ++i) {
      for (std::string_view rest = mebibyte; !rest.empty();) {
        const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) return;  // the server ended the connection
        rest.remove_prefix(static_cast<size_t>(n));
      }
    }
  });
  const RawOutcome outcome = read_until_closed(fd, kGenerousWait);
  ::shutdown(fd, SHUT_RDWR);  // ends the writer's send if the server has not
  writer.join();
  ::close(fd);
  EXPECT_FALSE(outcome.timed_out) << "the server kept the connection open";
  expect_rejected(outcome, 400);
  expect_serving();
}

// ---- lying or malformed Content-Length -------------------------------------------------------

TEST_F(MockHostileInput, MalformedContentLengthIsRejectedInTheOfficialShape) {
  struct Case {
    const char* name;
    const char* header;
    int status;
  };
  const Case cases[] = {
      {"not a number", "Content-Length: abc\r\n", 400},
      {"negative", "Content-Length: -1\r\n", 400},
      {"overflowing 64 bits", "Content-Length: 99999999999999999999999\r\n", 400},
      {"two different values", "Content-Length: 5\r\nContent-Length: 6\r\n", 400},
      {"with chunked too", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_rejected(exchange(std::string("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         "Content-Type: application/json\r\n") +
                             c.header + "\r\nhello"),
                    c.status);
  }
  expect_serving();
}

TEST_F(MockHostileInput, ContentLengthShorterThanTheBodyLeavesTheRestToBeReadAsTheNextRequest) {
  // The declared body is a valid request; what follows it is not HTTP, so the first answer is
  // the replayed completion and the second a 400, after which the server closes.
  const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(kHelloRequest.size()) + "\r\n\r\n" + kHelloRequest +
                              "{\"trailing\":\"bytes past the declared length\"}\r\n\r\n";
  const RawOutcome outcome = exchange(request);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_EQ(first_status(outcome.received), 200) << outcome.received.substr(0, 300);
  EXPECT_NE(outcome.received.find("chatcmpl-AY2hello0001"), std::string::npos);
  EXPECT_EQ(count_answers(outcome.received, "HTTP/1.1 400 "), 1u) << outcome.received;
  EXPECT_TRUE(outcome.closed);
  expect_serving();
}

TEST_F(MockHostileInput, ContentLengthLongerThanTheBodyEndsTheConnectionAtTheBodyDeadline) {
  // 1,000 bytes declared, 5 sent: the server waits for the rest until its body deadline, then
  // closes without answering. kGenerousWait only bounds the test; it is far above the deadline.
  const RawOutcome outcome =
      exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\nhello");
  EXPECT_FALSE(outcome.timed_out) << "the server held the connection open";
  EXPECT_TRUE(outcome.closed || outcome.reset);
  EXPECT_EQ(outcome.received, "");
  expect_serving();
  EXPECT_EQ(mock_.journal().size(), 1u) << "only expect_serving()'s chat request reached a handler";
}

// ---- slow and half-open connections, by the hundred ------------------------------------------

// What each held connection sends before it goes slow (or silent).
enum class Slow { kSilent, kHalfHeader, kHeaderThenPartBody, kHalfHeaderThenShutdownWrite };

// Names the parameter in test output.
void PrintTo(Slow slow, std::ostream* os) { *os << static_cast<int>(slow); }

class MockHostileSlowConnections : public MockHostileInput,
                                   public ::testing::WithParamInterface<Slow> {};

INSTANTIATE_TEST_SUITE_P(Kinds, MockHostileSlowConnections,
                         ::testing::Values(Slow::kSilent, Slow::kHalfHeader,
                                           Slow::kHeaderThenPartBody,
                                           Slow::kHalfHeaderThenShutdownWrite),
                         [](const ::testing::TestParamInfo<Slow>& param_info) {
                           switch (param_info.param) {
                             case Slow::kSilent: return "Silent";
                             case Slow::kHalfHeader: return "HalfHeader";
                             case Slow::kHeaderThenPartBody: return "HeaderThenPartBody";
                             case Slow::kHalfHeaderThenShutdownWrite: return "HalfHeaderThenShutdownWrite";
                           }
                           return "Unknown";
                         });

// 300 connections that each trickle one byte every 100 ms (a slowloris), or send nothing more.
// While they are held, health and chat are served; the server ends every one of them by its
// deadline, however the bytes trickle.
TEST_P(MockHostileSlowConnections, HundredsAreEndedByTheDeadlinesWhileTheServerKeepsServing) {
  constexpr int kConnections = 300;
  const std::string first = GetParam() == Slow::kHeaderThenPartBody
                                ? "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Content-Length: 100000\r\n\r\n{"
                                : "POST /v1/chat/completions HTTP/1.1\r\nHost: 1";
  std::vector<int> fds;
  for (int i = 0; i < kConnections; ++i) {
    const int fd = connect_loopback(mock_.port());
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
    if (GetParam() != Slow::kSilent) {
      ASSERT_GT(::send(fd, first.data(), first.size(), MSG_NOSIGNAL), 0);
    }
    if (GetParam() == Slow::kHalfHeaderThenShutdownWrite) ::shutdown(fd, SHUT_WR);
  }
  expect_serving();

  const bool trickle = GetParam() == Slow::kHalfHeader || GetParam() == Slow::kHeaderThenPartBody;
  size_t open = fds.size();
  std::vector<bool> ended(fds.size(), false);
  const auto give_up = std::chrono::steady_clock::now() + kGenerousWait;
  while (open > 0 && std::chrono::steady_clock::now() < give_up) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (ended[i]) continue;
      char byte;
      const ssize_t n = ::recv(fds[i], &byte, 1, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        ended[i] = true;
        --open;
      } else if (trickle) {
        (void)::send(fds[i], "a", 1, MSG_NOSIGNAL);
      }
    }
    // The trickle's pace: one byte per connection every 100 ms, well inside any idle timeout.
    std::this_thread::sleep_for(milliseconds(100));
  }
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(open, 0u) << "connections still open " << kGenerousWait.count() << " ms after the "
                      << kDeadlineMs << " ms deadline";
  expect_serving();
}

// ---- pipelined floods ------------------------------------------------------------------------

TEST_F(MockHostileInput, ThousandsOfPipelinedRequestsOnOneConnectionAreAllAnsweredInOrder) {
  constexpr int kRequests = 5000;
  std::string flood;
  for (int i = 0; i < kRequests; ++i) {
    flood += i % 2 == 0 ? get_request("/__admin/health")
                        : http_post("/v1/chat/completions", kHelloRequest);
  }
  flood += get_request("/__admin/health", "Connection: close\r\n");
  const int fd = connect_loopback(mock_.port());
  ASSERT_GE(fd, 0);
  // A writer thread, so that the server's answers are read while the flood is still being sent.
  std::thread writer([&] {
    std::string_view rest = flood;
    while (!rest.empty()) {
      const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      rest.remove_prefix(static_cast<size_t>(n));
    }
  });
  const RawOutcome outcome = read_until_closed(fd, kGenerousWait);
  writer.join();
  ::close(fd);
  EXPECT_TRUE(outcome.closed);
  EXPECT_EQ(count_answers(outcome.received, "HTTP/1.1 200 OK\r\n"), static_cast<size_t>(kRequests + 1));
  EXPECT_EQ(count_answers(outcome.received, "chatcmpl-AY2hello0001"), static_cast<size_t>(kRequests / 2));
  expect_serving();
}

TEST_F(MockHostileInput, APipelinedFloodWhoseAnswersAreNeverReadIsThrottledThenEnded) {
  // 64 MiB of pipelined requests, and the answers never read. The server reads a request only
  // after its answer to the previous one was taken, so once the socket buffers are full it stops
  // reading: the client's sends block long before 64 MiB are out (what the server holds stays
  // bounded by the buffers, not by the flood). Then its write deadline ends the connection.
  const std::string request = get_request("/__admin/health");
  const size_t total = 64u << 20;
  std::string flood;
  flood.reserve(total + request.size());
  while (flood.size() < total) flood += request;

  const int fd = connect_loopback(mock_.port());
  ASSERT_GE(fd, 0);
  const SendOutcome sending = send_until_refused(fd, flood);
  EXPECT_LT(sending.sent, flood.size()) << "the server read the whole flood without its answers being taken";
  expect_serving();
  if (!sending.ended) {
    // Drain what the server sent; it must have closed (or reset) the connection by its deadline.
    const RawOutcome outcome = read_until_closed(fd, kGenerousWait);
    EXPECT_FALSE(outcome.timed_out) << "the server kept the flooded connection open";
  }
  ::close(fd);
}

}  // namespace
}  // namespace echoes::testing

// The mock server's HTTP/1.1 transport (mock_server/internal/http_server.h) seen from raw TCP
// sockets: the same HTTP whether the event loop or a worker ran the handler (counted in the admin
// metrics), keep-alive across both, pipelining, Connection: close,
// rejection of unreadable and oversized requests in the official error shape, 100-continue,
// query decoding, chunked streams, socket faults on a reused connection, and stopping with an
// idle connection open. Every read is bounded by SO_RCVTIMEO, so a misbehaving server fails a
// test instead of hanging it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::MockServerFixture;
using nlohmann::json;
using std::chrono::milliseconds;

// Long enough for a slow shared machine, short enough that a missing answer fails quickly.
constexpr milliseconds kReadTimeout{10000};
// How long a test waits for the server to end a connection it must end at once. It is below the
// transport's idle keep-alive limit (5 s), so a connection that is merely left to time out is
// told apart from one the server closed on purpose.
constexpr milliseconds kCloseWait{3000};

// How a read found the connection.
enum class ReadEnd { kData, kEof, kReset, kTimeout, kError };

const char* to_string(ReadEnd end) {
  switch (end) {
    case ReadEnd::kData: return "data";
    case ReadEnd::kEof: return "eof";
    case ReadEnd::kReset: return "reset";
    case ReadEnd::kTimeout: return "timeout";
    case ReadEnd::kError: return "error";
  }
  return "?";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// One HTTP response as read off the wire.
struct RawResponse {
  bool complete = false;  // status line, headers and the whole framed body were read
  std::string problem;    // why not complete
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
  std::string body;             // de-chunked when chunked
  bool chunked = false;
  bool saw_last_chunk = false;  // the 0-length chunk and the empty trailer line arrived

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
  int header_count(std::string_view name) const {
    int n = 0;
    for (const auto& field : headers) n += field.first == name ? 1 : 0;
    return n;
  }
};

// A client connection to 127.0.0.1:port over a plain POSIX socket. Bytes read past one response
// stay buffered for the next, so pipelined answers are read one by one.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = connect_loopback(port);
    if (fd_ < 0) return;
    set_receive_timeout(kReadTimeout);
    const timeval send_timeout{10, 0};
    (void)::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  void set_receive_timeout(milliseconds timeout) {
    const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                     static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }

  // Writes all of `bytes`; false when the socket fails or the send timeout passes.
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response. An answer to HEAD (`to_head`) and a 1xx, 204 or 304 answer have no body;
  // otherwise the body is framed by chunked transfer coding or Content-Length, or (neither) runs
  // to the end of the connection.
  RawResponse read_response(bool to_head = false) {
    RawResponse res;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return incomplete(res, "headers");
    }
    std::string_view head(buffer_.data(), head_end);
    size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0 || status_line.size() < 12) {
      res.problem = "bad status line: " + std::string(status_line);
      return res;
    }
    res.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    while (line_end != std::string_view::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string_view line = head.substr(start, line_end == std::string_view::npos
                                                           ? std::string_view::npos
                                                           : line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      res.headers.emplace_back(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    buffer_.erase(0, head_end + 4);

    if (to_head || (res.status >= 100 && res.status < 200) || res.status == 204 ||
        res.status == 304) {
      res.complete = true;
      return res;
    }
    const auto te = res.header("transfer-encoding");
    if (te && lower(*te).find("chunked") != std::string::npos) {
      res.chunked = true;
      return read_chunked(res);
    }
    if (const auto length = res.header("content-length")) {
      const size_t n = static_cast<size_t>(std::stoull(*length));
      while (buffer_.size() < n) {
        if (!fill()) return incomplete(res, "body");
      }
      res.body = buffer_.substr(0, n);
      buffer_.erase(0, n);
      res.complete = true;
      return res;
    }
    while (fill()) {
    }
    res.body = std::move(buffer_);
    buffer_.clear();
    res.complete = last_ == ReadEnd::kEof;
    if (!res.complete) res.problem = std::string("body ended by ") + to_string(last_);
    return res;
  }

  // What the connection holds next: buffered or newly arrived bytes (kData), or how it ended.
  ReadEnd next() {
    if (!buffer_.empty()) return ReadEnd::kData;
    return fill() ? ReadEnd::kData : last_;
  }

  // Bytes read but not yet consumed by read_response().
  const std::string& pending() const { return buffer_; }

 private:
  RawResponse& incomplete(RawResponse& res, const char* where) {
    res.problem = std::string(where) + " cut short by " + to_string(last_);
    return res;
  }

  RawResponse read_chunked(RawResponse& res) {
    for (;;) {
      size_t line_end;
      while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill()) return incomplete(res, "chunk size");
      }
      const std::string size_text = buffer_.substr(0, buffer_.find_first_of(";\r"));
      char* parse_end = nullptr;
      const unsigned long long size = std::strtoull(size_text.c_str(), &parse_end, 16);
      if (size_text.empty() || parse_end != size_text.c_str() + size_text.size()) {
        res.problem = "bad chunk size line: " + buffer_.substr(0, line_end);
        return res;
      }
      buffer_.erase(0, line_end + 2);
      if (size == 0) {
        // Trailer fields, then the empty line.
        for (;;) {
          while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
            if (!fill()) return incomplete(res, "chunked trailer");
          }
          buffer_.erase(0, line_end + 2);
          if (line_end == 0) break;
        }
        res.saw_last_chunk = true;
        res.complete = true;
        return res;
      }
      while (buffer_.size() < size + 2) {
        if (!fill()) return incomplete(res, "chunk data");
      }
      if (buffer_.compare(size, 2, "\r\n") != 0) {
        res.problem = "chunk data not followed by CRLF";
        return res;
      }
      res.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
  }

  // One recv into the buffer; false (with last_ set) at the end of the connection or a timeout.
  bool fill() {
    char chunk[16 * 1024];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        last_ = ReadEnd::kData;
        return true;
      }
      if (n == 0) {
        last_ = ReadEnd::kEof;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        last_ = ReadEnd::kTimeout;
      } else if (errno == ECONNRESET) {
        last_ = ReadEnd::kReset;
      } else {
        last_ = ReadEnd::kError;
      }
      return false;
    }
  }

  int fd_ = -1;
  std::string buffer_;
  ReadEnd last_ = ReadEnd::kData;
};

std::string get_request(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

// The `id` of a chat completion body, or "" when the body is not one.
std::string completion_id(const RawResponse& res) {
  const json body = json::parse(res.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("id") || !body["id"].is_string()) {
    return "";
  }
  return body["id"];
}

// Asserts the body is {"error":{"message":<string>,"type":<string>,"param":...,"code":...}}.
void expect_official_error_shape(const RawResponse& res) {
  EXPECT_EQ(res.header("content-type"), "application/json");
  const json body = json::parse(res.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << res.body;
  ASSERT_TRUE(body.is_object()) << res.body;
  ASSERT_TRUE(body.contains("error")) << res.body;
  const json& error = body["error"];
  ASSERT_TRUE(error.is_object()) << res.body;
  ASSERT_TRUE(error.contains("message") && error["message"].is_string()) << res.body;
  EXPECT_FALSE(error["message"].get<std::string>().empty());
  ASSERT_TRUE(error.contains("type") && error["type"].is_string()) << res.body;
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_TRUE(error.contains("param")) << res.body;
  EXPECT_TRUE(error.contains("code")) << res.body;
}

// Waits (at most kCloseWait) for the server to end the connection and returns how it ended.
ReadEnd wait_for_close(RawConnection& conn) {
  conn.set_receive_timeout(kCloseWait);
  return conn.next();
}

// Reads the answer to a request the transport rejects: `status` in the official error shape,
// `Connection: close`, then the server closes.
void expect_rejected_then_closed(RawConnection& conn, int status) {
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(res.status, status);
  EXPECT_EQ(res.header("connection"), "close");
  expect_official_error_shape(res);
  EXPECT_STREQ(to_string(wait_for_close(conn)), to_string(ReadEnd::kEof));
}

// Sends a request answered on a worker thread (a 1 ms latency fault) and reads its 200.
void expect_worker_answer(RawConnection& conn) {
  ASSERT_TRUE(conn.send_all(
      http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: latency:1\r\n")));
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(res.status, 200);
}

// Reads a replayed chat completion and checks it: complete, 200, the recording's completion id.
RawResponse expect_completion(RawConnection& conn, const std::string& id) {
  RawResponse res = conn.read_response();
  EXPECT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(completion_id(res), id);
  return res;
}

// Reads the answer to GET /__admin/health: complete, 200, {"status":"ok",...}.
void expect_health_answer(RawConnection& conn) {
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(res.status, 200);
  const json body = json::parse(res.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << res.body;
  EXPECT_EQ(body["status"], "ok");
}

// How many request handlers have run on `thread` ("loop" or "worker"), as the admin metrics
// report it (echoes_mock_handler_runs_total); -1 when the metrics carry no such line.
long long handler_runs(MockServerFixture& mock, const std::string& thread) {
  const std::string text = mock.server().metrics_text();
  const std::string key = "echoes_mock_handler_runs_total{thread=\"" + thread + "\"} ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::atoll(text.c_str() + at + key.size());
}

// The value of the metric line starting with `name` (a gauge, with its labels if any) in the
// server's metrics; -1 when there is no such line.
long long gauge(MockServerFixture& mock, const std::string& name) {
  const std::string text = mock.server().metrics_text();
  const std::string key = "\n" + name + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::atoll(text.c_str() + at + key.size());
}

class MockTransport : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.start()); }

  MockServerFixture mock_{MockServerFixture::replaying(kCassetteDir)};
};

// ---- the same HTTP whoever runs the handler ---------------------------------------------------
//
// Each case runs twice: with requests the server handles on the event loop (a replayed body with
// no fault) and with requests it hands to a worker (the same body with a 1 ms latency fault). The
// handler-run counters in the admin metrics show which happened.

struct HandlerPlace {
  const char* thread;         // as in echoes_mock_handler_runs_total{thread=...}
  const char* other_thread;
  const char* extra_headers;  // what sends a chat completion there
};

// Names the parameter in test output.
void PrintTo(const HandlerPlace& place, std::ostream* os) { *os << place.thread; }

class MockTransportOnEachThread : public ::testing::TestWithParam<HandlerPlace> {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.start()); }

  // A chat completion request for kHelloRequest, handled where the parameter says.
  std::string hello(const std::string& extra_headers = "") const {
    return http_post("/v1/chat/completions", kHelloRequest, GetParam().extra_headers + extra_headers);
  }
  // Asserts `n` handlers ran on the parameter's thread and none on the other.
  void expect_handled_here(long long n) {
    EXPECT_EQ(handler_runs(mock_, GetParam().thread), n);
    EXPECT_EQ(handler_runs(mock_, GetParam().other_thread), 0);
  }

  MockServerFixture mock_{MockServerFixture::replaying(kCassetteDir)};
};

INSTANTIATE_TEST_SUITE_P(
    HandledOn, MockTransportOnEachThread,
    ::testing::Values(HandlerPlace{"loop", "worker", ""},
                      HandlerPlace{"worker", "loop", "x-echoes-fault: latency:1\r\n"}),
    [](const ::testing::TestParamInfo<HandlerPlace>& param_info) {
      return std::string(param_info.param.thread) == "loop" ? "EventLoop" : "Worker";
    });

TEST_P(MockTransportOnEachThread, KeptAliveAnswersAnnounceConnectionAndKeepAliveTimeout) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(conn.send_all(hello()));
    RawResponse res = expect_completion(conn, "chatcmpl-AY2hello0001");
    EXPECT_EQ(res.header("connection"), "keep-alive");
    EXPECT_EQ(res.header_count("connection"), 1);
    // The transport's idle limit is 5 s.
    EXPECT_EQ(res.header("keep-alive"), "timeout=5");
    EXPECT_EQ(res.header_count("content-length"), 1);
    EXPECT_TRUE(conn.pending().empty()) << "bytes beyond the declared Content-Length";
  }
  expect_handled_here(3);
}

// The second request is read right after an answer from the same thread (a worker used to read it
// itself, and sent no interim answer).
TEST_P(MockTransportOnEachThread, EveryExpectContinueOnAConnectionGetsAnInterimAnswer) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(conn.send_all(std::string("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          "Content-Type: application/json\r\nExpect: 100-continue\r\n") +
                              GetParam().extra_headers +
                              "Content-Length: " + std::to_string(kHelloRequest.size()) + "\r\n\r\n"));
    // Nothing of the body has been sent: only the interim answer can arrive now.
    RawResponse interim = conn.read_response();
    ASSERT_TRUE(interim.complete) << interim.problem;
    ASSERT_EQ(interim.status, 100);
    EXPECT_TRUE(conn.pending().empty());
    ASSERT_TRUE(conn.send_all(kHelloRequest));
    const RawResponse res = expect_completion(conn, "chatcmpl-AY2hello0001");
    EXPECT_EQ(res.header("connection"), "keep-alive");
  }
  expect_handled_here(2);
}

TEST_P(MockTransportOnEachThread, ConnectionCloseIsHonoured) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(hello("Connection: close\r\n")));
  const RawResponse res = expect_completion(conn, "chatcmpl-AY2hello0001");
  EXPECT_EQ(res.header("connection"), "close");
  EXPECT_EQ(res.header_count("connection"), 1);
  EXPECT_FALSE(res.header("keep-alive").has_value());
  EXPECT_STREQ(to_string(wait_for_close(conn)), to_string(ReadEnd::kEof));
  expect_handled_here(1);
}

TEST_P(MockTransportOnEachThread, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(hello() + hello() + hello()));
  for (int i = 0; i < 3; ++i) expect_completion(conn, "chatcmpl-AY2hello0001");
  expect_handled_here(3);
}

TEST_P(MockTransportOnEachThread, GarbageRightAfterAnAnswerGets400InTheOfficialShape) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(hello()));
  expect_completion(conn, "chatcmpl-AY2hello0001");
  ASSERT_TRUE(conn.send_all("NOT HTTP\r\n\r\n"));
  expect_rejected_then_closed(conn, 400);
  expect_handled_here(1);
}

TEST_P(MockTransportOnEachThread, HeadersLargerThanTheLimitAfterAnAnswerGet431) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(hello()));
  expect_completion(conn, "chatcmpl-AY2hello0001");
  // The server may answer and stop reading before all of it is sent; the answer still counts.
  (void)conn.send_all(hello("X-Big: " + std::string(100 * 1024, 'a') + "\r\n"));
  expect_rejected_then_closed(conn, 431);
  expect_handled_here(1);
}

// ---- keep-alive ------------------------------------------------------------------------------

TEST_F(MockTransport, ConnectionPassesBetweenEventLoopAndWorkersAndBack) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  // Event loop, worker (fault), worker (stream, chunked), event loop again.
  const std::string requests[] = {
      http_post("/v1/chat/completions", kHelloRequest),
      http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: latency:1\r\n"),
      http_post("/v1/chat/completions", with_stream(kHelloRequest, false)),
      http_post("/v1/chat/completions", kHelloRequest),
  };
  for (size_t i = 0; i < std::size(requests); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(conn.send_all(requests[i]));
    RawResponse res = conn.read_response();
    ASSERT_TRUE(res.complete) << res.problem;
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("connection"), "keep-alive");
    if (i == 2) {
      EXPECT_TRUE(res.chunked);
      EXPECT_EQ(sse_data(res.body).back(), "[DONE]");
    } else {
      EXPECT_EQ(completion_id(res), "chatcmpl-AY2hello0001");
    }
  }
  EXPECT_EQ(mock_.journal().size(), 4u);
  // Only the fault went to a worker; the replayed stream is sent by the loop's timers.
  EXPECT_EQ(handler_runs(mock_, "loop"), 3);
  EXPECT_EQ(handler_runs(mock_, "worker"), 1);
}

// ---- pipelining ------------------------------------------------------------------------------

TEST_F(MockTransport, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", kHelloRequest) +
                            http_post("/v1/chat/completions", kCountRequest) +
                            get_request("/__admin/health")));
  expect_completion(conn, "chatcmpl-AY2hello0001");

  expect_completion(conn, "chatcmpl-AY2count0001");

  expect_health_answer(conn);
}

TEST_F(MockTransport, PipelinedRequestsStayInOrderWhenTheFirstWaitsOnAWorker) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  // The first answer is delayed on a worker; the second could be answered on the event loop at
  // once, but must not overtake the first.
  ASSERT_TRUE(conn.send_all(
      http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: latency:200\r\n") +
      http_post("/v1/chat/completions", kCountRequest)));
  expect_completion(conn, "chatcmpl-AY2hello0001");

  expect_completion(conn, "chatcmpl-AY2count0001");

  const auto journal = mock_.journal();
  ASSERT_EQ(journal.size(), 2u);
  EXPECT_EQ(journal[0].fault, "latency");
  EXPECT_EQ(handler_runs(mock_, "worker"), 1);
  EXPECT_EQ(handler_runs(mock_, "loop"), 1);
}

// ---- Connection: close -----------------------------------------------------------------------

TEST_F(MockTransport, Http10RequestWithoutKeepAliveIsAnsweredAndClosed) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all("GET /__admin/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("connection"), "close");
  EXPECT_STREQ(to_string(wait_for_close(conn)), to_string(ReadEnd::kEof));
}

// ---- requests the transport rejects ----------------------------------------------------------

TEST_F(MockTransport, GarbageThatIsNotHttpGets400InTheOfficialShapeAndTheConnectionCloses) {
  const std::string inputs[] = {
      "NOT HTTP\r\n\r\n",
      "G@T /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  // '@' is not a token character
      "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n",
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input);
    RawConnection conn(mock_.port());
    ASSERT_TRUE(conn.connected());
    ASSERT_TRUE(conn.send_all(input));
    expect_rejected_then_closed(conn, 400);
  }
  // The transport answered these itself: no handler ran, nothing was journalled.
  EXPECT_EQ(mock_.journal().size(), 0u);
}

TEST_F(MockTransport, ARequestRightAfterAWorkerAnswerIsHandledOnTheEventLoop) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  expect_worker_answer(conn);
  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", kHelloRequest)));
  expect_completion(conn, "chatcmpl-AY2hello0001");
  EXPECT_EQ(mock_.journal().size(), 2u);
  EXPECT_EQ(handler_runs(mock_, "worker"), 1);
  EXPECT_EQ(handler_runs(mock_, "loop"), 1);
}

TEST_F(MockTransport, OpenConnectionsGaugeCountsKeptAliveConnections) {
  // echoes_mock_open_connections counts the sessions the transport holds: three connections kept
  // alive after an answer each add one (the fuzz target's health report reads this gauge).
  const long long before = gauge(mock_, "echoes_mock_open_connections");
  ASSERT_GE(before, 0);
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < 3; ++i) {
    connections.push_back(std::make_unique<RawConnection>(mock_.port()));
    ASSERT_TRUE(connections.back()->connected());
    ASSERT_TRUE(connections.back()->send_all("GET /__admin/health HTTP/1.1\r\nHost: t\r\n\r\n"));
    expect_health_answer(*connections.back());
  }
  EXPECT_EQ(gauge(mock_, "echoes_mock_open_connections"), before + 3);
  EXPECT_EQ(gauge(mock_, "echoes_mock_worker_tasks{state=\"queued\"}"), 0);
  EXPECT_EQ(gauge(mock_, "echoes_mock_worker_tasks{state=\"running\"}"), 0);
}

// kHelloRequest with a `user` field (which matching ignores) padding its body to `size` bytes.
std::string hello_of_size(size_t size) {
  json body = json::parse(kHelloRequest);
  body["user"] = "";
  const size_t bare = body.dump().size();
  body["user"] = std::string(size - bare, 'u');
  return body.dump();
}

TEST_F(MockTransport, TheEventLoopParsesBodiesUpTo4KiBAndAWorkerLarger) {
  // A body not seen before is parsed where the quick check runs, on the event loop, only up to
  // 4 KiB; a larger one goes to a worker, so no big parse holds up the loop's other connections.
  // Once a worker has parsed it, the raw-body cache answers its repeats on the loop.
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  const std::string at_bound = hello_of_size(4096);
  const std::string over_bound = hello_of_size(4097);
  ASSERT_EQ(at_bound.size(), 4096u);
  ASSERT_EQ(over_bound.size(), 4097u);

  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", at_bound)));
  expect_completion(conn, "chatcmpl-AY2hello0001");
  EXPECT_EQ(handler_runs(mock_, "loop"), 1);
  EXPECT_EQ(handler_runs(mock_, "worker"), 0);

  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", over_bound)));
  expect_completion(conn, "chatcmpl-AY2hello0001");
  EXPECT_EQ(handler_runs(mock_, "loop"), 1);
  EXPECT_EQ(handler_runs(mock_, "worker"), 1);

  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", over_bound)));
  expect_completion(conn, "chatcmpl-AY2hello0001");
  EXPECT_EQ(handler_runs(mock_, "loop"), 2);
  EXPECT_EQ(handler_runs(mock_, "worker"), 1);
}

TEST_F(MockTransport, HeadersLargerThanTheLimitGet431InTheOfficialShape) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  const std::string big(100 * 1024, 'a');  // the fixture's limit is 64 KiB of header
  // The server may answer and stop reading before all of it is sent; the answer still counts.
  (void)conn.send_all("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + big + "\r\n\r\n");
  expect_rejected_then_closed(conn, 431);
}

TEST_F(MockTransport, HeadersJustBelowTheLimitAreServed) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  const std::string filler(48 * 1024, 'a');
  ASSERT_TRUE(conn.send_all(get_request("/v1/models", "X-Filler: " + filler + "\r\n")));
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(res.status, 200);
}

// ---- Expect: 100-continue --------------------------------------------------------------------

TEST_F(MockTransport, ExpectContinueFromAnHttp10ClientIsIgnored) {
  // RFC 7231 5.1.1: a server must ignore 100-continue in an HTTP/1.0 request.
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all("POST /v1/chat/completions HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                            "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                            "Content-Length: " +
                            std::to_string(kHelloRequest.size()) + "\r\n\r\n" +
                            std::string(kHelloRequest)));
  expect_completion(conn, "chatcmpl-AY2hello0001");
}

TEST_F(MockTransport, BodyDeclaredAboveTheLimitGets413WithoutAnInterimAnswer) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  // 40 MB declared against the 32 MiB limit; no byte of the body is ever sent.
  ASSERT_TRUE(conn.send_all("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                            "Content-Length: 40000000\r\n\r\n"));
  expect_rejected_then_closed(conn, 413);
}

// ---- request framing -------------------------------------------------------------------------

TEST_F(MockTransport, ChunkedRequestBodyIsReassembled) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  const std::string head = kHelloRequest.substr(0, 20);
  const std::string tail = kHelloRequest.substr(20);
  char head_size[16];
  char tail_size[16];
  std::snprintf(head_size, sizeof(head_size), "%zx", head.size());
  std::snprintf(tail_size, sizeof(tail_size), "%zX", tail.size());
  ASSERT_TRUE(conn.send_all(std::string("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Content-Type: application/json\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n") +
                            head_size + "\r\n" + head + "\r\n" + tail_size + "\r\n" + tail +
                            "\r\n0\r\n\r\n"));
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(completion_id(res), "chatcmpl-AY2hello0001");
}

TEST_F(MockTransport, RequestArrivingOneByteAtATimeIsServed) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  const std::string request = http_post("/v1/chat/completions", kHelloRequest);
  for (char c : request) ASSERT_TRUE(conn.send_all(std::string_view(&c, 1)));
  expect_completion(conn, "chatcmpl-AY2hello0001");
}

TEST_F(MockTransport, HeadAnswerCarriesNoBodyAndKeepsTheConnectionInStep) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  // HEAD answered on the event loop, then on a worker (a fault header sends it there), each
  // followed by a GET whose answer must start right after the HEAD answer's headers.
  ASSERT_TRUE(conn.send_all("HEAD /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
                            get_request("/__admin/health") +
                            "HEAD /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "x-echoes-fault: latency:1\r\n\r\n" +
                            get_request("/__admin/health")));
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    RawResponse head = conn.read_response(/*to_head=*/true);
    ASSERT_TRUE(head.complete) << head.problem;
    ASSERT_TRUE(head.header("content-length").has_value());
    EXPECT_NE(*head.header("content-length"), "0");  // the length a GET would have had
    expect_health_answer(conn);
  }
  EXPECT_EQ(handler_runs(mock_, "loop"), 3);
  EXPECT_EQ(handler_runs(mock_, "worker"), 1);
}

// ---- query strings ---------------------------------------------------------------------------

TEST_F(MockTransport, AdminQueryParametersArePercentDecoded) {
  ASSERT_EQ(mock_.post_json("/v1/chat/completions", kHelloRequest).status, 200);
  ASSERT_EQ(mock_.post_json("/v1/chat/completions", kCountRequest, {{"x-note", "a b/c"}}).status,
            200);
  ASSERT_EQ(mock_.post_json("/v1/embeddings",
                            R"({"model":"text-embedding-3-small","input":"The quick brown fox"})")
                .status,
            200);

  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  struct Case {
    const char* target;
    int count;
  };
  const Case cases[] = {
      {"/__admin/requests/count?path=%2Fv1%2Fchat%2Fcompletions", 2},
      {"/__admin/requests/count?path=%2fv1%2fembeddings", 1},  // lower-case hex digits
      // '+' is a space in a query and %3A a colon.
      {"/__admin/requests/count?header=x-note%3Aa+b%2Fc", 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    ASSERT_TRUE(conn.send_all(get_request(c.target)));
    RawResponse res = conn.read_response();
    ASSERT_TRUE(res.complete) << res.problem;
    ASSERT_EQ(res.status, 200) << res.body;
    const json body = json::parse(res.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << res.body;
    EXPECT_EQ(body["count"], c.count);
  }
}

// ---- chunked streams -------------------------------------------------------------------------

TEST_F(MockTransport, StreamedAnswerIsChunkedAndEndsWithTheLastChunk) {
  RawConnection conn(mock_.port());
  ASSERT_TRUE(conn.connected());
  // A recorded stream, and a recording answered with synthesised chunks.
  for (const std::string& request :
       {with_stream(kParisRequest, false), with_stream(kHelloRequest, true)}) {
    SCOPED_TRACE(request);
    ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", request)));
    RawResponse res = conn.read_response();
    ASSERT_TRUE(res.complete) << res.problem;
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("transfer-encoding"), "chunked");
    EXPECT_FALSE(res.header("content-length").has_value());
    EXPECT_TRUE(res.saw_last_chunk);
    ASSERT_GE(res.body.size(), 14u);
    EXPECT_EQ(res.body.substr(res.body.size() - 14), "data: [DONE]\n\n");
    const auto events = sse_data(res.body);
    ASSERT_GE(events.size(), 2u);
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      EXPECT_FALSE(json::parse(events[i], nullptr, false).is_discarded()) << events[i];
    }
    // Nothing follows the terminating chunk.
    EXPECT_TRUE(conn.pending().empty());
  }
  // The chunked framing left the connection in step: it still serves a plain request.
  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", kHelloRequest)));
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  EXPECT_EQ(completion_id(res), "chatcmpl-AY2hello0001");
}

// ---- socket faults on a reused connection ----------------------------------------------------

// A first request answered normally, then the fault on the same connection: it must end as
// `expected`, with no byte of an answer.
void expect_fault_ends_a_kept_alive_connection(int port, const char* fault, ReadEnd expected) {
  RawConnection conn(port);
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", kHelloRequest)));
  RawResponse first = conn.read_response();
  ASSERT_TRUE(first.complete) << first.problem;
  EXPECT_EQ(first.status, 200);

  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", kHelloRequest,
                                      std::string("x-echoes-fault: ") + fault + "\r\n")));
  EXPECT_STREQ(to_string(conn.next()), to_string(expected));
  EXPECT_TRUE(conn.pending().empty()) << "bytes before the end: " << conn.pending();
}

TEST_F(MockTransport, ResetFaultAbortsAKeptAliveConnectionAfterTheEarlierAnswer) {
  expect_fault_ends_a_kept_alive_connection(mock_.port(), "reset", ReadEnd::kReset);
}

TEST_F(MockTransport, CloseFaultEndsAKeptAliveConnectionWithoutBytes) {
  expect_fault_ends_a_kept_alive_connection(mock_.port(), "close", ReadEnd::kEof);
}

// ---- timed bodies (streams sent by the event loop's timers) -----------------------------------

TEST(MockTransportTimedBody, StreamsAreServedWhileTheOnlyWorkerIsHeld) {
  // One worker thread, held by a hang. A stream with its recorded timing still completes: its
  // events are sent by the event loop's timers, not by a worker that sleeps between them.
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.worker_threads = 1;
  options.hang_limit_ms = 30'000;
  options.time_scale = 1.0;
  MockServerFixture mock(options);
  ASSERT_TRUE(mock.start());

  RawConnection held(mock.port());
  ASSERT_TRUE(held.connected());
  ASSERT_TRUE(held.send_all(http_post("/v1/chat/completions", kHelloRequest, "x-echoes-fault: hang\r\n")));
  // Wait until the hang's handler holds the only worker (bounded: a stuck server fails here).
  const auto deadline = std::chrono::steady_clock::now() + kReadTimeout;
  while (handler_runs(mock, "worker") < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(handler_runs(mock, "worker"), 1);

  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    RawConnection conn(mock.port());
    ASSERT_TRUE(conn.connected());
    ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", with_stream(kParisRequest, false))));
    RawResponse res = conn.read_response();
    ASSERT_TRUE(res.complete) << res.problem;
    EXPECT_EQ(res.status, 200);
    EXPECT_TRUE(res.saw_last_chunk);
    const auto events = sse_data(res.body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
  }
  // The worker was still held all along: the hung request has had no answer, and no stream's
  // handler ran on a worker.
  held.set_receive_timeout(milliseconds(200));
  EXPECT_STREQ(to_string(held.next()), to_string(ReadEnd::kTimeout));
  EXPECT_EQ(handler_runs(mock, "worker"), 1);
  EXPECT_EQ(handler_runs(mock, "loop"), 3);
}

// A replaying mock whose recorded offsets are scaled, asked for the recorded stream on a new
// connection.
class MockTransportTimedStream : public ::testing::Test {
 protected:
  // Call as ASSERT_NO_FATAL_FAILURE(request_stream(...)).
  void request_stream(double time_scale, const std::string& extra_headers = "") {
    auto options = MockServerFixture::replaying(kCassetteDir);
    options.time_scale = time_scale;
    mock_ = std::make_unique<MockServerFixture>(options);
    ASSERT_TRUE(mock_->start());
    conn_ = std::make_unique<RawConnection>(mock_->port());
    ASSERT_TRUE(conn_->connected());
    ASSERT_TRUE(conn_->send_all(
        http_post("/v1/chat/completions", with_stream(kParisRequest, false), extra_headers)));
  }

  // Reads the answer, which must be a 200 stream the server ended before its terminating chunk.
  RawResponse read_unfinished_stream() {
    conn_->set_receive_timeout(kCloseWait);
    RawResponse res = conn_->read_response();
    EXPECT_FALSE(res.complete);
    EXPECT_FALSE(res.saw_last_chunk);
    EXPECT_EQ(res.status, 200);
    return res;
  }

  std::unique_ptr<MockServerFixture> mock_;
  std::unique_ptr<RawConnection> conn_;
};

TEST_F(MockTransportTimedStream, StopEndsAStreamWaitingForItsNextEvent) {
  // Recorded offsets scaled 100x: the first event is due 18 s after the request.
  ASSERT_NO_FATAL_FAILURE(request_stream(100.0));
  ASSERT_STREQ(to_string(conn_->next()), to_string(ReadEnd::kData)) << "the head of the answer";

  const auto started = std::chrono::steady_clock::now();
  mock_->stop();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::seconds(4))
      << "stop() took " << std::chrono::duration_cast<milliseconds>(elapsed).count() << " ms";
  const RawResponse res = read_unfinished_stream();
  EXPECT_TRUE(sse_data(res.body).empty()) << res.body;
}

TEST_F(MockTransportTimedStream, ACutStreamSentByTheLoopEndsTheConnectionAfterItsLastEvent) {
  ASSERT_NO_FATAL_FAILURE(
      request_stream(0.2, "x-echoes-fault: {\"kind\":\"stream_cut\",\"after_chunks\":2}\r\n"));
  const RawResponse res = read_unfinished_stream();
  EXPECT_EQ(sse_data(res.body).size(), 2u) << res.body;
  EXPECT_STREQ(to_string(conn_->next()), to_string(ReadEnd::kEof));
}

// ---- stopping --------------------------------------------------------------------------------

TEST(MockTransportStop, StopReturnsPromptlyWithAnIdleKeepAliveConnectionOpen) {
  MockServerFixture mock(MockServerFixture::replaying(kCassetteDir));
  ASSERT_TRUE(mock.start());
  RawConnection conn(mock.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(http_post("/v1/chat/completions", kHelloRequest)));
  RawResponse res = conn.read_response();
  ASSERT_TRUE(res.complete) << res.problem;
  ASSERT_EQ(res.header("connection"), "keep-alive");

  // The connection now waits for its next request; the idle limit (5 s) has not passed.
  const auto started = std::chrono::steady_clock::now();
  mock.stop();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::seconds(4))
      << "stop() took "
      << std::chrono::duration_cast<milliseconds>(elapsed).count() << " ms";
  // And the idle connection was ended, not left open.
  const ReadEnd end = wait_for_close(conn);
  EXPECT_TRUE(end == ReadEnd::kEof || end == ReadEnd::kReset) << to_string(end);
}

}  // namespace
}  // namespace echoes::testing

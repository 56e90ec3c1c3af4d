#include "core/openai/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <new>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/safety/circuit_breaker.h"

namespace echoes::openai {
namespace {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// A scripted upstream on a loopback socket. Each accepted request is answered by the next
// scripted reply (the last one repeats): raw bytes, written in pieces with optional pauses, then
// a normal close, a reset, or a hang. Raw bytes let the tests send exactly the faults a real
// provider produces (a truncated chunked body, a reset, silence), which a well-behaved HTTP server
// library will not do on purpose.

struct Reply {
  std::vector<std::string> pieces;  // written in order
  milliseconds pause_between{0};    // before every piece but the first
  enum class End { kClose, kReset, kHang } end = End::kClose;
};

struct SeenRequest {
  std::string request_line;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::vector<Reply> replies) : replies_(std::move(replies)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~ScriptedUpstream() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (std::thread& t : workers_) t.join();
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  std::vector<std::string> retry_counts() const {
    std::vector<std::string> counts;
    for (const SeenRequest& r : requests()) {
      auto it = r.headers.find("x-stainless-retry-count");
      counts.push_back(it == r.headers.end() ? "(none)" : it->second);
    }
    return counts;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Reads one request (headers and a Content-Length body), bounded by a 5 s wait.
  bool read_request(int fd, SeenRequest& seen) {
    std::string data;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    std::size_t content_length = 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!stopping_ && std::chrono::steady_clock::now() < give_up) {
      if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          std::size_t line_end = data.find("\r\n");
          seen.request_line = data.substr(0, line_end);
          std::size_t pos = line_end + 2;
          while (pos < header_end) {
            std::size_t eol = data.find("\r\n", pos);
            std::string line = data.substr(pos, eol - pos);
            std::size_t colon = line.find(':');
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            seen.headers[lower(line.substr(0, colon))] = value;
            pos = eol + 2;
          }
          if (auto it = seen.headers.find("content-length"); it != seen.headers.end()) {
            content_length = std::stoul(it->second);
          }
        }
      }
    }
    if (header_end == std::string::npos) return false;
    seen.body = data.substr(header_end + 4, content_length);
    return true;
  }

  void serve(int fd) {
    // One request per connection: every reply says `Connection: close` or ends the socket.
    SeenRequest seen;
    if (!read_request(fd, seen)) {
      ::close(fd);
      return;
    }
    Reply reply;
    {
      std::lock_guard lock(mutex_);
      reply = replies_[std::min(requests_.size(), replies_.size() - 1)];
      requests_.push_back(seen);
    }
    for (std::size_t i = 0; i < reply.pieces.size() && !stopping_; ++i) {
      if (i > 0) std::this_thread::sleep_for(reply.pause_between);
      const std::string& piece = reply.pieces[i];
      if (::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) < 0) break;
    }
    if (reply.end == Reply::End::kHang) {
      // Silent until the client gives up (it closes) or the test ends; bounded at 10 s.
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      char buf[256];
      while (!stopping_ && std::chrono::steady_clock::now() < give_up) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) > 0 && ::recv(fd, buf, sizeof buf, 0) <= 0) break;
      }
    }
    if (reply.end == Reply::End::kReset) {
      linger hard{1, 0};  // close with RST instead of FIN
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    ::close(fd);
  }

  std::vector<Reply> replies_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<SeenRequest> requests_;
};

// ---------------------------------------------------------------------------------------------
// Canned answers

const std::string kChatBody =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null},)"
    R"("finish_reason":"stop","logprobs":null}],)"
    R"("usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})";

std::string chunk_json(const std::string& content) {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,)"
         R"("model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":")" +
         content + R"("},"finish_reason":null}]})";
}

std::string error_json(const std::string& message, const std::string& type,
                       const std::string& param = "null") {
  return R"({"error":{"message":")" + message + R"(","type":")" + type + R"(","param":)" + param +
         R"(,"code":null}})";
}

std::string http_response(int status, const std::string& body,
                          std::vector<std::string> extra_headers = {},
                          const std::string& content_type = "application/json") {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Type: " +
                  content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\nx-request-id: req_" + std::to_string(status) + "\r\n";
  for (const std::string& h : extra_headers) r += h + "\r\n";
  return r + "\r\n" + body;
}

Reply answer(int status, const std::string& body, std::vector<std::string> extra_headers = {}) {
  return Reply{{http_response(status, body, std::move(extra_headers))}, milliseconds(0),
               Reply::End::kClose};
}

std::string chunked(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

const std::string kStreamHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    "Connection: close\r\nx-request-id: req_stream\r\n\r\n";

// A stream reply: the head, then each SSE text as one HTTP chunk, then (when `complete`) the
// terminating chunk. Without it the connection simply closes mid-body.
Reply stream_reply(const std::vector<std::string>& events, bool complete = true,
                   Reply::End end = Reply::End::kClose) {
  Reply r;
  r.pieces.push_back(kStreamHead);
  for (const std::string& e : events) r.pieces.push_back(chunked(e));
  if (complete) r.pieces.push_back("0\r\n\r\n");
  r.end = end;
  return r;
}

ChatCompletionRequest hello_request() {
  ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {ChatMessage::user("Hello")};
  return request;
}

// Retry waits go through a FakeClock (instant); the jitter factor is pinned to 1 (unit 0).
struct ClientUnderTest {
  FakeClock clock;
  std::unique_ptr<Client> client;

  explicit ClientUnderTest(const ScriptedUpstream& upstream, ClientConfig config = {}) {
    config.base_url = upstream.base_url();
    config.api_key = "sk-test";
    if (config.read_timeout == ClientConfig{}.read_timeout) config.read_timeout = milliseconds(500);
    auto created = Client::create(config, clock, [] { return 0.0; },
                                  [](const std::string&) { return std::nullopt; });
    EXPECT_TRUE(created.ok());
    if (created) client = std::move(*created);
  }
};

// ---------------------------------------------------------------------------------------------
// Configuration

TEST(ClientConfigTest, BaseUrlAndKeyComeFromTheConfigElseTheEnvironmentElseDefaults) {
  struct Row {
    const char* name;
    std::string configured_url;
    std::string configured_key;
    std::map<std::string, std::string> env;
    std::string url;
    std::string key;
  };
  const Row rows[] = {
      {"config wins", "http://a:1/v1", "k1", {{"OPENAI_BASE_URL", "http://b/v1"}, {"OPENAI_API_KEY", "k2"}},
       "http://a:1/v1", "k1"},
      {"environment fills the gaps", "", "", {{"OPENAI_BASE_URL", "http://b/v1"}, {"OPENAI_API_KEY", "k2"}},
       "http://b/v1", "k2"},
      {"defaults", "", "", {}, std::string(kDefaultBaseUrl), ""},
      {"an empty OPENAI_BASE_URL means the default", "", "", {{"OPENAI_BASE_URL", ""}},
       std::string(kDefaultBaseUrl), ""},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ClientConfig config;
    config.base_url = row.configured_url;
    config.api_key = row.configured_key;
    auto resolved = resolve_client_config(config, [&](const std::string& name) -> std::optional<std::string> {
      auto it = row.env.find(name);
      if (it == row.env.end()) return std::nullopt;
      return it->second;
    });
    ASSERT_TRUE(resolved.ok()) << resolved.error().to_string();
    EXPECT_EQ(resolved->base_url, row.url);
    EXPECT_EQ(resolved->api_key, row.key);
  }
}

TEST(ClientConfigTest, InvalidSettingsAreNamed) {
  struct Row {
    const char* name;
    ClientConfig config;
    std::string context;
  };
  auto with = [](auto change) {
    ClientConfig c;
    c.base_url = "http://127.0.0.1:1/v1";
    change(c);
    return c;
  };
  const Row rows[] = {
      {"not a URL", with([](ClientConfig& c) { c.base_url = "localhost:8080"; }), "base_url"},
      {"no host", with([](ClientConfig& c) { c.base_url = "http:///v1"; }), "base_url"},
      {"ftp", with([](ClientConfig& c) { c.base_url = "ftp://host/v1"; }), "base_url"},
      {"zero read timeout", with([](ClientConfig& c) { c.read_timeout = Duration::zero(); }),
       "read_timeout"},
      {"negative total timeout", with([](ClientConfig& c) { c.total_timeout = -milliseconds(1); }),
       "total_timeout"},
      {"negative retries", with([](ClientConfig& c) { c.retry.max_retries = -1; }),
       "retry.max_retries"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    auto created = Client::create(row.config, SystemClock::instance(),
                                  [](const std::string&) { return std::nullopt; });
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(created.error().context, row.context);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON calls

TEST(ClientTest, ChatSendsTheRequestWithTheSdkHeadersAndDecodesTheAnswer) {
  ScriptedUpstream upstream({answer(200, kChatBody)});
  ClientUnderTest t(upstream);
  Result<ChatCompletionResponse> response = t.client->chat(hello_request());
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  ASSERT_EQ(response->choices.size(), 1u);
  EXPECT_EQ(response->choices[0].message.text(), "Hello!");
  const auto requests = upstream.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].request_line, "POST /v1/chat/completions HTTP/1.1");
  EXPECT_EQ(requests[0].headers.at("authorization"), "Bearer sk-test");
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(requests[0].headers.at("x-stainless-retry-count"), "0");
  auto sent = decode<ChatCompletionRequest>(requests[0].body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->model, "gpt-4o-mini");
  EXPECT_FALSE(sent->stream.has_value());
  EXPECT_TRUE(t.clock.sleeps().empty());
}

TEST(ClientTest, EveryEndpointUsesItsPathAndMethod) {
  const std::string embeddings =
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],)"
      R"("model":"text-embedding-3-small","usage":{"prompt_tokens":1,"total_tokens":1}})";
  const std::string moderations =
      R"({"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":false,)"
      R"("categories":{"hate":false},"category_scores":{"hate":0.01}}]})";
  const std::string models =
      R"({"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1,"owned_by":"openai"}]})";
  ScriptedUpstream upstream({answer(200, embeddings), answer(200, moderations), answer(200, models)});
  ClientUnderTest t(upstream);
  EmbeddingsRequest e;
  e.model = "text-embedding-3-small";
  e.input = std::string("hi");
  auto er = t.client->embeddings(e);
  EXPECT_TRUE(er.ok()) << er.error().to_string();
  ModerationRequest m;
  m.input = std::string("hi");
  auto mr = t.client->moderations(m);
  EXPECT_TRUE(mr.ok()) << mr.error().to_string();
  auto lr = t.client->models();
  ASSERT_TRUE(lr.ok()) << lr.error().to_string();
  ASSERT_EQ(lr->data.size(), 1u);
  EXPECT_EQ(lr->data[0].id, "gpt-4o-mini");
  const auto requests = upstream.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].request_line, "POST /v1/embeddings HTTP/1.1");
  EXPECT_EQ(requests[1].request_line, "POST /v1/moderations HTTP/1.1");
  EXPECT_EQ(requests[2].request_line, "GET /v1/models HTTP/1.1");
}

TEST(ClientTest, HttpErrorsBecomeTypedErrorsWithTheUpstreamDetails) {
  struct Row {
    const char* name;
    int status;
    ErrorCode code;
    int attempts;  // with the default 2 retries
  };
  const Row rows[] = {
      {"400 is a bad request, not retried", 400, ErrorCode::kBadRequest, 1},
      {"401 is authentication, not retried", 401, ErrorCode::kAuthentication, 1},
      {"403 is permission denied, not retried", 403, ErrorCode::kPermissionDenied, 1},
      {"404 is not found, not retried", 404, ErrorCode::kNotFound, 1},
      {"408 is a timeout, retried twice", 408, ErrorCode::kTimeout, 3},
      {"409 is a conflict, retried twice", 409, ErrorCode::kConflict, 3},
      {"422 is unprocessable, not retried", 422, ErrorCode::kUnprocessable, 1},
      {"429 is rate limited upstream, retried twice", 429, ErrorCode::kRateLimitedUpstream, 3},
      {"500 is a server error, retried twice", 500, ErrorCode::kServerError, 3},
      {"503 is a server error, retried twice", 503, ErrorCode::kServerError, 3},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ScriptedUpstream upstream({answer(row.status, error_json("upstream says no", "some_error",
                                                             "\"messages\""))});
    ClientUnderTest t(upstream);
    auto response = t.client->chat(hello_request());
    ASSERT_FALSE(response.ok());
    const Error& e = response.error();
    EXPECT_EQ(e.code, row.code);
    EXPECT_EQ(e.message, "upstream says no");
    EXPECT_EQ(e.context, "messages");
    EXPECT_EQ(e.http_status, row.status);
    EXPECT_EQ(e.request_id, "req_" + std::to_string(row.status));
    EXPECT_EQ(e.attempts, row.attempts);
    EXPECT_EQ(upstream.requests().size(), static_cast<std::size_t>(row.attempts));
  }
}

TEST(ClientTest, RetriesCarryTheRetryCountAndWaitAsTheServerAsks) {
  struct Row {
    const char* name;
    std::vector<std::string> headers;
    std::vector<Duration> waits;
    std::optional<milliseconds> retry_after;
  };
  const Row rows[] = {
      {"retry-after-ms", {"retry-after-ms: 1500"}, {milliseconds(1500)}, milliseconds(1500)},
      {"retry-after seconds", {"retry-after: 2"}, {milliseconds(2000)}, milliseconds(2000)},
      {"no header: back-off 0.5 s", {}, {milliseconds(500)}, std::nullopt},
      {"too long a wait falls back to back-off", {"retry-after: 120"}, {milliseconds(500)},
       std::nullopt},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ScriptedUpstream upstream(
        {answer(429, error_json("slow down", "requests"), row.headers), answer(200, kChatBody)});
    ClientUnderTest t(upstream);
    auto response = t.client->chat(hello_request());
    ASSERT_TRUE(response.ok()) << response.error().to_string();
    EXPECT_EQ(upstream.retry_counts(), (std::vector<std::string>{"0", "1"}));
    EXPECT_EQ(t.clock.sleeps(), row.waits);
  }
  // The wait the server asked for is reported on the final error.
  ScriptedUpstream upstream({answer(429, error_json("slow down", "requests"), {"retry-after-ms: 1500"})});
  ClientUnderTest t(upstream);
  auto response = t.client->chat(hello_request());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().retry_after, milliseconds(1500));
  EXPECT_EQ(upstream.retry_counts(), (std::vector<std::string>{"0", "1", "2"}));
}

TEST(ClientTest, BackOffDoublesBetweenAttempts) {
  ScriptedUpstream upstream({answer(500, error_json("boom", "server_error"))});
  ClientConfig config;
  config.retry.max_retries = 4;
  ClientUnderTest t(upstream, config);
  auto response = t.client->chat(hello_request());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().attempts, 5);
  EXPECT_EQ(t.clock.sleeps(), (std::vector<Duration>{milliseconds(500), milliseconds(1000),
                                                     milliseconds(2000), milliseconds(4000)}));
  EXPECT_EQ(upstream.retry_counts(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(ClientTest, XShouldRetryOverridesTheStatus) {
  struct Row {
    const char* name;
    int status;
    const char* header;
    std::size_t attempts;
  };
  const Row rows[] = {{"false stops a 503", 503, "x-should-retry: false", 1},
                      {"true retries a 400", 400, "x-should-retry: true", 3}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ScriptedUpstream upstream({answer(row.status, error_json("x", "y"), {row.header})});
    ClientUnderTest t(upstream);
    auto response = t.client->chat(hello_request());
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(upstream.requests().size(), row.attempts);
  }
}

TEST(ClientTest, PerCallRetryCountOverridesTheConfig) {
  ScriptedUpstream upstream({answer(500, error_json("boom", "server_error"))});
  ClientUnderTest t(upstream);
  CallOptions options;
  options.max_retries = 0;
  auto response = t.client->chat(hello_request(), options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().attempts, 1);
  EXPECT_EQ(upstream.requests().size(), 1u);
}

TEST(ClientTest, TransportFaultsAreTypedAndRetried) {
  struct Row {
    const char* name;
    Reply reply;
    ErrorCode code;
  };
  const std::string head_only = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: 500\r\nConnection: close\r\n\r\n{\"id\":";
  const Row rows[] = {
      {"closed with no bytes", Reply{{}, milliseconds(0), Reply::End::kClose},
       ErrorCode::kConnection},
      {"reset with no bytes", Reply{{}, milliseconds(0), Reply::End::kReset},
       ErrorCode::kConnection},
      {"body cut short", Reply{{head_only}, milliseconds(0), Reply::End::kClose},
       ErrorCode::kConnection},
      {"silence until the read timeout", Reply{{}, milliseconds(0), Reply::End::kHang},
       ErrorCode::kTimeout},
      {"headers then silence", Reply{{head_only}, milliseconds(0), Reply::End::kHang},
       ErrorCode::kTimeout},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ScriptedUpstream upstream({row.reply});
    ClientConfig config;
    // Only the rows that expect a timeout get a short one; the others get a read timeout long
    // enough that a busy machine cannot turn their fault into a timeout.
    config.read_timeout = row.code == ErrorCode::kTimeout ? milliseconds(200) : milliseconds(5000);
    ClientUnderTest t(upstream, config);
    const auto started = std::chrono::steady_clock::now();
    auto response = t.client->chat(hello_request());
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code, row.code) << response.error().to_string();
    EXPECT_EQ(response.error().attempts, 3);
    EXPECT_EQ(upstream.retry_counts(), (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  }
}

TEST(ClientTest, ARecoveredFaultIsASuccessAfterTheExpectedAttempts) {
  ScriptedUpstream upstream({Reply{{}, milliseconds(0), Reply::End::kReset},
                             answer(502, error_json("bad gateway", "server_error")),
                             answer(200, kChatBody)});
  ClientUnderTest t(upstream);
  auto response = t.client->chat(hello_request());
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(upstream.retry_counts(), (std::vector<std::string>{"0", "1", "2"}));
}

TEST(ClientTest, ConnectionRefusedIsAConnectionError) {
  // Bind a port, then close it, so nothing listens there.
  int port = 0;
  {
    ScriptedUpstream probe({answer(200, kChatBody)});
    port = std::stoi(probe.base_url().substr(std::string("http://127.0.0.1:").size()));
  }
  FakeClock clock;
  ClientConfig config;
  config.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  auto client = Client::create(config, clock, [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(client.ok());
  auto response = (*client)->chat(hello_request());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kConnection);
  EXPECT_EQ(response.error().attempts, 3);
  EXPECT_FALSE(response.error().http_status.has_value());
}

TEST(ClientTest, AMalformedSuccessBodyIsMalformedAndNotRetried) {
  struct Row {
    const char* name;
    std::string body;
  };
  const Row rows[] = {
      {"not JSON", "{\"id\": oops"},
      {"wrong shape", R"({"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":"zero"}]})"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ScriptedUpstream upstream({answer(200, row.body)});
    ClientUnderTest t(upstream);
    auto response = t.client->chat(hello_request());
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code, ErrorCode::kMalformedResponse);
    EXPECT_FALSE(response.error().context.empty());
    EXPECT_EQ(response.error().http_status, 200);
    EXPECT_EQ(response.error().attempts, 1);
    EXPECT_EQ(upstream.requests().size(), 1u);
  }
}

TEST(ClientTest, AnErrorBodyThatIsNotTheOfficialShapeKeepsItsText) {
  ScriptedUpstream upstream({answer(400, "<html>Bad Request</html>")});
  ClientUnderTest t(upstream);
  auto response = t.client->chat(hello_request());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(response.error().message, "HTTP 400: <html>Bad Request</html>");
}

TEST(ClientTest, TheTotalTimeoutBoundsRetriesAndWaits) {
  ScriptedUpstream upstream({answer(429, error_json("slow down", "requests"), {"retry-after: 30"})});
  ClientConfig config;
  config.total_timeout = std::chrono::seconds(45);
  config.retry.max_retries = 5;
  ClientUnderTest t(upstream, config);
  auto response = t.client->chat(hello_request());
  ASSERT_FALSE(response.ok());
  // One 30 s wait fits in 45 s, a second would not: two attempts, then the last error.
  EXPECT_EQ(response.error().code, ErrorCode::kRateLimitedUpstream);
  EXPECT_EQ(response.error().attempts, 2);
  EXPECT_EQ(t.clock.sleeps(), (std::vector<Duration>{std::chrono::seconds(30)}));
}

// ---------------------------------------------------------------------------------------------
// Streaming

TEST(ClientTest, AStreamYieldsEveryChunkAndEndsAtDone) {
  ScriptedUpstream upstream({stream_reply({"data: " + chunk_json("Hel") + "\n\n",
                                           ": keep-alive\n\ndata: " + chunk_json("lo") + "\r\n\r\n",
                                           "data: [DONE]\n\n"})});
  ClientUnderTest t(upstream);
  std::string text;
  Status s = t.client->chat_stream(hello_request(), [&](const ChatCompletionChunk& chunk) {
    text += chunk.choices.at(0).delta.content.value_or("");
    return ok_status();
  });
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(text, "Hello");
  const auto requests = upstream.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.at("accept"), "text/event-stream");
  auto sent = decode<ChatCompletionRequest>(requests[0].body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->stream, true);
}

TEST(ClientTest, BrokenStreamsAreTypedErrorsNeverPartialSuccesses) {
  struct Row {
    const char* name;
    Reply reply;
    ErrorCode code;
    std::size_t chunks_seen;
  };
  const std::string one = "data: " + chunk_json("a") + "\n\n";
  const Row rows[] = {
      {"the body ends before [DONE]", stream_reply({one}), ErrorCode::kStreamTruncated, 1},
      {"the connection drops before [DONE]", stream_reply({one}, false), ErrorCode::kStreamTruncated,
       1},
      {"the connection is reset before [DONE]", stream_reply({one}, false, Reply::End::kReset),
       ErrorCode::kStreamTruncated, 1},
      {"a chunk is not JSON", stream_reply({one, "data: {\"id\": nope\n\n", "data: [DONE]\n\n"}),
       ErrorCode::kMalformedResponse, 1},
      {"an error event", stream_reply({one, "event: error\ndata: " +
                                                error_json("overloaded", "server_error") + "\n\n"}),
       ErrorCode::kServerError, 1},
      {"a data event carrying an error body",
       stream_reply({"data: " + error_json("overloaded", "server_error") + "\n\n"}),
       ErrorCode::kServerError, 0},
      {"the stream goes silent", stream_reply({one}, false, Reply::End::kHang),
       ErrorCode::kTimeout, 1},
      {"a JSON answer to a stream request",
       Reply{{http_response(200, kChatBody)}, milliseconds(0), Reply::End::kClose},
       ErrorCode::kMalformedResponse, 0},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ScriptedUpstream upstream({row.reply});
    ClientConfig config;
    // A short read timeout only where the row expects one (see TransportFaultsAreTypedAndRetried).
    config.read_timeout = row.code == ErrorCode::kTimeout ? milliseconds(200) : milliseconds(5000);
    ClientUnderTest t(upstream, config);
    std::size_t chunks = 0;
    Status s = t.client->chat_stream(hello_request(), [&](const ChatCompletionChunk&) {
      ++chunks;
      return ok_status();
    });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, row.code) << s.error().to_string();
    EXPECT_EQ(chunks, row.chunks_seen);
    EXPECT_EQ(s.error().attempts, 1) << "a stream that has begun is never retried";
    EXPECT_EQ(upstream.requests().size(), 1u);
  }
}

TEST(ClientTest, AStreamRequestThatFailsBeforeItsAnswerIsRetried) {
  ScriptedUpstream upstream({answer(503, error_json("busy", "server_error")),
                             Reply{{}, milliseconds(0), Reply::End::kReset},
                             stream_reply({"data: " + chunk_json("ok") + "\n\n", "data: [DONE]\n\n"})});
  ClientUnderTest t(upstream);
  std::size_t chunks = 0;
  Status s = t.client->chat_stream(hello_request(), [&](const ChatCompletionChunk&) {
    ++chunks;
    return ok_status();
  });
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(chunks, 1u);
  EXPECT_EQ(upstream.retry_counts(), (std::vector<std::string>{"0", "1", "2"}));
}

TEST(ClientTest, AStreamErrorStatusCarriesTheErrorBody) {
  ScriptedUpstream upstream({answer(401, error_json("Incorrect API key provided", "invalid_request_error"))});
  ClientUnderTest t(upstream);
  Status s = t.client->chat_stream(hello_request(), [](const ChatCompletionChunk&) { return ok_status(); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kAuthentication);
  EXPECT_EQ(s.error().message, "Incorrect API key provided");
  EXPECT_EQ(s.error().http_status, 401);
}

TEST(ClientTest, TheSinkCanCancelAStream) {
  ScriptedUpstream upstream({stream_reply({"data: " + chunk_json("a") + "\n\n",
                                           "data: " + chunk_json("b") + "\n\n", "data: [DONE]\n\n"})});
  ClientUnderTest t(upstream);
  std::size_t chunks = 0;
  Status s = t.client->chat_stream(hello_request(), [&](const ChatCompletionChunk&) -> Status {
    ++chunks;
    return Error(ErrorCode::kBlockedBySafety, "stop", "rule r1");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBlockedBySafety);
  EXPECT_EQ(s.error().context, "rule r1");
  EXPECT_EQ(chunks, 1u);
}

// ---------------------------------------------------------------------------------------------
// Attempt gates

class RecordingGate final : public AttemptGate {
 public:
  explicit RecordingGate(int refuse_from_attempt = 1000) : refuse_from_(refuse_from_attempt) {}
  Status before_attempt() override {
    ++asked_;
    if (asked_ >= refuse_from_) return Error(ErrorCode::kCircuitOpen, "circuit open");
    return ok_status();
  }
  void after_attempt(const AttemptOutcome& outcome) override { outcomes_.push_back(outcome); }
  int asked_ = 0;
  int refuse_from_;
  std::vector<AttemptOutcome> outcomes_;
};

TEST(ClientTest, TheGateSeesEveryAttemptAndItsRefusalIsNeverRetried) {
  ScriptedUpstream upstream({answer(500, error_json("boom", "server_error"))});
  ClientUnderTest t(upstream);
  RecordingGate gate(/*refuse_from_attempt=*/2);
  CallOptions options;
  options.gate = &gate;
  auto response = t.client->chat(hello_request(), options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kCircuitOpen);
  EXPECT_EQ(response.error().attempts, 1);
  EXPECT_EQ(gate.asked_, 2);
  ASSERT_EQ(gate.outcomes_.size(), 1u);
  EXPECT_EQ(gate.outcomes_[0].attempt, 1);
  EXPECT_EQ(gate.outcomes_[0].error, ErrorCode::kServerError);
  EXPECT_EQ(gate.outcomes_[0].http_status, 500);
  EXPECT_EQ(upstream.requests().size(), 1u);
}

TEST(ClientTest, TheGateSeesSuccessesToo) {
  ScriptedUpstream upstream({answer(503, error_json("busy", "server_error")), answer(200, kChatBody)});
  ClientUnderTest t(upstream);
  RecordingGate gate;
  CallOptions options;
  options.gate = &gate;
  auto response = t.client->chat(hello_request(), options);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(gate.outcomes_.size(), 2u);
  EXPECT_EQ(gate.outcomes_[0].error, ErrorCode::kServerError);
  EXPECT_EQ(gate.outcomes_[1].error, std::nullopt);
  EXPECT_EQ(gate.outcomes_[1].attempt, 2);
}

// A half-open breaker with one trial permit: opened by one failure, its 1 s wait over, so the
// next permission request moves it to HALF_OPEN and takes the only permit.
struct HalfOpenBreaker {
  FakeClock clock;
  CircuitBreaker breaker;
  CircuitBreakerGate<CircuitBreaker> gate{breaker};

  static CircuitBreakerConfig config() {
    CircuitBreakerConfig c;
    c.sliding_window_size = 1;
    c.minimum_number_of_calls = 1;
    c.wait_duration_in_open_state = std::chrono::seconds(1);
    c.permitted_number_of_calls_in_half_open_state = 1;
    return c;
  }
  HalfOpenBreaker() : breaker(config(), clock) {
    EXPECT_TRUE(breaker.try_acquire_permission().ok());
    breaker.on_error(milliseconds(1), ErrorCode::kServerError);
    EXPECT_EQ(breaker.state(), CircuitState::kOpen);
    clock.advance(std::chrono::seconds(1));
  }
};

TEST(ClientTest, AThrowingSinkEndsTheCallAsOneTypedErrorAndReturnsTheTrialPermit) {
  struct Row {
    const char* name;
    std::function<void()> thrower;
    const char* message_part;
  };
  const Row rows[] = {
      {"a runtime_error", [] { throw std::runtime_error("sink broke"); }, "sink broke"},
      {"std::bad_alloc", [] { throw std::bad_alloc(); }, "bad_alloc"},
      {"a value of no exception type", [] { throw 42; }, "unknown type"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ScriptedUpstream upstream({stream_reply({"data: " + chunk_json("a") + "\n\n",
                                             "data: [DONE]\n\n"})});
    ClientUnderTest t(upstream);
    HalfOpenBreaker half_open;
    CallOptions options;
    options.gate = &half_open.gate;
    Status s = t.client->chat_stream(
        hello_request(),
        [&](const ChatCompletionChunk&) -> Status {
          row.thrower();
          return ok_status();
        },
        options);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kUnexpectedException);
    EXPECT_NE(s.error().message.find(row.message_part), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().attempts, 1) << "an exception is never retried";
    EXPECT_EQ(half_open.breaker.state(), CircuitState::kHalfOpen);
    EXPECT_EQ(half_open.breaker.metrics().buffered_calls, 0) << "an exception is not a verdict";

    // The trial permit came back: the next call is admitted, succeeds, and closes the breaker.
    Status next = t.client->chat_stream(
        hello_request(), [](const ChatCompletionChunk&) { return ok_status(); }, options);
    EXPECT_TRUE(next.ok()) << next.error().to_string();
    EXPECT_EQ(half_open.breaker.state(), CircuitState::kClosed);
    EXPECT_EQ(upstream.requests().size(), 2u);
  }
}

TEST(AttemptGateChainTest, RefusalTellsTheGatesThatAdmittedTheAttemptInReverseOrder) {
  struct Log {
    std::vector<std::string> events;
  } log;
  class Named final : public AttemptGate {
   public:
    Named(std::string name, bool admit, Log& log) : name_(std::move(name)), admit_(admit), log_(log) {}
    Status before_attempt() override {
      log_.events.push_back(name_ + ".before");
      if (admit_) return ok_status();
      return Error(ErrorCode::kRateLimitedLocally, "no permit");
    }
    void after_attempt(const AttemptOutcome& o) override {
      log_.events.push_back(name_ + ".after:" + std::string(o.error ? to_string(*o.error) : "ok"));
    }

   private:
    std::string name_;
    bool admit_;
    Log& log_;
  };
  Named a("a", true, log), b("b", true, log), c("c", false, log);
  AttemptGateChain chain({&a, &b, &c});
  Status s = chain.before_attempt();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kRateLimitedLocally);
  EXPECT_EQ(log.events, (std::vector<std::string>{"a.before", "b.before", "c.before",
                                                  "b.after:rate_limited_locally",
                                                  "a.after:rate_limited_locally"}));
  log.events.clear();
  AttemptGateChain admitted({&a, &b});
  ASSERT_TRUE(admitted.before_attempt().ok());
  admitted.after_attempt(AttemptOutcome{});
  EXPECT_EQ(log.events,
            (std::vector<std::string>{"a.before", "b.before", "b.after:ok", "a.after:ok"}));
}

// ---------------------------------------------------------------------------------------------
// Stream decoder

TEST(ChatStreamDecoderTest, SplitAnywhereGivesTheSameChunks) {
  const std::string stream = "data: " + chunk_json("a") + "\r\n\r\n: ping\n\ndata: " +
                             chunk_json("b") + "\n\ndata: [DONE]\n\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{5}, std::size_t{64}, stream.size()}) {
    SCOPED_TRACE(piece);
    ChatStreamDecoder decoder;
    std::string text;
    for (std::size_t pos = 0; pos < stream.size(); pos += piece) {
      Status s = decoder.feed(std::string_view(stream).substr(pos, piece),
                              [&](const ChatCompletionChunk& c) {
                                text += c.choices.at(0).delta.content.value_or("");
                                return ok_status();
                              });
      ASSERT_TRUE(s.ok()) << s.error().to_string();
    }
    EXPECT_EQ(text, "ab");
    EXPECT_TRUE(decoder.done());
    EXPECT_TRUE(decoder.finish().ok());
    EXPECT_EQ(decoder.chunks(), 2u);
  }
}

TEST(ChatStreamDecoderTest, EndingWithoutDoneIsTruncation) {
  ChatStreamDecoder decoder;
  ASSERT_TRUE(decoder.feed("data: " + chunk_json("a") + "\n\n", nullptr).ok());
  Status end = decoder.finish();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, ErrorCode::kStreamTruncated);
  EXPECT_EQ(end.error().context, "after 1 chunks");
}

TEST(ChatStreamDecoderTest, ABrokenChunkNamesItsIndexAndPath) {
  ChatStreamDecoder decoder;
  Status s = decoder.feed("data: " + chunk_json("a") +
                              "\n\ndata: {\"id\":\"x\",\"object\":\"chat.completion.chunk\","
                              "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":\"one\"}]}\n\n",
                          nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kMalformedResponse);
  EXPECT_EQ(s.error().context.rfind("chunk 1: ", 0), 0u) << s.error().context;
  // Later bytes, even [DONE], do not undo the failure.
  EXPECT_FALSE(decoder.feed("data: [DONE]\n\n", nullptr).ok());
  EXPECT_FALSE(decoder.finish().ok());
}

TEST(ChatStreamDecoderTest, ContentThatMentionsErrorIsStillAChunk) {
  ChatStreamDecoder decoder;
  std::string text;
  Status s = decoder.feed("data: " + chunk_json("\\\"error\\\"") + "\n\ndata: [DONE]\n\n",
                          [&](const ChatCompletionChunk& c) {
                            text += c.choices.at(0).delta.content.value_or("");
                            return ok_status();
                          });
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(text, "\"error\"");
}

}  // namespace
}  // namespace echoes::openai

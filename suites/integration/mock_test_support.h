// Shared helpers for the mock server integration tests: request bodies from the committed
// cassettes, SSE parsing, and a raw socket client that tells a TCP reset from a clean close.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/strings.h"

namespace echoes::testing {

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

inline const std::string kCassetteDir = ECHOES_FIXTURES_DIR "/cassettes";
inline const std::string kScenarioDir = ECHOES_FIXTURES_DIR "/scenarios";

// Requests recorded in fixtures/cassettes/chat_completions.json.
inline const std::string kHelloRequest =
    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]})";
inline const std::string kCountRequest =
    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Count."}],"temperature":0})";
inline const std::string kParisRequest =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Answer in one word."},)"
    R"({"role":"user","content":"Capital of France?"}]})";
inline const std::string kFlakyRequest =
    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Flaky question."}]})";

// The `data:` payloads of an SSE body, in order (including "[DONE]").
inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> events;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\n\n", start);
    if (end == std::string::npos) end = body.size();
    std::string event = body.substr(start, end - start);
    if (event.rfind("data: ", 0) == 0) events.push_back(event.substr(6));
    start = end + 2;
  }
  return events;
}

inline std::string with_stream(const std::string& request, bool include_usage) {
  nlohmann::json body = nlohmann::json::parse(request);
  body["stream"] = true;
  if (include_usage) body["stream_options"] = {{"include_usage", true}};
  return body.dump();
}

// A TCP connection to 127.0.0.1:port, or -1 when it cannot be made.
inline int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// How a raw connection ended after sending one request.
struct RawOutcome {
  std::string received;  // bytes read before the end
  bool reset = false;    // ECONNRESET
  bool closed = false;   // orderly close (read returned 0)
  bool timed_out = false;
};

// Sends `request` (full HTTP text) to 127.0.0.1:port and reads until the peer ends the connection
// or `timeout` passes.
inline RawOutcome raw_exchange(int port, const std::string& request,
                               std::chrono::milliseconds timeout) {
  RawOutcome outcome;
  const int fd = connect_loopback(port);
  if (fd < 0) {
    outcome.reset = true;
    return outcome;
  }
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      outcome.received.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      outcome.closed = true;
      break;
    } else {
      outcome.reset = errno == ECONNRESET;
      break;
    }
  }
  ::close(fd);
  return outcome;
}

inline std::string http_post(const std::string& path, const std::string& body,
                             const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// An upstream the test drives byte by byte: a listening socket on 127.0.0.1 whose connections the
// test accepts, reads and answers (or never answers) itself. Every wait is bounded.
//
//   RawUpstream upstream;
//   int fd = upstream.accept_one(std::chrono::seconds(10));
//   std::string request = RawUpstream::read_request(fd, std::chrono::seconds(10));
//   RawUpstream::write_all(fd, "HTTP/1.1 200 OK\r\n...");
class RawUpstream {
 public:
  RawUpstream() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RawUpstream() {
    for (int fd : accepted_) ::close(fd);
    if (listener_ >= 0) ::close(listener_);
  }
  RawUpstream(const RawUpstream&) = delete;
  RawUpstream& operator=(const RawUpstream&) = delete;

  int port() const { return port_; }  // 0 when the socket could not be set up
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The next connection, or -1 when none came within `timeout`. Closed by the destructor.
  int accept_one(std::chrono::milliseconds timeout) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) accepted_.push_back(fd);
    return fd;
  }

  // Closes every accepted connection now (a test that gives up on a call releases it this way).
  void close_all() {
    for (int fd : accepted_) ::shutdown(fd, SHUT_RDWR);
  }

  // One request: its head and a Content-Length body; what arrived when the peer stopped sending
  // or `timeout` passed.
  static std::string read_request(int fd, std::chrono::milliseconds timeout) {
    std::string in;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    for (;;) {
      const size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        const size_t at = to_lower_ascii(std::string_view(in).substr(0, head_end)).find("content-length:");
        if (at != std::string::npos) length = std::strtoul(in.c_str() + at + 15, nullptr, 10);
        if (in.size() >= head_end + 4 + length) return in;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return in;
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return in;
      in.append(buffer, static_cast<size_t>(n));
    }
  }

  static bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::vector<int> accepted_;
};

}  // namespace echoes::testing

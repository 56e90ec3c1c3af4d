// Fuzz target for the mock server's HTTP request path: the input is sent as raw bytes over a real
// TCP connection to an in-process MockServer (started once per process: replay mode, the
// cassettes of fixtures/cassettes, every route open, admin included). After each input the server
// must still be alive: a health request (GET /__admin/health) on a new connection must answer 200
// within a few seconds, or the target aborts. Crashes, sanitizer reports and hangs of the health
// check are the findings; what the server answered to the input itself is not judged.
//
// The server is reset before each input (scenario cleared, sequences rewound, journal emptied).
// Each input's exchange is bounded: the bytes are sent, the writing side is shut (so a server
// waiting for more of a request sees the end), the answer is read until the server closes or
// kInputBudget passes, and the connection is closed. Faults the input asks for (the
// `x-echoes-fault` header, admin scenarios) are bounded by a short hang limit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "mock_server/mock_server.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kInputBudget = std::chrono::milliseconds(300);
// Generous: the health check runs on a machine shared with other work, and a slow answer is not
// a finding; no answer at all in this time is.
constexpr auto kHealthBudget = std::chrono::seconds(10);

echoes::mock::MockServer& server() {
  static echoes::mock::MockServer* instance = [] {
    echoes::mock::MockServerOptions options;
    options.cassette_dir = ECHOES_FIXTURES_DIR "/cassettes";
    options.mode = echoes::mock::ServerMode::kReplay;
    options.time_scale = 0;         // recorded streams are sent at once
    options.hang_limit_ms = 200;    // no fault holds a connection longer
    options.worker_threads = 16;
    options.journal_capacity = 100;
    // Never destroyed: the server lives as long as the fuzzing process.
    auto* s = new echoes::mock::MockServer(options);
    if (echoes::Status started = s->start(); !started) {
      std::fprintf(stderr, "mock_http_fuzzer: cannot start the server: %s\n",
                   started.error().to_string().c_str());
      std::abort();
    }
    // Stopped at exit, before static destructors run under the server's threads.
    std::atexit([] { server().stop(); });
    return s;
  }();
  return *instance;
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Writes what the peer accepts before `deadline` (a server may stop reading midway).
void send_until(int fd, std::string_view bytes, SteadyClock::time_point deadline) {
  while (!bytes.empty() && SteadyClock::now() < deadline) {
    pollfd p{fd, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) return;
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until the peer closes, an error, or `deadline`; returns what arrived.
std::string read_until(int fd, SteadyClock::time_point deadline) {
  std::string got;
  char buffer[16384];
  while (SteadyClock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

void require_health(int port) {
  const auto deadline = SteadyClock::now() + kHealthBudget;
  const int fd = connect_to(port);
  if (fd < 0) {
    std::fprintf(stderr, "mock_http_fuzzer: the server refuses connections\n");
    std::abort();
  }
  send_until(fd, "GET /__admin/health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n", deadline);
  const std::string answer = read_until(fd, deadline);
  ::close(fd);
  if (answer.rfind("HTTP/1.1 200 ", 0) != 0) {
    std::fprintf(stderr, "mock_http_fuzzer: health check failed, answer: %.200s\n", answer.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Each input starts from the same state: what an earlier input set through the admin API (a
  // scenario, used-up sequences) would otherwise make a finding depend on the inputs before it.
  server().set_scenario(std::nullopt);
  server().reset();
  const int port = server().port();
  const int fd = connect_to(port);
  if (fd < 0) {
    std::fprintf(stderr, "mock_http_fuzzer: the server refuses connections\n");
    std::abort();
  }
  const auto deadline = SteadyClock::now() + kInputBudget;
  send_until(fd, std::string_view(reinterpret_cast<const char*>(data), size), deadline);
  ::shutdown(fd, SHUT_WR);
  read_until(fd, deadline);
  ::close(fd);
  require_health(port);
  return 0;
}

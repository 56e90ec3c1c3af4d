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
//
// When the health check gets no answer, the target reports the server's state before it aborts
// (report_unanswered_health): its transport gauges and metrics, the process's open descriptors,
// the machine's load, each thread's state, every thread's stack (through gdb, when installed),
// and whether a second health check answers within a longer time, so a stuck server can be told
// from a slow machine.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
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

// poll(2) on one descriptor until `deadline`, resumed after a signal: libFuzzer's driver arms
// SIGALRM (every timeout/2 + 1 seconds, without SA_RESTART), and replay_main.cc every
// millisecond, so a poll of this thread is often interrupted. Returns poll's revents, or 0 once
// the deadline passed.
short poll_until(int fd, short events, SteadyClock::time_point deadline) {
  for (;;) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return 0;
    pollfd p{fd, events, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (ready > 0) return p.revents;
    if (ready < 0 && errno != EINTR) return POLLERR;
  }
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    // A connect interrupted by a signal goes on in the background: wait for its outcome.
    int error = errno;
    if (error == EINTR) {
      socklen_t length = sizeof error;
      error = (poll_until(fd, POLLOUT, SteadyClock::now() + kHealthBudget) & POLLOUT) != 0 &&
                      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0
                  ? error
                  : ETIMEDOUT;
    }
    if (error != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

// Writes what the peer accepts before `deadline` (a server may stop reading midway).
void send_until(int fd, std::string_view bytes, SteadyClock::time_point deadline) {
  while (!bytes.empty()) {
    if ((poll_until(fd, POLLOUT, deadline) & POLLOUT) == 0) return;
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until the peer closes, an error, or `deadline`; returns what arrived.
std::string read_until(int fd, SteadyClock::time_point deadline) {
  std::string got;
  char buffer[16384];
  for (;;) {
    if ((poll_until(fd, POLLIN, deadline) & (POLLIN | POLLHUP | POLLERR)) == 0) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

// One health request on a new connection; the answer's bytes (empty when none came by `budget`).
std::string ask_health(int port, std::chrono::milliseconds budget) {
  const auto deadline = SteadyClock::now() + budget;
  const int fd = connect_to(port);
  if (fd < 0) {
    std::fprintf(stderr, "mock_http_fuzzer: the server refuses connections\n");
    std::abort();
  }
  send_until(fd, "GET /__admin/health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n", deadline);
  std::string answer = read_until(fd, deadline);
  ::close(fd);
  return answer;
}

bool is_healthy(const std::string& answer) { return answer.rfind("HTTP/1.1 200 ", 0) == 0; }

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Prints what tells a stuck server from a slow machine (see the banner). The cheap reads that
// take no lock of the server's come first, in case a thread of the server holds one for ever.
void report_unanswered_health(int port, const std::string& answer) {
  std::fprintf(stderr, "mock_http_fuzzer: health check on a fresh connection got no answer within %lld s; answer: %.200s\n",
               static_cast<long long>(kHealthBudget.count()), answer.c_str());
  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  std::fprintf(stderr, "  open descriptors: %zu; load average: %s", fds,
               read_text_file("/proc/loadavg").c_str());
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string stat = read_text_file(it->path() / "stat");
    const std::size_t close_paren = stat.rfind(')');
    const char state = close_paren != std::string::npos && close_paren + 2 < stat.size() ? stat[close_paren + 2] : '?';
    std::fprintf(stderr, "  thread %s: state %c, waiting in %s\n", it->path().filename().c_str(), state,
                 read_text_file(it->path() / "wchan").c_str());
  }
  if (std::filesystem::exists("/usr/bin/gdb")) {
    const std::string pid = std::to_string(::getpid());
    if (const pid_t child = ::fork(); child == 0) {
      ::dup2(STDERR_FILENO, STDOUT_FILENO);
      ::execl("/usr/bin/gdb", "gdb", "-p", pid.c_str(), "-batch", "-nx", "-ex", "thread apply all bt 30",
              static_cast<char*>(nullptr));
      ::_exit(127);
    } else if (child > 0) {
      int status = 0;
      ::waitpid(child, &status, 0);
    }
  }
  std::fprintf(stderr, "  server metrics (gauges and counters):\n");
  std::istringstream metrics(server().metrics_text());
  for (std::string line; std::getline(metrics, line);) {
    if (!line.starts_with("#") && line.find("_bucket{") == std::string::npos) {
      std::fprintf(stderr, "    %s\n", line.c_str());
    }
  }
  const auto asked = SteadyClock::now();
  const std::string again = ask_health(port, std::chrono::seconds(60));
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - asked);
  std::fprintf(stderr, "  a second health check %s after %lld ms\n",
               is_healthy(again) ? "answered 200" : "got no 200 answer",
               static_cast<long long>(waited.count()));
}

void require_health(int port) {
  const std::string answer = ask_health(port, kHealthBudget);
  if (!is_healthy(answer)) {
    report_unanswered_health(port, answer);
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

// The echoes-mock program itself: prints its port, serves, logs one line per request, shuts down
// cleanly on SIGTERM (exit 0), and exits 2 naming the flag or file on bad input.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/mock_server_fixture.h"
#include "mock_server/cassette.h"
#include "suites/integration/mock_test_support.h"

extern char** environ;

namespace echoes::testing {
namespace {

using std::chrono::milliseconds;

// A child echoes-mock with its stdout and stderr on one pipe. Every wait is bounded; the
// destructor kills the child if a test left it running.
class MockProcess {
 public:
  explicit MockProcess(std::vector<std::string> args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    args.insert(args.begin(), ECHOES_MOCK_BINARY);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, ECHOES_MOCK_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~MockProcess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  // Reads output until `pattern` matches it or the timeout passes; returns the first capture.
  std::optional<std::string> wait_for_output(const std::regex& pattern, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::smatch match;
      if (std::regex_search(output_, match, pattern)) return match.size() > 1 ? match[1].str() : match[0].str();
      if (!read_some(deadline)) return std::nullopt;
    }
  }

  // Waits for the child to exit; nullopt on timeout.
  std::optional<int> wait_exit(milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        while (read_some(std::chrono::steady_clock::now() + milliseconds(100))) {
        }
        return exit_code_;
      }
      read_some(std::chrono::steady_clock::now() + milliseconds(20));
    }
    return std::nullopt;
  }

  void signal(int sig) { ::kill(pid_, sig); }
  const std::string& output() const { return output_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_ < 0) return false;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    ssize_t n = ::read(out_, buffer, sizeof(buffer));
    if (n <= 0) return false;
    output_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
  std::optional<int> exit_code_;
};

TEST(MockProcessTest, ServesLogsAndStopsCleanlyOnSigterm) {
  MockProcess mock({"--cassettes", kCassetteDir, "--port", "0"});
  auto port = mock.wait_for_output(std::regex(R"(listening on http://127\.0\.0\.1:(\d+))"), milliseconds(10000));
  ASSERT_TRUE(port.has_value()) << mock.output();
  harness::HttpReply reply = harness::send_http("127.0.0.1", std::stoi(*port), "POST",
                                                "/v1/chat/completions", kHelloRequest,
                                                "application/json", {}, milliseconds(5000));
  EXPECT_EQ(reply.status, 200);
  // The stable log line format: time method path status duration match fault request_id.
  auto line = mock.wait_for_output(
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z POST /v1/chat/completions 200 [0-9.]+ms )"
                 R"(match=chat_completions\.json#0 fault=- request_id=req_\w+)"),
      milliseconds(5000));
  EXPECT_TRUE(line.has_value()) << mock.output();
  mock.signal(SIGTERM);
  EXPECT_EQ(mock.wait_exit(milliseconds(10000)), 0) << mock.output();
  EXPECT_NE(mock.output().find("stopped"), std::string::npos);
}

// Record mode: one interaction recorded, then a second forwarded to an upstream that never
// answers (the recorder reads it with a 300 s timeout). SIGTERM must end the process anyway, and
// the first interaction must be in the record file. The 5 s bound is far below the read timeout
// and far above what stopping takes, so it holds on a loaded machine.
TEST(MockProcessTest, SigtermEndsARecorderWaitingOnASilentUpstreamAndKeepsItsRecordings) {
  RawUpstream upstream;
  ASSERT_NE(upstream.port(), 0);
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / ("echoes-process-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  const std::string record_file = (directory / "recorded.json").string();
  MockProcess mock({"--cassettes", directory.string(), "--mode", "record", "--upstream",
                    upstream.url(), "--port", "0", "--quiet"});
  auto port = mock.wait_for_output(std::regex(R"(listening on http://127\.0\.0\.1:(\d+))"), milliseconds(10000));
  ASSERT_TRUE(port.has_value()) << mock.output();
  auto post = [port = std::stoi(*port)](const std::string& body) {
    return std::async(std::launch::async, [port, body] {
      return harness::send_http("127.0.0.1", port, "POST", "/v1/chat/completions", body,
                                "application/json", {}, milliseconds(30000));
    });
  };

  const std::string answer = R"({"id":"chatcmpl-first","object":"chat.completion","choices":[]})";
  auto first = post(kHelloRequest);
  const int first_call = upstream.accept_one(milliseconds(10000));
  ASSERT_GE(first_call, 0) << mock.output();
  (void)RawUpstream::read_request(first_call, milliseconds(10000));
  ASSERT_TRUE(RawUpstream::write_all(
      first_call, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  "Content-Length: " + std::to_string(answer.size()) + "\r\n\r\n" + answer));
  EXPECT_EQ(first.get().body, answer);

  auto second = post(kCountRequest);
  const int second_call = upstream.accept_one(milliseconds(10000));
  ASSERT_GE(second_call, 0) << mock.output();
  ASSERT_NE(RawUpstream::read_request(second_call, milliseconds(10000)).find(kCountRequest),
            std::string::npos);
  // The second request has fully arrived upstream: the recorder is waiting for its answer.
  mock.signal(SIGTERM);
  const std::optional<int> exit_code = mock.wait_exit(milliseconds(5000));
  if (!exit_code) upstream.close_all();  // release the call so the process can end
  EXPECT_EQ(exit_code, 0) << mock.output();
  const harness::HttpReply hung = second.get();
  EXPECT_NE(hung.status, 200) << hung.body;

  auto recorded = mock::load_cassette_file(record_file);
  ASSERT_TRUE(recorded) << recorded.error().to_string();
  ASSERT_EQ(recorded->interactions.size(), 1u);
  EXPECT_EQ(recorded->interactions[0].response.body, answer);
  std::error_code ec;
  std::filesystem::remove_all(directory, ec);
}

TEST(MockProcessTest, BadInputExitsTwoNamingTheFlagOrFile) {
  struct Case {
    const char* name;
    std::vector<std::string> args;
    std::string mentions;
  };
  const Case cases[] = {
      {"unknown flag", {"--cassettes", kCassetteDir, "--bogus"}, "--bogus"},
      {"bad port", {"--cassettes", kCassetteDir, "--port", "-3"}, "--port"},
      {"port abc", {"--cassettes", kCassetteDir, "--port", "abc"}, "--port"},
      {"port 70000", {"--cassettes", kCassetteDir, "--port", "70000"}, "--port"},
      {"threads 0", {"--cassettes", kCassetteDir, "--threads", "0"}, "--threads"},
      {"missing value", {"--cassettes"}, "--cassettes"},
      {"unknown flag with a value", {"--cassettes", kCassetteDir, "--colour", "red"}, "--colour"},
      {"missing directory", {"--cassettes", "/nonexistent/cassettes"}, "/nonexistent/cassettes"},
      {"bad cassette", {"--cassettes", kScenarioDir}, "chaos.json: format"},
      {"bad scenario", {"--cassettes", kCassetteDir, "--scenario", kCassetteDir + "/chat_completions.json"},
       "chat_completions.json: format"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    MockProcess mock(c.args);
    EXPECT_EQ(mock.wait_exit(milliseconds(10000)), 2) << mock.output();
    EXPECT_NE(mock.output().find(c.mentions), std::string::npos) << mock.output();
  }
}

TEST(MockProcessTest, HelpPrintsTheFlagsAndExitsZero) {
  for (const char* flag : {"--help", "-h"}) {
    SCOPED_TRACE(flag);
    MockProcess mock({flag});
    EXPECT_EQ(mock.wait_exit(milliseconds(10000)), 0) << mock.output();
    EXPECT_NE(mock.output().find("--cassettes"), std::string::npos) << mock.output();
    EXPECT_NE(mock.output().find("--idle-timeout-ms"), std::string::npos) << mock.output();
  }
}

}  // namespace
}  // namespace echoes::testing

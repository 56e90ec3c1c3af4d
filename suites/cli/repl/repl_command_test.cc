// `echoes repl` as a child process against the in-process mock. Through a pseudo-terminal
// (forkpty): the prompt shows, a prompt sent through the safety layer shows its answer, the up
// arrow recalls the previous line from libedit's history (the request is sent again), quit exits 0
// and the history file keeps the line. With piped input (script mode): no prompt, every command's
// output, and the first failing command ends the script with exit 1, naming the line; the bias
// command runs the BBQ evaluation against the recorded UnifiedQA answers.
#include <poll.h>
#include <signal.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "harness/mock_server_fixture.h"

namespace {

using echoes::harness::MockServerFixture;

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

// Reads from `fd` into `seen` until `part` has appeared `times` times. Bounded: 120 s is far beyond
// what the Debug build needs to load the guard's models and answer (a few seconds).
bool read_until(int fd, std::string& seen, const std::string& part, std::size_t times = 1) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count(seen, part) < times) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    seen.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

// Ends the child if a failed assertion left it running.
struct ChildGuard {
  pid_t pid = -1;
  int master = -1;
  bool reaped = false;
  ~ChildGuard() {
    if (!reaped && pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (master >= 0) ::close(master);
  }
};

void type(int fd, const std::string& keys) {
  ASSERT_EQ(::write(fd, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
}

class ReplCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mock_.start());
    base_url_ = mock_.base_url() + "/v1";
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("repl_command_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  MockServerFixture mock_{MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes")};
  std::string base_url_;
  std::filesystem::path dir_;
};

TEST_F(ReplCommandTest, OnATerminalItPromptsEditsAndRecallsHistory) {
  const std::string history = (dir_ / "history").string();
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("TERM", "xterm", 1);
    ::execl(ECHOES_BINARY, ECHOES_BINARY, "repl", "--base-url", base_url_.c_str(), "--history", history.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ChildGuard child{pid, master};
  std::string seen;
  ASSERT_TRUE(read_until(master, seen, "echoes> ")) << seen;
  EXPECT_NE(seen.find("help lists the commands"), std::string::npos) << seen;
  // Typed with a mistake corrected by backspace.
  type(master, "send Say hello.x\x7f\r");
  ASSERT_TRUE(read_until(master, seen, "answer: Hello! How can I help you today?")) << seen;
  ASSERT_TRUE(read_until(master, seen, "echoes> ", 2)) << seen;
  // Up arrow: the previous line again, from the history.
  type(master, "\x1b[A\r");
  ASSERT_TRUE(read_until(master, seen, "answer: Hello! How can I help you today?", 2)) << seen;
  ASSERT_TRUE(read_until(master, seen, "echoes> ", 3)) << seen;
  EXPECT_EQ(mock_.journal().size(), 2u);
  type(master, "quit\r");
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  child.reaped = true;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream file(history);
  std::stringstream kept;
  kept << file.rdbuf();
  // libedit's history format: a header line, then each line with spaces written as \040.
  EXPECT_EQ(kept.str().rfind("_HiStOrY_V2_\n", 0), 0u) << kept.str();
  EXPECT_NE(kept.str().find("send\\040Say\\040hello.\n"), std::string::npos) << kept.str();
}

struct ScriptResult {
  int exit_code = -1;
  std::string output;
};

ScriptResult run_script(const std::filesystem::path& dir, const std::string& base_url, const std::string& script) {
  const std::string file = (dir / "script.txt").string();
  std::ofstream(file) << script;
  // Bounded by timeout(1): 300 s is far beyond a few commands.
  const std::string command = "timeout 300 " + std::string(ECHOES_BINARY) + " repl --base-url " + base_url +
                              " < " + file + " 2>&1";
  ScriptResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST_F(ReplCommandTest, PipedInputRunsAsAScriptThatStopsAtTheFirstFailingCommand) {
  const ScriptResult failing = run_script(dir_, base_url_, "# a script\nhelp send\nsend Say hello.\nfly away\nsend Say hello.\n");
  EXPECT_EQ(failing.exit_code, 1) << failing.output;
  EXPECT_EQ(failing.output.find("echoes> "), std::string::npos) << failing.output;  // no prompt off a terminal
  EXPECT_NE(failing.output.find("send TEXT"), std::string::npos) << failing.output;
  EXPECT_EQ(count(failing.output, "answer: Hello!"), 1u) << failing.output;  // the last line never ran
  EXPECT_NE(failing.output.find("line 4 failed: fly away"), std::string::npos) << failing.output;
  EXPECT_EQ(mock_.journal().size(), 1u);

  const ScriptResult passing = run_script(dir_, base_url_, "set model gpt-4o-mini\nsend Say hello.\nconfig\n");
  EXPECT_EQ(passing.exit_code, 0) << passing.output;
  EXPECT_NE(passing.output.find("model: gpt-4o-mini"), std::string::npos) << passing.output;
}

}  // namespace

namespace {

TEST(ReplBiasCommandTest, TheBiasCommandRunsTheBbqEvaluationAgainstTheRecordedAnswers) {
  MockServerFixture mock(MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes/bbq"));
  ASSERT_TRUE(mock.start());
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "repl_bias";
  std::filesystem::create_directories(dir);
  const ScriptResult run = run_script(dir, mock.base_url() + "/v1",
                                      "set model uqa-race\nset bias-rate-limit off\nbias Sexual_orientation\n");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // Both contexts of the category, each over its 432 examples, and the request count.
  EXPECT_EQ(count(run.output, "Sexual_orientation"), 2u) << run.output;
  EXPECT_EQ(count(run.output, " 432 "), 2u) << run.output;
  EXPECT_NE(run.output.find("864 requests"), std::string::npos) << run.output;
}

}  // namespace

// A real Prometheus scrapes a live echoes-mock (/__admin/metrics, every second) and is queried back
// over its HTTP API: the request the test sent is the value Prometheus stored, with the documented
// labels. Both are child processes; the test ends them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/mock_server_fixture.h"

extern char** environ;

namespace echoes {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A child process; its stdout and stderr go to `log`. The destructor ends it (SIGTERM, then SIGKILL).
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(milliseconds(20));  // waiting on another process's exit
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A port free at the moment of asking (the kernel's pick for a socket bound to port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

TEST(PrometheusScrapeTest, PrometheusScrapesALiveMockAndAnswersAQuery) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("echoes-prometheus-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  Child mock({ECHOES_MOCK_BINARY, "--cassettes", ECHOES_FIXTURES_DIR "/cassettes", "--port", "0"},
             (dir / "mock.log").string());
  ASSERT_TRUE(mock.started());
  // The mock's first line names its port. Polled: the child offers no other signal. Bounds in this
  // test are generous (a loaded machine) and only end a failing run.
  int mock_port = 0;
  for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline && mock_port == 0;) {
    std::smatch m;
    const std::string log = read_file(dir / "mock.log");
    if (std::regex_search(log, m, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))"))) {
      mock_port = std::stoi(m[1]);
    } else {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  ASSERT_GT(mock_port, 0) << read_file(dir / "mock.log");
  const harness::HttpReply answer = harness::send_http(
      "127.0.0.1", mock_port, "POST", "/v1/chat/completions",
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]})",
      "application/json", {}, milliseconds(10000));
  ASSERT_EQ(answer.status, 200);

  std::ofstream(dir / "prometheus.yml") << "global:\n  scrape_interval: 1s\n"
                                           "scrape_configs:\n  - job_name: echoes-mock\n"
                                           "    metrics_path: /__admin/metrics\n"
                                           "    static_configs:\n      - targets: ['127.0.0.1:"
                                        << mock_port << "']\n";
  const int prometheus_port = free_port();
  ASSERT_GT(prometheus_port, 0);
  Child prometheus({ECHOES_PROMETHEUS, "--config.file=" + (dir / "prometheus.yml").string(),
                    "--storage.tsdb.path=" + (dir / "data").string(),
                    "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                   (dir / "prometheus.log").string());
  ASSERT_TRUE(prometheus.started());

  // Ask until the scraped sample is there (Prometheus starts, then scrapes each second).
  const std::string query =
      "/api/v1/query?query=echoes_mock_requests_total%7Broute%3D%22%2Fv1%2Fchat%2Fcompletions%22%2C"
      "status%3D%22200%22%7D";
  nlohmann::json result;
  for (auto deadline = Clock::now() + std::chrono::seconds(90); Clock::now() < deadline;) {
    const harness::HttpReply reply =
        harness::send_http("127.0.0.1", prometheus_port, "GET", query, "", "", {}, milliseconds(5000));
    if (reply.status == 200) {
      const auto j = nlohmann::json::parse(reply.body, nullptr, false);
      if (!j.is_discarded() && j.contains("data") && !j["data"]["result"].empty()) {
        result = j["data"]["result"][0];
        break;
      }
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
  ASSERT_FALSE(result.is_null()) << read_file(dir / "prometheus.log");
  EXPECT_EQ(result["metric"]["__name__"], "echoes_mock_requests_total");
  EXPECT_EQ(result["metric"]["fault"], "none");
  EXPECT_EQ(result["metric"]["job"], "echoes-mock");
  EXPECT_EQ(result["value"][1], "1");  // the one request sent
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace echoes

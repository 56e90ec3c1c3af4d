// The recorder (record and spy modes) against upstreams the test drives byte by byte
// (RawUpstream): stopping while an upstream is silent, and streams passed through as they arrive.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/mock_server_fixture.h"
#include "mock_server/cassette.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::MockServerFixture;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A fresh directory under the system temp dir, removed at scope exit.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("echoes-recorder-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
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

mock::MockServerOptions recorder_options(const std::string& directory, mock::ServerMode mode,
                                         const std::string& upstream) {
  auto options = MockServerFixture::replaying(directory);
  options.mode = mode;
  options.upstream = upstream;
  return options;
}

// The status code of an HTTP answer's status line, or 0 when there is none.
int status_of(const std::string& answer) {
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || answer.size() < 12) return 0;
  return std::atoi(answer.c_str() + 9);
}

// ---- stopping while the upstream is silent (defect 8) -----------------------------------------

class RecorderStopTest : public ::testing::TestWithParam<mock::ServerMode> {};

// The upstream accepts the forwarded request and never answers; the recorder reads it with a
// 300 s timeout. stop() must end that wait: 5 s is far below the read timeout and far above what
// ending a socket takes, so the bound holds on a loaded machine and fails only when stop() waits
// for the upstream.
TEST_P(RecorderStopTest, StopEndsACallToASilentUpstream) {
  TemporaryDirectory directory;
  RawUpstream upstream;
  ASSERT_NE(upstream.port(), 0);
  MockServerFixture recorder(recorder_options(directory.path(), GetParam(), upstream.url()));
  ASSERT_TRUE(recorder.start());

  auto client = std::async(std::launch::async, [port = recorder.port()] {
    return raw_exchange(port, http_post("/v1/chat/completions", kHelloRequest), seconds(30));
  });
  const int call = upstream.accept_one(seconds(10));
  ASSERT_GE(call, 0) << "the request was not forwarded";
  ASSERT_NE(RawUpstream::read_request(call, seconds(10)).find(kHelloRequest), std::string::npos);

  // The forwarded request has fully arrived: the recorder is now waiting for the answer.
  const auto before = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&recorder] { recorder.stop(); });
  const bool stopped_in_time = stopped.wait_for(seconds(5)) == std::future_status::ready;
  if (!stopped_in_time) upstream.close_all();  // release the call so the test ends
  stopped.get();
  EXPECT_TRUE(stopped_in_time) << "stop() waited for the silent upstream";
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(5));

  // The client waiting on the recorder got a clean error answer, or the connection closed.
  const RawOutcome outcome = client.get();
  EXPECT_FALSE(outcome.timed_out);
  if (!outcome.received.empty()) {
    EXPECT_EQ(status_of(outcome.received), 503) << outcome.received;
    const size_t body = outcome.received.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    const json error = json::parse(outcome.received.substr(body + 4), nullptr, false);
    EXPECT_EQ(error["error"]["code"], "server_shutting_down") << outcome.received;
  }
}

INSTANTIATE_TEST_SUITE_P(RecordAndSpy, RecorderStopTest,
                         ::testing::Values(mock::ServerMode::kRecord, mock::ServerMode::kSpy),
                         [](const ::testing::TestParamInfo<mock::ServerMode>& param_info) {
                           return std::string(mock::to_string(param_info.param));
                         });

}  // namespace
}  // namespace echoes::testing

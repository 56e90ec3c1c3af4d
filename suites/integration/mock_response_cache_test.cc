// The raw-body response cache is bounded in bytes: many distinct large bodies that match the same
// recording (they differ only in whitespace) never make it count more than its byte bound, read
// from the server's own gauges.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::HttpReply;
using harness::MockServerFixture;

long gauge(const std::string& metrics, const std::string& name) {
  std::smatch match;
  if (!std::regex_search(metrics, match, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
  return std::stol(match[1]);
}

TEST(MockResponseCacheTest, CacheNeverCountsMoreThanItsByteBound) {
  auto options = MockServerFixture::replaying(kCassetteDir);
  constexpr size_t kBound = 32 * 1024;
  options.response_cache_bytes = kBound;
  MockServerFixture server(options);
  ASSERT_TRUE(server.start());

  // 40 distinct raw bodies of about 3 KiB each (120 KiB in all), every one matching "hello".
  long most_bytes = 0;
  long most_entries = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string body = kHelloRequest + std::string(3000 + static_cast<size_t>(i), ' ');
    HttpReply reply = server.post_json("/v1/chat/completions", body);
    ASSERT_EQ(reply.status, 200) << reply.body;
    const std::string metrics = server.server().metrics_text();
    const long bytes = gauge(metrics, "echoes_mock_response_cache_bytes");
    const long entries = gauge(metrics, "echoes_mock_response_cache_entries");
    ASSERT_GE(bytes, 0) << metrics;
    EXPECT_LE(static_cast<size_t>(bytes), kBound);
    most_bytes = std::max(most_bytes, bytes);
    most_entries = std::max(most_entries, entries);
  }
  // The cache was in use (it held several of these bodies at once), just never beyond its bound.
  EXPECT_GT(most_entries, 1);
  EXPECT_GT(most_bytes, static_cast<long>(kBound / 2));

  // A body larger than the whole bound is answered but not kept.
  const long before = gauge(server.server().metrics_text(), "echoes_mock_response_cache_bytes");
  HttpReply big = server.post_json("/v1/chat/completions", kHelloRequest + std::string(kBound, ' '));
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(gauge(server.server().metrics_text(), "echoes_mock_response_cache_bytes"), before);
}

}  // namespace
}  // namespace echoes::testing

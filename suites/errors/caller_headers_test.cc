// Caller headers on the wire, read from the mock server's request journal: a header the client
// reserves cannot be given (the call or the config is refused, naming it), and a call's header
// replaces the config's of the same name, so every name goes on the wire once.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/strings.h"
#include "core/openai/client.h"
#include "harness/mock_server_fixture.h"

namespace echoes {
namespace {

using openai::ChatCompletionRequest;
using openai::ChatMessage;

ChatCompletionRequest question() {
  ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {ChatMessage::user("Say hello.")};  // recorded in fixtures/cassettes
  return request;
}

// The values of header `name` in a journal entry, in order (names compared case-insensitively).
std::vector<std::string> values_of(const mock::JournalEntry& entry, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : entry.headers) {
    if (equals_ignoring_case(n, name)) values.push_back(v);
  }
  return values;
}

class CallerHeadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = std::make_unique<harness::MockServerFixture>(
        harness::MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes"));
    Status started = fixture_->start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
  }

  openai::ClientConfig config() const {
    openai::ClientConfig c;
    c.base_url = fixture_->base_url() + "/v1";
    c.api_key = "sk-headers-suite";
    return c;
  }

  std::unique_ptr<harness::MockServerFixture> fixture_;
};

TEST_F(CallerHeadersTest, ACallHeaderReplacesTheConfigHeaderOfTheSameName) {
  openai::ClientConfig c = config();
  c.headers = {{"X-Team", "red"}, {"x-trace", "from-config"}};
  auto client = openai::Client::create(c, SystemClock::instance(),
                                       [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(client.ok()) << client.error().to_string();
  openai::CallOptions options;
  options.headers = {{"X-TRACE", "from-call"}};
  auto answer = (*client)->chat(question(), options);
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();

  const std::vector<mock::JournalEntry> journal = fixture_->journal();
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(values_of(journal[0], "x-trace"), (std::vector<std::string>{"from-call"}));
  EXPECT_EQ(values_of(journal[0], "x-team"), (std::vector<std::string>{"red"}));
  EXPECT_EQ(values_of(journal[0], "authorization").size(), 1u);
  EXPECT_EQ(values_of(journal[0], "x-stainless-retry-count"), (std::vector<std::string>{"0"}));
}

TEST_F(CallerHeadersTest, AReservedHeaderInTheConfigIsRefusedByName) {
  for (const char* name : {"Authorization", "authorization", "X-Stainless-Retry-Count",
                           "content-type", "Host"}) {
    SCOPED_TRACE(name);
    openai::ClientConfig c = config();
    c.headers = {{name, "Bearer sk-other"}};
    auto client = openai::Client::create(c, SystemClock::instance(),
                                         [](const std::string&) { return std::nullopt; });
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(client.error().context, std::string("headers[") + name + "]");
  }
}

TEST_F(CallerHeadersTest, AReservedOrMalformedCallHeaderEndsTheCallBeforeAnyAttempt) {
  auto client = openai::Client::create(config(), SystemClock::instance(),
                                       [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(client.ok());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"AUTHORIZATION", "Bearer sk-other"}, {"x-ok", "split\r\nInjected: 1"}, {"bad name", "v"}};
  for (const auto& header : bad) {
    SCOPED_TRACE(header.first);
    openai::CallOptions options;
    options.headers = {header};
    auto answer = (*client)->chat(question(), options);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(answer.error().context, "CallOptions::headers[" + header.first + "]");
    EXPECT_EQ(answer.error().attempts, 0);
  }
  EXPECT_TRUE(fixture_->journal().empty()) << "nothing went on the wire";
}

}  // namespace
}  // namespace echoes

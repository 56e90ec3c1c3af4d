// Hostile request bodies: numbers beyond a double, and a million levels of nesting sent to every route (the OpenAI routes, the
// model list that ignores bodies, every admin route), in replay, record and spy mode, with and
// without request validation. Each gets a 400 in the OpenAI error shape, and the server keeps
// serving. Before bodies were parsed with core's depth-limited parser, such a body ended the
// process with a stack overflow in recursive JSON code.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::HttpReply;
using harness::MockServerFixture;

constexpr size_t kLevels = 1'000'000;

std::string nested_arrays() { return std::string(kLevels, '[') + std::string(kLevels, ']'); }

std::string nested_objects() {
  std::string body;
  body.reserve(kLevels * 6 + 1);
  for (size_t i = 0; i < kLevels; ++i) body += R"({"a":)";
  body += "1";
  body.append(kLevels, '}');
  return body;
}

struct Route {
  std::string method;
  std::string path;
};

const std::vector<Route>& every_route() {
  static const std::vector<Route> routes = {
      {"POST", "/v1/chat/completions"},     {"POST", "/v1/embeddings"},
      {"POST", "/v1/moderations"},          {"GET", "/v1/models"},
      {"GET", "/__admin/health"},           {"POST", "/__admin/reset"},
      {"GET", "/__admin/requests"},         {"GET", "/__admin/requests/count"},
      {"GET", "/__admin/requests/unmatched"}, {"POST", "/__admin/requests/find"},
      {"POST", "/__admin/scenario"},        {"PUT", "/__admin/scenario"},
      {"DELETE", "/__admin/scenario"},      {"GET", "/__admin/cassettes"},
      {"GET", "/__admin/metrics"},
  };
  return routes;
}

// {"error": {"message": "...", "type": "...", "param": ..., "code": ...}}
::testing::AssertionResult is_openai_error(const std::string& body) {
  const auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("error")) {
    return ::testing::AssertionFailure() << "not an error object: " << body.substr(0, 200);
  }
  const auto& error = parsed["error"];
  if (!error.is_object() || !error.contains("message") || !error["message"].is_string() ||
      !error.contains("type") || !error["type"].is_string() || !error.contains("param") ||
      !error.contains("code")) {
    return ::testing::AssertionFailure() << "not the OpenAI error shape: " << body.substr(0, 200);
  }
  return ::testing::AssertionSuccess();
}

struct Configuration {
  mock::ServerMode mode;
  bool validate;
};

class MockHostileBodyTest : public ::testing::TestWithParam<Configuration> {};

TEST_P(MockHostileBodyTest, DeepNestingGets400OnEveryRouteAndTheServerKeepsServing) {
  const Configuration config = GetParam();
  MockServerFixture upstream(MockServerFixture::replaying(kCassetteDir));
  ASSERT_TRUE(upstream.start());
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.mode = config.mode;
  options.validate_requests = config.validate;
  if (config.mode != mock::ServerMode::kReplay) {
    options.upstream = upstream.base_url();
    options.record_file = ::testing::TempDir() + "echoes-hostile-recorded-" +
                          std::string(mock::to_string(config.mode)) + ".json";
    std::remove(options.record_file.c_str());
  }
  MockServerFixture server(options);
  ASSERT_TRUE(server.start());

  for (const std::string& body : {nested_arrays(), nested_objects()}) {
    for (const Route& route : every_route()) {
      SCOPED_TRACE(route.method + " " + route.path + " " + body.substr(0, 8));
      HttpReply reply = server.send(route.method, route.path, body, "application/json", {},
                                    std::chrono::seconds(30));
      ASSERT_TRUE(reply.ok()) << reply.transport_error;
      EXPECT_EQ(reply.status, 400);
      EXPECT_TRUE(is_openai_error(reply.body));
    }
  }
  // Still serving: health, and a request the cassettes (or the upstream's) answer.
  HttpReply health = server.get("/__admin/health");
  EXPECT_EQ(health.status, 200) << health.body;
  HttpReply hello = server.post_json("/v1/chat/completions", kHelloRequest);
  EXPECT_EQ(hello.status, 200) << hello.body;
  // No hostile body reached the upstream.
  for (const mock::JournalEntry& entry : upstream.journal()) {
    EXPECT_LT(entry.body.size(), 1000u) << entry.path;
  }
  if (!options.record_file.empty()) std::remove(options.record_file.c_str());
}

// Numbers beyond a double (found by fuzzing the cassette and scenario loaders): nlohmann reports
// them as a number overflow, which once escaped the mock's JSON parsing as an exception. In a
// request body on every route, in the x-echoes-fault header and in a scenario sent to the admin
// API, each is a 400 in the OpenAI error shape, and the server keeps serving.
TEST_P(MockHostileBodyTest, NumbersBeyondADoubleGet400AndTheServerKeepsServing) {
  const Configuration config = GetParam();
  MockServerFixture upstream(MockServerFixture::replaying(kCassetteDir));
  ASSERT_TRUE(upstream.start());
  auto options = MockServerFixture::replaying(kCassetteDir);
  options.mode = config.mode;
  options.validate_requests = config.validate;
  if (config.mode != mock::ServerMode::kReplay) {
    options.upstream = upstream.base_url();
    options.record_file = ::testing::TempDir() + "echoes-hostile-number-recorded-" +
                          std::string(mock::to_string(config.mode)) + ".json";
    std::remove(options.record_file.c_str());
  }
  MockServerFixture server(options);
  ASSERT_TRUE(server.start());

  struct Body {
    std::string text;
    std::string path;  // of the number, as the error message names it
  };
  const Body bodies[] = {{R"({"model":"x","messages":[],"temperature":1e999})", "at temperature"},
                         {"[1e400]", "at [0]"},
                         {R"({"a":-1e99999})", "at a"}};
  for (const Body& body : bodies) {
    for (const Route& route : every_route()) {
      SCOPED_TRACE(route.method + " " + route.path + " " + body.text);
      HttpReply reply = server.send(route.method, route.path, body.text, "application/json", {},
                                    std::chrono::seconds(30));
      ASSERT_TRUE(reply.ok()) << reply.transport_error;
      EXPECT_EQ(reply.status, 400) << reply.body;
      EXPECT_TRUE(is_openai_error(reply.body));
      EXPECT_NE(reply.body.find("number overflow"), std::string::npos) << reply.body;
      EXPECT_NE(reply.body.find(body.path), std::string::npos) << reply.body;
    }
  }
  HttpReply header = server.post_json("/v1/chat/completions", kHelloRequest,
                                      {{"x-echoes-fault", R"({"kind":"close","probability":1e999})"}});
  EXPECT_EQ(header.status, 400) << header.body;
  EXPECT_TRUE(is_openai_error(header.body));
  HttpReply scenario = server.send(
      "POST", "/__admin/scenario",
      R"({"rules":[{"faults":[{"kind":"latency","ms":1e999}]}]})", "application/json", {},
      std::chrono::seconds(10));
  EXPECT_EQ(scenario.status, 400) << scenario.body;
  EXPECT_TRUE(is_openai_error(scenario.body));

  HttpReply health = server.get("/__admin/health");
  EXPECT_EQ(health.status, 200) << health.body;
  HttpReply hello = server.post_json("/v1/chat/completions", kHelloRequest);
  EXPECT_EQ(hello.status, 200) << hello.body;
  if (!options.record_file.empty()) std::remove(options.record_file.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    EveryModeWithAndWithoutValidation, MockHostileBodyTest,
    ::testing::Values(Configuration{mock::ServerMode::kReplay, true},
                      Configuration{mock::ServerMode::kReplay, false},
                      Configuration{mock::ServerMode::kRecord, true},
                      Configuration{mock::ServerMode::kRecord, false},
                      Configuration{mock::ServerMode::kSpy, true},
                      Configuration{mock::ServerMode::kSpy, false}),
    [](const ::testing::TestParamInfo<Configuration>& param_info) {
      return std::string(mock::to_string(param_info.param.mode)) +
             (param_info.param.validate ? "Validating" : "NotValidating");
    });

}  // namespace
}  // namespace echoes::testing
